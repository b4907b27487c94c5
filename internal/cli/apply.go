package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/spf13/cobra"

	"github.com/pgrepl/pgrepl/apply"
	"github.com/pgrepl/pgrepl/host"
	obs "github.com/pgrepl/pgrepl/observe"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// approvalQuestion is asked before an apply without a saved plan.
const approvalQuestion = "Do you want to perform these actions? Only 'yes' will be accepted:"

type applyFlags struct {
	autoApprove bool
	targets     []string
	replace     []string
	lockTimeout time.Duration
}

func newApplyCmd(g *globals) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Carry out the plan on the hosts, then verify replication",
		Long: `Apply observes the hosts, plans, prints the plan and, once you answer yes,
carries it out step by step, then checks that every standby streams.

With PLANFILE (from "pgrepl plan --out"), it applies exactly that plan: no
--spec is needed (the plan holds the spec; secrets are read again through
their env() or file() references), no question is asked. The hosts are
observed again first; if anything the plan was made from changed, the plan is
refused as stale, naming what changed, and nothing is touched.

While it runs, apply holds a lock on each cluster's primary host (a file
beside the primary's data directory), so two applies cannot interleave.

Each step prints a line when it starts and one when it ends, with its
duration. A step that fails stops the apply: what was done, what failed (with
the command's error output) and what was not done is printed, and "pgrepl
plan" then shows the way forward. No data is ever deleted: a data directory
being replaced is moved aside to <data_dir>.pgrepl-<timestamp>, and every
config file edited keeps its previous version beside it as
<file>.pgrepl-<timestamp>.

Exit status: 0 when everything was applied and verified (or nothing needed
changing), 1 otherwise.`,
		Example: `  pgrepl apply
  pgrepl apply --auto-approve --target pg2
  pgrepl plan --out demo.plan && pgrepl apply demo.plan`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			if len(args) == 1 {
				if len(f.targets) > 0 || len(f.replace) > 0 {
					return exitCode(ExitError, errors.New("--target and --replace cannot be used with a saved plan: they were fixed when it was made"))
				}
				if cmd.Flags().Changed("spec") {
					return exitCode(ExitError, errors.New("--spec cannot be used with a saved plan: it holds its spec"))
				}
				return runApplySaved(ctx, g, f, args[0])
			}
			return runApply(ctx, g, f)
		},
	}
	cmd.Flags().BoolVar(&f.autoApprove, "auto-approve", false, "do not ask before applying")
	cmd.Flags().StringArrayVar(&f.targets, "target", nil, "apply only to this node (NODE or CLUSTER/NODE; repeatable)")
	cmd.Flags().StringArrayVar(&f.replace, "replace", nil, "rebuild this standby even if it is a healthy replica (repeatable)")
	cmd.Flags().DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to wait for another apply's lock (0: refuse at once)")
	return cmd
}

// runApply observes, plans, shows the plan, asks, and applies.
func runApply(ctx context.Context, g *globals, f applyFlags) error {
	if !f.autoApprove && !isTerminal(g.stdin) {
		return exitCode(ExitError, errors.New("apply needs your approval, and there is no terminal to ask it on: run \"pgrepl apply --auto-approve\", or save a plan with \"pgrepl plan --out FILE\" and apply that file"))
	}
	sp, err := loadSpec(g)
	if err != nil {
		return err
	}
	return lockObserveApply(ctx, g, sp, f.targets, f.lockTimeout, func(st *state.State) (*plan.Plan, error) {
		p, err := plan.Make(sp, st, plan.Options{Targets: f.targets, Replace: f.replace})
		if err != nil {
			return nil, exitCode(ExitError, err)
		}
		if err := render.Text(g.stdout, p, render.TextOptions{Color: g.color(g.stdout)}); err != nil {
			return nil, exitCode(ExitError, err)
		}
		if p.Empty() {
			return nil, nil
		}
		if !f.autoApprove {
			ok, err := askApproval(g)
			if err != nil {
				return nil, exitCode(ExitError, err)
			}
			if !ok {
				return nil, exitCode(ExitError, errors.New("apply cancelled: only 'yes' is accepted; nothing was changed"))
			}
		}
		fmt.Fprintln(g.stdout)
		return p, nil
	})
}

// runApplySaved applies a saved plan, or refuses it as stale.
func runApplySaved(ctx context.Context, g *globals, f applyFlags, file string) error {
	fh, err := os.Open(file)
	if err != nil {
		return exitCode(ExitError, fmt.Errorf("read saved plan: %w", err))
	}
	saved, err := plan.ReadSaved(fh)
	fh.Close()
	if err != nil {
		return exitCode(ExitError, fmt.Errorf("%s: %w", file, err))
	}
	sp, diags := saved.LoadSpec(spec.Options{})
	if err := checkDiags(g, sp, diags, "the spec in "+file); err != nil {
		return err
	}
	return lockObserveApply(ctx, g, sp, saved.Options.Targets, f.lockTimeout, func(st *state.State) (*plan.Plan, error) {
		if stale := saved.Stale(st); len(stale) > 0 {
			return nil, exitCode(ExitError, fmt.Errorf("the saved plan %s is stale, so nothing was changed:\n  %s\nRun \"pgrepl plan\" again", file, strings.Join(stale, "\n  ")))
		}
		p, err := plan.Make(sp, st, saved.Options)
		if err != nil {
			return nil, exitCode(ExitError, fmt.Errorf("the saved plan %s cannot be applied, so nothing was changed: %w", file, err))
		}
		if same, diff := plan.Equivalent(saved.Plan, p); !same {
			return nil, exitCode(ExitError, fmt.Errorf("the saved plan %s is stale, so nothing was changed: planned again on what the hosts hold now, %s. Run \"pgrepl plan\" again", file, diff))
		}
		if p.Empty() {
			fmt.Fprintln(g.stdout, "No changes. The cluster matches the spec.")
			return nil, nil
		}
		return p, nil
	})
}

// lockObserveApply is what both kinds of apply share: take the locks of the
// clusters targets reach, observe every node, let decide turn that State
// into the plan to carry out (nil: nothing to do), and apply it.
func lockObserveApply(ctx context.Context, g *globals, sp *spec.Spec, targets []string, lockWait time.Duration, decide func(*state.State) (*plan.Plan, error)) error {
	pool := host.NewPool()
	defer pool.Close()

	locks, err := lockClusters(ctx, g, sp, pool, plan.TargetClusters(sp, targets), lockWait)
	if err != nil {
		return exitCode(ExitError, err)
	}
	defer releaseLocks(ctx, g, locks)

	st, err := obs.Observe(ctx, sp, pool, obs.Options{})
	if err != nil {
		return exitCode(ExitError, err)
	}
	p, err := decide(st)
	if err != nil || p == nil {
		return err
	}
	return executePlan(ctx, g, sp, pool, p, locks)
}

// executePlan applies p and reports the outcome.
func executePlan(ctx context.Context, g *globals, sp *spec.Spec, pool *host.Pool, p *plan.Plan, locks *apply.Locks) error {
	res, err := apply.Apply(ctx, p, sp, pool, apply.Options{
		Out:      g.stdout,
		Terminal: isTerminal(g.stdout),
		Locks:    locks,
	})
	var fail *apply.Failure
	if errors.As(err, &fail) {
		fmt.Fprintln(g.stdout)
		failed := res.Failed()
		head := fmt.Sprintf("Error: step %d (%s) failed", failed.Index, failed.Label)
		if failed.Change.Action == plan.Verify {
			head = "Error: applied, but replication does not work as it should"
		}
		fmt.Fprintln(g.stderr, head)
		fmt.Fprintln(g.stderr)
		if werr := res.WriteReport(g.stderr); werr != nil {
			return exitCode(ExitError, werr)
		}
		return exitCode(ExitError, nil)
	}
	if err != nil {
		return exitCode(ExitError, err)
	}
	steps := 0
	for _, s := range res.Steps {
		if !s.Extra {
			steps++
		}
	}
	fmt.Fprintf(g.stdout, "\nApply complete: %s in %s.", pretty.Count(steps, "step", "steps"), apply.FormatDuration(res.Duration))
	if n := verifiedStandbys(res); n > 0 {
		fmt.Fprintf(g.stdout, " %s verified streaming.", pretty.Count(n, "standby", "standbys"))
	}
	fmt.Fprintln(g.stdout)
	return nil
}

func verifiedStandbys(res *apply.Result) int {
	n := 0
	for _, r := range res.Verify {
		for _, s := range r.Standbys {
			if s.OK {
				n++
			}
		}
	}
	return n
}

// askApproval asks the approval question on the terminal.
func askApproval(g *globals) (bool, error) {
	fmt.Fprintf(g.stdout, "\n%s ", approvalQuestion)
	line, err := bufio.NewReader(g.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	return strings.TrimSpace(line) == "yes", nil
}

// lockClusters takes the apply locks, saying so when it waits.
func lockClusters(ctx context.Context, g *globals, sp *spec.Spec, pool *host.Pool, clusters []string, wait time.Duration) (*apply.Locks, error) {
	return apply.LockClusters(ctx, sp, clusters, func(ctx context.Context, n *spec.Node) (host.Transport, error) {
		return obs.Transport(ctx, pool, n)
	}, apply.LockOptions{
		Wait: wait,
		Waiting: func(le *apply.LockedError) {
			fmt.Fprintf(g.stderr, "Waiting up to %s for the lock of cluster %s, held by %s (pid %d) since %s ...\n",
				wait, le.Cluster, le.Holder.Who, le.Holder.PID, le.Holder.Since.UTC().Format(time.RFC3339))
		},
	})
}

func releaseLocks(ctx context.Context, g *globals, locks *apply.Locks) {
	if err := locks.Release(ctx); err != nil {
		fmt.Fprintf(g.stderr, "Warning: %v\n", err)
	}
}
