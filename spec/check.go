package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pgrepl/pgrepl/internal/suggest"
)

// own returns the range of a node's attribute when the node's own block
// writes it, else the node's header: a value inherited from defaults is best
// reported at the node it causes trouble for.
func ownRange[T any](nd *nodeDecl, f field[T]) (hcl.Range, bool) {
	if f.present() && f.rng.Filename == nd.body.Filename && nd.body.ContainsOffset(f.rng.Start.Byte) {
		return f.rng, true
	}
	return nd.hdr, false
}

// checkCluster checks what involves several nodes of one cluster.
func (l *loader) checkCluster(cd *clusterDecl) {
	c := cd.c
	byName := map[string]*nodeDecl{}
	for _, nd := range cd.nodes {
		if prev, ok := byName[nd.name]; ok {
			l.errorf(nd.hdr, "Duplicate node name", "Cluster %q already has a node named %q at %s; node names are unique within a cluster.", c.Name, nd.name, pos(prev.hdr).short())
			continue
		}
		byName[nd.name] = nd
	}

	var standbys []string
	for _, s := range c.Standbys {
		if !slices.Contains(standbys, s.Name) {
			standbys = append(standbys, s.Name)
		}
	}
	seenSync := map[string]bool{}
	for i, name := range cd.synchrony {
		rng := cd.syncRanges[i]
		switch nd := byName[name]; {
		case seenSync[name]:
			l.errorf(rng, "Duplicate synchronous standby", "replication.synchronous names %q twice.", name)
		case nd != nil && nd.role == Primary:
			l.errorf(rng, "Invalid synchronous standby", "%q is the primary of cluster %q; replication.synchronous names standbys.", name, c.Name)
		case nd == nil:
			msg := fmt.Sprintf("replication.synchronous names %q, which is not a standby of cluster %q.", name, c.Name)
			if s := suggest.Closest(name, standbys); s != "" {
				msg += fmt.Sprintf(" Did you mean %q?", s)
			}
			if len(standbys) > 0 {
				msg += " Standbys: " + strings.Join(standbys, ", ") + "."
			}
			l.errorf(rng, "Unknown synchronous standby", "%s", msg)
		}
		seenSync[name] = true
	}

	slots := map[string]*nodeDecl{}
	for _, nd := range cd.nodes {
		n := nd.node
		if n.Role != Standby || n.Slot == "" {
			continue
		}
		if prev, ok := slots[n.Slot]; ok {
			rng, _ := ownRange(nd, nd.slot)
			l.errorf(rng, "Duplicate slot name", "Standbys %q and %q both use replication slot %q on the primary; set slot = \"…\" on one of them.", prev.name, n.Name, n.Slot)
			continue
		}
		slots[n.Slot] = nd
	}

	l.checkStandbyMinimums(cd)
}

// checkSpec checks what involves several clusters: names, and servers that
// would collide on one machine.
func (l *loader) checkSpec(clusters []*clusterDecl) {
	byName := map[string]*clusterDecl{}
	for _, cd := range clusters {
		if prev, ok := byName[cd.c.Name]; ok {
			l.errorf(cd.hdr, "Duplicate cluster name", "A cluster named %q is already defined at %s; cluster names are unique.", cd.c.Name, pos(prev.hdr).short())
			continue
		}
		byName[cd.c.Name] = cd
	}
	multi := len(clusters) > 1
	ref := func(cd *clusterDecl, nd *nodeDecl) string {
		if multi {
			return fmt.Sprintf("%q of cluster %q", nd.name, cd.c.Name)
		}
		return fmt.Sprintf("%q", nd.name)
	}
	type seen struct {
		cd *clusterDecl
		nd *nodeDecl
	}
	addrs := map[string]seen{}
	dirs := map[string]seen{}
	for _, cd := range clusters {
		for _, nd := range cd.nodes {
			n := nd.node
			if n.Host == "" {
				continue
			}
			key := fmt.Sprintf("%s:%d", strings.ToLower(n.Host), n.Port)
			if prev, ok := addrs[key]; ok {
				rng, own := ownRange(nd, nd.port)
				if !own {
					rng, _ = ownRange(nd, nd.host)
				}
				l.errorf(rng, "Two nodes share a host and port", "%s and %s (%s) both listen on %s port %d; each server needs its own address or port.",
					ref(cd, nd), ref(prev.cd, prev.nd), pos(prev.nd.hdr).short(), n.Host, n.Port)
			} else {
				addrs[key] = seen{cd, nd}
			}

			machine := "this machine (no ssh block)"
			if n.SSH != nil {
				machine = n.Host
			}
			check := func(dir, what string, f field[string]) {
				if dir == "" {
					return
				}
				key := strings.ToLower(machine) + "\x00" + dir
				prev, ok := dirs[key]
				if !ok {
					dirs[key] = seen{cd, nd}
					return
				}
				rng, _ := ownRange(nd, f)
				l.errorf(rng, "Two nodes share a "+what, "%s and %s (%s) both use %s on %s; each server needs its own.",
					ref(cd, nd), ref(prev.cd, prev.nd), pos(prev.nd.hdr).short(), dir, machine)
			}
			check(n.DataDir, "data directory", nd.dataDir)
			if n.ConfigDir != n.DataDir {
				check(n.ConfigDir, "config directory", nd.configDir)
			}
		}
	}
}
