package host

import (
	"context"
	"errors"
	"sync"
)

// Pool hands out transports and keeps one SSH connection per login
// (user@host:port), reused for every command, file and dialed connection of
// every node on that host. It is safe for concurrent use: nodes observed in
// parallel that share a host wait for the one connection being made.
//
// A connection that was lost is made anew by the next SSH call for its host;
// transports handed out before keep failing with ErrConnLost, since the step
// they were in may or may not have happened.
type Pool struct {
	mu     sync.Mutex
	conns  map[string]*poolConn
	closed bool
}

type poolConn struct {
	ready chan struct{} // closed once conn or err is set
	conn  *sshConn
	err   error
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{conns: map[string]*poolConn{}} }

var errPoolClosed = errors.New("host: pool closed")

// Local returns the transport for this machine.
func (p *Pool) Local(cfg LocalConfig) (Transport, error) {
	return NewLocal(cfg)
}

// SSH returns a transport for cfg over the pool's connection to its host,
// connecting first if there is none. Its Close does nothing; Pool.Close
// closes the connections.
func (p *Pool) SSH(ctx context.Context, cfg SSHConfig) (Transport, error) {
	t, err := resolveSSH(cfg)
	if err != nil {
		return nil, err
	}
	key := t.key()
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errPoolClosed
		}
		pc, ok := p.conns[key]
		if !ok {
			pc = &poolConn{ready: make(chan struct{})}
			p.conns[key] = pc
			p.mu.Unlock()
			pc.conn, pc.err = dialSSH(ctx, t)
			p.mu.Lock()
			if pc.err != nil {
				// Let the next caller try again.
				delete(p.conns, key)
			} else if p.closed {
				pc.conn.fail(errClosed)
				pc.err = errPoolClosed
			}
			close(pc.ready)
			p.mu.Unlock()
			if pc.err != nil {
				return nil, pc.err
			}
			return newSSHView(pc.conn, t), nil
		}
		p.mu.Unlock()
		select {
		case <-pc.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if pc.err != nil {
			if (errors.Is(pc.err, context.Canceled) || errors.Is(pc.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue // the caller that dialed gave up; this one has not
			}
			return nil, pc.err
		}
		if pc.conn.alive() {
			return newSSHView(pc.conn, t), nil
		}
		// Lost: forget it (unless another caller did already) and redial.
		p.mu.Lock()
		if p.conns[key] == pc {
			delete(p.conns, key)
		}
		p.mu.Unlock()
	}
}

// Close closes every connection of the pool; transports from it fail from
// then on.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[string]*poolConn{}
	p.mu.Unlock()
	for _, pc := range conns {
		<-pc.ready
		if pc.conn != nil {
			pc.conn.fail(errClosed)
		}
	}
	return nil
}
