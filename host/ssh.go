package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgrepl/pgrepl/internal/shell"
	"golang.org/x/crypto/ssh"
)

// SSH is the Transport for a host reached over SSH. Every command, file
// operation and dialed connection goes over one SSH connection, which may be
// shared with other SSH values for the same login (see Pool).
type SSH struct {
	conn   *sshConn
	name   string
	become string
	owned  bool // Close closes conn
	cmdFS       // file operations run as commands, as the OS user
}

var _ Transport = (*SSH)(nil)

// DialSSH connects to cfg.Host and returns a transport that owns the
// connection: Close closes it. A Pool shares one connection per host among
// many transports instead.
func DialSSH(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	t, err := resolveSSH(cfg)
	if err != nil {
		return nil, err
	}
	conn, err := dialSSH(ctx, t)
	if err != nil {
		return nil, err
	}
	s := newSSHView(conn, t)
	s.owned = true
	return s, nil
}

func newSSHView(conn *sshConn, t sshTarget) *SSH {
	s := &SSH{conn: conn, name: t.name(), become: t.become}
	s.cmdFS = cmdFS{run: s.Run, host: s.name}
	if t.osUser != conn.user {
		s.cmdFS.as = t.osUser // "" = the login user
	}
	return s
}

// sshConn is one SSH connection, watched: when it drops, or stops answering
// keepalives, every operation under way and after fails with ErrConnLost and
// the cause.
type sshConn struct {
	client   *ssh.Client
	key      string // user@host:port
	user     string // login user
	sessions chan struct{}

	done  chan struct{} // closed when the connection is gone
	once  sync.Once
	cause error
}

// maxSessions stays below OpenSSH's default MaxSessions (10): commands
// beyond it wait for a free session instead of being refused.
const maxSessions = 8

var errClosed = errors.New("transport closed")

func dialSSH(ctx context.Context, t sshTarget) (*sshConn, error) {
	fail := func(err error) error { return fmt.Errorf("connect to %s: %w", t.name(), err) }
	hk, err := newHostKeyCheck(t.knownHosts)
	if err != nil {
		return nil, fail(err)
	}
	keys, err := loadKeys(t)
	if err != nil {
		return nil, fail(err)
	}
	defer keys.close()

	dctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", t.addr())
	if err != nil {
		return nil, fail(err)
	}
	nc = quickAck(nc)
	// The handshake honours the same deadline and ctx.
	stop := context.AfterFunc(dctx, func() { nc.Close() })
	deadline, _ := dctx.Deadline()
	_ = nc.SetDeadline(deadline)

	cc := &ssh.ClientConfig{
		User:              t.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(keys.signers...)},
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms(t.addr(), nc.RemoteAddr()),
		Timeout:           t.timeout,
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, t.addr(), cc)
	if !stop() {
		err = errors.Join(err, dctx.Err())
	}
	if err != nil {
		nc.Close()
		var hke *HostKeyError
		switch {
		case errors.As(err, &hke):
			return nil, fail(hke)
		case strings.Contains(err.Error(), "unable to authenticate"):
			msg := fmt.Sprintf("%s refused the login (offered: %s)", t.key(), strings.Join(keys.desc, ", "))
			if len(keys.notes) > 0 {
				msg += "; skipped: " + strings.Join(keys.notes, "; ")
			}
			return nil, fail(fmt.Errorf("%s: %w", msg, err))
		}
		return nil, fail(err)
	}
	_ = nc.SetDeadline(time.Time{})

	conn := &sshConn{
		client:   ssh.NewClient(c, chans, reqs),
		key:      t.key(),
		user:     t.user,
		sessions: make(chan struct{}, maxSessions),
		done:     make(chan struct{}),
	}
	go func() {
		err := conn.client.Wait()
		if err == nil {
			err = errors.New("closed by the server")
		}
		conn.fail(err)
	}()
	if t.keepAlive > 0 {
		go conn.keepAlive(t.keepAlive)
	}
	return conn, nil
}

// fail records why the connection is gone (the first reason wins) and
// closes it.
func (c *sshConn) fail(cause error) {
	c.once.Do(func() {
		c.cause = cause
		close(c.done)
	})
	c.client.Close()
}

func (c *sshConn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// lostErr returns the error for an operation that failed with err: when the
// connection is gone (or goes within a moment, as it does when a read on
// a dropped connection notices first), ErrConnLost with the cause.
func (c *sshConn) lostErr(err error) error {
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		return err
	}
	if errors.Is(c.cause, errClosed) {
		return errClosed
	}
	return fmt.Errorf("%w: %v", ErrConnLost, c.cause)
}

func (c *sshConn) keepAlive(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		replied := make(chan error, 1)
		go func() {
			// OpenSSH answers an unknown global request with a failure
			// reply: any reply proves the peer alive.
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		wait := every * keepAliveCountMax
		t := time.NewTimer(wait)
		select {
		case <-c.done:
			t.Stop()
			return
		case err := <-replied:
			t.Stop()
			if err != nil {
				c.fail(fmt.Errorf("keepalive: %w", err))
				return
			}
		case <-t.C:
			c.fail(fmt.Errorf("no answer to keepalive for %s", wait))
			return
		}
	}
}

// session opens a session, waiting for a free slot.
func (c *sshConn) session(ctx context.Context) (*ssh.Session, func(), error) {
	if !c.alive() {
		return nil, nil, c.lostErr(nil)
	}
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-c.done:
		return nil, nil, c.lostErr(nil)
	}
	release := func() { <-c.sessions }
	// sshd frees a finished session a moment after its channel closes, and
	// may allow fewer than maxSessions: a refused open is retried for a
	// while, as other sessions end.
	wait := 5 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := c.client.NewSession()
		if err == nil {
			return s, release, nil
		}
		var oce *ssh.OpenChannelError
		if !errors.As(err, &oce) || time.Now().After(deadline) {
			release()
			if oce != nil {
				return nil, nil, err
			}
			return nil, nil, c.lostErr(err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			release()
			return nil, nil, ctx.Err()
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// Name is "alias (ssh user@host:port)".
func (s *SSH) Name() string { return s.name }

// Close closes the connection when the transport owns it (DialSSH); a
// transport from a Pool leaves it to Pool.Close.
func (s *SSH) Close() error {
	if s.owned {
		s.conn.fail(errClosed)
	}
	return nil
}

// becomeArgv returns the words that make a command run as user as.
func (s *SSH) becomeArgv(as string) ([]string, error) {
	if as == "" || as == s.conn.user {
		return nil, nil
	}
	if err := checkUser(as); err != nil {
		return nil, err
	}
	switch {
	case s.become == "sudo":
		return []string{"sudo", "-n", "-u", as, "--"}, nil
	case s.conn.user == "root":
		return []string{"runuser", "-u", as, "--"}, nil
	default:
		return nil, fmt.Errorf("%w: logged in as %s, acting as %s needs become = \"sudo\"", ErrCannotBecome, s.conn.user, as)
	}
}

// Run runs c on the host: one session, the argv quoted for the login shell.
func (s *SSH) Run(ctx context.Context, c Cmd) (Result, error) {
	res := Result{Host: s.name, Argv: c.Argv, As: c.As}
	fail := func(err error) (Result, error) {
		return res, &OpError{Op: "run", Path: runStep(c.Argv, c.As), Host: s.name, Err: err}
	}
	argv, err := commandArgv(c, s.becomeArgv)
	if err != nil {
		return fail(err)
	}
	sess, release, err := s.conn.session(ctx)
	if err != nil {
		return fail(err)
	}
	var stdout bytes.Buffer
	sess.Stdin = c.Stdin
	sess.Stdout = &stdout
	if c.Stdout != nil {
		sess.Stdout = c.Stdout
	}
	stderr := &tailBuffer{max: stderrTail}
	var stderrW io.Writer = stderr
	if c.Stderr != nil {
		stderrW = io.MultiWriter(stderr, c.Stderr)
	}
	pids := &pidWriter{w: stderrW}
	sess.Stderr = pids
	// The shell says its PID, then becomes the command: see pidWriter.
	if err := sess.Start(`echo "` + pidMarker + `$$" >&2; exec ` + shell.Join(argv)); err != nil {
		sess.Close()
		release()
		return fail(s.conn.lostErr(err))
	}
	waited := make(chan error, 1)
	go func() {
		err := sess.Wait()
		sess.Close()
		release()
		waited <- err
	}()
	select {
	case err = <-waited:
		pids.flush()
	case <-ctx.Done():
		s.stop(sess, pids.PID())
		return fail(ctx.Err())
	}
	if c.Stdout == nil {
		res.Stdout = stdout.Bytes()
	}
	res.Stderr = stderr.Bytes()
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitStatus()
		if sig := ee.Signal(); sig != "" {
			res.ExitCode, res.Signal = -1, sig
		}
		return res, nil
	default:
		// No exit status: the channel, most likely the connection, died.
		return fail(s.conn.lostErr(err))
	}
}

// stop ends a command whose context ended. sshd forwards a signal request
// only for non-root logins (for root it logs "session signalling requires
// privilege separation"), and closing the channel leaves a command that
// neither reads nor writes running, so the command's process group gets
// SIGTERM from a second session as well. sudo and runuser, in that group,
// pass it on to their command.
func (s *SSH) stop(sess *ssh.Session, pid int) {
	_ = sess.Signal(ssh.SIGTERM)
	if pid > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = s.Run(ctx, Cmd{Argv: []string{"kill", "-TERM", "--", "-" + strconv.Itoa(pid)}})
	}
	sess.Close()
}

// pidMarker starts the first line of stderr of every remote command: the
// PID of the login shell, which then execs the command. sshd makes that
// shell a session leader, so the PID is also the process group of the
// command and whatever it starts.
const pidMarker = "pgrepl-pid "

// pidWriter takes the pidMarker line off the front of a command's stderr and
// passes the rest on.
type pidWriter struct {
	mu   sync.Mutex
	w    io.Writer
	head []byte // stderr until the first newline
	done bool   // head handled; writes go straight through
	pid  int
}

func (p *pidWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return p.w.Write(b)
	}
	p.head = append(p.head, b...)
	i := bytes.IndexByte(p.head, '\n')
	if i < 0 && len(p.head) < 64 {
		return len(b), nil
	}
	p.done = true
	rest := p.head
	if line, ok := bytes.CutPrefix(p.head[:max(i, 0)], []byte(pidMarker)); ok && i >= 0 {
		if pid, err := strconv.Atoi(string(line)); err == nil {
			p.pid = pid
			rest = p.head[i+1:]
		}
	}
	p.head = nil
	if len(rest) > 0 {
		if _, err := p.w.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// flush passes on stderr that never reached a newline.
func (p *pidWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done && len(p.head) > 0 {
		_, _ = p.w.Write(p.head)
	}
	p.done = true
	p.head = nil
}

// PID is the remote command's PID, once its shell has said it.
func (p *pidWriter) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// DialContext connects to addr as seen from the host: "tcp" through a
// direct-tcpip channel, "unix" through direct-streamlocal@openssh.com (the
// socket is opened by the login user's sshd process).
func (s *SSH) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	fail := func(err error) (net.Conn, error) {
		return nil, &OpError{Op: "dial", Path: network + " " + addr, Host: s.name, Err: err}
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return fail(fmt.Errorf("network %q is not supported", network))
	}
	if !s.conn.alive() {
		return fail(s.conn.lostErr(nil))
	}
	c, err := s.conn.client.DialContext(ctx, network, addr)
	if err != nil {
		if ctx.Err() == nil && !s.conn.alive() {
			err = s.conn.lostErr(err)
		}
		return fail(err)
	}
	return newDeadlineConn(c), nil
}
