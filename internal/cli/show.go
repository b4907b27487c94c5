package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newShowCmd is a placeholder until its issue lands; its file is replaced whole.
func newShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "show",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pgrepl show: not built yet")
		},
	}
}
