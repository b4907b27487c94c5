package host

import (
	"net"
	"syscall"
)

// quickAck wraps an SSH connection's TCP socket so that every segment that
// arrives is acknowledged at once. OpenSSH's sshd leaves Nagle's algorithm
// on until the first session starts, and the kernel delays the
// acknowledgement of a packet that needs no answer (the host keys sshd
// announces after login): whatever small packet sshd writes next (the
// confirmation of the first channel, a server's reply through a forwarded
// socket) waits for that acknowledgement, 40 ms on Linux, before the first
// command can even start. TCP_QUICKACK does not stick, so it is set again
// after each read.
func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{TCPConn: tc, rc: rc}
	q.ack()
	return q
}

type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		c.ack()
	}
	return n, err
}

// ack switches the socket to quick acknowledgements; a failure only costs
// time.
func (c *quickAckConn) ack() {
	_ = c.rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
