package apply

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/spec"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// localTransport acts as PostgreSQL's OS user on this machine.
func localTransport(t *testing.T) host.Transport {
	t.Helper()
	tr, err := host.NewLocal(host.LocalConfig{OSUser: pgtest.OSUser()})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// serverNode is a pgtest server as apply reaches it: the local transport
// and pgx over the server's socket.
func serverNode(t *testing.T, s *pgtest.Server, name string, role spec.Role) *Node {
	t.Helper()
	return &Node{
		Spec: &spec.Node{
			Name: name, Role: role, Host: s.Host, Port: s.Port,
			DataDir: s.DataDir, ConfigDir: s.DataDir, BinDir: pgtest.BinDir(),
			OSUser: pgtest.OSUser(), Control: "pg_ctl",
		},
		Transport: localTransport(t),
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.Connect(ctx, s.DSN("postgres"))
		},
	}
}

// dirNode is a node whose only reality is a directory owned by the OS user
// (for steps that touch files only).
func dirNode(t *testing.T) (*Node, string) {
	t.Helper()
	pgtest.Require(t)
	dir, err := os.MkdirTemp("", "apply-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pgtest.Chown(dir); err != nil {
		t.Fatal(err)
	}
	return &Node{
		Spec:      &spec.Node{Name: "pg9", DataDir: filepath.Join(dir, "data"), OSUser: pgtest.OSUser(), BinDir: pgtest.BinDir()},
		Transport: localTransport(t),
	}, dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fileOwner is the user name owning fi.
func fileOwner(t *testing.T, fi os.FileInfo) string {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatal("no Stat_t")
	}
	u, err := user.LookupId(strconv.Itoa(int(st.Uid)))
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// findProcesses returns the PIDs of the processes whose argv[0] ends in prog
// and whose arguments include arg.
func findProcesses(prog, arg string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if !strings.HasSuffix(argv[0], prog) {
			continue
		}
		for _, a := range argv[1:] {
			if a == arg {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// killBasebackupHalfway waits for the pg_basebackup that writes into
// dataDir, lets it run in slices of 20ms (frozen with SIGSTOP in between)
// until it has copied part of the data directory, and kills it (and its
// WAL streaming child) with SIGKILL. So it dies half way, however fast the
// machine copies.
func killBasebackupHalfway(dataDir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	signal := func(sig syscall.Signal) int {
		n := 0
		for _, pid := range findProcesses("pg_basebackup", dataDir) {
			if syscall.Kill(pid, sig) == nil {
				n++
			}
		}
		return n
	}
	for signal(syscall.SIGSTOP) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no pg_basebackup into %s appeared", dataDir)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// runuser (like su) stops itself when its child stops: resume the
	// parents once the children are dead.
	kill := func() {
		pids := findProcesses("pg_basebackup", dataDir)
		signal(syscall.SIGKILL)
		for _, pid := range pids {
			if pp := parentPID(pid); pp > 1 {
				_ = syscall.Kill(pp, syscall.SIGCONT)
			}
		}
	}
	for {
		if _, err := os.Stat(filepath.Join(dataDir, "base")); err == nil {
			kill()
			return nil
		}
		if time.Now().After(deadline) {
			kill()
			return fmt.Errorf("pg_basebackup into %s copied nothing in %s", dataDir, timeout)
		}
		if signal(syscall.SIGCONT) == 0 {
			return fmt.Errorf("pg_basebackup into %s ended before it was killed", dataDir)
		}
		time.Sleep(20 * time.Millisecond)
		signal(syscall.SIGSTOP)
	}
}

// parentPID is the parent of pid, from /proc, or 0.
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid …"; comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}
