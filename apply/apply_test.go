package apply

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/apply/name (from the repository's top).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "apply", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// tick is a clock that advances 100ms at every reading, for output with
// stable durations.
func tick() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 11, 25, 22, 48, 37, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(100 * time.Millisecond)
		return t
	}
}

// oneNodeSpec is a spec of one cluster whose primary is srv.
func oneNodeSpec(srv *pgtest.Server) (*spec.Spec, *spec.Node) {
	n := &spec.Node{Name: "pg1", Role: spec.Primary, Host: srv.Host, Port: srv.Port, DataDir: srv.DataDir,
		ConfigDir: srv.DataDir, BinDir: pgtest.BinDir(), OSUser: pgtest.OSUser(), Control: "pg_ctl"}
	return &spec.Spec{Clusters: []*spec.Cluster{{Name: "demo", PostgresVersion: 15, Primary: n}}}, n
}

// localOptions reach srv through the local transport and its socket.
func localOptions(srv *pgtest.Server, out *bytes.Buffer) Options {
	return Options{
		Out: out,
		Now: tick(),
		Transport: func(context.Context, *spec.Node) (host.Transport, error) {
			return host.NewLocal(host.LocalConfig{OSUser: pgtest.OSUser()})
		},
		Connect: func(ctx context.Context, _ host.Transport, _ *spec.Node) (*pgx.Conn, error) {
			return pgx.Connect(ctx, srv.DSN("postgres"))
		},
	}
}

// TestApplyHBARejected: a plan whose pg_hba.conf PostgreSQL would reject.
// The file is put back before any reload, the apply stops there, the lock
// is released, and the output says what was done and what was not.
func TestApplyHBARejected(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	sp, _ := oneNodeSpec(srv)
	hba := filepath.Join(srv.DataDir, "pg_hba.conf")
	old := []byte(readFile(t, hba))
	bad := append(append([]byte(nil), old...), "host replication replicator 127.0.0.1/32 scram-sha-257\n"...)
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: []plan.Change{
		{Cluster: "demo", Node: "pg1", Action: plan.CreateSlot, Slot: &plan.SlotChange{Name: "pg2", Type: "physical"}},
		{Cluster: "demo", Node: "pg1", Action: plan.EditFile, Path: hba,
			File:    &plan.FileEdit{Kind: plan.KindHBA, OldSHA256: state.Hash(old), NewSHA256: state.Hash(bad)},
			Content: bad},
		{Cluster: "demo", Node: "pg1", Action: plan.Reload, Parameters: []string{"pg_hba.conf"}},
		{Cluster: "demo", Node: "pg1", Action: plan.Verify, Verify: &plan.VerifyStep{Primary: "pg1", ApplicationName: "pg2"}},
	}}
	var out bytes.Buffer
	res, err := Apply(testCtx(t), p, sp, nil, localOptions(srv, &out))
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("Apply: %v, want a *Failure", err)
	}
	var he *HBAError
	if !errors.As(err, &he) {
		t.Errorf("the failure is not the pg_hba.conf check: %v", err)
	}
	if got := readFile(t, hba); got != string(old) {
		t.Error("pg_hba.conf not put back")
	}
	if got := srv.Psql(t, "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"); got != "0" {
		t.Error("the rejected pg_hba.conf is on disk")
	}
	if _, err := os.Stat(LockPath(srv.DataDir, "demo")); !os.IsNotExist(err) {
		t.Errorf("lock not released: %v", err)
	}
	if got := []StepStatus{res.Steps[0].Status, res.Steps[1].Status, res.Steps[2].Status, res.Steps[3].Status}; got[0] != StepDone || got[1] != StepFailed || got[2] != StepNotDone || got[3] != StepNotDone {
		t.Errorf("statuses %v", got)
	}
	var report bytes.Buffer
	if err := res.WriteReport(&report); err != nil {
		t.Fatal(err)
	}
	text := "--- stdout\n" + out.String() + "--- report\n" + report.String()
	text = strings.ReplaceAll(text, srv.DataDir, "$DATA")
	golden(t, "hba-rejected.txt", text)
}

// TestRedoEdit: a config edit planned on content with a password masked is
// made again on the real file, keeping every other byte, the real password
// included.
func TestRedoEdit(t *testing.T) {
	t.Parallel()
	n, dir := dirNode(t)
	n.Spec.ConfigDir = dir
	conf := filepath.Join(dir, "postgresql.conf")
	real := "# pg2 once used: primary_conninfo = 'password=s3cret'\nport = 5432\nwal_level = replica\n"
	pgtest.WriteFile(t, conf, []byte(real), 0o600)
	ch := &plan.Change{Node: "pg9", Action: plan.EditFile, Path: conf,
		File:     &plan.FileEdit{Kind: plan.KindConfig, Redacted: true, OldSHA256: state.Hash([]byte(real))},
		Settings: []plan.SettingChange{{Name: "port", New: "5433", File: conf}, {Name: "max_wal_senders", New: "5", File: conf}},
		Content:  []byte("# pg2 once used: primary_conninfo = 'password=(sensitive value)'\nport = 5433\nwal_level = replica\nmax_wal_senders = 5\n")}
	before, got, passwords, err := redoEdit(testCtx(t), n, ch)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# pg2 once used: primary_conninfo = 'password=s3cret'\nport = 5433\nwal_level = replica\nmax_wal_senders = 5\n"; string(got) != want {
		t.Errorf("redone:\n%s\nwant:\n%s", got, want)
	}
	if string(before) != real || len(passwords) != 0 {
		t.Errorf("before %q, passwords %q (a comment sets nothing)", before, passwords)
	}
	// The passwords of primary_conninfo lines come back, to be masked in
	// the backup.
	withConninfo := real + "primary_conninfo = 'host=a password=''p w'''\n"
	pgtest.WriteFile(t, conf, []byte(withConninfo), 0o600)
	if _, _, passwords, err := redoEdit(testCtx(t), n, ch); err != nil || strings.Join(passwords, "|") != "p w" {
		t.Errorf("passwords %q, %v", passwords, err)
	}
	// A secret new value cannot be redone.
	ch.Settings = []plan.SettingChange{{Name: "primary_conninfo", New: "password=" + spec.Redacted, File: conf}}
	if _, _, _, err := redoEdit(testCtx(t), n, ch); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("redo of a secret value: %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Millisecond: "0.0s", 400 * time.Millisecond: "0.4s", 12340 * time.Millisecond: "12.3s",
		65 * time.Second: "1m05s", 3723 * time.Second: "62m03s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestPrinterProgress(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pr := newPrinter(&out, false, func() time.Time { return clock })
	pr.start("pg2: basebackup from pg1")
	for i, pct := range []int{0, 10, 20, 50, 100} {
		clock = clock.Add(2 * time.Second * time.Duration(i))
		pr.progress("pg2: basebackup from pg1", Progress{DoneKB: int64(pct) * 2048, TotalKB: 204800, Percent: pct})
	}
	pr.done("pg2: basebackup from pg1", 12*time.Second, "")
	want := "pg2: basebackup from pg1 ...\n" +
		"pg2: basebackup from pg1: 0% (0 kB of 200.0 MB)\n" +
		"pg2: basebackup from pg1: 20% (40.0 MB of 200.0 MB)\n" +
		"pg2: basebackup from pg1: 50% (100.0 MB of 200.0 MB)\n" +
		"pg2: basebackup from pg1: 100% (200.0 MB of 200.0 MB)\n" +
		"pg2: basebackup from pg1: done (12.0s)\n"
	if out.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	pr = newPrinter(&out, true, nil)
	pr.start("pg2: basebackup from pg1")
	pr.progress("pg2: basebackup from pg1", Progress{DoneKB: 102400, TotalKB: 204800, Percent: 50})
	pr.done("pg2: basebackup from pg1", time.Second, "")
	want = "pg2: basebackup from pg1 ...\n" +
		"\r\x1b[Kpg2: basebackup from pg1 [===============>              ]  50% 100.0 MB of 200.0 MB" +
		"\r\x1b[Kpg2: basebackup from pg1: done (1.0s)\n"
	if out.String() != want {
		t.Errorf("terminal progress:\n%q\nwant:\n%q", out.String(), want)
	}
}

// TestReportVerifyFailed: every change made, but a standby does not
// stream: the report says the apply finished and which checks failed.
func TestReportVerifyFailed(t *testing.T) {
	ch := func(node string, a plan.Action) *plan.Change {
		return &plan.Change{Cluster: "demo", Node: node, Action: a}
	}
	res := &Result{Steps: []Step{
		{Index: 1, Change: ch("pg2", plan.Start), Label: "pg2: start", Status: StepDone},
		{Index: 2, Change: ch("pg2", plan.Verify), Label: "pg2: verify", Status: StepFailed,
			Err: errors.New(`pg2: verify failed: streaming (no pg_stat_replication row with application_name "pg2" on the primary); replay (did not replay the primary's 0/3000148 within 1m0s (1234 bytes behind))`)},
		{Index: 3, Change: ch("pg3", plan.Verify), Label: "pg3: verify", Status: StepDone, Note: "streaming (async), 0 bytes behind"},
	}}
	var b bytes.Buffer
	if err := res.WriteReport(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "verify-failed.txt", b.String())
	if f := res.Failed(); f == nil || f.Index != 2 {
		t.Errorf("Failed() = %+v", f)
	}
}
