package plan_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// bigCluster is a spec of 1 primary and n standbys on this machine, and a
// State in which the primary is fresh from initdb and nothing is on the
// standbys (from the fresh-pair snapshot).
func bigCluster(t testing.TB, n int) (*spec.Spec, *state.State) {
	var b strings.Builder
	b.WriteString(`cluster "demo" {
  postgres_version = 15
  replication {
    user     = "replicator"
    password = env("PGREPL_REPLICATION_PASSWORD")
  }
  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "/srv/pgrepl-demo/pg1"
    settings = {
      listen_addresses        = "127.0.0.2"
      unix_socket_directories = "/srv/pgrepl-demo/pg1"
      max_wal_senders         = 20
      max_replication_slots   = 20
    }
  }
`)
	for i := 2; i <= n+1; i++ {
		fmt.Fprintf(&b, `  standby "pg%d" {
    host     = "127.0.0.%d"
    data_dir = "/srv/pgrepl-demo/pg%d"
    settings = {
      listen_addresses        = "127.0.0.%d"
      unix_socket_directories = "/srv/pgrepl-demo/pg%d"
    }
  }
`, i, i+1, i, i+1, i)
	}
	b.WriteString("}\n")
	sp, diags := spec.LoadSource([]spec.Source{{Name: "big.hcl", Bytes: []byte(b.String())}}, spec.Options{Dir: root, LookupEnv: func(string) (string, bool) { return testPassword, true }})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fresh := readState(t, "fresh-pair")
	c := fresh.Clusters[0]
	tmpl, err := json.Marshal(c.Nodes[1])
	if err != nil {
		t.Fatal(err)
	}
	c.Nodes = c.Nodes[:1]
	for i := 2; i <= n+1; i++ {
		s := strings.NewReplacer("pg2", fmt.Sprintf("pg%d", i), "127.0.0.3", fmt.Sprintf("127.0.0.%d", i+1)).Replace(string(tmpl))
		var nd state.Node
		if err := json.Unmarshal([]byte(s), &nd); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, &nd)
	}
	c.Nodes[0].DataDir.FreeBytes = 1 << 40
	return sp, fresh
}

// BenchmarkPlan plans a cluster of 1 primary and 16 standbys: from a fresh
// primary and empty standby hosts (every standby rebuilt, every file
// diffed), and once converged (the common case in CI: no changes).
func BenchmarkPlan(b *testing.B) {
	sp, fresh := bigCluster(b, 16)
	p, err := plan.Make(sp, fresh, plan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	converged, err := plan.Simulate(p, fresh)
	if err != nil {
		b.Fatal(err)
	}
	padSettings(fresh)
	padSettings(converged)
	if q, err := plan.Make(sp, converged, plan.Options{}); err != nil || !q.Empty() {
		b.Fatalf("the converged cluster plans changes: %v", err)
	}
	for _, c := range []struct {
		name string
		st   *state.State
	}{{"fresh", fresh}, {"converged", converged}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			// CPU time too (the process's, GC included): on a shared
			// machine, wall time per op says more about the neighbours.
			before := cpuTime()
			for b.Loop() {
				if _, err := plan.Make(sp, c.st, plan.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user and system CPU time, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// padSettings gives each running server as many pg_settings rows as a
// real one has (about 350; the snapshots carry only those the planner
// reads), with names of their own so that they change nothing.
func padSettings(st *state.State) {
	for _, c := range st.Clusters {
		for _, n := range c.Nodes {
			if !n.Server.Up {
				continue
			}
			for i := len(n.Server.Settings); i < len(catalog.Names(15)); i++ {
				n.Server.Settings = append(n.Server.Settings, state.Setting{Name: fmt.Sprintf("zz_pad.p%03d", i), Setting: "x", Context: "user", VarType: "string", Source: "default"})
			}
		}
	}
}

func TestBigCluster(t *testing.T) {
	sp, fresh := bigCluster(t, 16)
	p := mustPlan(t, sp, fresh, plan.Options{})
	if p.Summary.Rebuilds != 16 || p.Summary.Nodes != 17 || p.Summary.Actions[plan.Verify] != 16 {
		t.Errorf("summary: %+v", p.Summary)
	}
}
