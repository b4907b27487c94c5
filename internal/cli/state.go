package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pgrepl/pgrepl/internal/pretty"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

func newStateCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Show what pgrepl sees on the spec's hosts",
		Long: `State reads every node of the spec, as plan does, and prints what it found:
whether the host could be reached, the data directory (PG_VERSION, signal
files, system identifier and timeline from pg_controldata, free space), the
config files PostgreSQL reads (with their sha256), and what the running server
answers (version, recovery, pg_settings, the replication role, slots,
pg_stat_replication, the WAL receiver).

It is the tool for finding out why a plan says what it says, and --format json
is the snapshot the planner's tests are made from. The output never holds a
secret: passwords are compared where they are stored and only the verdict is
shown, and a password written in a config file is masked.

A node whose host cannot be reached, or whose server is down, is shown as
such. A node that cannot be observed well enough to plan on (an unknown SSH
host key, a refused login, a wrong admin password, a config file PostgreSQL
would refuse) fails the command (exit 1) after printing what was seen.`,
		Example: `  pgrepl state
  pgrepl state -s clusters/ --format json > testdata/states/mine.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runState(cmd.Context(), g, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runState(ctx context.Context, g *globals, format string) error {
	if err := textOrJSON(format); err != nil {
		return err
	}
	sp, err := loadSpec(g)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	st, obsErr := observe(ctx, sp)
	if st != nil {
		var werr error
		if format == "json" {
			werr = writeStateJSON(g.stdout, st)
		} else {
			werr = writeStateText(g.stdout, sp, st)
		}
		if werr != nil {
			return exitCode(ExitError, fmt.Errorf("write state: %w", werr))
		}
	}
	if obsErr != nil {
		return exitCode(ExitError, obsErr)
	}
	return nil
}

func writeStateJSON(w io.Writer, st *state.State) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(st)
}

// writeStateText prints a State for people: one block per node, the facts a
// plan turns on first.
func writeStateText(w io.Writer, sp *spec.Spec, st *state.State) error {
	bw := bufio.NewWriter(w)
	for ci, c := range st.Clusters {
		if ci > 0 {
			fmt.Fprintln(bw)
		}
		fmt.Fprintf(bw, "cluster %q\n", c.Name)
		sc := sp.Cluster(c.Name)
		for _, n := range c.Nodes {
			var sn *spec.Node
			if sc != nil {
				sn = sc.Node(n.Name)
			}
			writeNodeText(bw, sn, n)
		}
	}
	return bw.Flush()
}

func writeNodeText(w io.Writer, sn *spec.Node, n *state.Node) {
	role, where := "node", n.Host
	if sn != nil {
		role = string(sn.Role)
		where = fmt.Sprintf("%s:%d", sn.Host, sn.Port)
		if sn.SSH == nil {
			where += ", this machine"
		} else {
			where += ", over ssh"
		}
	}
	fmt.Fprintf(w, "\n  %s %q (%s)\n", role, n.Name, where)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "    %-10s %s\n", label, fmt.Sprintf(format, args...))
	}
	if !n.Reachable {
		line("host", "UNREACHABLE: %s", n.Error)
		return
	}
	hostFacts := []string{"reachable"}
	if n.MachineID != "" {
		hostFacts = append(hostFacts, "machine "+short(n.MachineID, 12))
	}
	if n.BinVersion > 0 {
		hostFacts = append(hostFacts, fmt.Sprintf("binaries %d", n.BinVersion))
	} else {
		hostFacts = append(hostFacts, "no server binaries found")
	}
	line("host", "%s", strings.Join(hostFacts, ", "))

	d := n.DataDir
	switch {
	case !d.Exists:
		line("data dir", "%s: missing; %s free nearby", d.Path, pretty.Bytes(int64(d.FreeBytes)))
	case d.Empty:
		line("data dir", "%s: empty, %s %s; %s free", d.Path, d.Owner, d.Mode, pretty.Bytes(int64(d.FreeBytes)))
	default:
		facts := []string{d.Owner + " " + d.Mode}
		if d.PGVersion != "" {
			facts = append(facts, "PG_VERSION "+d.PGVersion)
		} else {
			facts = append(facts, "no PG_VERSION")
		}
		if d.SystemIdentifier != "" {
			facts = append(facts, "system id "+d.SystemIdentifier, fmt.Sprintf("timeline %d", d.Timeline), d.ClusterState)
		}
		if d.ControlDataError != "" {
			facts = append(facts, "pg_controldata failed: "+d.ControlDataError)
		}
		for _, f := range []struct {
			on   bool
			name string
		}{{d.StandbySignal, "standby.signal"}, {d.RecoverySignal, "recovery.signal"}, {d.PostmasterPID, "postmaster.pid"}} {
			if f.on {
				facts = append(facts, f.name)
			}
		}
		line("data dir", "%s: %s; %s free", d.Path, strings.Join(facts, ", "), pretty.Bytes(int64(d.FreeBytes)))
	}

	s := n.Server
	if !s.Up {
		line("server", "down: %s", s.Error)
	} else {
		mode := "primary (not in recovery)"
		if s.InRecovery {
			mode = "in recovery"
		}
		line("server", "up, PostgreSQL %s, %s, WAL at %s, databases %s, %d settings",
			s.Version, mode, s.CurrentLSN, pretty.Bytes(s.DatabaseSize), len(s.Settings))
		var pending []string
		for _, st := range s.Settings {
			if st.PendingRestart {
				pending = append(pending, st.Name)
			}
		}
		if len(pending) > 0 {
			line("restart", "pending for %s", strings.Join(pending, ", "))
		}
	}
	if r := s.Role; r != nil {
		if !r.Exists {
			line("role", "%s: missing", r.Name)
		} else {
			var attrs []string
			for _, a := range []struct {
				on   bool
				name string
			}{{r.Replication, "replication"}, {r.Login, "login"}, {r.Superuser, "superuser"}} {
				if a.on {
					attrs = append(attrs, a.name)
				} else {
					attrs = append(attrs, "no"+a.name)
				}
			}
			line("role", "%s: %s; password %s", r.Name, strings.Join(attrs, ", "), r.Password)
		}
	}
	for i, sl := range s.Slots {
		label := ""
		if i == 0 {
			label = "slots"
		}
		active := "inactive"
		if sl.Active {
			active = "active"
		}
		line(label, "%s: %s, %s, restart %s, holds %s of WAL", sl.Name, sl.Type, active, orDash(sl.RestartLSN), pretty.Bytes(sl.RetainedBytes))
	}
	for i, r := range s.Replication {
		label := ""
		if i == 0 {
			label = "standbys"
		}
		from := r.ClientAddr
		if from == "" {
			from = "a unix socket"
		}
		line(label, "%s from %s: %s, %s, replayed %s, lag %s / %.1fs",
			orDash(r.ApplicationName), from, r.State, r.SyncState, orDash(r.ReplayLSN), pretty.Bytes(r.ReplayLagBytes), r.ReplayLagSecs)
	}
	if r := s.WalReceiver; r != nil {
		line("receiver", "%s from %s port %d, slot %s", r.Status, orDash(r.SenderHost), r.SenderPort, orDash(r.SlotName))
	}
	for i, f := range n.Files {
		label := ""
		if i == 0 {
			label = "files"
		}
		if !f.Exists {
			line(label, "%-7s %s: missing", f.Role, f.Path)
			continue
		}
		extra := ""
		if f.Redacted {
			extra = " (a password in it is masked)"
		}
		line(label, "%-7s %s: %s:%s %s, sha256 %s%s", f.Role, f.Path, f.Owner, f.Group, f.Mode, short(f.SHA256, 12), extra)
	}
	if p := n.Passfile; p != nil {
		if !p.Exists {
			line("passfile", "%s: missing", p.Path)
		} else {
			verdict := "has no entry with the spec's password for the primary"
			if p.Matches {
				verdict = "holds the spec's password for the primary"
			}
			line("passfile", "%s: %s %s, %s", p.Path, p.Owner, p.Mode, verdict)
		}
	}
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
