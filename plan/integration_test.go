package plan_test

// The planner against real servers: a PostgreSQL 15 primary made by initdb
// and an empty standby host (a directory) on this machine, observed, planned,
// the plan carried out step by step by a small executor here, and observed
// again: the second plan must be empty, the standby must stream through
// pgrepl's pg_hba.conf rule (the server's log names the line it matched),
// and the files pg_basebackup leaves must be the ones the planner modelled.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/observe"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

const itPassword = "it-Pa55word"

func TestPlanAgainstRealServers(t *testing.T) {
	pgtest.Require(t)
	primary := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2", Conf: []string{"log_connections = on"}})
	base, err := os.MkdirTemp("", "pgrepl-plan-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	pgtest.MkdirAll(t, base, 0o755)
	sbData := filepath.Join(base, "pg2")
	sbSock := filepath.Join(base, "sock")
	pgtest.MkdirAll(t, sbSock, 0o755)
	sbPort := pgtest.FreePort(t, "127.0.0.3")
	sbLog := filepath.Join(base, "pg2.log")
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(sbData, "postmaster.pid")); err == nil {
			_, _ = pgtest.RunErr(filepath.Join(pgtest.BinDir(), "pg_ctl"), "-D", sbData, "-m", "immediate", "-w", "stop")
		}
	})

	src := fmt.Sprintf(`cluster "it" {
  postgres_version = 15
  replication {
    user     = "replicator"
    password = env("PGREPL_IT_PASSWORD")
  }
  defaults {
    os_user = %q
    bin_dir = %q
  }
  primary "pg1" {
    host     = "127.0.0.2"
    port     = %d
    data_dir = %q
    settings = {
      listen_addresses        = "127.0.0.2"
      unix_socket_directories = %q
    }
  }
  standby "pg2" {
    host           = "127.0.0.3"
    port           = %d
    data_dir       = %q
    source_address = "127.0.0.1"
    settings = {
      listen_addresses        = "127.0.0.3"
      unix_socket_directories = %q
    }
  }
}
`, pgtest.OSUser(), pgtest.BinDir(), primary.Port, primary.DataDir, primary.SocketDir, sbPort, sbData, sbSock)
	sp, diags := spec.LoadSource([]spec.Source{{Name: "it.hcl", Bytes: []byte(src)}}, spec.Options{Dir: base, LookupEnv: func(k string) (string, bool) {
		return itPassword, k == "PGREPL_IT_PASSWORD"
	}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := sp.Clusters[0]
	pool := host.NewPool()
	t.Cleanup(func() { _ = pool.Close() })
	observeAll := func() *state.State {
		t.Helper()
		st, err := observe.Observe(context.Background(), sp, pool, observe.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	st := observeAll()
	p, err := plan.Make(sp, st, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "pg1:create_role pg1:edit_file pg1:reload pg1:create_slot pg2:edit_file pg2:basebackup pg2:edit_file pg2:edit_file pg2:start pg2:verify"
	if got := actions(p); got != want {
		var b strings.Builder
		_ = render.Text(&b, p, render.TextOptions{})
		t.Fatalf("plan:\n got  %s\n want %s\n%s", got, want, b.String())
	}

	var pb strings.Builder
	_ = render.Text(&pb, p, render.TextOptions{})
	t.Log(pb.String())
	hbaLine := 0
	for _, ch := range p.Changes {
		execute(t, c, ch, primary, sbLog)
		if len(ch.HBA) > 0 {
			hbaLine = ch.HBA[0].Line
		}
	}

	// The standby's replication connection went through pgrepl's rule.
	wantAuth := fmt.Sprintf(`connection authenticated: identity="replicator" method=scram-sha-256 (%s:%d)`, filepath.Join(primary.DataDir, "pg_hba.conf"), hbaLine)
	if log := primary.Log(t); !strings.Contains(log, wantAuth) {
		t.Errorf("the primary's log does not say %q:\n%s", wantAuth, log)
	}

	// Observed again, the hosts match the spec.
	again, err := plan.Make(sp, observeAll(), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		var b strings.Builder
		_ = render.Text(&b, again, render.TextOptions{})
		t.Errorf("after the plan, the hosts still differ from the spec:\n%s", b.String())
	}
}

// execute carries out one step, as apply would, checking what the plan
// says of the hosts on the way.
func execute(t *testing.T, c *spec.Cluster, ch plan.Change, primary *pgtest.Server, sbLog string) {
	t.Helper()
	n := c.Node(ch.Node)
	pgctl := func(args ...string) {
		pgtest.Run(t, append([]string{filepath.Join(pgtest.BinDir(), "pg_ctl"), "-D", n.DataDir, "-w", "-t", "60"}, args...)...)
	}
	ctx := context.Background()
	switch ch.Action {
	case plan.CreateRole:
		primary.Exec(t, fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION PASSWORD '%s'", ch.Role.Name, itPassword))
	case plan.CreateSlot:
		primary.Exec(t, "SELECT pg_create_physical_replication_slot($1)", ch.Slot.Name)
	case plan.Reload:
		pgctl("reload")
	case plan.Restart:
		pgctl("-l", primary.LogFile, "restart")
	case plan.Start:
		pgctl("-l", sbLog, "start")
	case plan.Basebackup:
		if ch.Basebackup.MovedAside != "" {
			t.Fatalf("nothing to move aside here: %+v", ch.Basebackup)
		}
		pgtest.Run(t, ch.Basebackup.Command...)
	case plan.EditFile:
		if ch.File.Kind == plan.KindPassfile {
			pgtest.WriteFile(t, ch.Path, []byte(fmt.Sprintf("%s:%d:replication:%s:%s\n", ch.Passfile.Host, ch.Passfile.Port, ch.Passfile.User, itPassword)), 0o600)
			return
		}
		real, err := os.ReadFile(ch.Path)
		if err != nil {
			t.Fatal(err)
		}
		content := ch.Content
		if ch.File.AfterBasebackup {
			// Apply computes the edit again on the file pg_basebackup
			// wrote; it must give what the planner modelled, except for
			// the primary_conninfo line -R writes, which the edit replaces.
			content = reapply(t, n, ch, real)
			if ch.File.Kind == plan.KindConfig && string(content) != string(ch.Content) {
				t.Errorf("%s: pg_basebackup left another file than the planner modelled", ch.Path)
			}
		} else if got := state.Hash(real); got != ch.File.OldSHA256 {
			t.Fatalf("%s changed since it was observed", ch.Path)
		}
		pgtest.WriteFile(t, ch.Path, content, 0o600)
	case plan.Verify:
		deadline := time.Now().Add(60 * time.Second)
		conn := primary.Conn(t)
		for {
			var streaming bool
			err := conn.QueryRow(ctx, "SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", ch.Verify.ApplicationName).Scan(&streaming)
			if err != nil {
				t.Fatal(err)
			}
			if streaming {
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(sbLog)
				t.Fatalf("%s does not stream:\n%s", ch.Node, log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	default:
		t.Fatalf("the executor does not know %s", ch.Action)
	}
}

// reapply makes the settings of an edit on the real file, as apply does for
// a file pg_basebackup wrote.
func reapply(t *testing.T, n *spec.Node, ch plan.Change, real []byte) []byte {
	t.Helper()
	fsys := map[string][]byte{ch.Path: real}
	conf := path.Join(n.ConfigDir, "postgresql.conf")
	if ch.Path != conf {
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		fsys[conf] = b
	}
	cfg, err := confparse.Load(mapReader(fsys), conf, n.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ch.Settings {
		if _, _, err := cfg.SetWinning(s.Name, confparse.QuoteValue(s.New)); err != nil {
			t.Fatal(err)
		}
	}
	return cfg.File(ch.Path).Bytes()
}

type mapReader map[string][]byte

func (m mapReader) ReadFile(p string) ([]byte, error) {
	if b, ok := m[p]; ok {
		return b, nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (m mapReader) ReadDir(string) ([]string, error) { return nil, nil }
