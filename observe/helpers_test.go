package observe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/sshtest"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// testPassword is the replication password of the test specs: no State and
// no output may ever contain it.
const testPassword = "Obs3rve-Only_pw'x"

// node is one node of a test spec.
type node struct {
	kind      string // "primary" or "standby"
	name      string
	host      string
	port      int
	dataDir   string
	socket    string // admin_dsn's host: the server's socket directory
	adminDSN  string // overrides the socket DSN
	configDir string
	osUser    string // overrides the defaults' os_user
	ssh       *sshNode
}

type sshNode struct {
	port           int
	user           string
	identityFile   string
	knownHostsFile string
	become         string
}

// serverNode describes a pgtest server as a spec node.
func serverNode(kind, name string, s *pgtest.Server) node {
	return node{kind: kind, name: name, host: s.Host, port: s.Port, dataDir: s.DataDir, socket: s.SocketDir}
}

// viaSSH returns the node reached through srv, logging in as user.
func (n node) viaSSH(srv *sshtest.Server, user, become string) node {
	n.host = srv.Host
	n.ssh = &sshNode{port: srv.Port, user: user, identityFile: srv.ClientKeyFile, knownHostsFile: srv.KnownHostsFile, become: become}
	return n
}

// specText writes the HCL of one cluster "demo".
func specText(nodes ...node) string {
	var b strings.Builder
	fmt.Fprintf(&b, `cluster "demo" {
  postgres_version = 15
  replication {
    user     = "replicator"
    password = env("OBSERVE_TEST_PASSWORD")
  }
  defaults {
    os_user = %q
    bin_dir = %q
  }
`, pgtest.OSUser(), pgtest.BinDir())
	for _, n := range nodes {
		dsn := n.adminDSN
		if dsn == "" {
			dsn = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", n.socket, n.port)
		}
		fmt.Fprintf(&b, "  %s %q {\n    host = %q\n    port = %d\n    data_dir = %q\n    admin_dsn = %q\n",
			n.kind, n.name, n.host, n.port, n.dataDir, dsn)
		if n.configDir != "" {
			fmt.Fprintf(&b, "    config_dir = %q\n", n.configDir)
		}
		if n.osUser != "" {
			fmt.Fprintf(&b, "    os_user = %q\n", n.osUser)
		}
		if n.kind == "standby" {
			// Connections to the primary come from 127.0.0.1 on one machine.
			b.WriteString("    source_address = \"127.0.0.1\"\n")
		}
		if s := n.ssh; s != nil {
			fmt.Fprintf(&b, "    ssh {\n      port = %d\n      user = %q\n      identity_file = %q\n      known_hosts_file = %q\n      become = %q\n    }\n",
				s.port, s.user, s.identityFile, s.knownHostsFile, s.become)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// writeSpec writes text as a spec file in a new directory and loads it.
func writeSpec(t testing.TB, text string) (*spec.Spec, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pgrepl.hcl")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, diags := spec.Load(path, spec.Options{LookupEnv: func(name string) (string, bool) {
		if name == "OBSERVE_TEST_PASSWORD" {
			return testPassword, true
		}
		return "", false
	}})
	if diags.HasErrors() {
		var msgs []string
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				msgs = append(msgs, d.Error())
			}
		}
		t.Fatalf("spec does not load:\n%s\n%s", strings.Join(msgs, "\n"), text)
	}
	return sp, path
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// observeSpec observes sp with a pool of its own.
func observeSpec(t testing.TB, sp *spec.Spec) (*state.State, error) {
	t.Helper()
	pool := host.NewPool()
	defer pool.Close()
	return Observe(testCtx(t), sp, pool, Options{})
}

// mustObserve observes sp and fails on error.
func mustObserve(t testing.TB, sp *spec.Spec) *state.State {
	t.Helper()
	st, err := observeSpec(t, sp)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return st
}

// stateNode returns the node called name of cluster demo.
func stateNode(t testing.TB, st *state.State, name string) *state.Node {
	t.Helper()
	c := st.Cluster("demo")
	if c == nil {
		t.Fatalf("no cluster demo in state")
	}
	n := c.Node(name)
	if n == nil {
		t.Fatalf("no node %s in state", name)
	}
	return n
}
