package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// TestPgCtlcluster drives a throw-away Debian cluster (pg_createcluster:
// config in /etc/postgresql/15/NAME, data in /var/lib/postgresql/15/NAME)
// with control = "pg_ctlcluster": stop, start, restart, and a restart that
// fails and is rolled back. The cluster is dropped at the end.
func TestPgCtlcluster(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	if _, err := exec.LookPath("pg_createcluster"); err != nil || os.Geteuid() != 0 {
		pgtest.Missing(t, "needs pg_createcluster (postgresql-common) and root")
	}
	name := fmt.Sprintf("pgrepl-test-%d", os.Getpid())
	sock, err := os.MkdirTemp("", "pgctlcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sock) })
	pgtest.MkdirAll(t, sock, 0o755)
	port := pgtest.FreePort(t, "127.0.0.1")
	create := exec.Command("pg_createcluster", "15", name, "-p", fmt.Sprint(port), "-s", sock, "--", "--auth-local=trust")
	// pg_createcluster refuses a locale of the environment that is not
	// installed (CI's may name one).
	create.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	out, err := create.CombinedOutput()
	if err != nil {
		t.Fatalf("pg_createcluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pg_dropcluster", "--stop", "15", name).CombinedOutput(); err != nil {
			t.Errorf("pg_dropcluster: %v\n%s", err, out)
		}
		// pg_dropcluster leaves what it did not make: the backups.
		for _, d := range []string{"/etc/postgresql/15/" + name, "/var/lib/postgresql/15/" + name, "/var/log/postgresql/postgresql-15-" + name + ".log"} {
			if err := os.RemoveAll(d); err != nil {
				t.Error(err)
			}
		}
	})
	n := &Node{
		Spec: &spec.Node{Name: "pg1", DataDir: "/var/lib/postgresql/15/" + name, ConfigDir: "/etc/postgresql/15/" + name,
			BinDir: pgtest.BinDir(), OSUser: "postgres", Control: "pg_ctlcluster", Service: "15/" + name},
		Transport: localTransport(t),
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", sock, port))
		},
	}
	ctx := testCtx(t)
	up := func() bool {
		r, err := Running(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := Control(ctx, n, OpStart, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !up() {
		t.Fatal("not running after start")
	}
	if err := Control(ctx, n, OpStop, time.Minute); err != nil {
		t.Fatal(err)
	}
	if up() {
		t.Fatal("running after stop")
	}
	if err := Control(ctx, n, OpStart, time.Minute); err != nil {
		t.Fatal(err)
	}

	conf := filepath.Join(n.Spec.ConfigDir, "postgresql.conf")
	old := []byte(readFile(t, conf))
	bad := append(append([]byte(nil), old...), "shared_preload_libraries = 'pgrepl_no_such_library'\n"...)
	b, err := EditFile(ctx, n, conf, state.Hash(old), bad, 0, "20261125T000009Z", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = RestartWithRollback(ctx, n, []Backup{b}, "20261125T000010Z", time.Minute)
	var re *RestartError
	if !errors.As(err, &re) || re.RollbackErr != nil {
		t.Fatalf("restart with a bad setting: %v", err)
	}
	if !strings.Contains(err.Error(), "pgrepl_no_such_library") {
		t.Errorf("the error does not quote the server's complaint:\n%v", err)
	}
	if got := readFile(t, conf); got != string(old) || !up() {
		t.Fatal("not rolled back")
	}
	if err := withConn(ctx, n, func(c *pgx.Conn) error { _, err := c.Exec(ctx, "SELECT 1"); return err }); err != nil {
		t.Fatalf("the server does not answer after the rollback: %v", err)
	}
}
