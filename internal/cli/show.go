package cli

import (
	"fmt"
	"os"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/spf13/cobra"
)

func newShowCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show PLANFILE",
		Short: "Print a plan saved with pgrepl plan --out",
		Long: `Show prints a plan saved with "pgrepl plan --out PLANFILE", exactly as plan
printed it, in any format: text, json, or markdown (for a pull-request comment
about a plan made elsewhere). No host is contacted and no spec is read: the
saved plan holds what it needs.`,
		Example: `  pgrepl show tonight.plan
  pgrepl show tonight.plan --format markdown > plan.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShow(g, args[0], format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runShow(g *globals, name, format string) error {
	f, err := render.ParseFormat(format)
	if err != nil {
		return exitCode(ExitError, err)
	}
	file, err := os.Open(name)
	if err != nil {
		return exitCode(ExitError, fmt.Errorf("read saved plan: %w", err))
	}
	defer file.Close()
	s, err := plan.ReadSaved(file)
	if err != nil {
		return exitCode(ExitError, fmt.Errorf("%s: %w", name, err))
	}
	if err := render.Render(g.stdout, s.Plan, f, f == render.FormatText && g.color(g.stdout)); err != nil {
		return exitCode(ExitError, err)
	}
	return nil
}
