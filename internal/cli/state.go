package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newStateCmd is a placeholder until its issue lands; its file is replaced whole.
func newStateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "state",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pgrepl state: not built yet")
		},
	}
}
