package plan_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// specVariant loads a spec from the repository's file with replacements
// made in its text.
func specVariant(t testing.TB, name string, replace ...string) *spec.Spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(src, replace[i]) {
			t.Fatalf("%s does not hold %q", name, replace[i])
		}
		src = strings.Replace(src, replace[i], replace[i+1], 1)
	}
	sp, diags := spec.LoadSource([]spec.Source{{Name: name, Bytes: []byte(src)}}, spec.Options{Dir: root, LookupEnv: func(k string) (string, bool) {
		return testPassword, k == "PGREPL_REPLICATION_PASSWORD"
	}})
	if diags.HasErrors() {
		t.Fatalf("load %s variant: %v", name, diags)
	}
	return sp
}

func node(st *state.State, cluster, name string) *state.Node { return st.Cluster(cluster).Node(name) }

// TestPreconditions: each failed precondition stops the plan with an error
// that names cluster, node and host, and says what to do.
func TestPreconditions(t *testing.T) {
	demo := func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }
	cases := []struct {
		name   string
		spec   func(t testing.TB) *spec.Spec
		state  string
		opts   plan.Options
		mutate func(st *state.State)
		want   []string
	}{
		{name: "primary unreachable", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) {
				n := node(st, "demo", "pg1")
				n.Reachable, n.Error = false, "dial tcp 127.0.0.2:22: connect: connection refused"
			},
			want: []string{"demo/pg1 (127.0.0.2): the primary cannot be reached (dial tcp 127.0.0.2:22: connect: connection refused)"}},
		{name: "primary down", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) {
				n := node(st, "demo", "pg1")
				n.Server.Up, n.Server.Error = false, "connection refused"
			},
			want: []string{"demo/pg1 (127.0.0.2): the primary's server is not running", "Start it"}},
		{name: "primary in recovery", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg1").Server.InRecovery = true },
			want:   []string{"demo/pg1 (127.0.0.2): the primary is in recovery", "Promote it"}},
		{name: "primary runs another major version", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg1").Server.VersionNum = 140011 },
			want:   []string{"demo/pg1 (127.0.0.2): the server runs PostgreSQL 14, but the spec says postgres_version = 15"}},
		{name: "standby binaries of another version", spec: demo, state: "fresh-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg2").BinVersion = 16 },
			want:   []string{"demo/pg2 (127.0.0.3): the binaries in /usr/lib/postgresql/15/bin are PostgreSQL 16"}},
		{name: "kept data directory of another version", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg2").DataDir.PGVersion = "14" },
			want:   []string{"demo/pg2 (127.0.0.3): the data directory /srv/pgrepl-demo/pg2 is PostgreSQL 14 (PG_VERSION)"}},
		{name: "standby data directory is the primary's", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg2").DataDir.Path = "/srv/pgrepl-demo/pg1" },
			want:   []string{"demo/pg2 (127.0.0.3): its data directory /srv/pgrepl-demo/pg1 is the primary's"}},
		{name: "not enough disk for a rebuild", spec: demo, state: "fresh-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg2").DataDir.FreeBytes = 20 << 20 },
			want:   []string{"demo/pg2 (127.0.0.3): rebuilding it needs about 34 MB free for a copy of pg1 (its databases hold 31 MB, plus 10% for WAL), but the file system of /srv/pgrepl-demo/pg2 has 20 MB free"}},
		{name: "standby unreachable", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) {
				n := node(st, "demo", "pg2")
				n.Reachable, n.Error = false, "i/o timeout"
			},
			want: []string{"demo/pg2 (127.0.0.3): the standby cannot be reached (i/o timeout)", "--target"}},
		{name: "slot is logical", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) { node(st, "demo", "pg1").Server.Slots[0].Type = "logical" },
			want:   []string{"demo/pg1 (127.0.0.2): the slot pg2 for pg2 exists but is a logical slot"}},
		{name: "setting on the command line", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) {
				r := node(st, "demo", "pg1").Server.Setting("listen_addresses")
				r.Setting, r.Source, r.SourceFile, r.SourceLine = "localhost", "command line", "", 0
			},
			want: []string{"demo/pg1 (127.0.0.2): listen_addresses is set on the server's command line to localhost"}},
		{name: "standby below its primary in the spec",
			spec: func(t testing.TB) *spec.Spec {
				return specVariant(t, demoSpec, `listen_addresses        = "127.0.0.3"`, `listen_addresses        = "127.0.0.3"
      max_connections = 150`)
			},
			state: "converged-pair",
			mutate: func(st *state.State) {
				f := node(st, "demo", "pg1").File("/srv/pgrepl-demo/pg1/postgresql.conf")
				f.Content = state.Content(strings.Replace(string(f.Content), "max_connections = 100", "max_connections = 200", 1))
				f.SHA256 = state.Hash(f.Content)
			},
			want: []string{"demo/pg2 (127.0.0.3): the spec sets max_connections = 150", "below pg1's 200"}},
		{name: "passfile inside the data directory of a rebuild",
			spec: func(t testing.TB) *spec.Spec {
				return specVariant(t, demoSpec, `source_address = "127.0.0.1"`, `source_address = "127.0.0.1"
    passfile       = "/srv/pgrepl-demo/pg2/pgpass"`)
			},
			state: "fresh-pair",
			want:  []string{"demo/pg2 (127.0.0.3): its passfile /srv/pgrepl-demo/pg2/pgpass is inside its data directory"}},
		{name: "standby config in its data directory, primary's in /etc",
			spec: func(t testing.TB) *spec.Spec {
				return specVariant(t, seedSpec, `standby "db2" {
    host = "192.0.2.12"`, `standby "db2" {
    host = "192.0.2.12"
    config_dir = "/var/lib/postgresql/15/main"`)
			},
			state: "debian-other-cluster",
			want:  []string{"orders/db2 (192.0.2.12): db2 reads its postgresql.conf from its data directory (/var/lib/postgresql/15/main/postgresql.conf), but db1 keeps its own outside", "pg_hba.conf"}},
		{name: "no observation of the cluster", spec: demo, state: "converged-pair",
			mutate: func(st *state.State) { st.Clusters[0].Name = "other" },
			want:   []string{"cluster demo: the state holds no observation of this cluster"}},
		{name: "unknown target", spec: demo, state: "converged-pair", opts: plan.Options{Targets: []string{"pg9"}},
			want: []string{`--target pg9: the spec has no node "pg9"`}},
		{name: "replace a primary", spec: demo, state: "converged-pair", opts: plan.Options{Replace: []string{"demo/pg1"}},
			want: []string{"--replace demo/pg1: pg1 is a primary"}},
		{name: "replace outside the targets", spec: demo, state: "converged-pair", opts: plan.Options{Targets: []string{"pg1"}, Replace: []string{"pg2"}},
			want: []string{"--replace pg2: pg2 is not among the --target nodes"}},
		{name: "every problem at once", spec: demo, state: "fresh-pair",
			mutate: func(st *state.State) {
				n := node(st, "demo", "pg2")
				n.BinVersion = 14
				n.DataDir.FreeBytes = 1 << 20
			},
			want: []string{"cannot plan: 2 problems:\n  - demo/pg2 (127.0.0.3): the binaries", "\n  - demo/pg2 (127.0.0.3): rebuilding it needs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := readState(t, c.state)
			if c.mutate != nil {
				c.mutate(st)
			}
			p, err := plan.Make(c.spec(t), st, c.opts)
			if err == nil {
				t.Fatalf("planned anyway: %d changes", len(p.Changes))
			}
			var pe *plan.ProblemsError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error %T is not a *ProblemsError with problems: %v", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}
