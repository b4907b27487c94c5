package host

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// deadlineConn gives a connection tunnelled through an SSH channel the
// deadlines an SSH channel lacks (x/crypto's SetDeadline returns an error).
// pgconn cancels a query whose context ends by setting a deadline in the
// past; without this, a query on a hung server through SSH would block
// forever instead of failing with the context.
//
// A goroutine reads from the channel; Read waits for its data, the read
// deadline or Close. A write that outlives its deadline cannot be taken back
// halfway, so it closes the connection and reports the timeout.
type deadlineConn struct {
	net.Conn

	readMu  sync.Mutex // one Read at a time; guards pending and readErr
	pending []byte
	readErr error
	chunks  chan []byte // from the reader goroutine; closed at its end
	endErr  error       // the reader's final error, set before chunks closes

	mu      sync.Mutex // guards the deadlines
	rd, wd  time.Time
	changed chan struct{} // closed and replaced when a deadline changes

	closed    chan struct{}
	closeOnce sync.Once
}

func newDeadlineConn(c net.Conn) *deadlineConn {
	d := &deadlineConn{
		Conn:    c,
		chunks:  make(chan []byte),
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	go d.reader()
	return d
}

func (d *deadlineConn) reader() {
	defer close(d.chunks)
	for {
		buf := make([]byte, 32<<10)
		n, err := d.Conn.Read(buf)
		if n > 0 {
			select {
			case d.chunks <- buf[:n]:
			case <-d.closed:
				return
			}
		}
		if err != nil {
			d.endErr = err
			return
		}
	}
}

func (d *deadlineConn) deadlines() (rd, wd time.Time, changed chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rd, d.wd, d.changed
}

// timer returns a channel that fires at t (nil for no deadline) and whether
// t has passed already.
func timer(t time.Time) (<-chan time.Time, func(), bool) {
	if t.IsZero() {
		return nil, func() {}, false
	}
	dur := time.Until(t)
	if dur <= 0 {
		return nil, func() {}, true
	}
	tm := time.NewTimer(dur)
	return tm.C, func() { tm.Stop() }, false
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	d.readMu.Lock()
	defer d.readMu.Unlock()
	for len(d.pending) == 0 {
		if d.readErr != nil {
			return 0, d.readErr
		}
		rd, _, changed := d.deadlines()
		fire, stop, passed := timer(rd)
		if passed {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case b, ok := <-d.chunks:
			stop()
			if !ok {
				d.readErr = d.endErr
				if d.readErr == nil {
					d.readErr = io.EOF
				}
				continue
			}
			d.pending = b
		case <-fire:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
			stop()
		case <-d.closed:
			stop()
			return 0, net.ErrClosed
		}
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	_, wd, _ := d.deadlines()
	fire, stop, passed := timer(wd)
	defer stop()
	if passed {
		return 0, os.ErrDeadlineExceeded
	}
	if fire == nil {
		return d.Conn.Write(p)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := d.Conn.Write(p)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-fire:
		d.Close()
		return 0, os.ErrDeadlineExceeded
	}
}

func (d *deadlineConn) Close() error {
	err := net.ErrClosed
	d.closeOnce.Do(func() {
		close(d.closed)
		err = d.Conn.Close()
	})
	return err
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.set(&t, &t)
	return nil
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.set(&t, nil)
	return nil
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.set(nil, &t)
	return nil
}

func (d *deadlineConn) set(rd, wd *time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rd != nil {
		d.rd = *rd
	}
	if wd != nil {
		d.wd = *wd
	}
	close(d.changed)
	d.changed = make(chan struct{})
}
