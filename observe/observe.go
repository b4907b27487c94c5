// Package observe reads what the hosts of a spec really hold and returns it
// as a state.State: for every node, the data directory's facts (read whether
// or not the server runs), the config files PostgreSQL reads with their bytes,
// and what the live server answers through pgx. It is the only part of pgrepl
// that looks at hosts before a plan; the planner then works on the State
// alone.
//
// Every node is observed at once, each through its own transport (this
// machine, or one SSH connection per host from a host.Pool). What a node's
// host says of itself is gathered in one command (a small POSIX sh script run
// as the node's os_user), and the server's rows in one round trip, so that a
// node costs about two round trips however far away its host is.
//
// A host that cannot be reached and a server that is down are facts, recorded
// in the State with their reason. What makes an observation untrustworthy (an
// unknown SSH host key, a refused login, a wrong admin password, a config
// file PostgreSQL would refuse, another server on the node's port) is an
// error naming the cluster, node, host and step.
//
// Secrets stay here: the replication password is compared with the stored
// SCRAM verifier and with the standby's passfile, and only the verdicts reach
// the State. Passwords written into primary_conninfo, and any appearance of
// the spec's replication password in a config file, are masked in the State's
// copies (state.File.Redacted says so).
package observe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// Options shape an observation. The zero value is ready to use.
type Options struct {
	// Timeout bounds the observation of one node, SSH connection included;
	// default 30s. A node that takes longer is an error, not a down node.
	Timeout time.Duration
	// Parallel caps how many nodes are observed at once; default 64.
	Parallel int
}

// DefaultTimeout is the per-node time limit when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o Options) parallel() int {
	if o.Parallel > 0 {
		return o.Parallel
	}
	return 64
}

// Observe reads every node of every cluster of sp, all at once, and returns
// the State in spec order (each cluster's primary first, then its standbys).
//
// The error joins every node's error, in spec order; the State is returned
// even then, with what could be read, for "pgrepl state" to show, but a plan
// must not be made from it.
func Observe(ctx context.Context, sp *spec.Spec, pool *host.Pool, opts Options) (*state.State, error) {
	st := &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{}}
	type slot struct {
		node *state.Node
		err  error
	}
	var slots [][]slot
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.parallel())
	for ci, c := range sp.Clusters {
		nodes := c.Nodes()
		slots = append(slots, make([]slot, len(nodes)))
		for ni, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					slots[ci][ni] = slot{&state.Node{Name: n.Name, Host: n.Host}, &Error{Cluster: c.Name, Node: n.Name, Host: n.Host, Step: "wait for a free slot", Err: ctx.Err()}}
					return
				}
				defer func() { <-sem }()
				sn, err := Node(ctx, pool, c, n, opts)
				slots[ci][ni] = slot{sn, err}
			}()
		}
	}
	wg.Wait()
	var errs []error
	for ci, c := range sp.Clusters {
		sc := &state.Cluster{Name: c.Name, Nodes: make([]*state.Node, 0, len(slots[ci]))}
		for _, s := range slots[ci] {
			sc.Nodes = append(sc.Nodes, s.node)
			if s.err != nil {
				errs = append(errs, s.err)
			}
		}
		st.Clusters = append(st.Clusters, sc)
	}
	return st, errors.Join(errs...)
}

// Error is a node that could not be observed well enough to plan on.
type Error struct {
	Cluster, Node string
	// Host is the transport's name ("local", "db1 (ssh ops@10.0.0.5:22)"),
	// else the node's host.
	Host string
	Step string // "connect to the server", "read the configuration", …
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("cluster %s, node %s on %s: %s: %v", e.Cluster, e.Node, e.Host, e.Step, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Node observes one node of cluster c: for apply, which observes a node
// again after changing it, and for status. The State node is returned even
// with an error, holding what could be read.
func Node(ctx context.Context, pool *host.Pool, c *spec.Cluster, n *spec.Node, opts Options) (*state.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout())
	defer cancel()
	sn := &state.Node{
		Name:      n.Name,
		Host:      n.Host,
		Reachable: true,
		DataDir:   state.DataDir{Path: n.DataDir},
		Files:     []*state.File{},
	}
	fail := func(host, step string, err error) (*state.Node, error) {
		return sn, &Error{Cluster: c.Name, Node: n.Name, Host: host, Step: step, Err: err}
	}
	tr, err := Transport(ctx, pool, n)
	if err != nil {
		if Unreachable(err) {
			sn.Reachable = false
			sn.Error = err.Error()
			return sn, nil
		}
		return fail(n.Host, "connect to the host", err)
	}
	o := &nodeObserver{ctx: ctx, tr: tr, c: c, n: n, sn: sn}
	if err := o.run(); err != nil {
		var oe *stepError
		if errors.As(err, &oe) {
			return fail(tr.Name(), oe.step, oe.err)
		}
		return fail(tr.Name(), "observe", err)
	}
	return sn, nil
}

// stepError names the step of a node's observation that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func stepErr(step string, err error) error { return &stepError{step: step, err: err} }
