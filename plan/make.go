package plan

import (
	"fmt"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// Options narrow or force what a plan does (DESIGN §3).
type Options struct {
	// Targets limits the plan to these nodes ("NODE", or "CLUSTER/NODE"
	// when several clusters have one of that name). A targeted standby
	// brings in what it needs on its primary (the role, the primary's
	// settings, its own pg_hba.conf rule and slot) but not the rules and
	// slots of other standbys. Empty: every node.
	Targets []string `json:"targets,omitempty"`
	// Replace names standbys to rebuild even if they are healthy replicas.
	Replace []string `json:"replace,omitempty"`
}

// selection is Options resolved against the spec.
type selection struct {
	targets map[*spec.Node]bool
	replace map[*spec.Node]bool
}

// targeted reports whether n is in the plan's scope.
func (s selection) targeted(n *spec.Node) bool { return len(s.targets) == 0 || s.targets[n] }

// Make plans the changes that bring the hosts of st to sp. It returns a
// *ProblemsError listing every failed precondition (each naming cluster,
// node and host, and what to do) when it cannot plan.
func Make(sp *spec.Spec, st *state.State, opts Options) (*Plan, error) {
	if sp == nil || st == nil {
		return nil, fmt.Errorf("plan: no spec or no state")
	}
	sel, problems := resolveOptions(sp, opts)
	var changes []Change
	if len(problems) == 0 {
		parsed := &confparse.ParseCache{}
		for _, c := range sp.Clusters {
			if !clusterInScope(c, sel) {
				continue
			}
			cp := &clusterPlanner{c: c, sc: st.Cluster(c.Name), sel: sel, parsed: parsed}
			cp.plan()
			problems = append(problems, cp.problems...)
			changes = append(changes, cp.changes...)
		}
	}
	if len(problems) > 0 {
		return nil, &ProblemsError{Problems: problems}
	}
	if changes == nil {
		changes = []Change{}
	}
	p := &Plan{FormatVersion: FormatVersion, Changes: changes}
	p.Summary = summarize(changes)
	return p, nil
}

// nodesNamed returns the nodes that a --target or --replace value names,
// NODE in any cluster or CLUSTER/NODE, with their clusters.
func nodesNamed(sp *spec.Spec, name string) (nodes []*spec.Node, clusters []*spec.Cluster) {
	clusterName, nodeName, qualified := strings.Cut(name, "/")
	if !qualified {
		nodeName, clusterName = clusterName, ""
	}
	for _, c := range sp.Clusters {
		if clusterName != "" && c.Name != clusterName {
			continue
		}
		if n := c.Node(nodeName); n != nil {
			nodes, clusters = append(nodes, n), append(clusters, c)
		}
	}
	return nodes, clusters
}

// TargetClusters returns, in spec order, the clusters that a plan with
// these targets may change: all of them when there are no targets. Apply
// locks them before it observes.
func TargetClusters(sp *spec.Spec, targets []string) []string {
	in := map[string]bool{}
	for _, t := range targets {
		_, clusters := nodesNamed(sp, t)
		for _, c := range clusters {
			in[c.Name] = true
		}
	}
	var out []string
	for _, c := range sp.Clusters {
		if len(targets) == 0 || in[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out
}

// resolveOptions finds the nodes Targets and Replace name.
func resolveOptions(sp *spec.Spec, opts Options) (selection, []Problem) {
	sel := selection{targets: map[*spec.Node]bool{}, replace: map[*spec.Node]bool{}}
	var problems []Problem
	find := func(flag, name string) *spec.Node {
		found, clusters := nodesNamed(sp, name)
		var where []string
		for i, n := range found {
			where = append(where, clusters[i].Name+"/"+n.Name)
		}
		switch len(found) {
		case 0:
			problems = append(problems, Problem{Message: fmt.Sprintf("%s %s: the spec has no node %q", flag, name, name)})
			return nil
		case 1:
			return found[0]
		}
		problems = append(problems, Problem{Message: fmt.Sprintf("%s %s: several clusters have a node %q (%s); write CLUSTER/NODE", flag, name, found[0].Name, strings.Join(where, ", "))})
		return nil
	}
	for _, t := range opts.Targets {
		if n := find("--target", t); n != nil {
			sel.targets[n] = true
		}
	}
	for _, r := range opts.Replace {
		n := find("--replace", r)
		if n == nil {
			continue
		}
		if n.Role == spec.Primary {
			problems = append(problems, Problem{Message: fmt.Sprintf("--replace %s: %s is a primary; pgrepl rebuilds only standbys", r, n.Name)})
			continue
		}
		if len(sel.targets) > 0 && !sel.targets[n] {
			problems = append(problems, Problem{Message: fmt.Sprintf("--replace %s: %s is not among the --target nodes; target it too", r, n.Name)})
			continue
		}
		sel.replace[n] = true
	}
	return sel, problems
}

func clusterInScope(c *spec.Cluster, sel selection) bool {
	for _, n := range c.Nodes() {
		if sel.targeted(n) {
			return true
		}
	}
	return false
}

// node is one spec node with what was observed of it and what the plan
// does to it so far.
type node struct {
	sn      *spec.Node
	st      *state.Node
	version int
	fs      *vfs
	conf    *confparse.Config
	hba     *confparse.HBAFile

	configFile, hbaFile string

	// up: the server runs, and keeps running through the plan (it is not
	// rebuilt). A rebuilt standby's values come from its files alone.
	up bool
	// rebuild: the standby is rebuilt with pg_basebackup; rebuildWhy says
	// why, for the "forces rebuild" note.
	rebuild    bool
	rebuildWhy string
	// stopFirst: a rebuilt standby whose server runs (or may) is stopped.
	stopFirst bool

	// What the node's edits require.
	restartParams []string
	restartWhy    []string
	reloadParams  []string
	edited        bool
	// restarted: a restart is planned, so the server runs with its files'
	// values from then on; reloaded: the same for these parameters.
	restarted bool
	reloaded  map[string]bool

	rows map[string]*state.Setting // pg_settings by lower-case name
}

// liveSetting returns the pg_settings row for name while the server runs
// through the plan.
func (n *node) liveSetting(name string) *state.Setting {
	if !n.up || n.restarted || n.reloaded[name] {
		return nil
	}
	return n.row(name)
}

// observedSetting returns the pg_settings row for name when the server
// was up, for facts that do not change (its context).
func (n *node) observedSetting(name string) *state.Setting {
	if !n.st.Server.Up {
		return nil
	}
	return n.row(name)
}

// row returns the observed pg_settings row for name, through an index: a
// server has some 350 rows, and the planner asks for many.
func (n *node) row(name string) *state.Setting {
	if n.rows == nil {
		n.indexRows()
	}
	return n.rows[strings.ToLower(name)]
}

// indexRows builds the index row reads. A standby's is built when it is
// first read; the primary's at once, as the standby workers read it
// concurrently.
func (n *node) indexRows() {
	n.rows = make(map[string]*state.Setting, len(n.st.Server.Settings))
	for i := range n.st.Server.Settings {
		r := &n.st.Server.Settings[i]
		n.rows[strings.ToLower(r.Name)] = r
	}
}

func (n *node) needRestart(param, why string) {
	if slices.Contains(n.restartParams, param) {
		return
	}
	n.restartParams = append(n.restartParams, param)
	if why != "" {
		n.restartWhy = append(n.restartWhy, why)
	}
}

func (n *node) needReload(param string) {
	if slices.Contains(n.reloadParams, param) {
		return
	}
	n.reloadParams = append(n.reloadParams, param)
}

// clusterPlanner plans one cluster.
type clusterPlanner struct {
	c        *spec.Cluster
	sc       *state.Cluster
	sel      selection
	problems []Problem
	changes  []Change
	// parsed shares the parsing of config files: every standby built
	// from the primary loads the same bytes.
	parsed *confparse.ParseCache

	primary  *node
	standbys []*node // spec order; nil for a standby out of scope

	// primaryFinal holds the primary's value of each shared-memory
	// parameter after the plan; primaryRunning the value it runs with now.
	primaryFinal   map[string]int64
	primaryRunning map[string]int64
	// removedSlots are slots named by pgrepl's pg_hba.conf rules of
	// standbys that are gone (or whose slot changed), to drop.
	removedSlots []removedSlot
}

type removedSlot struct {
	name string
	// node is the standby whose rule named the slot: the application_name
	// pgrepl gave it.
	node   string
	reason string
}

func (cp *clusterPlanner) problem(n *spec.Node, format string, args ...any) {
	p := Problem{Cluster: cp.c.Name, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Node, p.Host = n.Name, n.Host
	}
	cp.problems = append(cp.problems, p)
}

// primaryCovers reports whether the primary's part for standby sb (its
// pg_hba.conf rule, its slot) is in scope.
func (cp *clusterPlanner) primaryCovers(sb *spec.Node) bool {
	return cp.sel.targeted(cp.c.Primary) || cp.sel.targeted(sb)
}

// plan fills cp.changes, or cp.problems.
func (cp *clusterPlanner) plan() {
	if cp.sc == nil {
		cp.problem(nil, "the state holds no observation of this cluster; observe again")
		return
	}
	if !cp.loadPrimary() {
		return
	}
	for _, sb := range cp.c.Standbys {
		if !cp.sel.targeted(sb) {
			cp.standbys = append(cp.standbys, nil)
			continue
		}
		cp.standbys = append(cp.standbys, cp.loadStandby(sb))
	}
	if len(cp.problems) > 0 {
		return
	}
	p := cp.primary

	// The primary's settings come first: standbys compare with them.
	primaryWants := cp.primaryWants()
	if len(cp.problems) > 0 {
		return
	}
	cp.computePrimaryFinal(primaryWants)

	// Standbys whose shared-memory parameters must rise before the
	// primary's restart raises them there.
	var early []Change
	for _, sb := range cp.standbys {
		if sb == nil || sb.rebuild || !sb.up {
			continue
		}
		early = append(early, cp.raiseBeforePrimary(sb)...)
	}

	// The primary.
	var prim []Change
	prim = append(prim, cp.roleChanges()...)
	hba := cp.hbaChanges(p, true)
	// A slot to drop goes before the pg_hba.conf rule that names it: the
	// rule's marker is how pgrepl knows the slot is its own, so an apply
	// that stops between the two leaves a rule the next plan removes, never
	// a slot nobody drops. Slots are created after a restart, which may
	// raise max_replication_slots for them.
	create, drop := cp.slotChanges()
	prim = append(prim, drop...)
	prim = append(prim, hba...)
	var lateSync []want
	var now []want
	for _, w := range primaryWants {
		if w.late {
			lateSync = append(lateSync, w)
		} else {
			now = append(now, w)
		}
	}
	prim = append(prim, cp.applyWants(p, now)...)
	prim = append(prim, cp.restartOrReload(p)...)
	prim = append(prim, create...)

	// The standbys, each on its own.
	standbys := cp.allStandbyChanges()

	// synchronous_standby_names last, once its standbys stream.
	var late []Change
	if len(lateSync) > 0 {
		late = append(late, cp.applyWants(p, lateSync)...)
		late = append(late, cp.restartOrReload(p)...)
	}
	if len(cp.problems) > 0 {
		return
	}
	cp.changes = append(cp.changes, early...)
	cp.changes = append(cp.changes, prim...)
	cp.changes = append(cp.changes, standbys...)
	cp.changes = append(cp.changes, late...)
	if len(cp.changes) > 0 {
		cp.changes = append(cp.changes, cp.verifyChanges()...)
	}
}

// allStandbyChanges plans the standbys, in parallel: each is independent of
// the others and reads only what is settled by now (the spec, the primary as
// the plan leaves it, the primary's final values). The result is assembled
// in spec order, so it is the same as one after the other. A few workers,
// this goroutine one of them, take the standbys in turn: a goroutine per
// standby would grow a new stack for each.
func (cp *clusterPlanner) allStandbyChanges() []Change {
	changes := make([][]Change, len(cp.standbys))
	problems := make([][]Problem, len(cp.standbys))
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(cp.standbys) {
				return
			}
			sb := cp.standbys[i]
			if sb == nil {
				continue
			}
			sub := *cp
			sub.problems, sub.changes = nil, nil
			changes[i] = sub.standbyChanges(sb)
			problems[i] = sub.problems
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cp.standbys)) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	var out []Change
	for i := range cp.standbys {
		out = append(out, changes[i]...)
		cp.problems = append(cp.problems, problems[i]...)
	}
	return out
}

// newChange starts a change on node n.
func (cp *clusterPlanner) newChange(n *spec.Node, a Action, reason string) Change {
	return Change{Cluster: cp.c.Name, Node: n.Name, Host: n.Host, NodeRole: n.Role, Action: a, Reason: reason}
}

// loadPrimary checks the primary's preconditions and reads its files.
func (cp *clusterPlanner) loadPrimary() bool {
	sp := cp.c.Primary
	st := cp.sc.Node(sp.Name)
	if st == nil {
		cp.problem(sp, "the state holds no observation of the primary; observe again")
		return false
	}
	before := len(cp.problems)
	switch {
	case !st.Reachable:
		cp.problem(sp, "the primary cannot be reached%s. Check that the host is up and that pgrepl can log in (ssh), then plan again.", because(st.Error))
	case !st.Server.Up:
		cp.problem(sp, "the primary's server is not running or refuses connections%s. Start it (pgrepl plans only against a running primary) or fix admin_dsn.", because(st.Server.Error))
	case st.Server.InRecovery:
		cp.problem(sp, "the primary is in recovery: it is a standby, not a primary. Promote it, or name the real primary in the spec.")
	}
	if st.Reachable {
		cp.checkVersions(sp, st, true)
		if st.Server.Up && st.DataDir.SystemIdentifier == "" {
			cp.problem(sp, "the primary's system identifier is unknown (pg_controldata of %s gave none); standbys cannot be checked against it. Observe again.", sp.DataDir)
		}
	}
	if len(cp.problems) > before {
		return false
	}
	n := &node{sn: sp, st: st, version: cp.c.PostgresVersion, up: true}
	n.indexRows()
	if !cp.loadFiles(n) {
		return false
	}
	cp.primary = n
	return true
}

func because(err string) string {
	if err == "" {
		return ""
	}
	return " (" + strings.TrimSuffix(err, ".") + ")"
}

// checkVersions reports a major version other than the spec's, from the
// running server, the binaries, and (when the data directory is kept) its
// PG_VERSION.
func (cp *clusterPlanner) checkVersions(sn *spec.Node, st *state.Node, keptDataDir bool) {
	want := cp.c.PostgresVersion
	if st.Server.Up && st.Server.VersionNum > 0 && st.Server.VersionNum/10000 != want {
		cp.problem(sn, "the server runs PostgreSQL %d, but the spec says postgres_version = %d. pgrepl does not upgrade; make the versions agree.", st.Server.VersionNum/10000, want)
	}
	if st.BinVersion != 0 && st.BinVersion != want {
		cp.problem(sn, "the binaries in %s are PostgreSQL %d, but the spec says postgres_version = %d. Install PostgreSQL %d there or fix bin_dir.", sn.BinDir, st.BinVersion, want, want)
	}
	if keptDataDir && st.DataDir.PGVersion != "" && st.DataDir.PGVersion != strconv.Itoa(want) {
		cp.problem(sn, "the data directory %s is PostgreSQL %s (PG_VERSION), but the spec says postgres_version = %d. pgrepl does not upgrade; make the versions agree.", sn.DataDir, st.DataDir.PGVersion, want)
	}
}

// loadFiles reads a node's config files from its vfs.
func (cp *clusterPlanner) loadFiles(n *node) bool {
	if n.fs == nil {
		n.fs = observedVFS(n.st)
	}
	n.configFile = n.st.ConfigFile
	if n.configFile == "" || n.rebuild {
		n.configFile = path.Join(n.sn.ConfigDir, "postgresql.conf")
	}
	n.hbaFile = n.st.HBAFile
	if n.hbaFile == "" || n.rebuild {
		n.hbaFile = path.Join(n.sn.ConfigDir, "pg_hba.conf")
	}
	conf, err := confparse.LoadCached(n.fs, n.configFile, n.sn.DataDir, cp.parsed)
	if err != nil {
		cp.problem(n.sn, "PostgreSQL would refuse its configuration; fix it first: %v", err)
		return false
	}
	n.conf = conf
	// Where the server will read its rules when no running server said:
	// hba_file in postgresql.conf (Debian's layout), else config_dir's.
	if e, ok := conf.Lookup("hba_file"); ok && path.IsAbs(e.Setting) && (n.st.HBAFile == "" || n.rebuild) {
		n.hbaFile = path.Clean(e.Setting)
	}
	hf := n.fs.get(n.hbaFile)
	if hf == nil || !hf.exists {
		cp.problem(n.sn, "%s does not exist (or was not observed); a server cannot start without it.", n.hbaFile)
		return false
	}
	if n.sn.Role == spec.Primary {
		return cp.parseHBA(n)
	}
	return true
}

// parseHBA parses a node's pg_hba.conf: the primary's always, a standby's
// only when pgrepl has something to do in it (see hbaChanges).
func (cp *clusterPlanner) parseHBA(n *node) bool {
	hf := n.fs.get(n.hbaFile)
	hba, err := confparse.ParseHBA(n.hbaFile, hf.content, confparse.HBAOptions{Version: n.version, Reader: n.fs, SSL: cp.sslOn(n)})
	if err != nil {
		cp.problem(n.sn, "PostgreSQL would refuse %s; fix it first: %v", n.hbaFile, err)
		return false
	}
	n.hba = hba
	return true
}

// sslOn reports whether the node's server runs with ssl = on.
func (cp *clusterPlanner) sslOn(n *node) bool {
	if row := n.liveSetting("ssl"); row != nil {
		return row.Setting == "on"
	}
	if n.conf != nil {
		if e, ok := n.conf.Lookup("ssl"); ok {
			return equalValue(n.version, "ssl", e.Setting, "on")
		}
	}
	return false
}

// summarize counts a plan's changes.
func summarize(changes []Change) Summary {
	s := Summary{Actions: map[Action]int{}}
	nodes := map[string]bool{}
	for _, c := range changes {
		s.Actions[c.Action]++
		if c.Action == Verify {
			continue
		}
		s.Changes++
		nodes[c.Cluster+"/"+c.Node] = true
		switch c.Action {
		case Restart:
			s.Restarts++
		case Basebackup:
			s.Rebuilds++
		}
		if c.Destructive {
			s.Destructive++
		}
		if c.Downtime {
			s.Downtime = true
		}
	}
	s.Nodes = len(nodes)
	return s
}
