package cli

import "github.com/spf13/cobra"

// newConfCmd groups the commands that read PostgreSQL's own config files,
// with no spec and no host: what would PostgreSQL make of this file?
func newConfCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conf",
		Short: "Show what PostgreSQL would read from a config file",
	}
	cmd.AddCommand(newConfSettingsCmd(g), newConfHBACmd(g))
	return cmd
}
