package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPlanCmd is a placeholder until its issue lands; its file is replaced whole.
func newPlanCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "plan",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pgrepl plan: not built yet")
		},
	}
}
