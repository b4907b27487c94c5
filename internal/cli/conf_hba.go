package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newConfHBACmd is a placeholder until its issue lands; its file is replaced whole.
func newConfHBACmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "hba",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pgrepl conf hba: not built yet")
		},
	}
}
