package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/apply/applytest"
	"github.com/pgrepl/pgrepl/internal/sshtest"
	"github.com/pgrepl/pgrepl/plan"
)

// TestSSH: both nodes reached over SSH (a real sshd per host). First the
// primary's host cannot be reached: apply refuses and touches nothing. The
// next apply loses the standby host's SSH connection while pg_basebackup runs;
// it stops and says so, and nothing is deleted. With SSH back, the next plan
// rebuilds the standby, and apply makes a pair that streams, after which the
// plan says no changes.
func TestSSH(t *testing.T) {
	t.Parallel()
	sshtest.Require(t)
	p := newPair(t, "ssh-e2e-Secret-0b5e")
	p.ssh = map[string]*sshtest.Server{
		"127.0.0.2": sshtest.Start(t, sshtest.Options{Host: "127.0.0.2"}),
		"127.0.0.3": sshtest.Start(t, sshtest.Options{Host: "127.0.0.3"}),
	}
	p.writeSpec()

	// The primary's host cannot be reached: apply refuses, touching nothing.
	p.ssh["127.0.0.2"].Kill(t)
	dirs := []string{p.primary.Dir, p.standby.Dir}
	before := snapshot(t, dirs...)
	r := p.pgrepl("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "lock cluster demo on its primary pg1") || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("apply with the primary's host unreachable:\n%s", r)
	}
	requireSameSnapshot(t, before, snapshot(t, dirs...))
	p.ssh["127.0.0.2"] = sshtest.Start(t, sshtest.Options{Host: "127.0.0.2"})
	p.writeSpec()

	// SSH to the standby's host drops as soon as pg_basebackup runs.
	killed := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if len(applytest.FindProcesses("pg_basebackup", p.standby.DataDir)) > 0 {
				p.ssh["127.0.0.3"].Kill(t)
				killed <- true
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		killed <- false
	}()
	r = p.pgrepl("apply", "--auto-approve")
	if !<-killed {
		t.Fatalf("pg_basebackup never ran:\n%s", r)
	}
	t.Logf("apply with SSH dropped:\n%s", r)
	if r.code != 1 {
		t.Fatalf("apply with SSH dropped during pg_basebackup:\n%s", r)
	}
	for _, want := range []string{"(pg2: basebackup from pg1) failed", "ssh connection lost", "Done:", "pg2: stop", "Not done:", "pg2: start", `Run "pgrepl plan"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	p.requireOldClusterIntact()
	if _, err := os.Stat(filepath.Join(filepath.Dir(p.primary.DataDir), ".pgrepl-demo.lock")); !os.IsNotExist(err) {
		t.Errorf("the lock on the primary's host was not released: %v", err)
	}

	// The host comes back (a new sshd: another port and host key).
	p.ssh["127.0.0.3"] = sshtest.Start(t, sshtest.Options{Host: "127.0.0.3"})
	p.writeSpec()
	if pl := p.plan(); !hasAction(pl, "pg2", plan.Basebackup) {
		t.Fatal("the next plan does not rebuild pg2")
	}
	r = p.pgrepl("apply", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply over SSH:\n%s", r)
	}
	t.Logf("apply over SSH:\n%s", r)
	p.verifyGreen()
	p.runbookChecks()
	p.requireNoChanges()
	p.requireOldClusterIntact()
}
