package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReplicaReconfigured: a standby set up by hand, a healthy replica of
// the primary, whose primary_conninfo holds the password in clear and no
// slot. pgrepl reconfigures it, not rebuilds it: the edit of its
// postgresql.auto.conf, which the plan could only see with the password
// masked, is made again on the real file, and the password moves to the
// passfile; the backup pgrepl keeps of the file has it masked.
func TestReplicaReconfigured(t *testing.T) {
	t.Parallel()
	const password = "replica-e2e-Secret-55d1"
	p := newReplicaPair(t, password)
	p.standby.Exec(t, fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.2 port=%d user=replicator password=%s application_name=pg2'", p.primary.Port, password))
	p.standby.Exec(t, "SELECT pg_reload_conf()")

	// The server logs the password when the setup above reloads; what it
	// logs from then on must not hold it. The reload is done once a new
	// session sees the value.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.standby.Log(t), "password="+password) || !strings.Contains(p.standby.Psql(t, "SHOW primary_conninfo"), "password=") {
		if time.Now().After(deadline) {
			t.Fatal("the standby did not reload its primary_conninfo")
		}
		time.Sleep(20 * time.Millisecond)
	}
	logBefore := len(p.standby.Log(t))
	r := p.pgrepl("apply", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	t.Logf("%s", r)
	auto := filepath.Join(p.standby.DataDir, "postgresql.auto.conf")
	for _, want := range []string{"pg2: edit_file " + auto + ": done", "(sensitive value)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "pg2: basebackup") || strings.Contains(r.stdout, "pg2: stop") {
		t.Error("a healthy replica was rebuilt")
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Error("the output holds the password")
	}
	got := readFile(t, auto)
	if strings.Contains(got, "password") || !strings.Contains(got, "passfile=") {
		t.Errorf("postgresql.auto.conf after apply:\n%s", got)
	}
	// The password is in the passfile alone: the backup of
	// postgresql.auto.conf has it masked.
	passfile := p.standby.DataDir + ".pgpass"
	standbyLog := p.standby.Log(t)
	found := filesHolding(t, password, p.standby.Dir, p.primary.Dir)
	found = slices.DeleteFunc(found, func(f string) bool { return f == p.standby.LogFile })
	if len(found) != 1 || found[0] != passfile {
		t.Errorf("files holding the password: %q, want only %s", found, passfile)
	}
	since := standbyLog
	if len(standbyLog) >= logBefore {
		since = standbyLog[logBefore:]
	}
	if strings.Contains(since, password) {
		t.Errorf("the standby's log holds the password since apply:\n%s", since)
	}
	backups, err := filepath.Glob(auto + ".pgrepl-*")
	if err != nil || len(backups) != 1 || !strings.Contains(readFile(t, backups[0]), "password=(sensitive value)") {
		t.Errorf("backups of postgresql.auto.conf: %q %v, want one with the password masked", backups, err)
	}
	p.verifyGreen()
	p.runbookChecks()
	p.requireNoChanges()
}

// TestStandbyRemoved: a streaming standby leaves the spec. The plan drops
// its slot first (ending its walsender), then removes its pg_hba.conf rule
// and reloads; afterwards the primary holds neither, the standby no longer
// streams (its slot is gone), its data is untouched, and the next plan has
// nothing to do.
func TestStandbyRemoved(t *testing.T) {
	t.Parallel()
	const password = "removed-e2e-Secret-0c9e"
	p := newPair(t, password)
	if r := p.pgrepl("apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	p.runbookChecks()
	hbaFile := filepath.Join(p.primary.DataDir, "pg_hba.conf")
	if !strings.Contains(readFile(t, hbaFile), "# pgrepl: demo/pg2 slot=pg2") {
		t.Fatalf("pg_hba.conf holds no rule for pg2:\n%s", readFile(t, hbaFile))
	}

	p.standbyRemoved = true
	p.writeSpec()
	pl := p.plan()
	var steps []string
	for _, ch := range pl.Changes {
		steps = append(steps, ch.Node+":"+string(ch.Action))
	}
	if got, want := strings.Join(steps, " "), "pg1:drop_slot pg1:edit_file pg1:reload"; got != want {
		t.Fatalf("plan steps %q, want %q", got, want)
	}
	if s := pl.Changes[0].Slot; s == nil || s.Name != "pg2" || !s.Active || !pl.Changes[0].Destructive {
		t.Fatalf("drop_slot: %+v", pl.Changes[0])
	}
	r := p.pgrepl("apply", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply without pg2:\n%s", r)
	}
	t.Logf("%s", r)

	if got := p.primary.Psql(t, "SELECT count(*) FROM pg_replication_slots"); got != "0" {
		t.Errorf("slots left on the primary: %s", got)
	}
	if hba := readFile(t, hbaFile); strings.Contains(hba, "pgrepl: demo/pg2") {
		t.Errorf("pg2's rule is still in pg_hba.conf:\n%s", hba)
	}
	// The standby keeps trying; without its slot it cannot stream.
	deadline := time.Now().Add(30 * time.Second)
	for p.standby.Psql(t, "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") != "0" ||
		p.primary.Psql(t, "SELECT count(*) FROM pg_stat_replication") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("pg2 still streams from pg1 after its removal")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 1,000 rows and the one runbookChecks wrote.
	if got := p.standby.Psql(t, "SELECT count(*) FROM orders"); got != "1001" {
		t.Errorf("orders on the removed standby: %q, want its data untouched", got)
	}
	p.requireNoChanges()
}

// filesHolding lists the regular files under dirs that contain secret.
func filesHolding(t *testing.T, secret string, dirs ...string) []string {
	t.Helper()
	var found []string
	for _, dir := range dirs {
		err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
			if err != nil || !fi.Mode().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.Contains(string(b), secret) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}
