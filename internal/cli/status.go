package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgrepl/pgrepl/host"
	obs "github.com/pgrepl/pgrepl/observe"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/verify"
)

type statusFlags struct {
	format     string
	writeProbe bool
	timeout    time.Duration
}

func newStatusCmd(g *globals) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Check, live, that every standby streams from its primary",
		Long: `Status runs the runbook's checks on every standby of the spec, now:

  streaming    the primary's pg_stat_replication shows the standby streaming,
               under its node name (application_name)
  in_recovery  pg_is_in_recovery() is true on the standby
  read_only    the standby refuses a write (in a transaction always rolled back)
  replay       the standby replays the primary's current WAL position within
               --timeout
  write_probe  with --write-probe: a row written on the primary (in a table
               pgrepl_write_probe, dropped afterwards) is read back on the standby

and shows each standby's replication state and lag in bytes and seconds. It
changes nothing, except for the probe table with --write-probe. It exits 1
when any check fails, naming each failed check on stderr.`,
		Example: `  pgrepl status
  pgrepl status --write-probe --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), g, f)
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&f.writeProbe, "write-probe", false, "also write a row on the primary and read it back on every standby")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for streaming and replay, per standby")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runStatus(ctx context.Context, g *globals, f statusFlags) error {
	if err := textOrJSON(f.format); err != nil {
		return err
	}
	sp, err := loadSpec(g)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	pool := host.NewPool()
	defer pool.Close()

	var reports []*verify.Report
	var errs []error
	for _, c := range sp.Clusters {
		r, err := verify.Run(ctx, statusTarget(pool, c), verify.Options{Timeout: f.timeout, WriteProbe: f.writeProbe})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reports = append(reports, r)
	}
	if f.format == "json" {
		err = verify.WriteJSON(g.stdout, reports)
	} else {
		err = verify.WriteText(g.stdout, reports, g.color(g.stdout))
	}
	if err != nil {
		return exitCode(ExitError, fmt.Errorf("write status: %w", err))
	}
	var failed []string
	for _, r := range reports {
		for _, name := range r.Failed() {
			failed = append(failed, r.Cluster+"/"+name)
		}
	}
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("failed checks: %s", strings.Join(failed, ", ")))
	}
	if len(errs) > 0 {
		return exitCode(ExitError, errors.Join(errs...))
	}
	return nil
}

// statusTarget is the verification target of one spec cluster: each node
// reached through its own transport, as plan and apply reach it.
func statusTarget(pool *host.Pool, c *spec.Cluster) verify.Target {
	node := func(n *spec.Node) verify.Node {
		return verify.Node{Name: n.Name, Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return obs.Connect(ctx, pool, n)
		}}
	}
	t := verify.Target{Cluster: c.Name, Primary: node(c.Primary)}
	for _, sb := range c.Standbys {
		t.Standbys = append(t.Standbys, node(sb))
	}
	return t
}
