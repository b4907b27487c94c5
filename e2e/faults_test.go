package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/apply"
	"github.com/pgrepl/pgrepl/apply/applytest"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
)

// TestFaults runs one pair through every fault the local transport can
// meet, in turn. Each leaves the hosts as they were, or in a state that the
// next plan repairs, and deletes nothing; the last apply then succeeds.
func TestFaults(t *testing.T) {
	t.Parallel()
	p := newPair(t, "faults-e2e-Secret-91c2")
	dirs := []string{p.primary.Dir, p.standby.Dir}
	lockPath := apply.LockPath(p.primary.DataDir, "demo")

	// holdLock takes the cluster's lock as another apply would.
	holdLock := func() *apply.Locks {
		t.Helper()
		sp := p.loadSpec()
		l, err := apply.LockClusters(testCtx(t), sp, []string{"demo"}, func(context.Context, *spec.Node) (host.Transport, error) {
			return host.NewLocal(host.LocalConfig{OSUser: pgtest.OSUser()})
		}, apply.LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	t.Run("locked", func(t *testing.T) {
		l := holdLock()
		defer l.Release(context.Background())
		before := snapshot(t, dirs...)
		r := p.pgrepl("apply", "--auto-approve")
		if r.code != 1 {
			t.Fatalf("apply while locked:\n%s", r)
		}
		for _, want := range []string{"Error: cluster demo is locked by ", " (pid ", ") since ", "another pgrepl apply is running; if it is not, remove " + lockPath + " on local"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		requireSameSnapshot(t, before, snapshot(t, dirs...))
	})

	t.Run("primary down", func(t *testing.T) {
		p.primary.Stop(t)
		before := snapshot(t, dirs...)
		r := p.pgrepl("apply", "--auto-approve")
		if r.code != 1 || !strings.Contains(r.stderr, "pg1") || !strings.Contains(r.stderr, "not running") {
			t.Fatalf("apply with the primary down:\n%s", r)
		}
		requireSameSnapshot(t, before, snapshot(t, dirs...))
		if _, err := os.Stat(lockPath); !os.IsNotExist(err) {
			t.Errorf("lock left behind: %v", err)
		}
		p.primary.Start(t)
	})

	t.Run("stale saved plan", func(t *testing.T) {
		planFile := filepath.Join(p.dir, "stale.plan")
		p.savePlan(planFile)
		conf := filepath.Join(p.primary.DataDir, "postgresql.conf")
		p.primary.AppendConf(t, "# a DBA was here")
		before := snapshot(t, dirs...)
		// A saved plan needs no --spec, from any directory.
		r := pgreplIn(t, nil, "apply", planFile)
		if r.code != 1 {
			t.Fatalf("apply of a stale plan:\n%s", r)
		}
		for _, want := range []string{"is stale, so nothing was changed", "pg1: file " + conf + " changed since the plan"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		requireSameSnapshot(t, before, snapshot(t, dirs...))
		if got := p.primary.Psql(t, "SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'"); got != "0" {
			t.Error("the stale plan created the role")
		}
	})

	t.Run("primary fails to restart", func(t *testing.T) {
		conf := filepath.Join(p.primary.DataDir, "postgresql.conf")
		confBefore := readFile(t, conf)
		standbyBefore := snapshot(t, p.standby.Dir)
		p.primarySettings = map[string]string{"shared_preload_libraries": "pgrepl_no_such_library"}
		p.writeSpec()
		defer func() { p.primarySettings = nil; p.writeSpec() }()
		r := p.pgrepl("apply", "--auto-approve")
		if r.code != 1 {
			t.Fatalf("apply with a setting that breaks the restart:\n%s", r)
		}
		t.Logf("%s", r)
		for _, want := range []string{
			"Error: step ", "(pg1: restart) failed", "Done:", "Failed:", "Not done:", "pg2: basebackup from pg1",
			`could not access file "pgrepl_no_such_library"`, "rollback: put back " + conf, "pg1 runs again with its previous config",
			`Run "pgrepl plan" to see the way forward`,
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if !p.primary.Running() {
			t.Fatal("the primary is not running after the rollback")
		}
		if got := readFile(t, conf); got != confBefore {
			t.Error("postgresql.conf was not put back")
		}
		backups, _ := filepath.Glob(conf + ".pgrepl-*")
		if len(backups) == 0 {
			t.Error("no backup of postgresql.conf kept")
		}
		requireSameSnapshot(t, standbyBefore, snapshot(t, p.standby.Dir))
	})

	t.Run("wrong password", func(t *testing.T) {
		// The role exists with another password, and that one has expired
		// too: the plan sees both (by the stored SCRAM verifier and
		// rolvaliduntil) and fixes the role before anything uses it. A
		// password that fails where pgrepl cannot see it is
		// apply.TestBasebackup/wrong_password: the old data stays intact.
		// (An earlier fault left the role created.)
		p.primary.Exec(t, "ALTER ROLE replicator PASSWORD 'not-the-spec''s' VALID UNTIL '2000-01-01'")
		before := snapshot(t, dirs...)
		pl := p.plan()
		var role *plan.Change
		for i := range pl.Changes {
			if pl.Changes[i].Action == plan.AlterRole {
				role = &pl.Changes[i]
			}
		}
		if role == nil || role.Role.Password == "" || !strings.Contains(strings.Join(role.Role.Attributes, " "), plan.AttrNoExpiry) {
			t.Fatalf("the plan does not reset the password and its expiry: %+v", role)
		}
		if pl.Changes[0].Action != plan.AlterRole {
			t.Errorf("the role is fixed in step %s, not first", pl.Changes[0].Action)
		}
		for _, want := range []string{"is not the spec's", "has expired"} {
			if !strings.Contains(role.Reason, want) {
				t.Errorf("alter_role reason lacks %q: %s", want, role.Reason)
			}
		}
		requireSameSnapshot(t, before, snapshot(t, dirs...))
	})

	t.Run("basebackup killed", func(t *testing.T) {
		var killErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			killErr = applytest.KillBasebackupHalfway(p.standby.DataDir, time.Minute)
		}()
		r := p.pgrepl("apply", "--auto-approve")
		wg.Wait()
		if killErr != nil {
			t.Fatal(killErr)
		}
		if r.code != 1 {
			t.Fatalf("apply with pg_basebackup killed:\n%s", r)
		}
		t.Logf("%s", r)
		for _, want := range []string{"(pg2: basebackup from pg1) failed", "pg_basebackup failed", "the partial copy was moved to " + p.standby.DataDir + ".pgrepl-"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		failed, _ := filepath.Glob(p.standby.DataDir + ".pgrepl-*-failed")
		if len(failed) != 1 {
			t.Fatalf("partial copies moved aside: %q, want one", failed)
		}
		if _, err := os.Stat(filepath.Join(failed[0], "base")); err != nil {
			t.Errorf("the partial copy is not in %s: %v", failed[0], err)
		}
		p.requireOldClusterIntact()
		if pl := p.plan(); !hasAction(pl, "pg2", plan.Basebackup) {
			t.Errorf("the next plan does not rebuild pg2")
		}
	})

	t.Run("repaired", func(t *testing.T) {
		// A saved plan, applied while another apply holds the lock for a
		// moment: this one waits, then applies exactly that plan.
		planFile := filepath.Join(p.dir, "repair.plan")
		p.savePlan(planFile)
		l := holdLock()
		go func() {
			time.Sleep(time.Second)
			l.Release(context.Background())
		}()
		r := pgreplIn(t, nil, "apply", "--lock-timeout", "1m", planFile)
		if r.code != 0 {
			t.Fatalf("apply after the faults:\n%s", r)
		}
		if !strings.Contains(r.stderr, "Waiting up to 1m0s for the lock of cluster demo") {
			t.Errorf("stderr does not say it waits for the lock:\n%s", r.stderr)
		}
		p.verifyGreen()
		p.runbookChecks()
		p.requireNoChanges()
		p.requireOldClusterIntact()
		if failed, _ := filepath.Glob(p.standby.DataDir + ".pgrepl-*-failed"); len(failed) != 1 {
			t.Errorf("the partial copy moved aside is gone: %q", failed)
		}
	})
}

func hasAction(pl *plan.Plan, node string, a plan.Action) bool {
	for _, c := range pl.Changes {
		if c.Node == node && c.Action == a {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
