package apply

import (
	"fmt"

	"github.com/pgrepl/pgrepl/state"
)

// StaleInputs compares the inputs a saved plan was made from with those of
// a fresh observation and describes every one that differs, in the saved
// order, then the new ones: "pg1: file /srv/pg1/postgresql.conf changed
// since the plan". Nodes are named with their cluster ("demo/pg1") when the
// inputs span several clusters. Empty when nothing changed.
func StaleInputs(saved, now []state.Input) []string {
	clusters := map[string]bool{}
	for _, in := range append(append([]state.Input(nil), saved...), now...) {
		clusters[in.Cluster] = true
	}
	name := func(in state.Input) string {
		if len(clusters) > 1 {
			return in.Cluster + "/" + in.Node + ": " + in.Name
		}
		return in.Node + ": " + in.Name
	}
	type key struct{ cluster, node, name string }
	cur := map[key]string{}
	for _, in := range now {
		cur[key{in.Cluster, in.Node, in.Name}] = in.SHA256
	}
	seen := map[key]bool{}
	var out []string
	for _, in := range saved {
		k := key{in.Cluster, in.Node, in.Name}
		seen[k] = true
		h, ok := cur[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s is gone since the plan", name(in)))
		case h != in.SHA256:
			out = append(out, fmt.Sprintf("%s changed since the plan", name(in)))
		}
	}
	for _, in := range now {
		if !seen[key{in.Cluster, in.Node, in.Name}] {
			out = append(out, fmt.Sprintf("%s is new since the plan", name(in)))
		}
	}
	return out
}
