package plan_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

func actions(p *plan.Plan) string {
	var s []string
	for _, c := range p.Changes {
		s = append(s, c.Node+":"+string(c.Action))
	}
	return strings.Join(s, " ")
}

func mustPlan(t *testing.T, sp *spec.Spec, st *state.State, opts plan.Options) *plan.Plan {
	t.Helper()
	p, err := plan.Make(sp, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	after, err := plan.Simulate(p, st)
	if err != nil {
		t.Fatal(err)
	}
	again, err := plan.Make(sp, after, plan.Options{Targets: opts.Targets})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		t.Errorf("the plan does not converge; after it: %s", actions(again))
	}
	return p
}

// TestReloadOrRestart: what makes a node's changes take effect.
func TestReloadOrRestart(t *testing.T) {
	toVersion12 := func(st *state.State) {
		for _, n := range st.Clusters[0].Nodes {
			n.BinVersion, n.DataDir.PGVersion, n.Server.VersionNum = 12, "12", 120022
			for i := range n.Server.Settings {
				if r := &n.Server.Settings[i]; r.Name == "primary_conninfo" || r.Name == "primary_slot_name" {
					r.Context = "postmaster"
				}
			}
		}
	}
	cases := []struct {
		name   string
		spec   func(t testing.TB) *spec.Spec
		state  string
		mutate func(st *state.State)
		want   string
	}{
		{name: "primary_conninfo on 15: reload", spec: func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }, state: "wrong-conninfo",
			want: "pg2:edit_file pg2:reload pg2:verify"},
		{name: "primary_conninfo on 12: restart",
			spec: func(t testing.TB) *spec.Spec {
				return specVariant(t, demoSpec, "postgres_version = 15", "postgres_version = 12")
			},
			state: "wrong-conninfo", mutate: toVersion12,
			want: "pg2:edit_file pg2:restart pg2:verify"},
		{name: "primary_conninfo on 12, offline context from the catalog: restart",
			spec: func(t testing.TB) *spec.Spec {
				return specVariant(t, demoSpec, "postgres_version = 15", "postgres_version = 12")
			},
			state: "wrong-conninfo",
			mutate: func(st *state.State) {
				toVersion12(st)
				n := node(st, "demo", "pg2")
				var rows []state.Setting
				for _, r := range n.Server.Settings {
					if r.Name != "primary_conninfo" {
						rows = append(rows, r)
					}
				}
				n.Server.Settings = rows
			},
			want: "pg2:edit_file pg2:restart pg2:verify"},
		{name: "a healthy standby that is down: start, not restart", spec: func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }, state: "wrong-conninfo",
			mutate: func(st *state.State) {
				n := node(st, "demo", "pg2")
				n.Server = state.Server{Error: "connection refused"}
				n.DataDir.PostmasterPID = false
			},
			want: "pg2:edit_file pg2:start pg2:verify"},
		{name: "a value in the file, not loaded yet (sighup): reload alone",
			spec: func(t testing.TB) *spec.Spec {
				return specVariant(t, demoSpec, `listen_addresses        = "127.0.0.2"`, `listen_addresses        = "127.0.0.2"
      wal_keep_size           = "1GB"`)
			},
			state: "converged-pair",
			mutate: func(st *state.State) {
				appendTo(t, node(st, "demo", "pg1"), "/srv/pgrepl-demo/pg1/postgresql.conf", "wal_keep_size = 1GB\n")
			},
			want: "pg1:reload pg2:verify"},
		{name: "a value in the file, pending restart: restart alone", spec: func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }, state: "converged-pair",
			mutate: func(st *state.State) {
				n := node(st, "demo", "pg1")
				r := n.Server.Setting("listen_addresses")
				r.Setting, r.PendingRestart = "localhost", true
			},
			want: "pg1:restart pg2:verify"},
		{name: "pg_hba.conf only: reload", spec: func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }, state: "shadowing-hba-rule",
			want: "pg1:edit_file pg1:reload pg2:verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := readState(t, c.state)
			if c.mutate != nil {
				c.mutate(st)
			}
			p := mustPlan(t, c.spec(t), st, plan.Options{})
			if got := actions(p); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			for _, ch := range p.Changes {
				if ch.Action == plan.Restart && ch.Downtime != (ch.NodeRole == spec.Primary) {
					t.Errorf("restart of %s: downtime %v", ch.Node, ch.Downtime)
				}
			}
		})
	}
}

// TestHBAPlacement: pgrepl's rule for a standby goes right before the first
// rule that would take (or might take) its replication connection, else at
// the end.
func TestHBAPlacement(t *testing.T) {
	demo := func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }
	from := func(source string) func(t testing.TB) *spec.Spec {
		return func(t testing.TB) *spec.Spec {
			return specVariant(t, demoSpec, `source_address = "127.0.0.1"`, `source_address = "`+source+`"`)
		}
	}
	cases := []struct {
		name  string
		spec  func(t testing.TB) *spec.Spec
		hba   string
		ssl   bool
		line  int    // where the rule lands
		after string // the reason's placement
	}{
		{name: "no rule for replication: appended", spec: demo,
			hba: "local all all trust\nhost all all 127.0.0.1/32 trust\n", line: 3, after: "no rule matches that connection yet"},
		{name: "all does not match replication", spec: demo,
			hba: "host all all 0.0.0.0/0 reject\n", line: 2, after: "no rule matches"},
		{name: "a broader replication rule first", spec: demo,
			hba: "local all all trust\nhost replication all 127.0.0.1/32 trust\n", line: 2, after: "placed before line 2 (host replication all 127.0.0.1/32 trust)"},
		{name: "a group rule might match", spec: demo,
			hba: "local all all trust\nhost replication +admins 127.0.0.0/8 md5\n", line: 2, after: "placed before line 2 (host replication +admins 127.0.0.0/8 md5)"},
		{name: "samenet might match", spec: demo,
			hba: "local all all trust\nhost replication replicator samenet scram-sha-256\n", line: 2, after: "placed before line 2"},
		{name: "hostssl does not match with ssl off", spec: demo,
			hba: "hostssl replication all 127.0.0.1/32 cert\n", line: 2, after: "no rule matches"},
		{name: "hostssl matches with ssl on", spec: demo, ssl: true,
			hba: "hostssl replication all 127.0.0.1/32 cert\n", line: 1, after: "placed before line 1"},
		{name: "another network does not match", spec: demo,
			hba: "host replication all 10.0.0.0/8 scram-sha-256\n", line: 2, after: "no rule matches"},
		{name: "above the comment that describes the shadowing rule", spec: demo,
			hba: "local all all trust\n\n# Replication from localhost.\nhost replication all 127.0.0.1/32 trust\n", line: 3, after: "placed before line 4"},
		{name: "a host name source might match any address rule", spec: from("pg2.example.com"),
			hba: "local all all trust\nhost replication all 10.0.0.0/8 scram-sha-256\n", line: 2, after: "placed before line 2"},
		{name: "a CIDR source", spec: from("127.0.0.0/24"),
			hba: "host replication all 127.0.0.0/8 trust\n", line: 1, after: "placed before line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := readState(t, "converged-pair")
			pg1 := node(st, "demo", "pg1")
			setFile(t, pg1, "/srv/pgrepl-demo/pg1/pg_hba.conf", c.hba)
			if c.ssl {
				pg1.Server.Setting("ssl").Setting = "on"
				pg1.Server.Setting("ssl").Source = "configuration file"
				appendTo(t, pg1, "/srv/pgrepl-demo/pg1/postgresql.conf", "ssl = on\n")
			}
			p := mustPlan(t, c.spec(t), st, plan.Options{})
			var hc *plan.HBAChange
			for _, ch := range p.Changes {
				if len(ch.HBA) > 0 {
					hc = &ch.HBA[len(ch.HBA)-1]
				}
			}
			if hc == nil {
				t.Fatalf("no pg_hba.conf change: %s", actions(p))
			}
			if hc.Line != c.line || !strings.Contains(hc.Reason, c.after) {
				t.Errorf("rule at line %d (%s), want line %d with %q", hc.Line, hc.Reason, c.line, c.after)
			}
		})
	}
}

// TestSettingsMerge: derived values keep what already suffices, raise what
// does not, and compare semantically.
func TestSettingsMerge(t *testing.T) {
	demo := func(t testing.TB) *spec.Spec { return loadSpec(t, demoSpec) }
	noListen := func(t testing.TB) *spec.Spec {
		return specVariant(t, demoSpec, `      listen_addresses        = "127.0.0.2"
`, "")
	}
	withSetting := func(line string) func(t testing.TB) *spec.Spec {
		return func(t testing.TB) *spec.Spec {
			return specVariant(t, demoSpec, `listen_addresses        = "127.0.0.2"`, `listen_addresses        = "127.0.0.2"
      `+line)
		}
	}
	cases := []struct {
		name  string
		spec  func(t testing.TB) *spec.Spec
		conf  string // appended to pg1's postgresql.conf
		param string
		want  string // the new value, "" for no change
	}{
		{"wal_level minimal is raised", demo, "wal_level = minimal\n", "wal_level", "replica"},
		{"wal_level logical is kept", demo, "wal_level = logical\n", "wal_level", ""},
		{"wal_level hot_standby (an alias of replica) is kept", demo, "wal_level = hot_standby\n", "wal_level", ""},
		{"max_wal_senders below standbys + 2 is raised", demo, "max_wal_senders = 2\n", "max_wal_senders", "3"},
		{"a higher max_wal_senders is kept", demo, "max_wal_senders = 20\n", "max_wal_senders", ""},
		{"max_replication_slots 0 is raised", demo, "max_replication_slots = 0\n", "max_replication_slots", "1"},
		{"listen_addresses without the host gets it", noListen, "listen_addresses = 'localhost'\n", "listen_addresses", "localhost, 127.0.0.2"},
		{"listen_addresses * is kept", noListen, "listen_addresses = '*'\n", "listen_addresses", ""},
		{"the spec's value wins over the derived one", withSetting(`max_wal_senders = 8`), "max_wal_senders = 20\n", "max_wal_senders", "8"},
		{"units compare semantically", withSetting(`shared_buffers = "131072kB"`), "", "shared_buffers", ""},
		{"booleans compare semantically", withSetting(`hot_standby_feedback = true`), "hot_standby_feedback = yes\n", "hot_standby_feedback", ""},
		{"a custom parameter compares as a string", withSetting(`"pg_stat_statements.track" = "all"`), "pg_stat_statements.track = 'ALL'\n", "pg_stat_statements.track", "all"},
		{"the port comes from the spec", demo, "port = 5433\n", "port", "5432"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := readState(t, "converged-pair")
			pg1 := node(st, "demo", "pg1")
			if c.conf != "" {
				appendTo(t, pg1, "/srv/pgrepl-demo/pg1/postgresql.conf", c.conf)
				settle(t, st, "demo", "pg1")
			}
			p := mustPlan(t, c.spec(t), st, plan.Options{})
			got := ""
			for _, ch := range p.Changes {
				for _, s := range ch.Settings {
					if ch.Node == "pg1" && s.Name == c.param {
						got = s.New
					}
				}
			}
			if got != c.want {
				t.Errorf("%s: got %q, want %q (plan: %s)", c.param, got, c.want, actions(p))
			}
		})
	}
}

// TestOrdering holds every golden plan to the order rules: on the primary,
// roles, dropped slots, pg_hba.conf and config, reload/restart, created
// slots; a standby's passfile before its basebackup and its config; stop
// before basebackup before start; slots exist before the standby that uses
// them is built; verify last; a shared-memory raise on standbys before the
// primary's restart.
func TestOrdering(t *testing.T) {
	// Slots are dropped before the pg_hba.conf edit that removes their
	// rule, and created after the reload or restart.
	rank := map[plan.Action]int{plan.CreateRole: 0, plan.AlterRole: 0, plan.DropSlot: 1, plan.EditFile: 2, plan.Reload: 3, plan.Restart: 3, plan.CreateSlot: 4}
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := plan.Make(loadSpec(t, c.spec), readState(t, c.name), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			seenVerify := false
			firstStandbyStep := map[string]int{}
			for i, ch := range p.Changes {
				if ch.Action == plan.Verify {
					seenVerify = true
					continue
				}
				if seenVerify {
					t.Errorf("step %d (%s %s) comes after a verify", i+1, ch.Node, ch.Action)
				}
				if ch.NodeRole == spec.Standby {
					if _, ok := firstStandbyStep[ch.Node]; !ok {
						firstStandbyStep[ch.Node] = i
					}
				}
			}
			// The primary's steps, in blocks: each block keeps the rank
			// order (the late synchronous_standby_names edit starts a
			// new block after the standbys).
			last, prevIdx := -1, -1
			for i, ch := range p.Changes {
				if ch.NodeRole != spec.Primary {
					continue
				}
				r := rank[ch.Action]
				if prevIdx >= 0 && i != prevIdx+1 {
					last = -1 // a new block
				}
				if r < last {
					t.Errorf("primary step %d (%s) comes after a later kind of step", i+1, ch.Action)
				}
				last, prevIdx = r, i
			}
			for _, sb := range []string{"pg2", "pg3", "pg4", "db2"} {
				idx := map[plan.Action]int{}
				passfile, conninfo := -1, -1
				for i, ch := range p.Changes {
					if ch.Node != sb {
						continue
					}
					if _, ok := idx[ch.Action]; !ok {
						idx[ch.Action] = i
					}
					if ch.File != nil && ch.File.Kind == plan.KindPassfile {
						passfile = i
					}
					for _, s := range ch.Settings {
						if s.Name == "primary_conninfo" && conninfo < 0 {
							conninfo = i
						}
					}
				}
				bb, hasBB := idx[plan.Basebackup]
				if passfile >= 0 && ((hasBB && passfile > bb) || (conninfo >= 0 && passfile > conninfo)) {
					t.Errorf("%s: the passfile comes after the basebackup or primary_conninfo", sb)
				}
				if st, ok := idx[plan.Stop]; ok && (!hasBB || st > bb) {
					t.Errorf("%s: stop is not right before the basebackup", sb)
				}
				if s, ok := idx[plan.Start]; ok && hasBB && s < bb {
					t.Errorf("%s: start before the basebackup", sb)
				}
				if hasBB {
					for i, ch := range p.Changes {
						if ch.Action == plan.CreateSlot && i > bb && ch.Slot.Name == p.Changes[bb].Basebackup.Slot {
							t.Errorf("%s: its slot is created after its basebackup", sb)
						}
					}
				}
			}
			// A restart of the primary that raises a shared-memory
			// parameter comes after the standbys' raises.
			for i, ch := range p.Changes {
				if ch.Action != plan.Restart || ch.NodeRole != spec.Primary {
					continue
				}
				for j, other := range p.Changes {
					if j > i && other.NodeRole == spec.Standby && other.Action == plan.EditFile {
						for _, s := range other.Settings {
							if strings.Contains(s.Reason, "raises it") {
								t.Errorf("step %d raises %s on %s after the primary's restart", j+1, s.Name, other.Node)
							}
						}
					}
				}
			}
			if t.Failed() {
				fmt.Println(actions(p))
			}
		})
	}
}

// TestTwoClusters: clusters are planned one after the other, each with its
// verify steps last; text blocks name the cluster; a node name two clusters
// share must be qualified in --target.
func TestTwoClusters(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, demoSpec))
	if err != nil {
		t.Fatal(err)
	}
	other := strings.NewReplacer(`cluster "demo"`, `cluster "other"`, "127.0.0.2", "127.0.0.12", "127.0.0.3", "127.0.0.13", "/srv/pgrepl-demo", "/srv/pgrepl-other").Replace(string(b))
	sp, diags := spec.LoadSource([]spec.Source{{Name: "two.hcl", Bytes: append(b, other...)}}, spec.Options{Dir: root, LookupEnv: func(string) (string, bool) { return testPassword, true }})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st := readState(t, "fresh-pair")
	js, err := json.Marshal(st.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	var oc state.Cluster
	if err := json.Unmarshal([]byte(strings.NewReplacer(`"demo"`, `"other"`, "127.0.0.2", "127.0.0.12", "127.0.0.3", "127.0.0.13", "/srv/pgrepl-demo", "/srv/pgrepl-other").Replace(string(js))), &oc); err != nil {
		t.Fatal(err)
	}
	st.Clusters = append(st.Clusters, &oc)
	p := mustPlan(t, sp, st, plan.Options{})
	var order []string
	for _, c := range p.Changes {
		if len(order) == 0 || order[len(order)-1] != c.Cluster {
			order = append(order, c.Cluster)
		}
	}
	if strings.Join(order, " ") != "demo other" || p.Changes[len(p.Changes)-1].Action != plan.Verify {
		t.Errorf("clusters interleave: %v", order)
	}
	var text bytes.Buffer
	if err := render.Text(&text, p, render.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# demo/pg1 (127.0.0.2, primary)", "# other/pg2 (127.0.0.13, standby)", "# verify replication of other", "Plan: 20 to change on 4 nodes (2 restarts, 2 rebuilds)."} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text has no %q", want)
		}
	}
	if _, err := plan.Make(sp, st, plan.Options{Targets: []string{"pg2"}}); err == nil || !strings.Contains(err.Error(), `several clusters have a node "pg2" (demo/pg2, other/pg2); write CLUSTER/NODE`) {
		t.Errorf("an ambiguous --target: %v", err)
	}
	q := mustPlan(t, sp, st, plan.Options{Targets: []string{"other/pg2"}})
	for _, c := range q.Changes {
		if c.Cluster != "other" {
			t.Errorf("--target other/pg2 plans %s/%s", c.Cluster, c.Node)
		}
	}
}

func TestTargetClusters(t *testing.T) {
	sp := loadSpec(t, threeSpec)
	if got := plan.TargetClusters(sp, nil); !reflect.DeepEqual(got, []string{"billing"}) {
		t.Errorf("no targets: %q", got)
	}
	for _, tc := range []struct {
		targets []string
		want    []string
	}{
		{[]string{"pg2"}, []string{"billing"}},
		{[]string{"billing/pg3"}, []string{"billing"}},
		{[]string{"other/pg3"}, nil},
		{[]string{"nope"}, nil},
	} {
		if got := plan.TargetClusters(sp, tc.targets); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("TargetClusters(%q) = %q, want %q", tc.targets, got, tc.want)
		}
	}
}

// TestCommitsWaitForSynchronousStandby: a step that takes away a standby
// that the primary's live synchronous_standby_names needs is marked as
// downtime, and only then: when another streaming standby can take its
// place, when commits do not wait for standbys, or when they wait already.
func TestCommitsWaitForSynchronousStandby(t *testing.T) {
	sp := loadSpec(t, threeSpec)
	replacePG2 := plan.Options{Replace: []string{"pg2"}}
	cases := []struct {
		name string
		// names is pg1's synchronous_standby_names as it runs; syncState
		// the sync_state of pg2, pg3 and pg4 in its pg_stat_replication.
		names     string
		syncState [3]string
		commit    string
		want      bool
	}{
		{"the only synchronous standby", "FIRST 1 (pg2)", [3]string{"sync", "async", "async"}, "on", true},
		{"a plain list", "pg2", [3]string{"sync", "async", "async"}, "remote_apply", true},
		{"a potential standby takes over", "FIRST 1 (pg2, pg3)", [3]string{"sync", "potential", "async"}, "on", false},
		{"two of three", "2 (pg2, pg3, pg4)", [3]string{"sync", "sync", "potential"}, "on", false},
		{"two of two", "FIRST 2 (pg2, pg3)", [3]string{"sync", "sync", "async"}, "on", true},
		{"any two of three", "ANY 2 (pg2, pg3, pg4)", [3]string{"quorum", "quorum", "quorum"}, "on", false},
		{"any three of three", "any 3 (pg2, pg3, pg4)", [3]string{"quorum", "quorum", "quorum"}, "remote_write", true},
		{"commits do not wait", "FIRST 1 (pg2)", [3]string{"sync", "async", "async"}, "local", false},
		{"not a synchronous standby", "FIRST 1 (pg3)", [3]string{"async", "sync", "async"}, "on", false},
		{"commits wait already", "FIRST 2 (pg2, pg5)", [3]string{"sync", "async", "async"}, "on", false},
		{"no synchronous standbys", "", [3]string{"async", "async", "async"}, "on", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := threeStandbysConverged(t, sp)
			pg1 := st.Cluster("billing").Node("pg1")
			setRow(t, pg1, "synchronous_standby_names", c.names, false)
			setRow(t, pg1, "synchronous_commit", c.commit, false)
			for i, name := range []string{"pg2", "pg3", "pg4"} {
				for j := range pg1.Server.Replication {
					if pg1.Server.Replication[j].ApplicationName == name {
						pg1.Server.Replication[j].SyncState = c.syncState[i]
					}
				}
			}
			p, err := plan.Make(sp, st, replacePG2)
			if err != nil {
				t.Fatal(err)
			}
			var stop *plan.Change
			for i := range p.Changes {
				if p.Changes[i].Node == "pg2" && p.Changes[i].Action == plan.Stop {
					stop = &p.Changes[i]
				}
			}
			if stop == nil {
				t.Fatalf("no stop of pg2: %s", actions(p))
			}
			if stop.Downtime != c.want || p.Summary.Downtime != c.want {
				t.Fatalf("stop pg2: downtime %v (summary %v), want %v; %q", stop.Downtime, p.Summary.Downtime, c.want, stop.DowntimeReason)
			}
			if c.want && (!strings.Contains(stop.DowntimeReason, "commits on pg1 wait") || !strings.Contains(stop.DowntimeReason, c.names)) {
				t.Errorf("downtime reason %q", stop.DowntimeReason)
			}
			if !c.want && stop.DowntimeReason != "" {
				t.Errorf("downtime reason %q without downtime", stop.DowntimeReason)
			}
		})
	}
}

// TestDropSlotOfSynchronousStandby: dropping the slot of a removed standby
// that still streams ends its walsender; when the primary's commits wait
// for it, the drop is marked as downtime.
func TestDropSlotOfSynchronousStandby(t *testing.T) {
	sp := loadSpec(t, demoSpec)
	for _, sync := range []bool{false, true} {
		st := removedStandby(t, sp)
		pg1 := st.Cluster("demo").Node("pg1")
		for i := range pg1.Server.Slots {
			if pg1.Server.Slots[i].Name == "pg3" {
				pg1.Server.Slots[i].Active = true
			}
		}
		ss := "async"
		if sync {
			ss = "sync"
			setRow(t, pg1, "synchronous_standby_names", "pg3", false)
		}
		pg1.Server.Replication = append(pg1.Server.Replication, state.Replication{ApplicationName: "pg3", State: "streaming", SyncState: ss})
		p, err := plan.Make(sp, st, plan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		drop := p.Changes[0]
		if drop.Action != plan.DropSlot || drop.Downtime != sync {
			t.Errorf("synchronous %v: first step %s, downtime %v %q", sync, drop.Action, drop.Downtime, drop.DowntimeReason)
		}
		if sync && !strings.Contains(drop.DowntimeReason, "commits on pg1 wait once pg3's walsender ends") {
			t.Errorf("downtime reason %q", drop.DowntimeReason)
		}
	}
}
