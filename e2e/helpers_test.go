// Package e2e tests pgrepl end to end: real PostgreSQL 15 servers on
// loopback addresses, a real sshd for the SSH transport, and the pgrepl
// command line (cli.Main, the code path of bin/pgrepl) driving them.
//
// One machine plays several hosts, so two facts of DESIGN §7 shape every
// spec here: a standby's connection to 127.0.0.2 comes from 127.0.0.1, so
// standbys say source_address = "127.0.0.1" (rather than adding local routes
// as root, which would change the machine for every test running beside);
// and pg_basebackup copies the primary's postgresql.conf, so each node's own
// listen_addresses and unix_socket_directories come from its settings.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/internal/cli"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/sshtest"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// pair is a primary and a stand-alone server that the spec makes its
// standby, with the spec that says so.
type pair struct {
	t        *testing.T
	dir      string // holds the spec and the password file
	spec     string
	password string
	primary  *pgtest.Server
	standby  *pgtest.Server
	// standbyID is the system identifier of the cluster that was in the
	// standby's data directory before pgrepl came.
	standbyID string
	// ssh, when set, reaches both nodes over SSH (one sshd per host).
	ssh map[string]*sshtest.Server
	// primarySettings are extra settings of the primary in the spec.
	primarySettings map[string]string
	// standbyRemoved leaves the standby out of the spec.
	standbyRemoved bool
}

// newPair starts two unrelated servers: pg1 on 127.0.0.2 with some data,
// and pg2 on 127.0.0.3 with another cluster's data, which must survive.
func newPair(t *testing.T, password string) *pair {
	t.Helper()
	return newPairOn(t, password, "127.0.0.3")
}

// newPairOn is newPair with pg2 on standbyHost.
func newPairOn(t *testing.T, password, standbyHost string) *pair {
	t.Helper()
	p := &pair{t: t, dir: t.TempDir(), password: password}
	p.primary = startPrimary(t)
	p.standby = pgtest.Start(t, pgtest.Options{Host: standbyHost})
	p.standby.Exec(t, "CREATE TABLE precious (x text); INSERT INTO precious VALUES ('the old cluster''s data')")
	p.standbyID = pgtest.SystemID(t, p.standby.DataDir)
	p.writeSpecFiles()
	return p
}

// newReplicaPair starts pg1 on 127.0.0.2 with some data, and pg2 on
// 127.0.0.3 as a healthy replica of it set up by hand (pg_basebackup, no
// slot), with the pair's spec.
func newReplicaPair(t *testing.T, password string) *pair {
	t.Helper()
	p := &pair{t: t, dir: t.TempDir(), password: password}
	p.primary = startPrimary(t)
	p.standby = pgtest.StartStandby(t, p.primary, "127.0.0.3", "pg2")
	p.writeSpecFiles()
	return p
}

// startPrimary starts pg1 on 127.0.0.2 with 1,000 orders.
func startPrimary(t *testing.T) *pgtest.Server {
	t.Helper()
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	s.Exec(t, "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g")
	return s
}

// writeSpecFiles writes the password file and the spec beside it.
func (p *pair) writeSpecFiles() {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, "replication.pw"), []byte(p.password), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.spec = filepath.Join(p.dir, "pgrepl.hcl")
	p.writeSpec()
}

// writeSpec writes the pair's spec.
func (p *pair) writeSpec() {
	p.t.Helper()
	if err := os.WriteFile(p.spec, []byte(p.clusterBlock("demo")), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// clusterBlock is the pair as a cluster block of a spec; the password is in
// replication.pw beside the spec file.
func (p *pair) clusterBlock(cluster string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `cluster %q {
  postgres_version = 15

  replication {
    user     = "replicator"
    password = file("replication.pw")
  }

  defaults {
    os_user = %q
    control = "pg_ctl"
    bin_dir = %q
  }
`, cluster, pgtest.OSUser(), pgtest.BinDir())
	node := func(kind, name string, s *pgtest.Server, extra map[string]string) {
		fmt.Fprintf(&b, "\n  %s %q {\n    host      = %q\n    port      = %d\n    data_dir  = %q\n    admin_dsn = %q\n",
			kind, name, s.Host, s.Port, s.DataDir, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", s.SocketDir, s.Port))
		if kind == "standby" {
			b.WriteString("    source_address = \"127.0.0.1\"\n")
		}
		if srv := p.ssh[s.Host]; srv != nil {
			fmt.Fprintf(&b, "    ssh {\n      user             = \"root\"\n      port             = %d\n      identity_file    = %q\n      known_hosts_file = %q\n    }\n",
				srv.Port, srv.ClientKeyFile, srv.KnownHostsFile)
		}
		fmt.Fprintf(&b, "    settings = {\n      listen_addresses        = %q\n      unix_socket_directories = %q\n", s.Host, s.SocketDir)
		for _, k := range slices.Sorted(maps.Keys(extra)) {
			fmt.Fprintf(&b, "      %s = %q\n", k, extra[k])
		}
		b.WriteString("    }\n  }\n")
	}
	node("primary", "pg1", p.primary, p.primarySettings)
	if !p.standbyRemoved {
		node("standby", "pg2", p.standby, nil)
	}
	b.WriteString("}\n")
	return b.String()
}

// run is one pgrepl command's outcome.
type run struct {
	code           int
	stdout, stderr string
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// pgrepl runs the command line with the pair's spec (unless args name a
// saved plan) and no terminal.
func (p *pair) pgrepl(args ...string) run {
	p.t.Helper()
	return pgreplIn(p.t, nil, append([]string{"--spec", p.spec}, args...)...)
}

// pgreplIn runs the command line with stdin.
func pgreplIn(t *testing.T, stdin io.Reader, args ...string) run {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code := cli.Main(args, stdin, &out, &errOut)
	r := run{code: code, stdout: out.String(), stderr: errOut.String()}
	t.Logf("pgrepl %s: exit %d", strings.Join(args, " "), code)
	return r
}

// loadSpec loads the pair's spec as pgrepl does.
func (p *pair) loadSpec() *spec.Spec {
	p.t.Helper()
	sp, diags := spec.Load(p.spec, spec.Options{})
	if diags.HasErrors() {
		p.t.Fatalf("spec: %v", diags)
	}
	return sp
}

// plan runs "pgrepl plan --format json" with args and returns the plan.
func (p *pair) plan(args ...string) *plan.Plan {
	p.t.Helper()
	r := p.pgrepl(append([]string{"plan", "--format", "json"}, args...)...)
	if r.code != 0 {
		p.t.Fatalf("plan %s:\n%s", strings.Join(args, " "), r)
	}
	var pl plan.Plan
	if err := json.Unmarshal([]byte(r.stdout), &pl); err != nil {
		p.t.Fatalf("plan --format json: %v\n%s", err, r.stdout)
	}
	return &pl
}

// savePlan runs "pgrepl plan --out file".
func (p *pair) savePlan(file string) {
	p.t.Helper()
	if r := p.pgrepl("plan", "--out", file); r.code != 0 {
		p.t.Fatalf("plan --out:\n%s", r)
	}
}

// requireNoChanges fails unless "pgrepl plan --detailed-exitcode" says
// there is nothing to do (exit 0).
func (p *pair) requireNoChanges() {
	p.t.Helper()
	r := p.pgrepl("plan", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		p.t.Fatalf("the plan after apply:\n%s", r)
	}
}

// verifyGreen runs "pgrepl status --write-probe" and fails on any red
// check.
func (p *pair) verifyGreen() {
	p.t.Helper()
	r := p.pgrepl("status", "--write-probe")
	if r.code != 0 {
		p.t.Fatalf("status:\n%s", r)
	}
	for _, want := range []string{"pg2: ok (streaming", "✓ streaming", "✓ in_recovery", "✓ read_only", "✓ replay", "✓ write_probe"} {
		if !strings.Contains(r.stdout, want) {
			p.t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "✗") {
		p.t.Errorf("status has a failed check:\n%s", r.stdout)
	}
}

// runbookChecks are the runbook's checks done with psql, independently of
// pgrepl.
func (p *pair) runbookChecks() {
	t := p.t
	t.Helper()
	if got := p.primary.Psql(t, "SELECT application_name, state FROM pg_stat_replication"); got != "pg2|streaming" {
		t.Errorf("pg_stat_replication on the primary: %q, want pg2|streaming", got)
	}
	if got := p.primary.Psql(t, "SELECT slot_name, active FROM pg_replication_slots"); got != "pg2|t" {
		t.Errorf("pg_replication_slots on the primary: %q", got)
	}
	if got := p.standby.Psql(t, "SELECT pg_is_in_recovery()"); got != "t" {
		t.Errorf("pg_is_in_recovery() on the standby: %q", got)
	}
	if got := p.standby.Psql(t, "SELECT count(*) FROM orders"); got != "1000" {
		t.Errorf("orders on the standby: %q", got)
	}
	out, err := pgtest.RunErr(filepath.Join(pgtest.BinDir(), "psql"), "-XAtq", "-d", p.standby.DSN("postgres"), "-c", "CREATE TABLE nope (x int)")
	if err == nil || !strings.Contains(out, "read-only transaction") {
		t.Errorf("a write on the standby: %v %q, want refused as read-only", err, out)
	}
	p.primary.Exec(t, "INSERT INTO orders VALUES (1001, 'after apply')")
	deadline := time.Now().Add(30 * time.Second)
	for p.standby.Psql(t, "SELECT count(*) FROM orders WHERE id = 1001") != "1" {
		if time.Now().After(deadline) {
			t.Fatal("a row written on the primary did not reach the standby")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := p.standby.Psql(t, "SELECT status FROM pg_stat_wal_receiver"); got != "streaming" {
		t.Errorf("pg_stat_wal_receiver on the standby: %q", got)
	}
}

// movedAside lists the standby's data directories moved aside.
func (p *pair) movedAside() []string {
	p.t.Helper()
	m, err := filepath.Glob(p.standby.DataDir + ".pgrepl-*")
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// requireOldClusterIntact checks that the cluster that was in the standby's
// data directory is intact in a directory moved aside (a failed rebuild may
// have moved others aside too: partial copies).
func (p *pair) requireOldClusterIntact() {
	t := p.t
	t.Helper()
	found := ""
	for _, d := range p.movedAside() {
		if _, err := os.Stat(filepath.Join(d, "global", "pg_control")); err != nil {
			continue
		}
		if pgtest.SystemID(t, d) == p.standbyID {
			if found != "" {
				t.Fatalf("the old cluster is in both %s and %s", found, d)
			}
			found = d
		}
	}
	if found == "" {
		t.Fatalf("the old cluster (system identifier %s) is in none of the moved-aside directories %q", p.standbyID, p.movedAside())
	}
	out := pgtest.Run(t, filepath.Join(pgtest.BinDir(), "pg_controldata"), found)
	if !strings.Contains(out, "Database cluster state:               shut down\n") {
		t.Errorf("the old cluster was not shut down cleanly before it was moved:\n%s", out)
	}
	// Its data is there: start a copy of it (the directory itself stays as
	// it is) and read the row it held.
	tmp, err := os.MkdirTemp("", "e2e-old-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	pgtest.MkdirAll(t, tmp, 0o755)
	cp := filepath.Join(tmp, "data")
	pgtest.Run(t, "cp", "-a", found, cp)
	pgtest.Run(t, "rm", "-f", filepath.Join(cp, "postmaster.pid"))
	port := pgtest.FreePort(t, "127.0.0.1")
	pgctl := filepath.Join(pgtest.BinDir(), "pg_ctl")
	pgtest.Run(t, pgctl, "-D", cp, "-l", filepath.Join(tmp, "log"), "-w", "-o",
		fmt.Sprintf("-c port=%d -c listen_addresses='' -c unix_socket_directories=%s", port, tmp), "start")
	defer pgtest.Run(t, pgctl, "-D", cp, "-m", "immediate", "-w", "stop")
	out = pgtest.Run(t, filepath.Join(pgtest.BinDir(), "psql"), "-XAtq", "-h", tmp, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres", "-c", "SELECT x FROM precious")
	if strings.TrimSpace(out) != "the old cluster's data" {
		t.Errorf("the old cluster's table holds %q", out)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// snapshot lists every file under dirs with its content's hash, to show
// that a refused apply touched nothing.
func snapshot(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range dirs {
		err := filepath.Walk(d, func(path string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if fi.IsDir() {
				out[path] = "dir " + fi.Mode().String()
				return nil
			}
			if !fi.Mode().IsRegular() {
				return nil // sockets
			}
			// Files the running server changes on its own.
			rel, _ := filepath.Rel(d, path)
			for _, skip := range []string{"pg_stat_tmp", "pg_wal", "base", "global", "pg_xact", "pg_subtrans", "pg_multixact", "pg_logical", "pg_replslot", "pg_stat", "postmaster.pid", "pg_notify", "server.log"} {
				if strings.HasPrefix(rel, skip) || strings.Contains(rel, "/"+skip) {
					return nil
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = state.Hash(b) + " " + fi.Mode().String()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func requireSameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed (%q → %q)", k, v, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
}
