package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LocalConfig shapes a Local transport.
type LocalConfig struct {
	// OSUser is the user file operations act as (the owner of PostgreSQL's
	// files); "" is the user pgrepl runs as.
	OSUser string
}

// Local is the Transport for this machine. Commands for another user go
// through runuser when pgrepl runs as root (a light one starts with the
// user's IDs set directly: see Cmd.Light) and through "sudo -n" otherwise
// (never prompting: a password-protected sudo fails at once).
type Local struct {
	self    string // user pgrepl runs as
	root    bool
	runuser string // the runuser program, when root
	fileOps        // file operations, native or through commands
}

// fileOps names Local's embedded FileOps so that the field stays
// unexported.
type fileOps = FileOps

var _ Transport = (*Local)(nil)

// NewLocal returns the transport for this machine.
func NewLocal(cfg LocalConfig) (*Local, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("local: current user: %w", err)
	}
	l := &Local{self: u.Username, root: os.Geteuid() == 0}
	if l.root {
		l.runuser = findProgram("runuser", sbinDirs)
	}
	if cfg.OSUser != "" {
		if err := checkUser(cfg.OSUser); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	if cfg.OSUser == "" || cfg.OSUser == l.self {
		l.fileOps = nativeFS{}
	} else {
		l.fileOps = cmdFS{run: l.Run, host: l.Name(), as: cfg.OSUser}
	}
	return l, nil
}

// Name is "local".
func (l *Local) Name() string { return "local" }

// Close does nothing: a Local transport holds no connection.
func (l *Local) Close() error { return nil }

// sbinDirs hold runuser on every distribution; root's PATH lacks them
// after a plain "su" on Debian.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// findProgram returns name's path from PATH, else from dirs, else name
// itself (whose run then fails with "not found in $PATH").
func findProgram(name string, dirs []string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return name
}

// becomeArgv returns the words that make argv run as user as.
func (l *Local) becomeArgv(as string) ([]string, error) {
	if as == "" || as == l.self {
		return nil, nil
	}
	if err := checkUser(as); err != nil {
		return nil, err
	}
	if l.root {
		return []string{l.runuser, "-u", as, "--"}, nil
	}
	return []string{"sudo", "-n", "-u", as, "--"}, nil
}

// localEnvKeep lists the variables a command inherits from pgrepl's
// environment. Everything else stays behind: pgrepl's environment may hold
// the replication password (env("PGREPL_REPLICATION_PASSWORD")), and a
// command such as pg_ctl would hand it on to the server's processes.
var localEnvKeep = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SHELL"}

func localEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LC_") || slices.Contains(localEnvKeep, name) {
			env = append(env, kv)
		}
	}
	return env
}

// waitDelay bounds the wait for a command's output pipes once the command
// has exited: "pg_ctl start" without -l leaves them to the server, which
// would otherwise block Run for as long as the server lives.
const waitDelay = 5 * time.Second

// Run runs c on this machine.
func (l *Local) Run(ctx context.Context, c Cmd) (Result, error) {
	res := Result{Host: l.Name(), Argv: c.Argv, As: c.As}
	fail := func(err error) (Result, error) {
		return res, &OpError{Op: "run", Path: runStep(c.Argv, c.As), Host: l.Name(), Err: err}
	}
	become := l.becomeArgv
	var id *identity
	if c.Light && l.root && c.As != "" && c.As != l.self {
		// Switched to directly, when the account is found; else runuser.
		if err := checkUser(c.As); err != nil {
			return fail(err)
		}
		if id = lookupIdentity(c.As); id != nil {
			become = func(string) ([]string, error) { return nil, nil }
		}
	}
	argv, err := commandArgv(c, become)
	if err != nil {
		return fail(err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = localEnv()
	if id != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
		cmd.Env = id.env(cmd.Env)
	}
	cmd.Stdin = c.Stdin
	var stdout bytes.Buffer
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	} else {
		cmd.Stdout = &stdout
	}
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stderr = stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, c.Stderr)
	}
	// SIGTERM first: runuser and sudo pass it on to the command, SIGKILL
	// would orphan it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	if c.Stdout == nil {
		res.Stdout = stdout.Bytes()
	}
	res.Stderr = stderr.Bytes()
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		return res, nil
	case ctx.Err() != nil:
		return fail(ctx.Err())
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = signalName(ws.Signal())
		}
		return res, nil
	default:
		return fail(err)
	}
}

// commandArgv builds the full argv of c: the words that switch user, env(1)
// with c.Env, then c.Argv.
func commandArgv(c Cmd, become func(string) ([]string, error)) ([]string, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return nil, errors.New("empty command")
	}
	for _, a := range c.Argv {
		if strings.ContainsRune(a, 0) {
			return nil, fmt.Errorf("argument %q contains a NUL byte", a)
		}
	}
	for _, kv := range c.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t\n\x00") || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("environment entry %q is not NAME=value", kv)
		}
	}
	argv, err := become(c.As)
	if err != nil {
		return nil, err
	}
	if len(c.Env) > 0 {
		argv = append(argv, "env")
		argv = append(argv, c.Env...)
		if strings.Contains(c.Argv[0], "=") {
			// env would take it for another assignment.
			return nil, fmt.Errorf("program name %q contains '='", c.Argv[0])
		}
	}
	return append(argv, c.Argv...), nil
}

func signalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return strings.ToUpper(s.String())
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "ABRT", syscall.SIGALRM: "ALRM", syscall.SIGFPE: "FPE", syscall.SIGHUP: "HUP",
	syscall.SIGILL: "ILL", syscall.SIGINT: "INT", syscall.SIGKILL: "KILL", syscall.SIGPIPE: "PIPE",
	syscall.SIGQUIT: "QUIT", syscall.SIGSEGV: "SEGV", syscall.SIGTERM: "TERM", syscall.SIGUSR1: "USR1",
	syscall.SIGUSR2: "USR2",
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}

// DialContext dials addr from this machine.
func (l *Local) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, &OpError{Op: "dial", Path: network + " " + addr, Host: l.Name(), Err: err}
	}
	return c, nil
}

// nativeFS does the file operations with system calls, as pgrepl's own user.
type nativeFS struct{}

const localName = "local"

func localErr(op, path string, err error) error {
	// Drop *fs.PathError's own "op path:" prefix: OpError says it.
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err // a syscall.Errno: errors.Is(ENOENT, fs.ErrNotExist) holds
	}
	return &OpError{Op: op, Path: path, Host: localName, Err: err}
}

func (nativeFS) ReadFile(_ context.Context, path string) ([]byte, error) {
	if err := checkPath(path); err != nil {
		return nil, localErr("read", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, localErr("read", path, err)
	}
	return b, nil
}

func (nativeFS) ReadDir(_ context.Context, path string) ([]string, error) {
	if err := checkPath(path); err != nil {
		return nil, localErr("readdir", path, err)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, localErr("readdir", path, err)
	}
	names := make([]string, len(ents)) // os.ReadDir sorts them by name
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

func (nativeFS) Stat(_ context.Context, path string) (FileInfo, error) {
	if err := checkPath(path); err != nil {
		return FileInfo{}, localErr("stat", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return FileInfo{}, localErr("stat", path, err)
	}
	return fileInfo(filepath.Base(path), st), nil
}

func fileInfo(name string, st fs.FileInfo) FileInfo {
	fi := FileInfo{Name: name, Size: st.Size(), Mode: st.Mode(), ModTime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.UID, fi.GID = int(sys.Uid), int(sys.Gid)
		fi.Owner, fi.Group = strconv.Itoa(fi.UID), strconv.Itoa(fi.GID)
		if u, err := user.LookupId(fi.Owner); err == nil {
			fi.Owner = u.Username
		}
		if g, err := user.LookupGroupId(fi.Group); err == nil {
			fi.Group = g.Name
		}
	}
	return fi
}

func (nativeFS) WriteFileAtomic(_ context.Context, path string, data []byte, opts WriteOptions) error {
	if err := checkPath(path); err != nil {
		return localErr("write", path, err)
	}
	if err := writeAtomic(path, data, opts); err != nil {
		return localErr("write", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte, opts WriteOptions) (err error) {
	dst := path
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if dst, err = filepath.EvalSymlinks(path); err != nil {
			return err
		}
	}
	dir := filepath.Dir(dst)
	f, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".pgrepl-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	mode := opts.mode()
	old, err := os.Stat(dst)
	switch {
	case err == nil:
		sys := old.Sys().(*syscall.Stat_t)
		if err := f.Chown(int(sys.Uid), int(sys.Gid)); err != nil {
			return fmt.Errorf("keep owner of %s: %w", dst, err)
		}
		if !opts.EnforceMode {
			mode = old.Mode() & permBits
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (nativeFS) Rename(_ context.Context, oldpath, newpath string) error {
	p := oldpath + " to " + newpath
	if err := errors.Join(checkPath(oldpath), checkPath(newpath)); err != nil {
		return localErr("rename", p, err)
	}
	if _, err := os.Lstat(newpath); err == nil {
		return localErr("rename", p, fmt.Errorf("%s: %w", newpath, fs.ErrExist))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return localErr("rename", p, err)
	}
	if err := os.Rename(oldpath, newpath); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return localErr("rename", p, err)
	}
	return nil
}

func (nativeFS) MkdirAll(_ context.Context, path string, perm fs.FileMode) error {
	if err := checkPath(path); err != nil {
		return localErr("mkdir", path, err)
	}
	for _, d := range pathChain(path) {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return localErr("mkdir", path, fmt.Errorf("%s: %w", d, syscall.ENOTDIR))
			}
			continue
		}
		if err := os.Mkdir(d, perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return localErr("mkdir", path, err)
		} else if err == nil {
			// Mkdir's mode is cut by the umask; the caller's is the rule.
			if err := os.Chmod(d, perm); err != nil {
				return localErr("mkdir", path, err)
			}
		}
	}
	return nil
}

func (nativeFS) Remove(_ context.Context, path string) error {
	if err := checkPath(path); err != nil {
		return localErr("remove", path, err)
	}
	if err := os.Remove(path); err != nil {
		return localErr("remove", path, err)
	}
	return nil
}
