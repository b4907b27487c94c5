package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelpWithAnExample walks the command tree: every
// command a user can run says what it does and shows an example.
func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || strings.HasPrefix(sub.CommandPath(), "pgrepl completion") {
				continue
			}
			if sub.Short == "" {
				t.Errorf("%s has no short help", sub.CommandPath())
			}
			if sub.Example == "" {
				t.Errorf("%s has no example", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(newRootCmd(&globals{}))

	code, stdout, _ := run(t, "", "help", "plan")
	if code != 0 || !strings.Contains(stdout, "Examples:") {
		t.Errorf("pgrepl help plan (exit %d):\n%s", code, stdout)
	}
	code, stdout, _ = run(t, "", "--version")
	if code != 0 || !strings.Contains(stdout, "pgrepl version") {
		t.Errorf("pgrepl --version (exit %d): %q", code, stdout)
	}
}
