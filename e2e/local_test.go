package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLocal: a fresh pair through the local transport → apply → the
// runbook's checks green (verify and psql) → the plan says no changes. The
// old standby's cluster is intact where it was moved. And the replication
// password is nowhere: not in any output, the saved plan, a file left on
// disk other than the passfile, a process's command line or environment
// while apply runs, or a server log (with every statement logged).
func TestLocal(t *testing.T) {
	t.Parallel()
	const password = "local-e2e-Secret-7f3a"
	p := newPair(t, password)
	// Every statement the servers run is logged, so that a password or
	// verifier sent in one would show.
	p.primarySettings = map[string]string{"log_statement": "all", "log_connections": "on"}
	p.writeSpec()
	p.primary.AppendConf(t, "log_statement = 'all'", "log_connections = on")
	p.primary.Exec(t, "SELECT pg_reload_conf()")

	var outputs []string
	planFile := filepath.Join(p.dir, "demo.plan")
	p.savePlan(planFile)
	saved, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(saved))

	// Snapshot every process's command line and environment while apply
	// runs; it must catch pg_basebackup for the check to mean anything.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var procLeaks []string
	sawBasebackup := false
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			leaks, bb := scanProcesses([]byte(password))
			procLeaks = append(procLeaks, leaks...)
			sawBasebackup = sawBasebackup || bb
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Without a terminal and without --auto-approve, apply refuses; on a
	// terminal, anything but "yes" cancels; both touch nothing.
	dirs := []string{p.primary.Dir, p.standby.Dir}
	before := snapshot(t, dirs...)
	r := p.pgrepl("apply")
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, "there is no terminal to ask it on") {
		t.Fatalf("apply without a terminal:\n%s", r)
	}
	control, term := openPTY(t)
	if _, err := control.WriteString("no\n"); err != nil {
		t.Fatal(err)
	}
	r = pgreplIn(t, term, "--spec", p.spec, "apply")
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != 1 || !strings.Contains(r.stdout, "Plan: ") || !strings.Contains(r.stdout, "Do you want to perform these actions? Only 'yes' will be accepted: ") ||
		!strings.Contains(r.stderr, "apply cancelled") {
		t.Fatalf("apply answered no:\n%s", r)
	}
	requireSameSnapshot(t, before, snapshot(t, dirs...))

	if _, err := control.WriteString("yes\n"); err != nil {
		t.Fatal(err)
	}
	r = pgreplIn(t, term, "--spec", p.spec, "apply")
	stop.Store(true)
	wg.Wait()
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	t.Logf("apply:\n%s", r)
	for _, want := range []string{
		"Plan: ", "pg1: create_role replicator ...", "pg1: create_role replicator: done (",
		"pg2: basebackup from pg1 ...", "pg2: basebackup from pg1: done (", "previous data directory kept at " + p.standby.DataDir + ".pgrepl-",
		"    ✓ streaming    pg_stat_replication: streaming", "Apply complete: ", "1 standby verified streaming.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply's output lacks %q", want)
		}
	}
	p.verifyGreen()
	p.runbookChecks()
	p.requireNoChanges()
	p.requireOldClusterIntact()

	// A second apply finds nothing to do.
	r2 := p.pgrepl("apply", "--auto-approve")
	outputs = append(outputs, r2.stdout, r2.stderr)
	if r2.code != 0 || !strings.Contains(r2.stdout, "No changes.") {
		t.Fatalf("second apply:\n%s", r2)
	}

	// The secret.
	if !sawBasebackup {
		t.Error("the process snapshots never caught pg_basebackup; they prove nothing")
	}
	for _, l := range procLeaks {
		t.Errorf("the password was visible in %s", l)
	}
	for i, o := range outputs {
		if strings.Contains(o, password) {
			t.Errorf("output %d holds the password:\n%s", i, o)
		}
	}
	passfile := p.standby.DataDir + ".pgpass"
	pf, err := os.ReadFile(passfile)
	if err != nil || !bytes.Contains(pf, []byte(password)) {
		t.Fatalf("passfile %s: %v (it should hold the password)", passfile, err)
	}
	if fi, _ := os.Stat(passfile); fi.Mode().Perm() != 0o600 {
		t.Errorf("passfile mode %v", fi.Mode().Perm())
	}
	logs := 0
	for _, dir := range []string{p.primary.Dir, p.standby.Dir} {
		err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
			if err != nil || !fi.Mode().IsRegular() || path == passfile {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(password)) {
				t.Errorf("%s holds the password", path)
			}
			if bytes.Contains(b, []byte("SCRAM-SHA-256$")) && !strings.Contains(path, "/base/") && !strings.Contains(path, "/global/") && !strings.Contains(path, "/pg_wal/") {
				t.Errorf("%s holds a SCRAM verifier", path)
			}
			if strings.HasSuffix(path, ".log") {
				logs++
				if strings.Contains(path, p.primary.Dir) && !bytes.Contains(b, []byte("statement: ")) && !bytes.Contains(b, []byte("connection authorized")) {
					t.Errorf("%s logs no statements: the check above proves nothing", path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if logs == 0 {
		t.Error("no server log found to check")
	}
}

// scanProcesses looks for secret in the command line and environment of
// every process but this one; bb says whether pg_basebackup was running.
func scanProcesses(secret []byte) (leaks []string, bb bool) {
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if err != nil {
				continue
			}
			if f == "cmdline" && bytes.Contains(b, []byte("pg_basebackup")) {
				bb = true
			}
			if bytes.Contains(b, secret) {
				cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				leaks = append(leaks, "/proc/"+e.Name()+"/"+f+" ("+strings.ReplaceAll(string(cmd), "\x00", " ")+")")
			}
		}
	}
	return leaks, bb
}
