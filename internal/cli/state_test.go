package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/state"
)

// statePassword is the replication password of the state tests' specs; the
// command's output must never hold it.
const statePassword = "state-Cmd_pw-never-printed"

// stateSpec writes a spec for one cluster "demo" whose primary is p; each
// standby is a name, a host, and a server (nil: a data directory that does
// not exist).
func stateSpec(t *testing.T, p *pgtest.Server, standbys ...any) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `cluster "demo" {
  postgres_version = 15
  replication {
    user     = "replicator"
    password = env("PGREPL_STATE_TEST_PASSWORD")
  }
  defaults {
    os_user = %q
    bin_dir = %q
  }
  primary "pg1" {
    host      = %q
    port      = %d
    data_dir  = %q
    admin_dsn = "host=%s port=%d user=postgres dbname=postgres sslmode=disable"
  }
`, pgtest.OSUser(), pgtest.BinDir(), p.Host, p.Port, p.DataDir, p.SocketDir, p.Port)
	for i := 0; i+2 < len(standbys); i += 3 {
		name, hostAddr := standbys[i].(string), standbys[i+1].(string)
		s, _ := standbys[i+2].(*pgtest.Server)
		// A data directory that does not exist, where the postgres user
		// may look (t.TempDir is private to root).
		port, dataDir, sock := 5432, filepath.Join(os.TempDir(), fmt.Sprintf("pgrepl-state-test-%d", time.Now().UnixNano()), "data"), "/nonexistent"
		if s != nil {
			port, dataDir, sock = s.Port, s.DataDir, s.SocketDir
		}
		fmt.Fprintf(&b, `  standby %q {
    host           = %q
    port           = %d
    data_dir       = %q
    admin_dsn      = "host=%s port=%d user=postgres dbname=postgres sslmode=disable"
    source_address = "127.0.0.1"
  }
`, name, hostAddr, port, dataDir, sock, port)
	}
	b.WriteString("}\n")
	path := filepath.Join(t.TempDir(), "pgrepl.hcl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStateCommand(t *testing.T) {
	t.Setenv("PGREPL_STATE_TEST_PASSWORD", statePassword)
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	p.Exec(t, "CREATE ROLE replicator LOGIN REPLICATION PASSWORD '"+statePassword+"'")
	p.Exec(t, "SELECT pg_create_physical_replication_slot('pg2')")
	s := pgtest.StartStandby(t, p, "127.0.0.3", "pg2")
	s.Exec(t, "ALTER SYSTEM SET primary_slot_name = 'pg2'")
	s.Exec(t, "SELECT pg_reload_conf()")
	pgtest.WriteFile(t, s.DataDir+".pgpass", []byte(fmt.Sprintf("127.0.0.2:%d:replication:replicator:%s\n", p.Port, statePassword)), 0o600)
	deadline := time.Now().Add(30 * time.Second)
	for p.Psql(t, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2' AND state = 'streaming' AND replay_lsn IS NOT NULL") != "1" ||
		p.Psql(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg2' AND active") != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the standby does not stream on its slot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	streaming := stateSpec(t, p, "pg2", "127.0.0.3", s)

	noSecret := func(t *testing.T, out ...string) {
		t.Helper()
		for _, o := range out {
			if strings.Contains(o, statePassword) {
				t.Errorf("the output holds the replication password:\n%s", o)
			}
		}
	}

	t.Run("json", func(t *testing.T) {
		code, out, errOut := run(t, "", "state", "--spec", streaming, "--format", "json")
		noSecret(t, out, errOut)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		var st state.State
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("output is not a State: %v\n%s", err, out)
		}
		c := st.Cluster("demo")
		if c == nil || len(c.Nodes) != 2 || c.Nodes[0].Name != "pg1" || c.Nodes[1].Name != "pg2" {
			t.Fatalf("clusters: %+v", st.Clusters)
		}
		pg1, pg2 := c.Nodes[0], c.Nodes[1]
		if r := pg1.Server.Role; r == nil || r.Password != state.PasswordMatches || !pg1.Server.Up || pg1.Server.InRecovery {
			t.Errorf("pg1: %+v role %+v", pg1.Server, r)
		}
		if !pg2.Server.InRecovery || pg2.Server.WalReceiver == nil || pg2.Server.WalReceiver.SlotName != "pg2" ||
			pg2.Passfile == nil || !pg2.Passfile.Matches || pg2.DataDir.SystemIdentifier != pg1.DataDir.SystemIdentifier {
			t.Errorf("pg2: %+v passfile %+v", pg2.Server, pg2.Passfile)
		}
		if *update {
			saveSnapshot(t, "streaming-pair.json", out)
		}
	})

	t.Run("text", func(t *testing.T) {
		code, out, errOut := run(t, "", "state", "--spec", streaming)
		noSecret(t, out, errOut)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		for _, want := range []string{
			`cluster "demo"`,
			fmt.Sprintf(`primary "pg1" (127.0.0.2:%d, this machine)`, p.Port),
			"server     up, PostgreSQL 15.",
			"primary (not in recovery)",
			"role       replicator: replication, login, nosuperuser; password matches",
			"slots      pg2: physical, active",
			"standbys   pg2 from a unix socket: streaming, async",
			fmt.Sprintf(`standby "pg2" (127.0.0.3:%d, this machine)`, s.Port),
			"in recovery",
			fmt.Sprintf("receiver   streaming from %s port %d, slot pg2", p.SocketDir, p.Port),
			"standby.signal, postmaster.pid",
			"files      config  " + filepath.Join(p.DataDir, "postgresql.conf") + ": postgres:postgres 0600, sha256 ",
			"auto    " + filepath.Join(s.DataDir, "postgresql.auto.conf"),
			"passfile   " + s.DataDir + ".pgpass: postgres 0600, holds the spec's password for the primary",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("text output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("fresh-pair", func(t *testing.T) {
		fresh := pgtest.Start(t, pgtest.Options{Host: "127.0.0.4"})
		spec := stateSpec(t, fresh, "pg2", "127.0.0.5", nil)
		code, jsonOut, errOut := run(t, "", "state", "--spec", spec, "--format", "json")
		noSecret(t, jsonOut, errOut)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		var st state.State
		if err := json.Unmarshal([]byte(jsonOut), &st); err != nil {
			t.Fatal(err)
		}
		pg1, pg2 := st.Clusters[0].Nodes[0], st.Clusters[0].Nodes[1]
		if pg1.Server.Role == nil || pg1.Server.Role.Exists || pg2.DataDir.Exists || pg2.Server.Up {
			t.Errorf("fresh pair: pg1 role %+v, pg2 data dir %+v server %+v", pg1.Server.Role, pg2.DataDir, pg2.Server)
		}
		code, out, _ := run(t, "", "state", "--spec", spec)
		if code != 0 || !strings.Contains(out, "role       replicator: missing") || !strings.Contains(out, ": missing; ") ||
			!strings.Contains(out, "server     down: ") {
			t.Errorf("text of a fresh pair (exit %d):\n%s", code, out)
		}
		if *update {
			saveSnapshot(t, "fresh-pair.json", jsonOut)
		}
	})

	t.Run("errors", func(t *testing.T) {
		// A wrong admin password fails the command, after the State.
		path := stateSpec(t, p, "pg2", "127.0.0.3", s)
		b, _ := os.ReadFile(path)
		wrong := strings.Replace(string(b), "host="+s.SocketDir, "host=127.0.0.3 password=bad-admin-pw", 1)
		if err := os.WriteFile(path, []byte(wrong), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, "", "state", "--spec", path, "--format", "json")
		noSecret(t, out, errOut)
		if code != 1 || !strings.Contains(errOut, "Error: cluster demo, node pg2 on local: connect to the server:") {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
		if strings.Contains(out+errOut, "bad-admin-pw") {
			t.Error("the admin password is printed")
		}
		var st state.State
		if err := json.Unmarshal([]byte(out), &st); err != nil || !st.Clusters[0].Nodes[0].Server.Up {
			t.Errorf("no State printed beside the error: %v\n%s", err, out)
		}

		bad := filepath.Join(t.TempDir(), "bad.hcl")
		if err := os.WriteFile(bad, []byte("cluster \"x\" {\n  postgres_version = 99\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = run(t, "", "state", "--spec", bad)
		if code != 1 || out != "" || !strings.Contains(errOut, "bad.hcl line 2") {
			t.Errorf("invalid spec: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
		}
		code, _, errOut = run(t, "", "state", "--spec", streaming, "--format", "yaml")
		if code != 1 || !strings.Contains(errOut, "--format must be text or json") {
			t.Errorf("--format yaml: exit %d, %s", code, errOut)
		}
	})

	t.Run("snapshots", func(t *testing.T) {
		for _, name := range []string{"streaming-pair.json", "fresh-pair.json"} {
			b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "states", "observed", name))
			if err != nil {
				t.Fatal(err)
			}
			var st state.State
			if err := json.Unmarshal(b, &st); err != nil || st.FormatVersion != state.FormatVersion || st.Cluster("demo") == nil {
				t.Errorf("%s is not a State: %v", name, err)
			}
		}
	})
}

// saveSnapshot writes a State printed by "pgrepl state --format json" under
// testdata/states/observed/.
func saveSnapshot(t *testing.T, name, out string) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "states", "observed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
