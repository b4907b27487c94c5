package cli

import "github.com/spf13/cobra"

// newConfCmd groups the commands that read PostgreSQL's own config files,
// with no spec and no host: what would PostgreSQL make of this file?
func newConfCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conf",
		Short: "Show what PostgreSQL would read from a config file",
		Long: `The conf commands read PostgreSQL's own config files, with no spec and no
host, exactly as the server would: "conf settings" a postgresql.conf with its
includes and postgresql.auto.conf (the pg_file_settings view), "conf hba" a
pg_hba.conf (the pg_hba_file_rules view).`,
		Example: `  pgrepl conf settings /etc/postgresql/15/main/postgresql.conf
  pgrepl conf hba /etc/postgresql/15/main/pg_hba.conf --format json`,
	}
	cmd.AddCommand(newConfSettingsCmd(g), newConfHBACmd(g))
	return cmd
}
