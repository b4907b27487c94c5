package plan_test

import (
	"path"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// goldenCase is one branch of the planner: a spec, a State snapshot
// (testdata/states/<name>.json, built by build with -update), options, and
// the expected plan in testdata/plans/<name>.{txt,md,json}.
type goldenCase struct {
	name string
	// spec is relative to the repository root.
	spec  string
	opts  plan.Options
	build func(t testing.TB, sp *spec.Spec) *state.State
}

const (
	demoSpec  = "testdata/specs/local-demo.hcl"
	threeSpec = "testdata/specs/three-standbys.hcl"
	seedSpec  = "testdata/specs/seed.hcl"
)

var goldenCases = []goldenCase{
	{name: "fresh-pair", spec: demoSpec, build: freshPair},
	{name: "converged-pair", spec: demoSpec, build: convergedPair},
	{name: "pending-restart", spec: demoSpec, build: pendingRestart},
	{name: "auto-conf-override", spec: demoSpec, build: autoConfOverride},
	{name: "shadowing-hba-rule", spec: demoSpec, build: shadowingRule},
	{name: "wrong-password", spec: demoSpec, build: wrongPassword},
	{name: "expired-password", spec: demoSpec, build: expiredPassword},
	{name: "wrong-conninfo", spec: demoSpec, build: wrongConninfo},
	{name: "unrelated-cluster", spec: demoSpec, build: unrelatedCluster},
	{name: "empty-standby-dir", spec: demoSpec, build: emptyStandbyDir},
	{name: "removed-standby", spec: demoSpec, build: removedStandby},
	{name: "removed-standby-slot-dropped", spec: demoSpec, build: removedStandbySlotDropped},
	{name: "three-standbys-one-synchronous", spec: threeSpec, build: threeStandbys},
	{name: "three-standbys-fresh", spec: threeSpec, build: threeStandbysFresh},
	{name: "shared-memory-raise", spec: "testdata/states/shared-memory-raise.hcl", build: sharedMemory},
	{name: "shared-memory-lower", spec: "testdata/states/shared-memory-lower.hcl", build: sharedMemory},
	{name: "debian-other-cluster", spec: seedSpec, build: debianOther},
	{name: "replace-healthy", spec: demoSpec, opts: plan.Options{Replace: []string{"pg2"}}, build: convergedPair},
	{name: "target-two-standbys", spec: threeSpec, opts: plan.Options{Targets: []string{"pg2", "pg3"}}, build: threeStandbys},
	{name: "replace-synchronous-standby", spec: threeSpec, opts: plan.Options{Replace: []string{"pg2"}}, build: threeStandbysConverged},
}

func demoCluster(nodes ...*state.Node) *state.State {
	return &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{{Name: "demo", Nodes: nodes}}}
}

// freshPair is the runbook's start: pg1 is a running PostgreSQL 15 right
// after initdb; nothing is set up on pg2 (no data directory).
func freshPair(t testing.TB, _ *spec.Spec) *state.State {
	pg1 := baseNode(t, "pg1", "127.0.0.2", "/srv/pgrepl-demo/pg1", 15, sysidPrimary, initdbFiles(t, "/srv/pgrepl-demo/pg1", 15))
	pg1.Server.Role = &state.Role{Name: "replicator", Password: state.PasswordNone}
	pg2 := emptyStandby("pg2", "127.0.0.3", "/srv/pgrepl-demo/pg2", 15, false)
	st := demoCluster(pg1, pg2)
	settle(t, st, "demo", "pg1")
	return st
}

// converge applies the plan of st to it (Simulate), as apply would, and
// fills in what then streams.
func converge(t testing.TB, sp *spec.Spec, st *state.State) *state.State {
	t.Helper()
	p, err := plan.Make(sp, st, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := plan.Simulate(p, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sp.Clusters {
		sc := out.Cluster(c.Name)
		prim := sc.Node(c.Primary.Name)
		var standbys []string
		// pg_stat_replication's sync_state under FIRST 1 (…): the first
		// named standby is sync, the others named are potential.
		syncState := map[string]string{}
		for i, name := range c.Replication.Synchronous {
			syncState[name] = "potential"
			if i == 0 {
				syncState[name] = "sync"
			}
		}
		for _, sb := range c.Standbys {
			n := sc.Node(sb.Name)
			ss := syncState[sb.Name]
			if ss == "" {
				ss = "async"
			}
			n.DataDir.ClusterState = "in archive recovery"
			n.Server.CurrentLSN = "0/5000060"
			n.Server.WalReceiver = &state.WalReceiver{Status: "streaming", SenderHost: c.Primary.Host, SenderPort: c.Primary.Port, SlotName: sb.Slot}
			prim.Server.Replication = append(prim.Server.Replication, state.Replication{ApplicationName: sb.Name, ClientAddr: sb.SourceAddress, State: "streaming", SyncState: ss, SentLSN: "0/5000060", ReplayLSN: "0/5000060"})
			for i := range prim.Server.Slots {
				if prim.Server.Slots[i].Name == sb.Slot {
					prim.Server.Slots[i].Active, prim.Server.Slots[i].RestartLSN = true, "0/5000060"
				}
			}
			standbys = append(standbys, sb.Name)
		}
		prim.Server.CurrentLSN = "0/5000060"
		settle(t, out, c.Name, append([]string{c.Primary.Name}, standbys...)...)
	}
	return out
}

func convergedPair(t testing.TB, sp *spec.Spec) *state.State {
	return converge(t, sp, freshPair(t, sp))
}

// pendingRestart: someone raised max_wal_senders to 16 in pg1's
// postgresql.conf and reloaded; the server still runs with 10.
func pendingRestart(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	pg1 := st.Cluster("demo").Node("pg1")
	replaceIn(t, pg1, "/srv/pgrepl-demo/pg1/postgresql.conf", "#max_wal_senders = 10", "max_wal_senders = 16")
	settle(t, st, "demo", "pg1")
	setRow(t, pg1, "max_wal_senders", "10", true)
	return st
}

// autoConfOverride: ALTER SYSTEM SET listen_addresses = 'localhost' on pg1
// shadows postgresql.conf's line.
func autoConfOverride(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	pg1 := st.Cluster("demo").Node("pg1")
	appendTo(t, pg1, "/srv/pgrepl-demo/pg1/postgresql.auto.conf", "listen_addresses = 'localhost'\n")
	settle(t, st, "demo", "pg1")
	return st
}

// shadowingRule: pgrepl's rule for pg2 sits at the end of pg1's
// pg_hba.conf, after initdb's "host replication all 127.0.0.1/32 trust",
// which takes pg2's connections (they come from 127.0.0.1) first.
func shadowingRule(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	pg1 := st.Cluster("demo").Node("pg1")
	hba := "/srv/pgrepl-demo/pg1/pg_hba.conf"
	var rule string
	var keep []string
	for _, l := range fileLines(t, pg1, hba) {
		if strings.Contains(l, "# pgrepl: demo/pg2") {
			rule = l
			continue
		}
		keep = append(keep, l)
	}
	if rule == "" {
		t.Fatal("no pgrepl rule for pg2")
	}
	setFile(t, pg1, hba, strings.Join(keep, "")+rule)
	return st
}

func wrongPassword(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	st.Cluster("demo").Node("pg1").Server.Role.Password = state.PasswordDiffers
	return st
}

// expiredPassword: the role's password is the spec's, but its validity
// (rolvaliduntil) has run out, so no standby can log in.
func expiredPassword(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	st.Cluster("demo").Node("pg1").Server.Role.Expired = true
	return st
}

// wrongConninfo: pg2 is a healthy replica of pg1, but its
// primary_conninfo (from an old hand-made setup) names another address,
// no application_name, and holds a password. As the observer records it:
// the password replaced by "(sensitive value)" in the content and in
// pg_settings, the hash that of the real file.
func wrongConninfo(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	pg2 := st.Cluster("demo").Node("pg2")
	auto := "/srv/pgrepl-demo/pg2/postgresql.auto.conf"
	f := pg2.File(auto)
	var lines []string
	for _, l := range fileLines(t, pg2, auto) {
		if strings.HasPrefix(l, "primary_conninfo") {
			l = "primary_conninfo = 'host=127.0.0.9 port=5432 user=replicator password=hunter2'\n"
		}
		lines = append(lines, l)
	}
	real := strings.Join(lines, "")
	f.Content = state.Content(strings.ReplaceAll(real, "hunter2", spec.Redacted))
	f.SHA256 = state.Hash([]byte(real))
	settle(t, st, "demo", "pg2")
	return st
}

// unrelatedCluster: pg2's data directory holds another cluster (its own
// initdb), running stand-alone.
func unrelatedCluster(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	c := st.Cluster("demo")
	pg2 := baseNode(t, "pg2", "127.0.0.3", "/srv/pgrepl-demo/pg2", 15, sysidOther, initdbFiles(t, "/srv/pgrepl-demo/pg2", 15))
	pg2.Passfile = c.Node("pg2").Passfile
	pg2.Server.DatabaseSize = 7 * mib
	c.Nodes[1] = pg2
	settle(t, st, "demo", "pg2")
	return st
}

// emptyStandbyDir: pg1 is set up for pg2 (rule, slot, role), and pg2's
// data directory exists but is empty.
func emptyStandbyDir(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	c := st.Cluster("demo")
	pg2 := emptyStandby("pg2", "127.0.0.3", "/srv/pgrepl-demo/pg2", 15, true)
	pg2.Passfile = c.Node("pg2").Passfile
	c.Nodes[1] = pg2
	p := c.Node("pg1")
	p.Server.Replication = nil
	for i := range p.Server.Slots {
		p.Server.Slots[i].Active = false
	}
	return st
}

// removedStandby: pg3 was a standby of pg1 and is gone from the spec; its
// pg_hba.conf rule and its slot, which holds 1.2 GiB of WAL, remain.
func removedStandby(t testing.TB, sp *spec.Spec) *state.State {
	st := convergedPair(t, sp)
	pg1 := st.Cluster("demo").Node("pg1")
	hba := "/srv/pgrepl-demo/pg1/pg_hba.conf"
	var lines []string
	for _, l := range fileLines(t, pg1, hba) {
		lines = append(lines, l)
		if strings.Contains(l, "# pgrepl: demo/pg2") {
			lines = append(lines, "host    replication     replicator      127.0.0.4/32            scram-sha-256 # pgrepl: demo/pg3 slot=pg3\n")
		}
	}
	setFile(t, pg1, hba, strings.Join(lines, ""))
	pg1.Server.Slots = append(pg1.Server.Slots, state.Slot{Name: "pg3", Type: "physical", RestartLSN: "0/1000000", WalStatus: "reserved", RetainedBytes: 1288490189})
	return st
}

// removedStandbySlotDropped: an apply of the removed-standby plan stopped
// after its first step, dropping pg3's slot; the rule that named it is left,
// and the next plan removes it.
func removedStandbySlotDropped(t testing.TB, sp *spec.Spec) *state.State {
	st := removedStandby(t, sp)
	pg1 := st.Cluster("demo").Node("pg1")
	pg1.Server.Slots = pg1.Server.Slots[:len(pg1.Server.Slots)-1]
	return st
}

// threeStandbysFresh: a PostgreSQL 16 primary right after initdb, and
// three standby hosts with nothing on them.
func threeStandbysFresh(t testing.TB, _ *spec.Spec) *state.State {
	dir := func(n string) string { return "/srv/billing/" + n }
	pg1 := baseNode(t, "pg1", "127.0.0.2", dir("pg1"), 16, sysidPrimary, initdbFiles(t, dir("pg1"), 16))
	pg1.Server.Role = &state.Role{Name: "replicator", Password: state.PasswordNone}
	st := &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{{Name: "billing", Nodes: []*state.Node{
		pg1,
		emptyStandby("pg2", "127.0.0.3", dir("pg2"), 16, false),
		emptyStandby("pg3", "127.0.0.4", dir("pg3"), 16, false),
		emptyStandby("pg4", "127.0.0.5", dir("pg4"), 16, false),
	}}}}
	settle(t, st, "billing", "pg1")
	return st
}

// threeStandbys: a PostgreSQL 16 cluster whose spec just raised
// max_connections from 100 to 200 everywhere; pg2 streams (with 100), pg3's
// data directory is empty and pg4's does not exist: both are new.
func threeStandbys(t testing.TB, sp *spec.Spec) *state.State {
	dir := func(n string) string { return "/srv/billing/" + n }
	st := converge(t, sp, threeStandbysFresh(t, sp))
	c := st.Cluster("billing")
	// The spec had max_connections = 100 when pg1 and pg2 were set up.
	for _, n := range []string{"pg1", "pg2"} {
		node := c.Node(n)
		replaceIn(t, node, path.Join(dir(n), "postgresql.conf"), "max_connections = 200", "max_connections = 100")
		settle(t, st, "billing", n)
	}
	// pg3 and pg4 are new: nothing of theirs on pg1 yet.
	pg1 := c.Node("pg1")
	hba := dir("pg1") + "/pg_hba.conf"
	var lines []string
	for _, l := range fileLines(t, pg1, hba) {
		if strings.Contains(l, "# pgrepl: billing/pg3") || strings.Contains(l, "# pgrepl: billing/pg4") {
			continue
		}
		lines = append(lines, l)
	}
	setFile(t, pg1, hba, strings.Join(lines, ""))
	var slots []state.Slot
	for _, s := range pg1.Server.Slots {
		if s.Name == "pg2" {
			slots = append(slots, s)
		}
	}
	pg1.Server.Slots = slots
	pg1.Server.Replication = pg1.Server.Replication[:1]
	c.Nodes[2] = emptyStandby("pg3", "127.0.0.4", dir("pg3"), 16, true)
	c.Nodes[3] = emptyStandby("pg4", "127.0.0.5", dir("pg4"), 16, false)
	return st
}

// threeStandbysConverged: pg1 and its three standbys as pgrepl left them;
// pg2 is the synchronous standby, and commits on pg1 wait for it.
func threeStandbysConverged(t testing.TB, sp *spec.Spec) *state.State {
	return converge(t, sp, threeStandbysFresh(t, sp))
}

// sharedMemory: a converged pair, both with max_connections = 100; the
// spec moves pg1's.
func sharedMemory(t testing.TB, _ *spec.Spec) *state.State {
	return convergedPair(t, loadSpec(t, demoSpec))
}

// debianOther is the seed scenario on Debian hosts: db1 runs the cluster
// pg_createcluster made (config in /etc, a conf.d snippet that tuned it for
// a single server); db2 runs its own, which the postgresql package created
// when it was installed.
func debianOther(t testing.TB, sp *spec.Spec) *state.State {
	const etc, data = "/etc/postgresql/15/main", "/var/lib/postgresql/15/main"
	files := func() []*state.File {
		return []*state.File{
			file(etc+"/postgresql.conf", state.RoleConfig, debianConf(t), "0644"),
			file(etc+"/conf.d/10-single-server.conf", state.RoleInclude, []byte("# A single server: no WAL for standbys.\nwal_level = minimal\nmax_wal_senders = 0\n"), "0644"),
			file(data+"/postgresql.auto.conf", state.RoleAuto, readCorpus(t, "initdb-pg15/postgresql.auto.conf"), "0600"),
			file(etc+"/pg_hba.conf", state.RoleHBA, readCorpus(t, "debian-pg15/pg_hba.conf"), "0640"),
		}
	}
	db1 := baseNode(t, "db1", "192.0.2.11", data, 15, sysidPrimary, files())
	db1.MachineID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	db1.Server.Role = &state.Role{Name: "replicator", Password: state.PasswordNone}
	db1.Server.DatabaseSize = 5 * gib
	db2 := baseNode(t, "db2", "192.0.2.12", data, 15, sysidOther, []*state.File{
		file(etc+"/postgresql.conf", state.RoleConfig, debianConf(t), "0644"),
		file(data+"/postgresql.auto.conf", state.RoleAuto, readCorpus(t, "initdb-pg15/postgresql.auto.conf"), "0600"),
		file(etc+"/pg_hba.conf", state.RoleHBA, readCorpus(t, "debian-pg15/pg_hba.conf"), "0640"),
	})
	db2.MachineID = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	db2.Passfile = &state.Passfile{Path: "/var/lib/postgresql/15/main.pgpass"}
	db2.Server.DatabaseSize = 30 * mib
	st := &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{{Name: "orders", Nodes: []*state.Node{db1, db2}}}}
	settle(t, st, "orders", "db1", "db2")
	return st
}
