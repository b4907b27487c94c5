package apply

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/apply/applytest"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/verify"
)

// TestBasebackup rebuilds a standby whose data directory held another
// cluster, through failures first: not enough space, a wrong password, a
// pg_basebackup killed half way; then for real, and streams.
func TestBasebackup(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	primary := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	p := serverNode(t, primary, "pg1", spec.Primary)
	const password = "bb-test-Secret-42"
	if err := withConn(ctx, p, func(c *pgx.Conn) error {
		return SetRole(ctx, c, "pg1", "replicator", RoleOptions{Create: true, Password: password})
	}); err != nil {
		t.Fatal(err)
	}
	if err := withConn(ctx, p, func(c *pgx.Conn) error { return CreateSlot(ctx, c, "pg1", "pg2") }); err != nil {
		t.Fatal(err)
	}
	// Some data, so that a copy takes more than an instant.
	primary.Exec(t, "CREATE TABLE filler AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 20000) g")

	// The standby's host held another cluster, stopped.
	other := pgtest.Start(t, pgtest.Options{Host: "127.0.0.3"})
	other.Stop(t)
	otherID := pgtest.SystemID(t, other.DataDir)
	s := serverNode(t, other, "pg2", spec.Standby)
	passfile := spec.DefaultPassfile(other.DataDir)
	s.Spec.Passfile = passfile
	entry := PassfileEntry{Host: primary.Host, Port: strconv.Itoa(primary.Port), Database: "replication", User: "replicator", Password: password}
	opts := func(stamp string) BasebackupOptions {
		return BasebackupOptions{PrimaryHost: primary.Host, PrimaryPort: primary.Port, User: "replicator",
			Passfile: passfile, Slot: "pg2", Stamp: stamp}
	}

	t.Run("no space", func(t *testing.T) {
		if err := WritePassfile(ctx, s, passfile, entry); err != nil {
			t.Fatal(err)
		}
		o := opts("20261125T000001Z")
		o.NeedBytes = 1 << 62
		r, err := Basebackup(ctx, s, o)
		if err == nil || !strings.Contains(err.Error(), "not enough free space") {
			t.Fatalf("Basebackup without space: %v", err)
		}
		if r.MovedAside != "" || pgtest.SystemID(t, other.DataDir) != otherID {
			t.Fatal("data directory touched by a refused basebackup")
		}
	})

	var aside string
	t.Run("wrong password", func(t *testing.T) {
		bad := entry
		bad.Password = "not-the-password"
		if err := WritePassfile(ctx, s, passfile, bad); err != nil {
			t.Fatal(err)
		}
		r, err := Basebackup(ctx, s, opts("20261125T000002Z"))
		var be *BasebackupError
		if !errors.As(err, &be) {
			t.Fatalf("Basebackup with a wrong password: %v", err)
		}
		aside = other.DataDir + ".pgrepl-20261125T000002Z"
		if r.MovedAside != aside {
			t.Fatalf("moved aside to %q, want %q", r.MovedAside, aside)
		}
		for _, want := range []string{"password authentication failed", "the previous data directory is intact at " + aside} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q:\n%v", want, err)
			}
		}
		for _, secret := range []string{password, bad.Password} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("message holds a password:\n%v", err)
			}
		}
		// The old cluster is intact where the message says.
		if got := pgtest.SystemID(t, aside); got != otherID {
			t.Fatalf("moved-aside directory has system id %s, want %s", got, otherID)
		}
		if _, err := os.Stat(other.DataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a data directory was left where the failed basebackup ran: %v", err)
		}
	})

	t.Run("killed half way", func(t *testing.T) {
		if err := WritePassfile(ctx, s, passfile, entry); err != nil {
			t.Fatal(err)
		}
		var killErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			killErr = applytest.KillBasebackupHalfway(other.DataDir, time.Minute)
		}()
		r, err := Basebackup(ctx, s, opts("20261125T000003Z"))
		wg.Wait()
		if killErr != nil {
			t.Fatal(killErr)
		}
		var be *BasebackupError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), "pg_basebackup failed") {
			t.Fatalf("Basebackup killed: %v", err)
		}
		failed := other.DataDir + ".pgrepl-20261125T000003Z-failed"
		if r.FailedDir != failed || !strings.Contains(err.Error(), "the partial copy was moved to "+failed) {
			t.Fatalf("partial directory at %q, want %q; message:\n%v", r.FailedDir, failed, err)
		}
		if _, err := os.Stat(filepath.Join(failed, "base")); err != nil {
			t.Fatalf("the partial copy is not where it was moved: %v", err)
		}
		if _, err := os.Stat(other.DataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("data directory after a killed basebackup: %v", err)
		}
		if got := pgtest.SystemID(t, aside); got != otherID {
			t.Fatal("the first moved-aside directory changed")
		}
	})

	t.Run("rebuild", func(t *testing.T) {
		// A primary whose socket directory is its data directory has its
		// socket's lock file there, which pg_basebackup copies.
		pgtest.WriteFile(t, filepath.Join(primary.DataDir, ".s.PGSQL.5432.lock"), []byte("4242\n"), 0o600)
		var reports []Progress
		var mu sync.Mutex
		o := opts("20261125T000004Z")
		o.NeedBytes = 1 << 20
		o.Progress = func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() }
		r, err := Basebackup(ctx, s, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.MovedAside != "" {
			t.Fatalf("moved aside %q, but there was no data directory", r.MovedAside)
		}
		fi, err := os.Stat(other.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 || fileOwner(t, fi) != pgtest.OSUser() {
			t.Fatalf("new data directory mode %v owner %s", fi.Mode().Perm(), fileOwner(t, fi))
		}
		if _, err := os.Stat(filepath.Join(other.DataDir, ".s.PGSQL.5432.lock")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the primary's socket lock file was left in the new data directory: %v", err)
		}
		if got, want := pgtest.SystemID(t, other.DataDir), pgtest.SystemID(t, primary.DataDir); got != want {
			t.Fatalf("standby system id %s, primary's %s", got, want)
		}
		mu.Lock()
		if len(reports) == 0 || reports[len(reports)-1].Percent != 100 {
			t.Errorf("progress reports %v, want some ending at 100%%", reports)
		}
		mu.Unlock()
		auto := readFile(t, filepath.Join(other.DataDir, "postgresql.auto.conf"))
		for _, want := range []string{"primary_slot_name = 'pg2'", "application_name=pg2", "passfile=''" + passfile + "''"} {
			if !strings.Contains(auto, want) {
				t.Errorf("postgresql.auto.conf lacks %q:\n%s", want, auto)
			}
		}
		if strings.Contains(auto, password) || strings.Contains(auto, "password=") {
			t.Errorf("postgresql.auto.conf holds the password:\n%s", auto)
		}
		// The standby's own connection settings (the planner's edit).
		other.AppendConf(t, fmt.Sprintf("port = %d", other.Port), fmt.Sprintf("listen_addresses = '%s'", other.Host),
			fmt.Sprintf("unix_socket_directories = '%s'", other.SocketDir))
		if err := Control(ctx, s, OpStart, time.Minute); err != nil {
			t.Fatal(err)
		}
		rep, err := verify.Run(ctx, verify.Target{Cluster: "demo",
			Primary:  verify.Node{Name: "pg1", Connect: p.Connect},
			Standbys: []verify.Node{{Name: "pg2", Connect: s.Connect}},
		}, verify.Options{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK {
			t.Fatalf("verify: %+v", rep.Standbys)
		}
		// A slot the plan saw idle but that is in use is not dropped.
		err = withConn(ctx, p, func(c *pgx.Conn) error { return DropSlot(ctx, c, "pg1", "pg2", false) })
		if err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("DropSlot of an active slot: %v", err)
		}
		// One the plan saw in use, it disconnects, then drops.
		if err := withConn(ctx, p, func(c *pgx.Conn) error { return DropSlot(ctx, c, "pg1", "pg2", true) }); err != nil {
			t.Fatalf("DropSlot disconnecting the standby: %v", err)
		}
		if got := primary.Psql(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg2'"); got != "0" {
			t.Fatalf("the active slot was not dropped: %s", got)
		}
		// Everything ever there is still there.
		if got := pgtest.SystemID(t, aside); got != otherID {
			t.Fatal("the moved-aside directory changed")
		}
	})
}

func TestProgressWriter(t *testing.T) {
	var got []Progress
	w := &progressWriter{report: func(p Progress) { got = append(got, p) }}
	in := "waiting for checkpoint\r      0/30960 kB (0%), 0/1 tablespace\r15000/30960 kB (48%), 0/1 tablespace\r30970/30970 kB (100%), 1/1 tablespace\n" +
		"pg_basebackup: error: could not"
	for _, chunk := range []string{in[:10], in[10:37], in[37:]} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	want := []Progress{{0, 30960, 0}, {15000, 30960, 48}, {30970, 30970, 100}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("progress %v, want %v", got, want)
	}
	if m := w.messages(); m != "waiting for checkpoint\npg_basebackup: error: could not" {
		t.Errorf("messages %q", m)
	}
}
