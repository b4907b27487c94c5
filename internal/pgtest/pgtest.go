// Package pgtest starts throw-away PostgreSQL servers for tests.
//
// Each server lives in its own directory under the system temp dir, owned by
// the OS user that runs PostgreSQL (the server refuses root: when the tests
// run as root, commands go through runuser to the "postgres" account). It
// listens on one loopback address and a port of its own, with its own unix
// socket directory, and t.Cleanup stops it and removes everything.
//
// A test that needs a server calls Require first. Without the PostgreSQL
// binaries the test is skipped, unless PGREPL_REQUIRE_INTEGRATION is set (as
// .ci/run does), in which case it fails: CI never skips silently.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian installs the PostgreSQL 15 server.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// RequireEnv names the environment variable that turns a missing binary from
// a skip into a failure.
const RequireEnv = "PGREPL_REQUIRE_INTEGRATION"

// Missing skips t for want of what why names (a binary, root, an account),
// or fails it when RequireEnv is set: CI must run every test.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s, and %s is set", why, RequireEnv)
	}
	t.Skip(why)
}

// BinDir is the directory of initdb, pg_ctl and friends: $PGREPL_PG_BINDIR or
// DefaultBinDir.
func BinDir() string {
	if d := os.Getenv("PGREPL_PG_BINDIR"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Require skips t when PostgreSQL's server binaries are absent, or fails it
// when RequireEnv is set.
func Require(t testing.TB) {
	t.Helper()
	for _, b := range []string{"initdb", "pg_ctl", "postgres", "pg_controldata"} {
		if _, err := os.Stat(filepath.Join(BinDir(), b)); err != nil {
			Missing(t, fmt.Sprintf("PostgreSQL binary %s missing in %s: %v", b, BinDir(), err))
		}
	}
	if os.Getuid() == 0 {
		if _, err := user.Lookup(OSUser()); err != nil {
			Missing(t, fmt.Sprintf("running as root needs the OS user %q for PostgreSQL: %v", OSUser(), err))
		}
	}
}

// OSUser is the account servers run as: "postgres" when the tests run as
// root, else the current user.
func OSUser() string {
	if os.Getuid() == 0 {
		return "postgres"
	}
	u, err := user.Current()
	if err != nil {
		return os.Getenv("USER")
	}
	return u.Username
}

// Command returns an exec.Cmd that runs argv as OSUser.
func Command(ctx context.Context, argv ...string) *exec.Cmd {
	if os.Getuid() == 0 {
		argv = append([]string{"runuser", "-u", OSUser(), "--"}, argv...)
	}
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// Run runs argv as OSUser and returns its combined output, failing t on error.
func Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := RunErr(argv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

// RunErr runs argv as OSUser and returns its combined output.
func RunErr(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := Command(ctx, argv...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

// Options shape a new server.
type Options struct {
	// Host is the loopback address to listen on; default 127.0.0.2.
	Host string
	// Port is the TCP port; default a free one.
	Port int
	// Conf holds lines appended to postgresql.conf after the connection
	// settings pgtest writes (port, listen_addresses, unix_socket_directories).
	Conf []string
	// NoConnSettings leaves postgresql.conf exactly as initdb wrote it (the
	// caller then passes the connection settings another way).
	NoConnSettings bool
	// InitdbArgs are extra arguments for initdb.
	InitdbArgs []string
}

// Server is one throw-away PostgreSQL cluster.
type Server struct {
	Dir       string // base directory holding everything below, removed at cleanup
	DataDir   string
	SocketDir string
	LogFile   string
	Host      string
	Port      int
	User      string // the bootstrap superuser
}

// baseDir makes a directory that OSUser can use: t.TempDir is private to the
// test's user, and PostgreSQL refuses a data dir it does not own.
func baseDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("pgtest: remove %s: %v", dir, err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := Chown(dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dir
}

// Chown gives path to OSUser (a no-op unless running as root).
func Chown(path string) error {
	if os.Getuid() != 0 {
		return nil
	}
	u, err := user.Lookup(OSUser())
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(path, uid, gid)
}

// MkdirAll makes a directory owned by OSUser with the given mode.
func MkdirAll(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := Chown(path); err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes a file owned by OSUser with the given mode (whatever
// the umask).
func WriteFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := Chown(path); err != nil {
		t.Fatal(err)
	}
}

// newServer lays out a server's directories under a new base directory; port
// 0 picks a free one.
func newServer(t testing.TB, host string, port int) *Server {
	t.Helper()
	dir := baseDir(t)
	if port == 0 {
		port = FreePort(t, host)
	}
	s := &Server{
		Dir:       dir,
		DataDir:   filepath.Join(dir, "data"),
		SocketDir: filepath.Join(dir, "sock"),
		LogFile:   filepath.Join(dir, "server.log"),
		Host:      host,
		Port:      port,
		User:      "postgres",
	}
	MkdirAll(t, s.SocketDir, 0o755)
	return s
}

// Init runs initdb for a new server without starting it.
func Init(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	host := opts.Host
	if host == "" {
		host = "127.0.0.2"
	}
	s := newServer(t, host, opts.Port)
	args := []string{filepath.Join(BinDir(), "initdb"), "-D", s.DataDir, "-U", s.User,
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions", "-E", "UTF8", "--locale=C"}
	args = append(args, opts.InitdbArgs...)
	Run(t, args...)
	if !opts.NoConnSettings {
		lines := []string{
			"",
			"# pgtest",
			fmt.Sprintf("port = %d", s.Port),
			fmt.Sprintf("listen_addresses = '%s'", s.Host),
			fmt.Sprintf("unix_socket_directories = '%s'", s.SocketDir),
		}
		lines = append(lines, opts.Conf...)
		s.AppendConf(t, lines...)
	}
	return s
}

// Start runs initdb and starts the server; t.Cleanup stops it.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := Init(t, opts)
	s.Start(t)
	return s
}

// AppendConf appends lines to the data directory's postgresql.conf.
func (s *Server) AppendConf(t testing.TB, lines ...string) {
	t.Helper()
	path := filepath.Join(s.DataDir, "postgresql.conf")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

var cleanupOnce sync.Map // data dir -> registered

// Start starts the server (pg_ctl -w, logging to LogFile) and registers its
// stop with t.Cleanup.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.StartErr(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if _, loaded := cleanupOnce.LoadOrStore(s.DataDir, true); !loaded {
		t.Cleanup(func() {
			cleanupOnce.Delete(s.DataDir)
			s.StopErr("immediate")
		})
	}
}

// StartErr starts the server and reports failure with the server log.
func (s *Server) StartErr() error {
	out, err := RunErr(filepath.Join(BinDir(), "pg_ctl"), "-D", s.DataDir, "-l", s.LogFile, "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(s.LogFile)
		return fmt.Errorf("start %s: %v\n%s\n%s", s.DataDir, err, out, tail(string(log), 20))
	}
	return nil
}

// Stop stops the server with a fast shutdown.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.StopErr("fast"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// StopErr stops the server in the given mode (smart, fast, immediate); a server
// that is not running is not an error.
func (s *Server) StopErr(mode string) error {
	if _, err := os.Stat(filepath.Join(s.DataDir, "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	out, err := RunErr(filepath.Join(BinDir(), "pg_ctl"), "-D", s.DataDir, "-m", mode, "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("stop %s: %v\n%s", s.DataDir, err, out)
	}
	return nil
}

// Running reports whether the server answers on its socket.
func (s *Server) Running() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return false
	}
	_ = c.Close(ctx)
	return true
}

// DSN is a libpq conninfo for the bootstrap superuser over the unix socket.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.SocketDir, s.Port, s.User, db)
}

// Conn opens a pgx connection as the superuser, closed at cleanup.
func (s *Server) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", s.DataDir, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// Exec runs SQL statements as the superuser.
func (s *Server) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	c := s.Conn(t)
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// Psql runs psql as the superuser with -XAtq and returns its output. It is the
// independent check the runbook uses, outside pgx.
func (s *Server) Psql(t testing.TB, sql string) string {
	t.Helper()
	out, err := RunErr(filepath.Join(BinDir(), "psql"), "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", s.DSN("postgres"), "-c", sql)
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return strings.TrimRight(out, "\n")
}

// SystemID returns pg_controldata's "Database system identifier" of the
// data directory dir: which cluster it holds.
func SystemID(t testing.TB, dir string) string {
	t.Helper()
	out := Run(t, filepath.Join(BinDir(), "pg_controldata"), dir)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Database system identifier:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no system identifier in pg_controldata %s:\n%s", dir, out)
	return ""
}

// Log returns the server log.
func (s *Server) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.LogFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// FreePort finds a TCP port that is free on host. Two tests could race for
// the same port between this check and the server's bind; the chance is small
// with the kernel's ephemeral allocator and the failure is loud.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("pgtest: find a free port on %s: %v", host, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StartStandby makes a streaming standby of primary with pg_basebackup over
// the primary's unix socket (initdb's "local replication all trust" rule),
// listening on host, and starts it. Its postgresql.conf (copied from the
// primary) gets its own port, listen_addresses and socket dir appended, and
// primary_conninfo names it appName.
func StartStandby(t testing.TB, primary *Server, host, appName string) *Server {
	t.Helper()
	Require(t)
	s := newServer(t, host, 0)
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=%s", primary.SocketDir, primary.Port, primary.User, appName)
	Run(t, filepath.Join(BinDir(), "pg_basebackup"), "-d", conninfo, "-D", s.DataDir, "-Fp", "-Xs", "-R", "--checkpoint=fast")
	s.AppendConf(t,
		"",
		"# pgtest standby",
		fmt.Sprintf("port = %d", s.Port),
		fmt.Sprintf("listen_addresses = '%s'", s.Host),
		fmt.Sprintf("unix_socket_directories = '%s'", s.SocketDir),
	)
	s.Start(t)
	return s
}
