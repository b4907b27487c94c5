package state

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Input is one observed fact a plan depends on, by name and hash. A saved
// plan keeps its inputs; apply re-observes and refuses the plan when any
// input's hash differs, naming it.
type Input struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"`
	Name    string `json:"name"` // "file /etc/postgresql/15/main/postgresql.conf", "data directory", "server"
	SHA256  string `json:"sha256"`
}

// Inputs returns the node's inputs in a fixed order. Facts that move on
// their own (LSNs, lag, sizes, free space, whether a slot is active at this
// instant) are left out, so that a plan is stale only when something that
// shapes it changed.
func (n *Node) Inputs(cluster string) []Input {
	var in []Input
	add := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			// Every value here is plain data; Marshal cannot fail on it.
			b = []byte(fmt.Sprintf("%#v", v))
		}
		in = append(in, Input{Cluster: cluster, Node: n.Name, Name: name, SHA256: Hash(b)})
	}
	add("reachability", struct {
		Reachable        bool
		Error, MachineID string
		BinVersion       int
		// The files the server reads: the planner edits these.
		ConfigFile, HBAFile string
	}{n.Reachable, n.Error, n.MachineID, n.BinVersion, n.ConfigFile, n.HBAFile})
	d := n.DataDir
	add("data directory "+d.Path, struct {
		Exists, Empty, StandbySignal, RecoverySignal, PostmasterPID bool
		Owner, Mode, PGVersion, SystemIdentifier                    string
		Timeline                                                    int
	}{d.Exists, d.Empty, d.StandbySignal, d.RecoverySignal, d.PostmasterPID,
		d.Owner, d.Mode, d.PGVersion, d.SystemIdentifier, d.Timeline})
	files := append([]*File(nil), n.Files...)
	sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		add("file "+f.Path, struct {
			Exists                           bool
			SHA256, Owner, Group, Mode, Role string
		}{f.Exists, f.SHA256, f.Owner, f.Group, f.Mode, string(f.Role)})
	}
	s := n.Server
	type slot struct{ Name, Type string }
	slots := make([]slot, len(s.Slots))
	for i, sl := range s.Slots {
		slots[i] = slot{sl.Name, sl.Type}
	}
	// Context decides reload or restart; Source tells a value set on the
	// command line, which no file edit can change.
	type setting struct {
		Name, Setting, Context, Source string
		PendingRestart                 bool
	}
	settings := make([]setting, len(s.Settings))
	for i, st := range s.Settings {
		settings[i] = setting{st.Name, st.Setting, st.Context, st.Source, st.PendingRestart}
	}
	add("server", struct {
		Up         bool
		VersionNum int
		InRecovery bool
		Settings   []setting
		Role       *Role
		Slots      []slot
	}{s.Up, s.VersionNum, s.InRecovery, settings, s.Role, slots})
	if n.Passfile != nil {
		add("passfile "+n.Passfile.Path, *n.Passfile)
	}
	return in
}

// Inputs returns every node's inputs, cluster by cluster in state order.
func (s *State) Inputs() []Input {
	var in []Input
	for _, c := range s.Clusters {
		for _, n := range c.Nodes {
			in = append(in, n.Inputs(c.Name)...)
		}
	}
	return in
}
