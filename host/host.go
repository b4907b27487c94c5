// Package host is the one way pgrepl reaches a machine. A Transport runs
// commands, reads and writes files and dials network addresses as seen from
// that machine: Local for this one, SSH for another over a single reused
// OpenSSH connection. Observation and apply use nothing else, so both work
// the same on a laptop and across a fleet.
//
// Commands take an argv, never a shell string built from user data. Over SSH
// the argv is quoted for the remote shell by shell.Join, which is the only
// place a command line is assembled.
//
// File operations act as the transport's OS user (the owner of PostgreSQL's
// files, normally "postgres"): when that is not the user pgrepl runs as (or
// logs in as), they run small commands (cat, stat, mktemp, mv, …) as that
// user (through sudo or runuser, or, locally as root, with its IDs set
// directly), so permissions are checked exactly as PostgreSQL's own account
// sees them, locally and remotely alike.
//
// What a host needs: a POSIX login shell (sh, bash, dash, ksh, zsh) whose rc
// files print nothing to stdout (as scp and rsync require), GNU coreutils and
// findutils (every Linux distribution), runuser or sudo to switch users, and
// an sshd that allows TCP and stream-local forwarding (OpenSSH's default) for
// DialContext.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/pgrepl/pgrepl/internal/shell"
)

// Transport reaches one machine. All methods are safe for concurrent use.
//
// Paths are absolute. Errors name the host and the step ("read
// /srv/pg1/postgresql.conf on pg1 (ssh ops@10.0.0.5:22): …"); a missing file
// satisfies errors.Is(err, fs.ErrNotExist).
type Transport interface {
	// Name identifies the transport in messages: "local", or
	// "db1 (ssh ops@10.0.0.5:22)".
	Name() string

	// Run runs c.Argv and waits for it. The error is for transport failures
	// only (the command could not be started, the connection dropped, ctx
	// ended); a command that ran and failed has a non-zero Result.ExitCode,
	// which Result.Err turns into an error.
	Run(ctx context.Context, c Cmd) (Result, error)

	FileOps

	// DialContext connects to addr as seen from the host: network "tcp"
	// (host:port) or "unix" (a socket path). It fits pgconn.Config.DialFunc,
	// so PostgreSQL is reached through the transport with no port open to
	// the operator's machine.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)

	// Close releases the transport's connection, if it owns one.
	Close() error
}

// FileOps is the file half of a Transport: operations on files as the
// transport's OS user.
type FileOps interface {
	// ReadFile returns the contents of the file at path.
	ReadFile(ctx context.Context, path string) ([]byte, error)

	// ReadDir returns the names in the directory at path, sorted, without
	// "." and "..".
	ReadDir(ctx context.Context, path string) ([]string, error)

	// Stat describes the file at path, following symbolic links.
	Stat(ctx context.Context, path string) (FileInfo, error)

	// WriteFileAtomic replaces the file at path with data: a temporary file
	// in the same directory, written, given the existing file's owner, group
	// and mode, flushed to disk, then renamed over path, and the directory
	// flushed. Readers see the old file or the new one, never a mix. A new
	// file belongs to the acting user with opts.Mode. When path is a
	// symbolic link, the file it points to is replaced and the link kept.
	WriteFileAtomic(ctx context.Context, path string, data []byte, opts WriteOptions) error

	// Rename renames oldpath to newpath on the same file system, like
	// rename(2), except that it never replaces an existing newpath: that
	// fails with fs.ErrExist. Nothing is copied.
	Rename(ctx context.Context, oldpath, newpath string) error

	// MkdirAll makes the directory path and any missing parents; each
	// directory it makes gets perm and belongs to the acting user. Existing
	// directories are left as they are.
	MkdirAll(ctx context.Context, path string, perm fs.FileMode) error

	// Remove removes a file or an empty directory; never a tree.
	Remove(ctx context.Context, path string) error
}

// Cmd is a command to run on a host.
type Cmd struct {
	// Argv is the program and its arguments. Over SSH each element is quoted
	// for the remote shell, so spaces, quotes, "$" and newlines arrive intact.
	Argv []string
	// As is the OS user to run as; "" is the user pgrepl runs as (locally) or
	// logs in as (SSH).
	As string
	// Stdin, when set, is the command's standard input (secrets go here,
	// never in Argv or Env).
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output as it comes (progress
	// of a long pg_basebackup, say). Without Stdout the output is collected
	// in Result.Stdout; the tail of stderr is always kept in Result.Stderr.
	Stdout, Stderr io.Writer
	// Env holds NAME=value pairs added to the command's environment. They
	// appear on the command line of env(1), so never put a secret here.
	Env []string
	// Light marks a short command that needs nothing of a login session
	// of As (PAM's resource limits, keyring, session records): a probe, a
	// file operation. Run on this machine by root for another user, it
	// starts with that user's IDs and groups set directly, with the
	// environment runuser would give it, instead of through runuser,
	// whose PAM work costs milliseconds per command. Elsewhere (sudo,
	// SSH) it changes nothing. A server or anything that outlives the
	// command is not light.
	Light bool
}

// Result is how a command ended.
type Result struct {
	Host string   // Transport.Name of the host it ran on
	Argv []string // as given in Cmd.Argv
	As   string   // as given in Cmd.As
	// ExitCode is the command's exit status; -1 when a signal ended it.
	ExitCode int
	// Signal names the signal that ended the command ("KILL"), if one did.
	Signal string
	// Stdout is the command's standard output when Cmd.Stdout was nil.
	Stdout []byte
	// Stderr is the last stderrTail bytes of the command's standard error.
	Stderr []byte
}

// stderrTail bounds the stderr kept in a Result: enough for any error
// message, small enough for a progress-reporting pg_basebackup.
const stderrTail = 64 << 10

// Err returns nil when the command exited with status 0 and an *ExitError
// otherwise.
func (r Result) Err() error {
	if r.ExitCode == 0 && r.Signal == "" {
		return nil
	}
	return &ExitError{Result: r}
}

// ExitError is a command that ran and failed.
type ExitError struct {
	Result
}

// Status says how the command ended: "exit status 1", or "killed by
// signal KILL".
func (r Result) Status() string {
	if r.Signal != "" {
		return "killed by signal " + r.Signal
	}
	return fmt.Sprintf("exit status %d", r.ExitCode)
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s on %s: %s", runStep(e.Argv, e.As), e.Host, e.Status())
	if s := strings.TrimSpace(string(e.Stderr)); s != "" {
		msg += ": " + lastLines(s, 5)
	}
	return msg
}

// runStep names a command for messages: `run "pg_ctl -D /x start" as postgres`.
func runStep(argv []string, as string) string {
	s := shell.Join(argv)
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	step := fmt.Sprintf("run %q", s)
	if as != "" {
		step += " as " + as
	}
	return step
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FileInfo describes a file on a host. It is a plain value (it serializes as
// JSON) rather than an fs.FileInfo, because it carries owner names.
type FileInfo struct {
	Name    string      `json:"name"` // base name of the path asked for
	Size    int64       `json:"size"`
	Mode    fs.FileMode `json:"mode"` // type and permission bits, as in io/fs
	ModTime time.Time   `json:"mod_time"`
	Owner   string      `json:"owner"` // user name, or the number when it has none
	Group   string      `json:"group"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
}

// IsDir reports whether fi describes a directory.
func (fi FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// permBits are the bits of an fs.FileMode that chmod sets.
const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// UnixPerm returns the permission and special bits of m as chmod(2) numbers
// them: 0o4755 for setuid rwxr-xr-x.
func UnixPerm(m fs.FileMode) uint32 {
	n := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n |= 0o1000
	}
	return n
}

// WriteOptions shape WriteFileAtomic.
type WriteOptions struct {
	// Mode is the permission of a new file; 0 means 0600. An existing file
	// keeps its mode unless EnforceMode is set.
	Mode fs.FileMode
	// EnforceMode applies Mode even when the file exists (a passfile must be
	// 0600 whatever it was).
	EnforceMode bool
}

func (o WriteOptions) mode() fs.FileMode {
	if o.Mode == 0 {
		return 0o600
	}
	return o.Mode & permBits
}

// OpError is a failed operation on a host: the step, the host and why.
type OpError struct {
	Op   string // "read", "stat", "write", "rename", "mkdir", "remove", "readdir", "dial", "run"
	Path string // the file, address or command the step was about
	Host string // Transport.Name
	As   string // the OS user the step acted as, when it matters
	Err  error
}

func (e *OpError) Error() string {
	step := e.Op + " " + e.Path
	if e.Op == "run" {
		step = e.Path
	} else if e.As != "" {
		step += " as " + e.As
	}
	return fmt.Sprintf("%s on %s: %v", step, e.Host, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// ErrConnLost is wrapped by every error of an SSH transport whose connection
// dropped (the peer went away or stopped answering keepalives). The
// connection is not re-established behind the caller's back: a step that was
// under way may or may not have happened.
var ErrConnLost = errors.New("ssh connection lost")

// ErrCannotBecome is wrapped when a command must run as another user and the
// transport has no way to switch to it (a non-root SSH login without become).
var ErrCannotBecome = errors.New("cannot act as another user")

// checkPath rejects relative paths: every path pgrepl handles is absolute,
// and an absolute path can never be taken for an option by cat, find or mv.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q is not absolute", p)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q contains a NUL byte", p)
	}
	return nil
}

// checkUser rejects user names that no system has and that could be taken
// for options.
func checkUser(u string) error {
	if u == "" || strings.HasPrefix(u, "-") || strings.ContainsAny(u, " \t\n\x00:/") {
		return fmt.Errorf("invalid OS user name %q", u)
	}
	return nil
}
