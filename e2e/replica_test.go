package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// TestReplicaReconfigured: a standby set up by hand, a healthy replica of
// the primary, whose primary_conninfo holds the password in clear and no
// slot. pgrepl reconfigures it, not rebuilds it: the edit of its
// postgresql.auto.conf, which the plan could only see with the password
// masked, is made again on the real file, and the password moves to the
// passfile.
func TestReplicaReconfigured(t *testing.T) {
	t.Parallel()
	const password = "replica-e2e-Secret-55d1"
	p := &pair{t: t, dir: t.TempDir(), password: password}
	p.primary = pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	p.primary.Exec(t, "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g")
	p.standby = pgtest.StartStandby(t, p.primary, "127.0.0.3", "pg2")
	p.standby.Exec(t, fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.2 port=%d user=replicator password=%s application_name=pg2'", p.primary.Port, password))
	p.standby.Exec(t, "SELECT pg_reload_conf()")
	if err := os.WriteFile(filepath.Join(p.dir, "replication.pw"), []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	p.spec = filepath.Join(p.dir, "pgrepl.hcl")
	p.writeSpec()

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
	p.verifyGreen()
	p.runbookChecks()
	p.requireNoChanges()
}
