package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newApplyCmd is a placeholder until its issue lands; its file is replaced whole.
func newApplyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "apply",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pgrepl apply: not built yet")
		},
	}
}
