// Command pgrepl keeps PostgreSQL primary → standby streaming replication the
// way a reviewed HCL spec says it should be. See README.md.
package main

import (
	"os"

	"github.com/pgrepl/pgrepl/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
