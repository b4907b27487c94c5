package plan_test

// The planner against real servers: a PostgreSQL 15 primary made by initdb
// and an empty standby host (a directory) on this machine, observed, planned,
// the plan carried out step by step by a small executor here, and observed
// again: the second plan must be empty, the standby must stream through
// pgrepl's pg_hba.conf rule (the server's log names the line it matched),
// and the files pg_basebackup leaves must be the ones the planner modelled.
//
// observeLocal stands in for the observer (package observe), which is being
// built beside this package: once it is on main, the test should call
// observe.Observe instead and keep everything else.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/scram"
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
	sockets := map[string]string{"pg1": primary.SocketDir, "pg2": sbSock}

	st := observeLocal(t, c, sockets)
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
	again, err := plan.Make(sp, observeLocal(t, c, sockets), plan.Options{})
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

// observeLocal reads what the observer would of the nodes on this machine.
func observeLocal(t *testing.T, c *spec.Cluster, sockets map[string]string) *state.State {
	t.Helper()
	sc := &state.Cluster{Name: c.Name}
	machine, _ := os.ReadFile("/etc/machine-id")
	for _, n := range c.Nodes() {
		sn := &state.Node{Name: n.Name, Host: n.Host, Reachable: true, MachineID: strings.TrimSpace(string(machine)), BinVersion: 15,
			ConfigFile: path.Join(n.ConfigDir, "postgresql.conf"), HBAFile: path.Join(n.ConfigDir, "pg_hba.conf")}
		d := &sn.DataDir
		d.Path = n.DataDir
		var sfs syscall.Statfs_t
		if err := syscall.Statfs(path.Dir(n.DataDir), &sfs); err == nil {
			d.FreeBytes = sfs.Bavail * uint64(sfs.Bsize)
		}
		if ents, err := os.ReadDir(n.DataDir); err == nil {
			d.Exists, d.Empty = true, len(ents) == 0
			d.Owner, d.Mode = ownerMode(t, n.DataDir)
			if b, err := os.ReadFile(path.Join(n.DataDir, "PG_VERSION")); err == nil {
				d.PGVersion = strings.TrimSpace(string(b))
				out := pgtest.Run(t, filepath.Join(pgtest.BinDir(), "pg_controldata"), "-D", n.DataDir)
				if m := regexp.MustCompile(`Database system identifier:\s+(\d+)`).FindStringSubmatch(out); m != nil {
					d.SystemIdentifier = m[1]
				}
				if m := regexp.MustCompile(`Latest checkpoint's TimeLineID:\s+(\d+)`).FindStringSubmatch(out); m != nil {
					d.Timeline, _ = strconv.Atoi(m[1])
				}
			}
			_, err := os.Stat(path.Join(n.DataDir, "standby.signal"))
			d.StandbySignal = err == nil
			_, err = os.Stat(path.Join(n.DataDir, "postmaster.pid"))
			d.PostmasterPID = err == nil
		}
		for _, f := range []struct {
			p    string
			role state.FileRole
		}{{sn.ConfigFile, state.RoleConfig}, {path.Join(n.DataDir, "postgresql.auto.conf"), state.RoleAuto}, {sn.HBAFile, state.RoleHBA}} {
			sf := &state.File{Path: f.p, Role: f.role}
			if b, err := os.ReadFile(f.p); err == nil {
				sf.Exists, sf.Content, sf.SHA256 = true, b, state.Hash(b)
				sf.Owner, sf.Mode = ownerMode(t, f.p)
			}
			sn.Files = append(sn.Files, sf)
		}
		if n.Role == spec.Standby {
			pf := &state.Passfile{Path: n.Passfile}
			if b, err := os.ReadFile(n.Passfile); err == nil {
				pf.Exists = true
				pf.Owner, pf.Mode = ownerMode(t, n.Passfile)
				pf.Matches = strings.Contains(string(b), fmt.Sprintf("%s:%d:replication:%s:%s", c.Primary.Host, c.Primary.Port, c.Replication.User, itPassword))
			}
			sn.Passfile = pf
		}
		observeServer(t, c, n, sn, sockets[n.Name])
		sc.Nodes = append(sc.Nodes, sn)
	}
	return &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{sc}}
}

func observeServer(t *testing.T, c *spec.Cluster, n *spec.Node, sn *state.Node, socket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", socket, n.Port))
	if err != nil {
		sn.Server.Error = err.Error()
		return
	}
	defer conn.Close(ctx)
	s := &sn.Server
	s.Up = true
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int, current_setting('server_version'), pg_is_in_recovery(), current_setting('config_file'), current_setting('hba_file'), (SELECT sum(pg_database_size(oid))::bigint FROM pg_database)").
		Scan(&s.VersionNum, &s.Version, &s.InRecovery, &sn.ConfigFile, &sn.HBAFile, &s.DatabaseSize); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT name, coalesce(setting, ''), coalesce(unit, ''), context, vartype, source, coalesce(sourcefile, ''), coalesce(sourceline, 0), pending_restart FROM pg_settings ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r state.Setting
		if err := rows.Scan(&r.Name, &r.Setting, &r.Unit, &r.Context, &r.VarType, &r.Source, &r.SourceFile, &r.SourceLine, &r.PendingRestart); err != nil {
			t.Fatal(err)
		}
		s.Settings = append(s.Settings, r)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if n.Role != spec.Primary {
		return
	}
	role := &state.Role{Name: c.Replication.User, Password: state.PasswordNone}
	var stored string
	err = conn.QueryRow(ctx, "SELECT rolreplication, rolcanlogin, rolsuper, coalesce(rolpassword, '') FROM pg_authid WHERE rolname = $1", role.Name).Scan(&role.Replication, &role.Login, &role.Superuser, &stored)
	switch {
	case err == pgx.ErrNoRows:
	case err != nil:
		t.Fatal(err)
	default:
		role.Exists = true
		if stored != "" {
			ok, err := scram.Matches(stored, itPassword)
			switch {
			case err != nil:
				role.Password = state.PasswordMD5
			case ok:
				role.Password = state.PasswordMatches
			default:
				role.Password = state.PasswordDiffers
			}
		}
	}
	s.Role = role
	rows, err = conn.Query(ctx, "SELECT slot_name, slot_type, active FROM pg_replication_slots ORDER BY slot_name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sl state.Slot
		if err := rows.Scan(&sl.Name, &sl.Type, &sl.Active); err != nil {
			t.Fatal(err)
		}
		s.Slots = append(s.Slots, sl)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
}

func ownerMode(t *testing.T, p string) (string, string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	owner := ""
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil {
			owner = u.Username
		}
	}
	return owner, fmt.Sprintf("%04o", fi.Mode().Perm())
}
