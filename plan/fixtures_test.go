package plan_test

// Builders of the State snapshots in testdata/states/. They run only with
// -update: each case's snapshot is written as JSON and committed, and the
// tests read the JSON. The files come from the shared corpus (initdb's and
// pg_createcluster's own output for PostgreSQL 15), the pg_settings rows
// carry the catalog's context, type and unit with the values the files
// give, as a server started on those files reports them.

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/state"
)

const (
	corpusDir    = "/work/shared/corpus"
	sysidPrimary = "7301234567890123456"
	sysidOther   = "7302987654321098765"
	localMachine = "4f1c2a9d7e3b4c5d8e9f0a1b2c3d4e5f"
	gib          = int64(1) << 30
	mib          = int64(1) << 20
)

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatalf("the snapshots are built from the shared corpus: %v", err)
	}
	return b
}

// pg16InitdbConf is PostgreSQL 16's postgresql.conf as initdb writes it:
// the sample with the lines initdb sets (the same as 15's initdb output).
func pg16InitdbConf(t testing.TB) []byte {
	f, err := confparse.ParseConf("/postgresql.conf", readCorpus(t, "postgresql.conf/pg16-sample.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{
		{"max_connections", "100"}, {"shared_buffers", "128MB"}, {"dynamic_shared_memory_type", "posix"},
		{"max_wal_size", "1GB"}, {"min_wal_size", "80MB"}, {"log_timezone", "'Etc/UTC'"},
		{"datestyle", "'iso, mdy'"}, {"timezone", "'Etc/UTC'"}, {"lc_messages", "'C.UTF-8'"},
		{"lc_monetary", "'C.UTF-8'"}, {"lc_numeric", "'C.UTF-8'"}, {"lc_time", "'C.UTF-8'"},
		{"default_text_search_config", "'pg_catalog.english'"},
	} {
		if _, err := f.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	return f.Bytes()
}

// debianConf is pg_createcluster 15 main's postgresql.conf: the corpus's
// (made for a cluster named "corpus" on port 5433) with the names of the
// default cluster.
func debianConf(t testing.TB) []byte {
	s := string(readCorpus(t, "debian-pg15/postgresql.conf"))
	s = strings.ReplaceAll(s, "/tmp/corpus-debian/data", "/var/lib/postgresql/15/main")
	s = strings.ReplaceAll(s, "15/corpus", "15/main")
	s = strings.ReplaceAll(s, "15-corpus", "15-main")
	s = regexp.MustCompile(`(?m)^port = 5433`).ReplaceAllString(s, "port = 5432")
	return []byte(s)
}

func file(p string, role state.FileRole, content []byte, mode string) *state.File {
	return &state.File{Path: p, Role: role, Exists: true, SHA256: state.Hash(content), Owner: "postgres", Group: "postgres", Mode: mode, Content: state.Content(content)}
}

func missing(p string, role state.FileRole) *state.File {
	return &state.File{Path: p, Role: role}
}

// initdbFiles are the files initdb leaves in a data directory.
func initdbFiles(t testing.TB, dataDir string, version int) []*state.File {
	conf := readCorpus(t, "initdb-pg15/postgresql.conf")
	if version == 16 {
		conf = pg16InitdbConf(t)
	}
	return []*state.File{
		file(path.Join(dataDir, "postgresql.conf"), state.RoleConfig, conf, "0600"),
		file(path.Join(dataDir, "postgresql.auto.conf"), state.RoleAuto, readCorpus(t, "initdb-pg15/postgresql.auto.conf"), "0600"),
		file(path.Join(dataDir, "pg_hba.conf"), state.RoleHBA, readCorpus(t, "initdb-pg15/pg_hba.conf"), "0600"),
	}
}

// serverVersion is what a server of major version v reports.
func serverVersion(v int) (int, string) {
	switch v {
	case 16:
		return 160010, "16.10 (Debian 16.10-1.pgdg120+1)"
	}
	return 150018, "15.18 (Debian 15.18-0+deb12u1)"
}

// baseNode is a node whose data directory holds a cluster (sysid) and
// whose server runs (primary) or not.
func baseNode(t testing.TB, name, host, dataDir string, version int, sysid string, files []*state.File) *state.Node {
	vn, vs := serverVersion(version)
	n := &state.Node{
		Name: name, Host: host, Reachable: true, MachineID: localMachine, BinVersion: version,
		DataDir: state.DataDir{Path: dataDir, Exists: true, Owner: "postgres", Mode: "0700",
			PGVersion: strconv.Itoa(version), SystemIdentifier: sysid, Timeline: 1, ClusterState: "in production",
			PostmasterPID: true, FreeBytes: uint64(40 * gib)},
		ConfigFile: files[0].Path,
		Files:      files,
		Server:     state.Server{Up: true, VersionNum: vn, Version: vs, CurrentLSN: "0/3000148", DatabaseSize: 31 * mib},
	}
	for _, f := range files {
		if f.Role == state.RoleHBA {
			n.HBAFile = f.Path
		}
	}
	return n
}

// defaultRows are pg_settings rows (source default) of the parameters the
// planner reads, as PostgreSQL 15 and 16 built for Debian report them.
var defaultRows = map[string]string{
	"hot_standby": "on", "listen_addresses": "localhost", "max_connections": "100",
	"max_locks_per_transaction": "64", "max_prepared_transactions": "0", "max_replication_slots": "10",
	"max_wal_senders": "10", "max_worker_processes": "8", "port": "5432", "primary_conninfo": "",
	"primary_slot_name": "", "ssl": "off", "synchronous_commit": "on", "synchronous_standby_names": "", "wal_level": "replica",
	"unix_socket_directories": "/var/run/postgresql", "shared_buffers": "16384",
	"shared_preload_libraries": "", "wal_keep_size": "0", "hot_standby_feedback": "off",
}

// settle gives a running node the pg_settings rows its files make, as a
// server (re)started on them reports.
func settle(t testing.TB, st *state.State, cluster string, nodes ...string) {
	t.Helper()
	for _, name := range nodes {
		n := st.Cluster(cluster).Node(name)
		version := n.Server.VersionNum / 10000
		var rows []state.Setting
		for key, v := range defaultRows {
			p, ok := catalog.Lookup(version, key)
			if !ok {
				t.Fatalf("catalog has no %s", key)
			}
			rows = append(rows, state.Setting{Name: p.Name, Setting: v, Unit: p.Unit, Context: string(p.Context), VarType: string(p.VarType), Source: "default"})
		}
		n.Server.Settings = rows
		recovery := n.Server.InRecovery
		ch := plan.Change{Cluster: cluster, Node: name, Action: plan.Restart}
		out, err := plan.Simulate(&plan.Plan{Changes: []plan.Change{ch}}, st)
		if err != nil {
			t.Fatal(err)
		}
		*n = *out.Cluster(cluster).Node(name)
		n.Server.InRecovery = recovery
	}
}

// setFile replaces a node's file's content.
func setFile(t testing.TB, n *state.Node, p, content string) {
	t.Helper()
	f := n.File(p)
	if f == nil {
		t.Fatalf("%s has no file %s", n.Name, p)
	}
	f.Content = state.Content(content)
	f.SHA256 = state.Hash(f.Content)
}

// fileLines are a node's file's lines, each with its line end.
func fileLines(t testing.TB, n *state.Node, p string) []string {
	t.Helper()
	f := n.File(p)
	if f == nil {
		t.Fatalf("%s has no file %s", n.Name, p)
	}
	return strings.SplitAfter(string(f.Content), "\n")
}

// appendTo appends text to a node's file.
func appendTo(t testing.TB, n *state.Node, p, text string) {
	t.Helper()
	f := n.File(p)
	if f == nil {
		t.Fatalf("%s has no file %s", n.Name, p)
	}
	f.Content = append(f.Content, text...)
	f.SHA256 = state.Hash(f.Content)
}

// replaceIn replaces old with new in a node's file.
func replaceIn(t testing.TB, n *state.Node, p, old, new string) {
	t.Helper()
	f := n.File(p)
	if f == nil || !strings.Contains(string(f.Content), old) {
		t.Fatalf("%s: %s does not hold %q", n.Name, p, old)
	}
	f.Content = state.Content(strings.Replace(string(f.Content), old, new, 1))
	f.SHA256 = state.Hash(f.Content)
}

func setRow(t testing.TB, n *state.Node, name, value string, pending bool) {
	t.Helper()
	r := n.Server.Setting(name)
	if r == nil {
		t.Fatalf("%s has no pg_settings row %s", n.Name, name)
	}
	r.Setting, r.PendingRestart = value, pending
}

// emptyStandby is a standby host where nothing was set up: the data
// directory does not exist (exists false) or is empty.
func emptyStandby(name, host, dataDir string, version int, exists bool) *state.Node {
	d := state.DataDir{Path: dataDir, Exists: exists, Empty: exists, FreeBytes: uint64(40 * gib)}
	if exists {
		d.Owner, d.Mode = "postgres", "0700"
	}
	return &state.Node{
		Name: name, Host: host, Reachable: true, MachineID: localMachine, BinVersion: version,
		DataDir:    d,
		ConfigFile: path.Join(dataDir, "postgresql.conf"),
		HBAFile:    path.Join(dataDir, "pg_hba.conf"),
		Files: []*state.File{
			missing(path.Join(dataDir, "postgresql.conf"), state.RoleConfig),
			missing(path.Join(dataDir, "pg_hba.conf"), state.RoleHBA),
		},
		Server:   state.Server{Error: "connection refused: no server runs on port 5432"},
		Passfile: &state.Passfile{Path: path.Clean(dataDir) + ".pgpass"},
	}
}
