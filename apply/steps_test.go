package apply

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/scram"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// TestServerSteps runs the steps that act on one server, in turn, on one
// real PostgreSQL.
func TestServerSteps(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	n := serverNode(t, srv, "pg1", spec.Primary)
	ctx := testCtx(t)
	conf := filepath.Join(srv.DataDir, "postgresql.conf")
	hba := filepath.Join(srv.DataDir, "pg_hba.conf")

	t.Run("hba", func(t *testing.T) {
		old := []byte(readFile(t, hba))
		bad := append(append([]byte(nil), old...), "host replication replicator 127.0.0.1/32 scram-sha-257\n"...)
		if _, err := EditFile(ctx, n, hba, state.Hash(old), bad, 0, "20261125T000001Z", nil, nil); err != nil {
			t.Fatal(err)
		}
		line := bytes.Count(bad, []byte("\n"))
		err := withConn(ctx, n, func(c *pgx.Conn) error { return CheckHBA(ctx, c, "pg1", hba) })
		var he *HBAError
		if !errors.As(err, &he) || len(he.Lines) != 1 || he.Lines[0].Line != line {
			t.Fatalf("CheckHBA of a bad line %d: %v", line, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("line %d: invalid authentication method \"scram-sha-257\"", line)) {
			t.Errorf("message %q lacks the line and PostgreSQL's error", err)
		}
		pgtest.WriteFile(t, hba, old, 0o600)
		if err := withConn(ctx, n, func(c *pgx.Conn) error { return CheckHBA(ctx, c, "pg1", hba) }); err != nil {
			t.Fatalf("CheckHBA of a good file: %v", err)
		}
	})

	t.Run("reload", func(t *testing.T) {
		srv.AppendConf(t, "wal_keep_size = '64MB'", "max_wal_senders = 7")
		err := withConn(ctx, n, func(c *pgx.Conn) error {
			return Reload(ctx, c, "pg1", map[string]string{"wal_keep_size": "64MB", "max_wal_senders": "7"}, 5*time.Second)
		})
		if err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if got := srv.Psql(t, "SHOW wal_keep_size"); got != "64MB" {
			t.Fatalf("after Reload, wal_keep_size = %s", got)
		}
		// A value PostgreSQL refuses is an error naming file and line.
		srv.AppendConf(t, "wal_keep_size = 'lots'")
		err = withConn(ctx, n, func(c *pgx.Conn) error { return Reload(ctx, c, "pg1", nil, 5*time.Second) })
		if err == nil || !strings.Contains(err.Error(), conf+":") || !strings.Contains(err.Error(), "wal_keep_size") {
			t.Fatalf("Reload of a bad value: %v", err)
		}
		b := readFile(t, conf)
		pgtest.WriteFile(t, conf, []byte(strings.ReplaceAll(b, "wal_keep_size = 'lots'\n", "")), 0o600)
		if err := withConn(ctx, n, func(c *pgx.Conn) error { return Reload(ctx, c, "pg1", nil, 5*time.Second) }); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("role", func(t *testing.T) {
		const password = "correct horse battery staple"
		err := withConn(ctx, n, func(c *pgx.Conn) error {
			return SetRole(ctx, c, "pg1", "repl user", RoleOptions{Create: true, Password: password})
		})
		if err != nil {
			t.Fatal(err)
		}
		got := srv.Psql(t, `SELECT rolcanlogin, rolreplication, rolpassword FROM pg_authid WHERE rolname = 'repl user'`)
		f := strings.Split(got, "|")
		if len(f) != 3 || f[0] != "t" || f[1] != "t" {
			t.Fatalf("role: %q", got)
		}
		if ok, err := scram.Matches(f[2], password); err != nil || !ok {
			t.Fatalf("stored verifier does not match the password: %v", err)
		}
		v, _ := scram.Parse(f[2])
		if v.Iterations != scram.DefaultIterations {
			t.Errorf("iterations %d", v.Iterations)
		}
		// It logs in over TCP with scram.
		login := func(pw string) error {
			c, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user='repl user' password='%s' dbname=postgres sslmode=disable", srv.Host, srv.Port, pw))
			if err == nil {
				c.Close(ctx)
			}
			return err
		}
		if err := login(password); err != nil {
			t.Fatalf("login with the password: %v", err)
		}
		// Alter: a new password; creating it again fails, naming the role.
		err = withConn(ctx, n, func(c *pgx.Conn) error {
			return SetRole(ctx, c, "pg1", "repl user", RoleOptions{Password: "another one"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := login("another one"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		if err := login(password); err == nil {
			t.Fatal("the old password still works")
		}
		// An expired password is lifted, and the login works again.
		srv.Exec(t, `ALTER ROLE "repl user" VALID UNTIL '2000-01-01'`)
		if err := login("another one"); err == nil {
			t.Fatal("an expired password still logs in: the check below proves nothing")
		}
		err = withConn(ctx, n, func(c *pgx.Conn) error {
			return SetRole(ctx, c, "pg1", "repl user", RoleOptions{Attributes: []string{plan.AttrNoExpiry}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := login("another one"); err != nil {
			t.Fatalf("login after lifting the expiry: %v", err)
		}
		err = withConn(ctx, n, func(c *pgx.Conn) error {
			return SetRole(ctx, c, "pg1", "repl user", RoleOptions{Create: true, Password: password})
		})
		if err == nil || !strings.Contains(err.Error(), `role "repl user" already exists`) {
			t.Fatalf("second create: %v", err)
		}
		// Neither password nor verifier is in the server log, even with
		// every statement logged.
		srv.AppendConf(t, "log_statement = 'all'")
		if err := withConn(ctx, n, func(c *pgx.Conn) error {
			return Reload(ctx, c, "pg1", map[string]string{"log_statement": "all"}, 5*time.Second)
		}); err != nil {
			t.Fatal(err)
		}
		err = withConn(ctx, n, func(c *pgx.Conn) error {
			return SetRole(ctx, c, "pg1", "repl user", RoleOptions{Password: password})
		})
		if err != nil {
			t.Fatal(err)
		}
		stored := srv.Psql(t, `SELECT rolpassword FROM pg_authid WHERE rolname = 'repl user'`)
		log := srv.Log(t)
		for _, s := range []string{password, "another one", stored, "SCRAM-SHA-256$"} {
			if strings.Contains(log, s) {
				t.Errorf("server log contains %q", s)
			}
		}
		if !strings.Contains(log, "SELECT rolpassword") {
			t.Error("log_statement = all did not log (the check above proves nothing)")
		}
	})

	t.Run("slots", func(t *testing.T) {
		if err := withConn(ctx, n, func(c *pgx.Conn) error { return CreateSlot(ctx, c, "pg1", "pg2") }); err != nil {
			t.Fatal(err)
		}
		if got := srv.Psql(t, "SELECT slot_type, restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'pg2'"); got != "physical|t" {
			t.Fatalf("slot: %q, want a physical slot with WAL reserved", got)
		}
		if err := withConn(ctx, n, func(c *pgx.Conn) error { return CreateSlot(ctx, c, "pg1", "pg2") }); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("second create: %v", err)
		}
		if err := withConn(ctx, n, func(c *pgx.Conn) error { return DropSlot(ctx, c, "pg1", "pg2", false) }); err != nil {
			t.Fatal(err)
		}
		if got := srv.Psql(t, "SELECT count(*) FROM pg_replication_slots"); got != "0" {
			t.Fatalf("slots after drop: %s", got)
		}
		if err := withConn(ctx, n, func(c *pgx.Conn) error { return DropSlot(ctx, c, "pg1", "pg2", false) }); err == nil || !strings.Contains(err.Error(), "no such slot") {
			t.Fatalf("drop of a missing slot: %v", err)
		}
	})

	t.Run("control", func(t *testing.T) {
		if err := Control(ctx, n, OpStop, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if srv.Running() {
			t.Fatal("running after stop")
		}
		if _, err := os.Stat(filepath.Join(srv.DataDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("postmaster.pid after stop: %v", err)
		}
		// Stopping a stopped server is an error that says so.
		if err := Control(ctx, n, OpStop, 30*time.Second); err == nil {
			t.Fatal("stop of a stopped server succeeded")
		}
		if err := Control(ctx, n, OpStart, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if !srv.Running() {
			t.Fatal("not running after start")
		}
		pid := readFile(t, filepath.Join(srv.DataDir, "postmaster.pid"))
		if err := Control(ctx, n, OpRestart, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if readFile(t, filepath.Join(srv.DataDir, "postmaster.pid")) == pid {
			t.Fatal("same postmaster after restart")
		}
		if !strings.Contains(readFile(t, ServerLog(srv.DataDir)), "database system is ready to accept connections") {
			t.Errorf("%s does not hold the server's start", ServerLog(srv.DataDir))
		}
	})

	t.Run("restart rollback", func(t *testing.T) {
		old := []byte(readFile(t, conf))
		bad := append(append([]byte(nil), old...), "shared_preload_libraries = 'pgrepl_no_such_library'\n"...)
		b, err := EditFile(ctx, n, conf, state.Hash(old), bad, 0, "20261125T000002Z", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = RestartWithRollback(ctx, n, []Backup{b}, "20261125T000003Z", 30*time.Second)
		var re *RestartError
		if !errors.As(err, &re) {
			t.Fatalf("restart with a bad setting: %v", err)
		}
		if re.RollbackErr != nil {
			t.Fatalf("rollback failed: %v", re.RollbackErr)
		}
		msg := err.Error()
		for _, want := range []string{"pg1: start:", "pgrepl_no_such_library", "last lines of " + ServerLog(srv.DataDir), "rollback: put back " + conf, "pg1 runs again with its previous config"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q:\n%s", want, msg)
			}
		}
		if got := readFile(t, conf); got != string(old) {
			t.Fatal("postgresql.conf not put back")
		}
		if !srv.Running() {
			t.Fatal("server not running after the rollback")
		}
		// The failed version's backup is still there, nothing removed.
		if got := readFile(t, b.Copy); got != string(old) {
			t.Fatal("backup changed")
		}
	})
}

// TestControlCommands checks the commands of the controls that this machine
// cannot run (no systemd) or that act on system-wide clusters.
func TestControlCommands(t *testing.T) {
	node := func(control, service string) *Node {
		return &Node{Spec: &spec.Node{Name: "pg1", DataDir: "/srv/pg1", BinDir: "/usr/lib/postgresql/15/bin", OSUser: "postgres", Control: control, Service: service}}
	}
	for _, c := range []struct {
		control, service string
		op               ControlOp
		want             string
		as               string
	}{
		{"pg_ctl", "", OpStart, "/usr/lib/postgresql/15/bin/pg_ctl start -D /srv/pg1 -w -t 60 -l /srv/pg1.log", "postgres"},
		{"pg_ctl", "", OpStop, "/usr/lib/postgresql/15/bin/pg_ctl stop -D /srv/pg1 -w -t 60 -m fast", "postgres"},
		{"pg_ctl", "", OpRestart, "/usr/lib/postgresql/15/bin/pg_ctl restart -D /srv/pg1 -w -t 60 -m fast -l /srv/pg1.log", "postgres"},
		{"pg_ctlcluster", "15/main", OpStart, "pg_ctlcluster 15 main start", "root"},
		{"pg_ctlcluster", "15/main", OpStop, "pg_ctlcluster 15 main stop", "root"},
		{"systemd", "postgresql@15-main", OpRestart, "systemctl restart postgresql@15-main", "root"},
	} {
		cmd, err := controlCmd(node(c.control, c.service), c.op, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cmd.Argv, " "); got != c.want || cmd.As != c.as {
			t.Errorf("%s %s: %q as %s, want %q as %s", c.control, c.op, got, cmd.As, c.want, c.as)
		}
	}
	if _, err := controlCmd(node("pg_ctlcluster", "main"), OpStart, time.Minute); err == nil {
		t.Error("pg_ctlcluster without VERSION/NAME accepted")
	}
	if _, err := controlCmd(node("systemd", ""), OpStart, time.Minute); err == nil {
		t.Error("systemd without a unit accepted")
	}
}
