package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/redact"
	"github.com/pgrepl/pgrepl/internal/sshtest"
	"github.com/pgrepl/pgrepl/state"
)

// fixture is a small fleet on this machine: a primary with a replication
// role and two slots, a streaming standby that uses one of them, a stopped
// standby, an empty and a missing data directory, and an unrelated cluster.
type fixture struct {
	p, s1, s2, other *pgtest.Server
	emptyDir         string
	missingDir       string
	nodes            []node
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.p = pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	f.p.Exec(t, "CREATE ROLE replicator LOGIN REPLICATION PASSWORD "+sqlQuote(testPassword))
	f.p.Exec(t, "SELECT pg_create_physical_replication_slot('s1_slot'), pg_create_physical_replication_slot('old', true)")
	f.s1 = pgtest.StartStandby(t, f.p, "127.0.0.3", "s1")
	f.s1.Exec(t, "ALTER SYSTEM SET primary_slot_name = 's1_slot'")
	f.s1.Exec(t, "SELECT pg_reload_conf()")
	f.s2 = pgtest.StartStandby(t, f.p, "127.0.0.4", "s2")
	f.s2.Stop(t)
	// A hand-built standby's password in primary_conninfo: it must not
	// reach the State.
	conninfo := fmt.Sprintf(`host=127.0.0.2 port=%d user=replicator password='%s' application_name=s2`,
		f.p.Port, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(testPassword))
	auto := filepath.Join(f.s2.DataDir, "postgresql.auto.conf")
	old, err := os.ReadFile(auto)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.WriteFile(t, auto, append(old, "primary_conninfo = "+confparse.QuoteValue(conninfo)+"\n"...), 0o600)
	f.other = pgtest.Start(t, pgtest.Options{Host: "127.0.0.5"})

	base, err := os.MkdirTemp("", "observe-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	pgtest.MkdirAll(t, base, 0o755)
	f.emptyDir = filepath.Join(base, "empty")
	pgtest.MkdirAll(t, f.emptyDir, 0o700)
	f.missingDir = filepath.Join(base, "missing", "data")

	// Passfiles: s1's holds the spec's password for the primary (after a
	// comment and an entry for another host), s2's another password.
	pgtest.WriteFile(t, f.s1.DataDir+".pgpass", []byte(fmt.Sprintf(
		"# replication\n10.0.0.1:%d:replication:replicator:nope\n127.0.0.2:%d:replication:replicator:%s\n",
		f.p.Port, f.p.Port, testPassword)), 0o600)
	pgtest.WriteFile(t, f.s2.DataDir+".pgpass", []byte("*:*:*:replicator:another\n"), 0o640)

	// WAL for the reserved slot "old" to hold back, and the streaming
	// standby on its slot.
	f.p.Exec(t, "CREATE TABLE filler AS SELECT g FROM generate_series(1, 10000) g")
	waitFor(t, "s1 streaming on s1_slot", func() bool {
		return f.p.Psql(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's1_slot' AND active") == "1" &&
			f.p.Psql(t, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 's1' AND state = 'streaming' AND replay_lsn IS NOT NULL") == "1"
	})

	f.nodes = []node{
		serverNode("primary", "pg1", f.p),
		serverNode("standby", "s1", f.s1),
		serverNode("standby", "s2", f.s2),
		{kind: "standby", name: "empty", host: "127.0.0.6", port: 5432, dataDir: f.emptyDir, socket: filepath.Join(base, "nosock")},
		{kind: "standby", name: "missing", host: "127.0.0.7", port: 5433, dataDir: f.missingDir, socket: filepath.Join(base, "nosock")},
		serverNode("standby", "other", f.other),
	}
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestObserve(t *testing.T) {
	f := newFixture(t)
	sp, _ := writeSpec(t, specText(f.nodes...))
	local := mustObserve(t, sp)
	t.Run("local", func(t *testing.T) { f.check(t, local) })

	// The primary's host, and another for the five other nodes: SSH
	// reaches a node at its host, and the standbys' passfiles name the
	// primary's.
	srv2 := sshtest.Start(t, sshtest.Options{Host: "127.0.0.2"})
	srv3 := sshtest.Start(t, sshtest.Options{Host: "127.0.0.3"})
	for _, login := range []struct{ user, become string }{{"root", "sudo"}, {pgtest.OSUser(), "none"}} {
		t.Run("ssh-"+login.user, func(t *testing.T) {
			nodes := make([]node, len(f.nodes))
			for i, n := range f.nodes {
				if i == 0 {
					nodes[i] = n.viaSSH(srv2, login.user, login.become)
				} else {
					nodes[i] = n.viaSSH(srv3, login.user, login.become)
				}
			}
			before2, before3 := srv2.Connections(), srv3.Connections()
			sp, _ := writeSpec(t, specText(nodes...))
			st := mustObserve(t, sp)
			if got2, got3 := srv2.AwaitConnections(before2+1)-before2, srv3.AwaitConnections(before3+1)-before3; got2 != 1 || got3 != 1 {
				t.Errorf("SSH connections: %d to the primary's host, %d to the five other nodes' host; want one each", got2, got3)
			}
			f.check(t, st)
			sameObservation(t, local, st)

			// apply's connection, through the same SSH connection.
			pool := host.NewPool()
			defer pool.Close()
			conn, err := Connect(testCtx(t), pool, sp.Clusters[0].Standbys[0])
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var app string
			var recovery bool
			if err := conn.QueryRow(testCtx(t), "SELECT current_setting('application_name'), pg_is_in_recovery()").Scan(&app, &recovery); err != nil || app != "pgrepl" || !recovery {
				t.Errorf("Connect to s1: application_name %q, in recovery %v, %v", app, recovery, err)
			}
		})
	}

	t.Run("role-password", func(t *testing.T) { f.checkRolePasswords(t) })
}

// check asserts what the fixture's State must say, however it was reached.
func (f *fixture) check(t *testing.T, st *state.State) {
	t.Helper()
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range redact.Forms([]string{testPassword}) {
		if bytes.Contains(raw, []byte(form)) {
			t.Errorf("the State holds the replication password (as %q)", form)
		}
	}
	if names := nodeNames(st); strings.Join(names, ",") != "pg1,s1,s2,empty,missing,other" {
		t.Errorf("nodes in order %v, want spec order", names)
	}
	machineID, _ := os.ReadFile("/etc/machine-id")
	sysid := f.p.Psql(t, "SELECT system_identifier FROM pg_control_system()")

	pg1 := stateNode(t, st, "pg1")
	for _, n := range st.Clusters[0].Nodes {
		if !n.Reachable || n.Error != "" {
			t.Errorf("%s: reachable=%v error=%q", n.Name, n.Reachable, n.Error)
		}
		if n.MachineID != strings.TrimSpace(string(machineID)) || n.BinVersion != 15 {
			t.Errorf("%s: machine id %q, binaries %d", n.Name, n.MachineID, n.BinVersion)
		}
		if n.DataDir.FreeBytes == 0 {
			t.Errorf("%s: no free space measured", n.Name)
		}
	}

	// The primary.
	d := pg1.DataDir
	if !d.Exists || d.Empty || d.Owner != pgtest.OSUser() || d.Mode != "0700" || d.PGVersion != "15" ||
		!d.PostmasterPID || d.StandbySignal || d.RecoverySignal || d.SystemIdentifier != sysid ||
		d.Timeline != 1 || d.ClusterState != "in production" || d.ControlDataError != "" {
		t.Errorf("pg1 data directory: %+v (system identifier %s)", d, sysid)
	}
	checkFiles(t, pg1, f.p.DataDir)
	s := pg1.Server
	if !s.Up || s.Error != "" || s.InRecovery || s.VersionNum/10000 != 15 || !strings.HasPrefix(s.Version, "15.") ||
		s.CurrentLSN == "" || s.DatabaseSize <= 0 || s.WalReceiver != nil {
		t.Errorf("pg1 server: up=%v err=%q recovery=%v version=%d %q lsn=%q size=%d receiver=%+v",
			s.Up, s.Error, s.InRecovery, s.VersionNum, s.Version, s.CurrentLSN, s.DatabaseSize, s.WalReceiver)
	}
	if port := s.Setting("port"); port == nil || port.Setting != strconv.Itoa(f.p.Port) || port.Context != "postmaster" ||
		port.SourceFile != filepath.Join(f.p.DataDir, "postgresql.conf") || port.SourceLine == 0 {
		t.Errorf("pg1 port setting: %+v", port)
	}
	if !sort.SliceIsSorted(s.Settings, func(i, j int) bool { return s.Settings[i].Name < s.Settings[j].Name }) || len(s.Settings) < 300 {
		t.Errorf("pg1: %d settings, sorted: %v", len(s.Settings), sort.SliceIsSorted(s.Settings, func(i, j int) bool { return s.Settings[i].Name < s.Settings[j].Name }))
	}
	for _, st := range s.Settings {
		if st.Source == "client" && st.Name != "client_encoding" {
			t.Errorf("pg1: setting %s comes from pgrepl's own session: %+v", st.Name, st)
		}
	}
	want := state.Role{Name: "replicator", Exists: true, Replication: true, Login: true, Password: state.PasswordMatches}
	if s.Role == nil || *s.Role != want {
		t.Errorf("pg1 role: %+v, want %+v", s.Role, want)
	}
	if len(s.Slots) != 2 || s.Slots[0].Name != "old" || s.Slots[1].Name != "s1_slot" {
		t.Fatalf("pg1 slots: %+v", s.Slots)
	}
	if old := s.Slots[0]; old.Active || old.Type != "physical" || old.RestartLSN == "" || old.RetainedBytes <= 0 || old.WalStatus != "reserved" {
		t.Errorf("slot old: %+v", old)
	}
	if s1 := s.Slots[1]; !s1.Active || s1.Type != "physical" || s1.RestartLSN == "" {
		t.Errorf("slot s1_slot: %+v", s1)
	}
	if len(s.Replication) != 1 || s.Replication[0].ApplicationName != "s1" || s.Replication[0].State != "streaming" ||
		s.Replication[0].SyncState != "async" || s.Replication[0].SentLSN == "" || s.Replication[0].ReplayLSN == "" {
		t.Errorf("pg1 pg_stat_replication: %+v", s.Replication)
	}
	if pg1.Passfile != nil {
		t.Errorf("pg1 has a passfile: %+v", pg1.Passfile)
	}

	// The streaming standby.
	s1 := stateNode(t, st, "s1")
	if d := s1.DataDir; !d.StandbySignal || !d.PostmasterPID || d.SystemIdentifier != sysid || d.ClusterState != "in archive recovery" {
		t.Errorf("s1 data directory: %+v", d)
	}
	checkFiles(t, s1, f.s1.DataDir)
	if s := s1.Server; !s.Up || !s.InRecovery || s.Role != nil || s.CurrentLSN == "" ||
		s.WalReceiver == nil || s.WalReceiver.Status != "streaming" || s.WalReceiver.SlotName != "s1_slot" ||
		s.WalReceiver.SenderHost != f.p.SocketDir || s.WalReceiver.SenderPort != f.p.Port {
		t.Errorf("s1 server: %+v receiver %+v", s, s.WalReceiver)
	}
	if ps := s1.Server.Setting("primary_slot_name"); ps == nil || ps.Setting != "s1_slot" {
		t.Errorf("s1 primary_slot_name: %+v", ps)
	}
	wantPF := state.Passfile{Path: f.s1.DataDir + ".pgpass", Exists: true, Owner: pgtest.OSUser(), Mode: "0600", Matches: true}
	if s1.Passfile == nil || *s1.Passfile != wantPF {
		t.Errorf("s1 passfile: %+v, want %+v", s1.Passfile, wantPF)
	}

	// The stopped standby.
	s2 := stateNode(t, st, "s2")
	if d := s2.DataDir; !d.StandbySignal || d.PostmasterPID || d.SystemIdentifier != sysid || d.ClusterState != "shut down in recovery" {
		t.Errorf("s2 data directory: %+v", d)
	}
	if s := s2.Server; s.Up || s.Error == "" || len(s.Settings) != 0 {
		t.Errorf("s2 server: up=%v error=%q", s.Up, s.Error)
	}
	auto := s2.File(filepath.Join(f.s2.DataDir, "postgresql.auto.conf"))
	real, _ := os.ReadFile(filepath.Join(f.s2.DataDir, "postgresql.auto.conf"))
	if auto == nil || !auto.Redacted || auto.SHA256 != state.Hash(real) || !bytes.Contains(auto.Content, []byte("password=''(sensitive value)''")) {
		t.Errorf("s2 postgresql.auto.conf not redacted as it should: %+v", auto)
	}
	wantPF = state.Passfile{Path: f.s2.DataDir + ".pgpass", Exists: true, Owner: pgtest.OSUser(), Mode: "0640"}
	if s2.Passfile == nil || *s2.Passfile != wantPF {
		t.Errorf("s2 passfile: %+v, want %+v", s2.Passfile, wantPF)
	}

	// An empty data directory, and a missing one.
	empty := stateNode(t, st, "empty")
	if d := empty.DataDir; !d.Exists || !d.Empty || d.PGVersion != "" || d.SystemIdentifier != "" || d.Mode != "0700" {
		t.Errorf("empty data directory: %+v", d)
	}
	missing := stateNode(t, st, "missing")
	if d := missing.DataDir; d.Exists || d.Empty || d.Owner != "" {
		t.Errorf("missing data directory: %+v", d)
	}
	for _, n := range []*state.Node{empty, missing} {
		if n.Server.Up || !strings.Contains(n.Server.Error, "nosock/.s.PGSQL.") {
			t.Errorf("%s: server up=%v error=%q", n.Name, n.Server.Up, n.Server.Error)
		}
		wantFiles := []state.File{
			{Path: filepath.Join(n.DataDir.Path, "postgresql.conf"), Role: state.RoleConfig},
			{Path: filepath.Join(n.DataDir.Path, "pg_hba.conf"), Role: state.RoleHBA},
		}
		if len(n.Files) != 2 || !reflect.DeepEqual(*n.Files[0], wantFiles[0]) || !reflect.DeepEqual(*n.Files[1], wantFiles[1]) {
			t.Errorf("%s files: %v", n.Name, n.Files)
		}
		if n.ConfigFile != wantFiles[0].Path || n.HBAFile != wantFiles[1].Path {
			t.Errorf("%s: config file %q, hba file %q", n.Name, n.ConfigFile, n.HBAFile)
		}
		if n.Passfile == nil || n.Passfile.Exists || n.Passfile.Matches {
			t.Errorf("%s passfile: %+v", n.Name, n.Passfile)
		}
	}

	// A cluster of its own.
	other := stateNode(t, st, "other")
	if d := other.DataDir; d.SystemIdentifier == "" || d.SystemIdentifier == sysid || d.StandbySignal {
		t.Errorf("other data directory: %+v", d)
	}
	if s := other.Server; !s.Up || s.InRecovery || s.WalReceiver != nil || s.Role != nil {
		t.Errorf("other server: %+v", s)
	}
}

// checkFiles compares a node's files with the bytes on disk.
func checkFiles(t *testing.T, n *state.Node, dataDir string) {
	t.Helper()
	want := []struct {
		name string
		role state.FileRole
	}{{"postgresql.conf", state.RoleConfig}, {"postgresql.auto.conf", state.RoleAuto}, {"pg_hba.conf", state.RoleHBA}}
	if len(n.Files) != len(want) {
		t.Fatalf("%s: %d files, want %d: %v", n.Name, len(n.Files), len(want), n.Files)
	}
	if n.ConfigFile != filepath.Join(dataDir, "postgresql.conf") || n.HBAFile != filepath.Join(dataDir, "pg_hba.conf") {
		t.Errorf("%s: config file %q, hba file %q", n.Name, n.ConfigFile, n.HBAFile)
	}
	for i, w := range want {
		f := n.Files[i]
		path := filepath.Join(dataDir, w.name)
		real, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Path != path || f.Role != w.role || !f.Exists || f.SHA256 != state.Hash(real) || !bytes.Equal(f.Content, real) ||
			f.Owner != pgtest.OSUser() || f.Group == "" || f.Mode != "0600" || f.Redacted {
			t.Errorf("%s file %d: %+v", n.Name, i, struct {
				Path, Role, Owner, Group, Mode, SHA string
				Exists, Redacted, SameContent       bool
			}{f.Path, string(f.Role), f.Owner, f.Group, f.Mode, f.SHA256, f.Exists, f.Redacted, bytes.Equal(f.Content, real)})
		}
	}
}

func nodeNames(st *state.State) []string {
	var names []string
	for _, c := range st.Clusters {
		for _, n := range c.Nodes {
			names = append(names, n.Name)
		}
	}
	return names
}

// sameObservation checks that two observations of one fleet (through
// different transports) agree on every input a plan depends on.
func sameObservation(t *testing.T, a, b *state.State) {
	t.Helper()
	ia, ib := a.Inputs(), b.Inputs()
	if len(ia) != len(ib) {
		t.Fatalf("%d inputs against %d", len(ia), len(ib))
	}
	for i := range ia {
		if ia[i].Name == "reachability" {
			continue // the node's host differs
		}
		if ia[i] != ib[i] {
			t.Errorf("input %s of %s differs between transports", ia[i].Name, ia[i].Node)
		}
	}
}

// checkRolePasswords changes the replication role and observes the primary
// alone each time.
func (f *fixture) checkRolePasswords(t *testing.T) {
	sp, _ := writeSpec(t, specText(f.nodes[0]))
	c := sp.Clusters[0]
	pool := host.NewPool()
	defer pool.Close()
	for _, tc := range []struct {
		sql  string
		want state.Role
	}{
		{"ALTER ROLE replicator PASSWORD 'not the one'", state.Role{Name: "replicator", Exists: true, Replication: true, Login: true, Password: state.PasswordDiffers}},
		{"SET password_encryption = 'md5'; ALTER ROLE replicator PASSWORD " + sqlQuote(testPassword), state.Role{Name: "replicator", Exists: true, Replication: true, Login: true, Password: state.PasswordMD5}},
		{"ALTER ROLE replicator PASSWORD NULL NOREPLICATION NOLOGIN", state.Role{Name: "replicator", Exists: true, Password: state.PasswordNone}},
		{"DROP ROLE replicator", state.Role{Name: "replicator", Password: state.PasswordNone}},
		{"CREATE ROLE replicator SUPERUSER LOGIN PASSWORD " + sqlQuote(testPassword), state.Role{Name: "replicator", Exists: true, Login: true, Superuser: true, Password: state.PasswordMatches}},
		{"ALTER ROLE replicator VALID UNTIL '2000-01-01'", state.Role{Name: "replicator", Exists: true, Login: true, Superuser: true, Password: state.PasswordMatches, Expired: true}},
		{"ALTER ROLE replicator VALID UNTIL 'infinity'", state.Role{Name: "replicator", Exists: true, Login: true, Superuser: true, Password: state.PasswordMatches}},
	} {
		f.p.Exec(t, tc.sql)
		sn, err := Node(testCtx(t), pool, c, c.Primary, Options{})
		if err != nil {
			t.Fatalf("after %s: %v", tc.sql, err)
		}
		if r := sn.Server.Role; r == nil || *r != tc.want {
			t.Errorf("after %s: role %+v, want %+v", tc.sql, r, tc.want)
		}
	}
}

// TestObserveErrors: what makes a node's observation untrustworthy is an
// error naming the node and the step, all nodes' errors together in spec
// order; an unreachable host is a fact.
func TestObserveErrors(t *testing.T) {
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	srv := sshtest.Start(t, sshtest.Options{Host: "127.0.0.3"})
	base, err := os.MkdirTemp("", "observe-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	pgtest.MkdirAll(t, base, 0o755)
	dir := func(name string) string {
		d := filepath.Join(base, name)
		pgtest.MkdirAll(t, d, 0o700)
		return d
	}
	broken := dir("broken")
	pgtest.WriteFile(t, filepath.Join(broken, "postgresql.conf"), []byte("port = 5432\nmax_connections = = 5\n"), 0o600)
	badHBA := dir("badhba")
	pgtest.WriteFile(t, filepath.Join(badHBA, "postgresql.conf"), []byte("port = 5432\n"), 0o600)
	pgtest.WriteFile(t, filepath.Join(badHBA, "pg_hba.conf"), []byte("local all all trust\nhost all all 10.0.0.0/33 trust\n"), 0o600)
	missingInclude := dir("include")
	pgtest.WriteFile(t, filepath.Join(missingInclude, "postgresql.conf"), []byte("include 'nothere.conf'\n"), 0o600)
	linked := filepath.Join(base, "linked")
	if err := os.Symlink(p.DataDir, linked); err != nil {
		t.Fatal(err)
	}
	closed := pgtest.FreePort(t, "127.0.0.2")

	good := serverNode("primary", "pg1", p)
	nodes := []node{
		good,
		{kind: "standby", name: "wrongpw", host: "127.0.0.8", port: p.Port, dataDir: dir("wrongpw"),
			adminDSN: fmt.Sprintf("host=127.0.0.2 port=%d user=postgres password=wrong-admin-pw dbname=postgres sslmode=disable", p.Port)},
		{kind: "standby", name: "elsewhere", host: "127.0.0.9", port: p.Port, dataDir: dir("elsewhere"), socket: p.SocketDir},
		{kind: "standby", name: "linked", host: "127.0.0.10", port: p.Port, dataDir: linked, socket: p.SocketDir},
		{kind: "standby", name: "broken", host: "127.0.0.11", port: 5432, dataDir: broken, socket: base},
		{kind: "standby", name: "badhba", host: "127.0.0.12", port: 5432, dataDir: badHBA, socket: base},
		{kind: "standby", name: "include", host: "127.0.0.13", port: 5432, dataDir: missingInclude, socket: base},
		// Logged in as postgres without sudo, it cannot act as daemon.
		(node{kind: "standby", name: "cannotbecome", host: "127.0.0.3", port: 5499, dataDir: dir("cannotbecome"), socket: base, osUser: "daemon"}).viaSSH(srv, "postgres", "none"),
		(node{kind: "standby", name: "unreachable", host: "127.0.0.2", port: 5433, dataDir: dir("unreachable"), socket: base}).viaSSH(srv, "root", "sudo"),
	}
	nodes[len(nodes)-1].host, nodes[len(nodes)-1].ssh.port = "127.0.0.2", closed
	sp, _ := writeSpec(t, specText(nodes...))
	st, err := observeSpec(t, sp)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Logf("errors:\n%s", msg)
	var wantSteps = []struct{ node, step, detail string }{
		{"wrongpw", "connect to the server", "password authentication failed"},
		{"elsewhere", "check the server's data directory", "runs on data directory " + p.DataDir},
		{"broken", "read the configuration", `syntax error in file "` + filepath.Join(broken, "postgresql.conf") + `" line 2`},
		{"badhba", "read " + filepath.Join(badHBA, "pg_hba.conf"), `line 2 of configuration file "` + filepath.Join(badHBA, "pg_hba.conf") + `"`},
		{"include", "read the configuration", `could not open configuration file "` + filepath.Join(missingInclude, "nothere.conf") + `"`},
		{"cannotbecome", "examine the host as daemon", "cannot act as another user"},
	}
	lines := joinedErrors(err)
	if len(lines) != len(wantSteps) {
		t.Fatalf("%d errors, want %d", len(lines), len(wantSteps))
	}
	for i, w := range wantSteps {
		var oe *Error
		if !errors.As(lines[i], &oe) || oe.Node != w.node || oe.Cluster != "demo" || oe.Step != w.step || !strings.Contains(oe.Error(), w.detail) {
			t.Errorf("error %d: %v\nwant node %s, step %q, containing %q", i, lines[i], w.node, w.step, w.detail)
		}
	}
	if strings.Contains(msg, "wrong-admin-pw") {
		t.Error("an error shows the admin password")
	}
	if n := stateNode(t, st, "pg1"); !n.Server.Up || n.Server.Role == nil {
		t.Errorf("pg1 not observed beside the errors: %+v", n.Server)
	}
	if n := stateNode(t, st, "linked"); !n.Server.Up {
		t.Errorf("a data_dir that is a symbolic link to the server's: %+v", n.Server)
	}
	un := stateNode(t, st, "unreachable")
	if un.Reachable || !strings.Contains(un.Error, "connection refused") || un.Server.Up {
		t.Errorf("unreachable: reachable=%v error=%q", un.Reachable, un.Error)
	}
}

// joinedErrors unpacks errors.Join.
func joinedErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestObserveHostKey: an SSH host whose key known_hosts does not vouch for
// is an error that shows the key offered, never an unreachable node.
func TestObserveHostKey(t *testing.T) {
	pgtest.Require(t)
	srv := sshtest.Start(t, sshtest.Options{Host: "127.0.0.3"})
	other := sshtest.Start(t, sshtest.Options{Host: "127.0.0.3"})
	base := t.TempDir()
	unknown := filepath.Join(base, "empty_known_hosts")
	if err := os.WriteFile(unknown, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fingerprint := ssh.FingerprintSHA256(srv.HostKey)
	for _, tc := range []struct {
		name, knownHosts, want string
	}{
		{"changed", other.KnownHostsFile, "CHANGED"}, // known_hosts holds another server's key for the address
		{"unknown", unknown, "unknown host key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kh := tc.knownHosts
			if tc.name == "changed" {
				// other's key, under srv's address.
				b, err := os.ReadFile(other.KnownHostsFile)
				if err != nil {
					t.Fatal(err)
				}
				kh = filepath.Join(base, "changed_known_hosts")
				line := strings.Replace(string(b), strconv.Itoa(other.Port), strconv.Itoa(srv.Port), 1)
				if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			n := (node{kind: "primary", name: "pg1", host: srv.Host, port: 5432, dataDir: filepath.Join(base, "data"), socket: base}).viaSSH(srv, "root", "sudo")
			n.ssh.knownHostsFile = kh
			sp, _ := writeSpec(t, specText(n))
			st, err := observeSpec(t, sp)
			var hke *host.HostKeyError
			if !errors.As(err, &hke) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), fingerprint) {
				t.Fatalf("error %v, want a host key error with %q and the key's fingerprint %s", err, tc.want, fingerprint)
			}
			if !strings.Contains(err.Error(), "node pg1") {
				t.Errorf("the error does not name the node: %v", err)
			}
			if n := stateNode(t, st, "pg1"); !n.Reachable {
				t.Errorf("a host key problem recorded as an unreachable node")
			}
		})
	}
}

// TestObserveConfigLayouts: the files PostgreSQL would read, in its order
// and with their roles, when the server is down: includes of every kind
// (include_dir skipping hidden files, other names and directories), and a
// Debian layout whose postgresql.conf names the data directory and
// hba_file.
func TestObserveConfigLayouts(t *testing.T) {
	pgtest.Require(t)
	base, err := os.MkdirTemp("", "observe-layout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	pgtest.MkdirAll(t, base, 0o755)
	p := func(parts ...string) string { return filepath.Join(append([]string{base}, parts...)...) }
	for _, d := range []string{"inc", "inc/conf.d", "inc/conf.d/sub.conf", "inc/sub", "deb-data", "deb-conf", "deb-conf/hba"} {
		pgtest.MkdirAll(t, p(d), 0o700)
	}
	for name, content := range map[string]string{
		"inc/postgresql.conf":          "include_dir 'conf.d'\ninclude_if_exists 'nothere.conf'\ninclude 'sub/other.conf'\n",
		"inc/conf.d/01-a.conf":         "work_mem = '8MB'\n",
		"inc/conf.d/02-b.conf":         "work_mem = '16MB'\n",
		"inc/conf.d/.hidden.conf":      "bad = = syntax\n",
		"inc/conf.d/notes.txt":         "bad = = syntax\n",
		"inc/conf.d/sub.conf/x.conf":   "bad = = syntax\n",
		"inc/sub/other.conf":           "max_connections = 50\n",
		"inc/pg_hba.conf":              "local all all trust\n",
		"deb-conf/postgresql.conf":     fmt.Sprintf("data_directory = '%s'\nhba_file = '%s'\n", p("deb-data"), p("deb-conf", "hba", "custom_hba.conf")),
		"deb-conf/hba/custom_hba.conf": "local all all peer\n",
	} {
		pgtest.WriteFile(t, p(name), []byte(content), 0o600)
	}
	sp, _ := writeSpec(t, specText(
		node{kind: "primary", name: "inc", host: "127.0.0.2", port: 5432, dataDir: p("inc"), socket: base},
		node{kind: "standby", name: "deb", host: "127.0.0.3", port: 5432, dataDir: p("deb-data"), configDir: p("deb-conf"), socket: base},
	))
	st := mustObserve(t, sp)

	type file struct {
		path   string
		role   state.FileRole
		exists bool
	}
	files := func(n *state.Node) []file {
		var out []file
		for _, f := range n.Files {
			out = append(out, file{f.Path, f.Role, f.Exists})
			if f.Exists {
				real, err := os.ReadFile(f.Path)
				if err != nil || !bytes.Equal(real, f.Content) || f.SHA256 != state.Hash(real) {
					t.Errorf("%s: content or hash differs from the file (%v)", f.Path, err)
				}
			}
		}
		return out
	}
	want := []file{
		{p("inc", "postgresql.conf"), state.RoleConfig, true},
		{p("inc", "conf.d", "01-a.conf"), state.RoleInclude, true},
		{p("inc", "conf.d", "02-b.conf"), state.RoleInclude, true},
		{p("inc", "nothere.conf"), state.RoleInclude, false},
		{p("inc", "sub", "other.conf"), state.RoleInclude, true},
		{p("inc", "postgresql.auto.conf"), state.RoleAuto, false},
		{p("inc", "pg_hba.conf"), state.RoleHBA, true},
	}
	if got := files(stateNode(t, st, "inc")); !reflect.DeepEqual(got, want) {
		t.Errorf("inc files:\n%v\nwant\n%v", got, want)
	}
	deb := stateNode(t, st, "deb")
	want = []file{
		{p("deb-conf", "postgresql.conf"), state.RoleConfig, true},
		{p("deb-data", "postgresql.auto.conf"), state.RoleAuto, false},
		{p("deb-conf", "hba", "custom_hba.conf"), state.RoleHBA, true},
	}
	if got := files(deb); !reflect.DeepEqual(got, want) {
		t.Errorf("deb files:\n%v\nwant\n%v", got, want)
	}
	if deb.ConfigFile != p("deb-conf", "postgresql.conf") || deb.HBAFile != p("deb-conf", "hba", "custom_hba.conf") {
		t.Errorf("deb: config file %s, hba file %s", deb.ConfigFile, deb.HBAFile)
	}
	if !deb.DataDir.Exists || !deb.DataDir.Empty {
		t.Errorf("deb data dir: %+v", deb.DataDir)
	}
}
