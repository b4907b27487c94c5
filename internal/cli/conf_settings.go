package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newConfSettingsCmd is a placeholder until its issue lands; its file is replaced whole.
func newConfSettingsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "settings",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pgrepl conf settings: not built yet")
		},
	}
}
