package apply

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
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
