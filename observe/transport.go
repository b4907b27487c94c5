package observe

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/spec"
)

// Transport returns the transport that reaches node n: this machine when the
// node has no ssh block, else the pool's SSH connection to its host. File
// operations act as the node's os_user.
func Transport(ctx context.Context, pool *host.Pool, n *spec.Node) (host.Transport, error) {
	if n.SSH == nil {
		return pool.Local(host.LocalConfig{OSUser: n.OSUser})
	}
	return pool.SSH(ctx, host.SSHConfig{
		Host:           n.Host,
		User:           n.SSH.User,
		Port:           n.SSH.Port,
		IdentityFile:   n.SSH.IdentityFile,
		KnownHostsFile: n.SSH.KnownHostsFile,
		Become:         n.SSH.Become,
		OSUser:         n.OSUser,
	})
}

// Unreachable reports whether err, from Transport, means that the host could
// not be reached at all: nothing listens, no route, no answer in time, no
// such name. A host that answered and refused (its key, the login, sudo) is
// not unreachable: that is an error to fix, not a fact to plan with.
func Unreachable(err error) bool {
	var hke *host.HostKeyError
	if errors.As(err, &hke) {
		return false
	}
	var dnsErr *net.DNSError
	var netErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		// The SSH connect timeout (the node's own deadline too: either way
		// nothing answered in time).
		return true
	case errors.As(err, &netErr) && netErr.Op == "dial":
		return true
	}
	return false
}
