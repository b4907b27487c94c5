// Package cli holds pgrepl's commands. Each command is thin: it parses flags,
// calls the packages that do the work (spec, observe, plan, apply, …) and
// renders their result. Data goes to stdout, errors to stderr.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pgrepl/pgrepl/spec"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/pgrepl/pgrepl/internal/cli.Version=…".
var Version = "dev"

// Exit codes (DESIGN §3).
const (
	ExitOK      = 0
	ExitError   = 1
	ExitChanges = 2 // plan --detailed-exitcode: success with changes
	ExitFmt     = 3 // fmt --check: a file would change
)

// exitError carries an exit code other than 1 out of a command. A nil err
// means the command already printed what it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns an error that makes Main exit with code after printing err
// (when err is not nil).
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

// globals are the flags every command shares.
type globals struct {
	spec    string
	noColor bool
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

// Main runs pgrepl with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return ExitError
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "pgrepl",
		Short: "Plan and apply PostgreSQL streaming replication from a reviewed spec",
		Long: `pgrepl keeps PostgreSQL primary → standby streaming replication the way a
reviewed HCL spec says it should be: "pgrepl plan" reads the real hosts and
prints exactly what would change and why; "pgrepl apply" carries that plan out
safely and proves that replication works.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.spec, "spec", "s", spec.DefaultPath, "spec file, or a directory whose *.hcl files form the spec")
	root.PersistentFlags().BoolVar(&g.noColor, "no-color", false, "never colour the output (NO_COLOR is honoured too)")
	root.AddCommand(
		newValidateCmd(g),
		newFmtCmd(g),
		newConfCmd(g),
		newStateCmd(g),
		newPlanCmd(g),
		newApplyCmd(g),
		newShowCmd(g),
		newStatusCmd(g),
	)
	return root
}

// color reports whether output to w may use colour: only on a terminal, and
// never with --no-color or NO_COLOR set.
func (g *globals) color(w io.Writer) bool {
	if g.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}
