package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pgrepl/pgrepl/host"
)

// ControlOp is what to do with a server.
type ControlOp string

// The control operations.
const (
	OpStart   ControlOp = "start"
	OpStop    ControlOp = "stop"
	OpRestart ControlOp = "restart"
)

// DefaultControlTimeout bounds a start or stop when the caller gives none.
const DefaultControlTimeout = 120 * time.Second

// ServerLog is the file the pg_ctl control sends the server's output to:
// <data_dir>.log, beside the data directory, so that it survives a rebuild
// and pg_basebackup does not copy it.
func ServerLog(dataDir string) string { return path.Clean(dataDir) + ".log" }

// controlCmd is the command that performs op on n, and the user it runs as.
func controlCmd(n *Node, op ControlOp, timeout time.Duration) (host.Cmd, error) {
	s := n.Spec
	secs := strconv.Itoa(max(1, int(timeout.Round(time.Second)/time.Second)))
	switch s.Control {
	case "", "pg_ctl":
		argv := []string{path.Join(s.BinDir, "pg_ctl"), string(op), "-D", s.DataDir, "-w", "-t", secs}
		if op != OpStart {
			argv = append(argv, "-m", "fast")
		}
		if op != OpStop {
			// Always a log file: without one the server keeps pg_ctl's
			// stdout, and the command's pipe (or SSH channel) never closes.
			argv = append(argv, "-l", ServerLog(s.DataDir))
		}
		return host.Cmd{Argv: argv, As: s.OSUser}, nil
	case "pg_ctlcluster":
		ver, name, ok := strings.Cut(s.Service, "/")
		if !ok || ver == "" || name == "" {
			return host.Cmd{}, fmt.Errorf("%s: control pg_ctlcluster needs service = \"VERSION/NAME\" (such as \"15/main\"), not %q", n.Name(), s.Service)
		}
		// As root, as Debian means it: pg_ctlcluster hands the action to
		// systemctl when the cluster is a systemd unit (extra pg_ctl
		// options would bypass systemd, so none are given: its stop is
		// "fast" and waits, and pgrepl waits for the outcome itself).
		return host.Cmd{Argv: []string{"pg_ctlcluster", ver, name, string(op)}, As: "root"}, nil
	case "systemd":
		if s.Service == "" {
			return host.Cmd{}, fmt.Errorf("%s: control systemd needs a service (the unit, such as \"postgresql@15-main\")", n.Name())
		}
		return host.Cmd{Argv: []string{"systemctl", string(op), s.Service}, As: "root"}, nil
	}
	return host.Cmd{}, fmt.Errorf("%s: unknown control %q", n.Name(), s.Control)
}

// ControlError is a start, stop or restart that failed, with the tail of the
// server's log.
type ControlError struct {
	Node    string
	Op      ControlOp
	Err     error
	LogTail string // last lines of the server's log, if they could be read
	LogFrom string // where they were read
}

func (e *ControlError) Error() string {
	msg := fmt.Sprintf("%s: %s: %v", e.Node, e.Op, e.Err)
	if e.LogTail != "" {
		msg += "\nlast lines of " + e.LogFrom + ":\n" + indent(e.LogTail, "  ")
	}
	return msg
}

func (e *ControlError) Unwrap() error { return e.Err }

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// Control performs op on n's server and waits until it is done: after a
// start or restart the server answers a query, after a stop its
// postmaster.pid is gone.
func Control(ctx context.Context, n *Node, op ControlOp, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultControlTimeout
	}
	cmd, err := controlCmd(n, op, timeout)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	res, err := n.Transport.Run(cctx, cmd)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return controlError(ctx, n, op, err)
	}
	deadline := time.Now().Add(timeout)
	if op == OpStop {
		err = waitDown(ctx, n, deadline)
	} else {
		err = waitUp(ctx, n, deadline)
	}
	if err != nil {
		return controlError(ctx, n, op, err)
	}
	return nil
}

func controlError(ctx context.Context, n *Node, op ControlOp, err error) error {
	ce := &ControlError{Node: n.Name(), Op: op, Err: err}
	if errors.Is(err, host.ErrConnLost) {
		return ce
	}
	ce.LogTail, ce.LogFrom = logTail(ctx, n)
	return ce
}

// waitUp waits until the server answers a query.
func waitUp(ctx context.Context, n *Node, deadline time.Time) error {
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := n.Connect(actx)
		if err == nil {
			_, err = conn.Exec(actx, "SELECT 1")
			conn.Close(context.WithoutCancel(ctx))
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server does not answer: %w", last)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitDown waits until postmaster.pid is gone from the data directory.
func waitDown(ctx context.Context, n *Node, deadline time.Time) error {
	pid := path.Join(n.Spec.DataDir, "postmaster.pid")
	for {
		_, err := n.Transport.Stat(ctx, pid)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still exists: the server has not stopped", pid)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// Running reports whether n's data directory has a postmaster.pid.
func Running(ctx context.Context, n *Node) (bool, error) {
	_, err := n.Transport.Stat(ctx, path.Join(n.Spec.DataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// logTail returns the last lines of where the server logs its start, and
// where that is.
func logTail(ctx context.Context, n *Node) (tail, from string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	s := n.Spec
	var cmd host.Cmd
	switch s.Control {
	case "systemd":
		from = "journalctl -u " + s.Service
		cmd = host.Cmd{Argv: []string{"journalctl", "--no-pager", "-n", "20", "-u", s.Service}, As: "root"}
	case "pg_ctlcluster":
		ver, name, _ := strings.Cut(s.Service, "/")
		from = "/var/log/postgresql/postgresql-" + ver + "-" + name + ".log"
		cmd = host.Cmd{Argv: []string{"tail", "-n", "20", "--", from}, As: s.OSUser}
	default:
		from = ServerLog(s.DataDir)
		cmd = host.Cmd{Argv: []string{"tail", "-n", "20", "--", from}, As: s.OSUser}
	}
	res, err := n.Transport.Run(ctx, cmd)
	if err != nil || res.Err() != nil {
		return "", ""
	}
	return strings.TrimRight(string(res.Stdout), "\n"), from
}
