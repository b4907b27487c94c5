// Package observe reads what the hosts of a spec really hold and returns it
// as a state.State: for every node, the data directory's facts (read whether
// or not the server runs), the config files PostgreSQL reads with their bytes,
// and what the live server answers through pgx. It is the only part of pgrepl
// that looks at hosts before a plan; the planner then works on the State
// alone.
//
// Every node is observed at once, through the transport that reaches it
// (this machine, or one SSH connection per host from a host.Pool). What a
// host says of the nodes on it is gathered in one command (a small POSIX sh
// script run as the nodes' os_user), and each server's rows in one round
// trip, so that observing a fleet costs about two round trips however far
// away its hosts are.
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
	// Timeout bounds the observation of one host (the nodes reached the
	// same way, observed together), SSH connection included; default 30s.
	// A host that does not answer within it while connecting is
	// unreachable; one that stops answering later is an error.
	Timeout time.Duration
	// Parallel caps how many hosts are observed at once; default 64. The
	// nodes of a host are all observed at once.
	Parallel int
}

// DefaultTimeout is the per-host time limit when Options.Timeout is zero.
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
// Nodes reached the same way (this machine as one OS user, or one SSH login
// and OS user) are observed together: one connection and one command for
// the host, and one server connection per node.
//
// The error joins every node's error, in spec order; the State is returned
// even then, with what could be read, for "pgrepl state" to show, but a plan
// must not be made from it.
func Observe(ctx context.Context, sp *spec.Spec, pool *host.Pool, opts Options) (*state.State, error) {
	var members []*member
	for _, c := range sp.Clusters {
		for _, n := range c.Nodes() {
			members = append(members, &member{c: c, n: n})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.parallel())
	for _, group := range byHost(members) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				observeHost(ctx, pool, group, opts)
			case <-ctx.Done():
				for _, m := range group {
					m.sn = newNode(m.n)
					m.err = &Error{Cluster: m.c.Name, Node: m.n.Name, Host: m.n.Host, Step: "wait to observe", Err: ctx.Err()}
				}
			}
		}()
	}
	wg.Wait()

	st := &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{}}
	var errs []error
	i := 0
	for _, c := range sp.Clusters {
		sc := &state.Cluster{Name: c.Name, Nodes: []*state.Node{}}
		for range c.Nodes() {
			m := members[i]
			i++
			sc.Nodes = append(sc.Nodes, m.sn)
			if m.err != nil {
				errs = append(errs, m.err)
			}
		}
		st.Clusters = append(st.Clusters, sc)
	}
	return st, errors.Join(errs...)
}

// Node observes one node of cluster c: for apply, which observes a node
// again after changing it, and for status. The State node is returned even
// with an error, holding what could be read.
func Node(ctx context.Context, pool *host.Pool, c *spec.Cluster, n *spec.Node, opts Options) (*state.Node, error) {
	m := &member{c: c, n: n}
	observeHost(ctx, pool, []*member{m}, opts)
	return m.sn, m.err
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

// stepError names the step of a node's observation that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func stepErr(step string, err error) error { return &stepError{step: step, err: err} }
