package host

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// requireRoot skips (or fails in CI) tests that switch users: they need the
// root account and the postgres OS user, as on the hosts pgrepl manages.
func requireRoot(t testing.TB) {
	t.Helper()
	pgtest.Require(t)
	if os.Geteuid() != 0 {
		pgtest.Missing(t, "switching to the postgres user needs root")
	}
}

// requireSudo skips (or fails in CI) tests of become = "sudo".
func requireSudo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("sudo"); err != nil {
		pgtest.Missing(t, "sudo missing (apt-get install sudo)")
	}
}

func newLocal(t *testing.T, osUser string) *Local {
	t.Helper()
	l, err := NewLocal(LocalConfig{OSUser: osUser})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalCommands(t *testing.T) {
	t.Parallel()
	testCommands(t, newLocal(t, ""), "")
}

func TestLocalCommandsAsPostgres(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	l := newLocal(t, "postgres")
	testCommands(t, l, "postgres")
	res, err := l.Run(testCtx(t), Cmd{Argv: []string{"id", "-un"}, As: "postgres"})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != "postgres" {
		t.Fatalf("As postgres ran as %q", got)
	}
	// As the user pgrepl runs as: no runuser.
	if argv, _ := l.becomeArgv("root"); argv != nil {
		t.Fatalf("acting as oneself goes through %q", argv)
	}
	if argv, _ := l.becomeArgv("postgres"); len(argv) == 0 || !filepath.IsAbs(argv[0]) || filepath.Base(argv[0]) != "runuser" || strings.Join(argv[1:], " ") != "-u postgres --" {
		t.Fatalf("root acts as postgres through %q", argv)
	}
	if _, err := l.Run(testCtx(t), Cmd{Argv: []string{"true"}, As: "-x"}); err == nil {
		t.Fatal("user name -x accepted")
	}
}

// lightRuns marks every command it runs as Light.
type lightRuns struct{ Transport }

func (l lightRuns) Run(ctx context.Context, c Cmd) (Result, error) {
	c.Light = true
	return l.Transport.Run(ctx, c)
}

// TestLocalLightAsPostgres: a light command for another user runs without
// runuser, with the same user, groups and environment as through it.
func TestLocalLightAsPostgres(t *testing.T) {
	requireRoot(t)
	l := newLocal(t, "postgres")
	testCommands(t, lightRuns{l}, "postgres")

	t.Setenv("PGREPL_REPLICATION_PASSWORD", "hunter2-do-not-leak")
	// runuser passes SHELL through as it finds it; CI's environment has
	// none, a login shell has one.
	for _, shell := range []string{"", "/bin/zsh"} {
		t.Run("SHELL="+shell, func(t *testing.T) {
			if shell == "" {
				t.Setenv("SHELL", "")
				os.Unsetenv("SHELL")
			} else {
				t.Setenv("SHELL", shell)
			}
			compareLightWithRunuser(t, l, shell)
		})
	}
}

// compareLightWithRunuser runs a probe as postgres both ways and fails
// unless the two see the same user, groups, environment, umask and
// directory.
func compareLightWithRunuser(t *testing.T, l *Local, shell string) {
	ctx := testCtx(t)
	// What the command sees of itself: who, its groups, its environment
	// (sorted), and its parent (runuser, or pgrepl itself).
	probe := []string{"sh", "-c", `id; env | LC_ALL=C sort; umask; pwd; cat /proc/$PPID/comm`}
	out := map[bool]string{}
	for _, light := range []bool{false, true} {
		res, err := l.Run(ctx, Cmd{Argv: probe, As: "postgres", Light: light})
		if err != nil || res.Err() != nil {
			t.Fatal(err, res.Err())
		}
		out[light] = string(res.Stdout)
	}
	if strings.Contains(out[true], "do-not-leak") {
		t.Fatalf("a light command inherited a secret:\n%s", out[true])
	}
	parent := func(s string) string {
		s = strings.TrimRight(s, "\n")
		return s[strings.LastIndex(s, "\n")+1:]
	}
	if p := parent(out[false]); p != "runuser" {
		t.Fatalf("a command that is not light ran under %q", p)
	}
	if p := parent(out[true]); p == "runuser" || p == "sudo" {
		t.Fatalf("a light command ran under %q", p)
	}
	trim := func(s string) string { return strings.TrimSuffix(strings.TrimRight(s, "\n"), parent(s)) }
	if trim(out[true]) != trim(out[false]) {
		t.Fatalf("a light command sees\n%s\nthrough runuser:\n%s", out[true], out[false])
	}
	if !strings.Contains(out[true], "uid=") || !strings.Contains(out[true], "HOME=") || !strings.Contains(out[true], "USER=postgres") {
		t.Fatalf("unexpected output:\n%s", out[true])
	}
	if got := strings.Contains(out[true], "\nSHELL="+shell+"\n"); got != (shell != "") {
		t.Fatalf("SHELL=%q in pgrepl's environment, the command sees:\n%s", shell, out[true])
	}
}

func TestLookupIdentity(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(`root:x:0:0:root:/root:/bin/bash
bad:x:uid:0::/:/bin/sh
short:x:7:7
noshell:x:4242:4343:No shell:/var/empty:
postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
`), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := passwdFile
	passwdFile = passwd
	t.Cleanup(func() { passwdFile = saved })

	id := lookupIdentity("noshell")
	if id == nil || id.cred.Uid != 4242 || id.cred.Gid != 4343 || id.home != "/var/empty" {
		t.Fatalf("noshell: %+v", id)
	}
	for _, name := range []string{"nobody-here", "bad", "short", "roo"} {
		if id := lookupIdentity(name); id != nil {
			t.Errorf("%s: %+v, want none (runuser then)", name, id)
		}
	}
	env := id.env([]string{"PATH=/bin", "HOME=/root", "USER=root", "LC_ALL=C", "SHELL=/bin/zsh"})
	want := []string{"PATH=/bin", "LC_ALL=C", "SHELL=/bin/zsh", "HOME=/var/empty", "USER=noshell", "LOGNAME=noshell"}
	if strings.Join(env, " ") != strings.Join(want, " ") {
		t.Errorf("env %q, want %q", env, want)
	}
	// Root keeps USER and LOGNAME, as with runuser.
	if root := lookupIdentity("root"); root == nil || strings.Join(root.env([]string{"USER=me"}), " ") != "USER=me HOME=/root" {
		t.Errorf("root: %+v", root)
	}
	passwdFile = filepath.Join(dir, "missing")
	if id := lookupIdentity("root"); id != nil {
		t.Errorf("without a passwd file: %+v", id)
	}
}

func TestLocalBecomeWithoutRoot(t *testing.T) {
	// Not root: sudo -n, which fails rather than asking for a password.
	l := &Local{self: "alice"}
	argv, err := l.becomeArgv("postgres")
	if err != nil || strings.Join(argv, " ") != "sudo -n -u postgres --" {
		t.Fatalf("becomeArgv = %q, %v", argv, err)
	}
}

// TestLocalEnvHidesSecrets: pgrepl's own environment may hold the
// replication password; commands (pg_ctl, and through it the server) must
// not inherit it.
func TestLocalEnvHidesSecrets(t *testing.T) {
	t.Setenv("PGREPL_REPLICATION_PASSWORD", "hunter2-do-not-leak")
	t.Setenv("PGPASSWORD", "hunter3-do-not-leak")
	l := newLocal(t, "")
	res, err := l.Run(testCtx(t), Cmd{Argv: []string{"env"}})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if strings.Contains(string(res.Stdout), "do-not-leak") {
		t.Fatalf("a command inherited a secret:\n%s", res.Stdout)
	}
	if !strings.Contains(string(res.Stdout), "PATH=") {
		t.Fatalf("PATH was not passed on:\n%s", res.Stdout)
	}
}

func TestLocalStderrTail(t *testing.T) {
	t.Parallel()
	l := newLocal(t, "")
	res, err := l.Run(testCtx(t), Cmd{Argv: []string{"sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x >&2; echo END >&2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stderr) != stderrTail || !strings.HasSuffix(string(res.Stderr), "xEND\n") {
		t.Fatalf("kept %d bytes of stderr ending %q", len(res.Stderr), res.Stderr[len(res.Stderr)-8:])
	}
}

// TestLocalOutputHeldByChild: a command that leaves a child holding its
// stdout (pg_ctl start without -l hands it to the server) must not block
// Run for as long as the child lives.
func TestLocalOutputHeldByChild(t *testing.T) {
	t.Parallel()
	l := newLocal(t, "")
	ctx := testCtx(t)
	res, err := l.Run(ctx, Cmd{Argv: []string{"sh", "-c", "sleep 30 & echo $!"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if err != nil {
		t.Fatalf("stdout %q: %v", res.Stdout, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("the child %d should still run: %v", pid, err)
	}
}

func TestLocalFilesNative(t *testing.T) {
	t.Parallel()
	requireRoot(t) // the checks chown files to the acting user
	testFileOps(t, newLocal(t, ""), lookupOwner(t, "root"))
}

func TestLocalFilesAsPostgres(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	l := newLocal(t, "postgres")
	if _, ok := l.fileOps.(cmdFS); !ok {
		t.Fatalf("file operations for another user are %T, want cmdFS", l.fileOps)
	}
	testFileOps(t, l, lookupOwner(t, "postgres"))
}

// TestLocalNativeErrors: the native file operations' messages read like the
// command-based ones.
func TestLocalNativeErrors(t *testing.T) {
	t.Parallel()
	l := newLocal(t, "")
	dir := t.TempDir()
	_, err := l.ReadFile(context.Background(), filepath.Join(dir, "missing.conf"))
	want := "read " + filepath.Join(dir, "missing.conf") + " on local: no such file or directory"
	if err == nil || err.Error() != want || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want %s", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "b"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err = l.Rename(context.Background(), filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "rename") {
		t.Fatalf("rename over b: %v", err)
	}
}

// TestLocalDialPostgres connects pgx through Local.DialContext to a real
// server's unix socket and TCP port.
func TestLocalDialPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	srv.Exec(t, "ALTER ROLE postgres PASSWORD 'host-test-only'")
	l := newLocal(t, "")
	for _, dsn := range []string{
		srv.DSN("postgres"),
		"host=127.0.0.2 port=" + strconv.Itoa(srv.Port) + " user=postgres password=host-test-only dbname=postgres sslmode=disable",
	} {
		queryThrough(t, l, dsn)
	}
}

// queryThrough runs a query on dsn with connections dialed by tr.
func queryThrough(t *testing.T, tr Transport, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	RoutePG(&cfg.Config, tr)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect %s through %s: %v", cfg.Host, tr.Name(), err)
	}
	defer conn.Close(ctx)
	var n int
	var v string
	if err := conn.QueryRow(ctx, "SELECT count(*), current_setting('server_version_num') FROM generate_series(1, 100000)").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != 100000 || !strings.HasPrefix(v, "15") {
		t.Fatalf("got %d, version %s", n, v)
	}
	// A context that ends cancels the query: the tunnel honours deadlines.
	qctx, qcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer qcancel()
	_, err = conn.Exec(qctx, "SELECT pg_sleep(30)")
	if err == nil {
		t.Fatal("pg_sleep(30) outlived a 300ms context")
	}
}
