package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/hcl/v2"

	"github.com/pgrepl/pgrepl/spec"
)

// loadSpec loads the spec named by --spec, printing its diagnostics
// (warnings too) on stderr; errors stop the command.
func loadSpec(g *globals) (*spec.Spec, error) {
	sp, diags := spec.Load(g.spec, spec.Options{})
	if err := checkDiags(g, sp, diags, g.spec); err != nil {
		return nil, err
	}
	return sp, nil
}

// checkDiags prints a spec's diagnostics on stderr and fails when one is an
// error; what names the spec in that failure.
func checkDiags(g *globals, sp *spec.Spec, diags hcl.Diagnostics, what string) error {
	if len(diags) > 0 {
		var files map[string]*hcl.File
		if sp != nil {
			files = sp.DiagnosticFiles()
		}
		if err := writeDiagnostics(g, g.stderr, files, diags); err != nil {
			return err
		}
	}
	if diags.HasErrors() || sp == nil {
		errs, warns := countDiags(diags)
		return exitCode(ExitError, fmt.Errorf("%s is not valid: %s", what, diagCounts(errs, warns)))
	}
	return nil
}

// interruptible returns a context that ends on SIGINT or SIGTERM, so that a
// command stops its work (and releases what it holds) instead of dying.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
