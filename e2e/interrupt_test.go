package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/apply"
	"github.com/pgrepl/pgrepl/apply/applytest"
	"github.com/pgrepl/pgrepl/plan"
)

// TestInterrupt: Ctrl-C (SIGINT) to a pgrepl process while pg_basebackup
// runs. pg_basebackup is stopped, its partial copy moved aside, the report
// printed, the lock released; the old data is intact and the next plan
// rebuilds the standby.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	p := newPair(t, "interrupt-e2e-Secret-3e8a")
	cmd := exec.Command(os.Args[0], "--spec", p.spec, "apply", "--auto-approve")
	cmd.Env = append(os.Environ(), runAsPgrepl+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for len(applytest.FindProcesses("pg_basebackup", p.standby.DataDir)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("pg_basebackup never ran")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("pgrepl interrupted: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("stderr:\n%s", stderr.String())
	for _, want := range []string{"(pg2: basebackup from pg1) failed", "interrupted", "Not done:", "pg2: start"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if len(applytest.FindProcesses("pg_basebackup", p.standby.DataDir)) > 0 {
		t.Error("pg_basebackup still runs")
	}
	if _, err := os.Stat(apply.LockPath(p.primary.DataDir, "demo")); !os.IsNotExist(err) {
		t.Errorf("the lock was not released: %v", err)
	}
	if _, err := os.Stat(p.standby.DataDir); err == nil {
		if _, err := os.Stat(filepath.Join(p.standby.DataDir, "PG_VERSION")); err == nil {
			t.Error("a partial copy is left in the data directory")
		}
	}
	p.requireOldClusterIntact()
	if pl := p.plan(); !hasAction(pl, "pg2", plan.Basebackup) {
		t.Error("the next plan does not rebuild pg2")
	}
}
