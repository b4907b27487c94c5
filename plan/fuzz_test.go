package plan_test

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/pgrepl/pgrepl/state"
)

// FuzzPlanHostAnswers: whatever the hosts answer (the primary's config
// and pg_hba.conf, the standby's postgresql.auto.conf, a pg_settings
// value, the standby's system identifier, a pg_stat_replication row), the
// planner returns a plan or an error, never panics, and its plan renders
// and simulates.
func FuzzPlanHostAnswers(f *testing.F) {
	sp := loadSpec(f, demoSpec)
	base := readState(f, "converged-pair")
	pg1 := base.Cluster("demo").Node("pg1")
	pg2 := base.Cluster("demo").Node("pg2")
	const (
		conf = "/srv/pgrepl-demo/pg1/postgresql.conf"
		hba  = "/srv/pgrepl-demo/pg1/pg_hba.conf"
		auto = "/srv/pgrepl-demo/pg2/postgresql.auto.conf"
	)
	for _, p := range []struct {
		n    *state.Node
		path string
	}{{pg1, conf}, {pg1, hba}, {pg2, auto}} {
		if p.n.File(p.path) == nil {
			f.Fatalf("converged-pair has no %s", p.path)
		}
	}
	f.Add(string(pg1.File(conf).Content), string(pg1.File(hba).Content), string(pg2.File(auto).Content), "max_wal_senders", "10", pg2.DataDir.SystemIdentifier, "pg2", "sync")
	f.Add("include 'x.conf'\nwal_level = minimal\n", "host replication all 0.0.0.0/0 trust\n", "primary_conninfo = 'host=x password=y'\n", "synchronous_standby_names", "ANY 9 (pg2)", "", "PG2", "quorum")
	f.Add("port = 'abc'\n", "local all all\n", "primary_slot_name = ''\n", "port", "-1", "0", "", "")
	f.Fuzz(func(t *testing.T, confText, hbaText, autoText, setting, value, sysid, appName, syncState string) {
		st := cloneState(t, base)
		p1 := st.Cluster("demo").Node("pg1")
		p2 := st.Cluster("demo").Node("pg2")
		setFile(t, p1, conf, confText)
		setFile(t, p1, hba, hbaText)
		setFile(t, p2, auto, autoText)
		if r := p1.Server.Setting(setting); r != nil {
			r.Setting = value
		}
		p2.DataDir.SystemIdentifier = sysid
		p1.Server.Replication = append(p1.Server.Replication, state.Replication{ApplicationName: appName, State: "streaming", SyncState: syncState})
		p, err := plan.Make(sp, st, plan.Options{})
		if err != nil {
			return
		}
		if err := render.Text(io.Discard, p, render.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := render.Markdown(io.Discard, p); err != nil {
			t.Fatal(err)
		}
		if err := render.JSON(io.Discard, p); err != nil {
			t.Fatal(err)
		}
		if _, err := plan.Simulate(p, st); err != nil {
			// Simulate refuses what apply would refuse; it must not panic.
			return
		}
	})
}

// cloneState is a deep copy of st, through its JSON form.
func cloneState(t testing.TB, st *state.State) *state.State {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var out state.State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
