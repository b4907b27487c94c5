package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/pgrepl/pgrepl/state"
	"github.com/spf13/cobra"
)

type planFlags struct {
	out       string
	format    string
	detailed  bool
	targets   []string
	replace   []string
	stateFile string
}

func newPlanCmd(g *globals) *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Read the hosts and print what would change to match the spec, and why",
		Long: `Plan reads the spec, observes every node it names (config files, the
running server's settings, roles, slots, data directories) and prints the
ordered steps that would bring the hosts to the spec, each with its reason;
files as unified diffs. Nothing is changed.

The order is fixed: on the primary the replication role, pg_hba.conf, its
config files, a reload or restart, the slots; then each standby (its
passfile, a rebuild or its config, a start, reload or restart); a check of
replication last. Restarting the primary is marked as downtime, a rebuild as
destructive. The same hosts give the same plan, byte for byte.

--out FILE saves the plan with the spec it was made from and a fingerprint of
everything observed; "pgrepl apply FILE" carries out exactly that plan, or
refuses it if a host changed since. The file holds no secret, so a spec that
writes the password (or a password in an admin_dsn) as a literal cannot be
saved: read it with env() or file().

--state FILE plans from a State snapshot (JSON, as "pgrepl state" writes it)
instead of observing the hosts: for tests, and for CI that has no access to
them.

Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error,
2 success with changes (only with --detailed-exitcode).`,
		Example: `  pgrepl plan
  pgrepl plan --out tonight.plan && pgrepl apply tonight.plan
  pgrepl plan --format markdown > plan.md        # for a pull-request comment
  pgrepl plan --target pg2 --replace pg2         # rebuild one standby
  pgrepl plan --detailed-exitcode || [ $? -eq 2 ] # CI: 2 means changes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlan(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "save the plan to FILE for `pgrepl apply FILE`")
	fl.StringVar(&f.format, "format", "text", "output format: text, json or markdown")
	fl.BoolVar(&f.detailed, "detailed-exitcode", false, "exit 2 when there are changes, 0 when there are none")
	fl.StringArrayVar(&f.targets, "target", nil, "plan only NODE (or CLUSTER/NODE), with what it needs on its primary; repeatable")
	fl.StringArrayVar(&f.replace, "replace", nil, "rebuild standby NODE even if it is a healthy replica; repeatable")
	fl.StringVar(&f.stateFile, "state", "", "plan from a State snapshot (JSON) instead of observing the hosts")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runPlan(ctx context.Context, g *globals, f planFlags) error {
	format, err := render.ParseFormat(f.format)
	if err != nil {
		return exitCode(ExitError, err)
	}
	sp, err := loadSpec(g)
	if err != nil {
		return err
	}
	if f.out != "" {
		// Refuse before observing: the saved plan would carry the secret.
		if err := plan.CanSave(sp); err != nil {
			return exitCode(ExitError, fmt.Errorf("--out %s: %w", f.out, err))
		}
	}
	var st *state.State
	if f.stateFile != "" {
		st, err = readStateFile(f.stateFile)
	} else {
		st, err = observe(ctx, sp)
	}
	if err != nil {
		return exitCode(ExitError, err)
	}
	opts := plan.Options{Targets: f.targets, Replace: f.replace}
	p, err := plan.Make(sp, st, opts)
	if err != nil {
		return exitCode(ExitError, err)
	}
	if err := render.Render(g.stdout, p, format, format == render.FormatText && g.color(g.stdout)); err != nil {
		return exitCode(ExitError, err)
	}
	if f.out != "" {
		saved, err := plan.NewSaved(sp, st, opts, p, Version)
		if err != nil {
			return exitCode(ExitError, fmt.Errorf("--out %s: %w", f.out, err))
		}
		if err := writeSavedPlan(f.out, saved); err != nil {
			return exitCode(ExitError, err)
		}
		fmt.Fprintf(g.stderr, "Saved the plan to %s. To carry it out: pgrepl apply %s\n", f.out, f.out)
	}
	if f.detailed && !p.Empty() {
		return exitCode(ExitChanges, nil)
	}
	return nil
}

// readStateFile reads a State snapshot.
func readStateFile(name string) (*state.State, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st state.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read state %s: %w", name, err)
	}
	if st.FormatVersion != state.FormatVersion {
		return nil, fmt.Errorf("read state %s: format_version %q, this pgrepl reads %q", name, st.FormatVersion, state.FormatVersion)
	}
	return &st, nil
}

// writeSavedPlan writes the saved plan atomically (a temporary file in the
// same directory, then a rename), readable by its owner only: it holds no
// secret, but it maps the infrastructure.
func writeSavedPlan(name string, s *plan.Saved) (err error) {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("save the plan: %w", err)
	}
	if err := s.Write(tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("save the plan to %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save the plan to %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	return nil
}
