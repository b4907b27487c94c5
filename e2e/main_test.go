package e2e

import (
	"os"
	"testing"

	"github.com/pgrepl/pgrepl/internal/cli"
)

// runAsPgrepl makes the test binary run as pgrepl itself (cli.Main, as
// cmd/pgrepl does), for tests that need a real process: signals.
const runAsPgrepl = "PGREPL_E2E_RUN_AS_PGREPL"

func TestMain(m *testing.M) {
	if os.Getenv(runAsPgrepl) == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
