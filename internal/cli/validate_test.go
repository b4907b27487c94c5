package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goldenPassword = "golden-Pa55word-never-shown"

// chdirRoot makes the repository root the working directory, so that paths
// in golden files are the short ones a user would type.
func chdirRoot(t *testing.T) {
	t.Helper()
	t.Chdir(filepath.Join("..", ".."))
}

// TestValidateGolden runs pgrepl validate on the example specs and on the
// specs of testdata/validate, in text and JSON, against golden files holding
// the exit code, stdout and stderr.
func TestValidateGolden(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", goldenPassword)
	t.Setenv("NO_COLOR", "")
	cases := []struct{ name, spec string }{
		{"seed", "testdata/specs/seed.hcl"},
		{"local-demo", "testdata/specs/local-demo.hcl"},
		{"three-standbys", "testdata/specs/three-standbys.hcl"},
		{"errors", "testdata/validate/errors.hcl"},
		{"warnings", "testdata/validate/warnings.hcl"},
		{"missing", "testdata/validate/no-such-spec.hcl"},
	}
	for _, tc := range cases {
		for _, format := range []string{"text", "json"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				code, out, errOut := run(t, "", "validate", "--spec", tc.spec, "--format", format)
				for _, s := range []string{out, errOut} {
					if strings.Contains(s, goldenPassword) || strings.Contains(s, "correct-horse-battery-staple") {
						t.Errorf("a password was printed:\n%s", s)
					}
				}
				if format == "json" {
					var v validateJSON
					if err := json.Unmarshal([]byte(out), &v); err != nil {
						t.Fatalf("stdout is not JSON: %v\n%s", err, out)
					}
					if v.Valid != (code == 0) || v.ErrorCount+v.WarningCount != len(v.Diagnostics) {
						t.Errorf("exit %d but %+v", code, v)
					}
				}
				got := fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", code, out, errOut)
				checkGolden(t, filepath.Join("testdata", "validate", tc.name+"."+format+".golden"), got)
			})
		}
	}
}

func TestValidateExitCodes(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", goldenPassword)
	cases := []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"validate", "-s", "testdata/specs/seed.hcl"}, 0, `testdata/specs/seed.hcl is valid: cluster "orders" (PostgreSQL 15), primary db1, standby db2.` + "\n", ""},
		{[]string{"validate", "-s", "testdata/validate/warnings.hcl"}, 0, "is valid:", "Warning: md5 authentication"},
		{[]string{"validate", "-s", "testdata/validate/errors.hcl"}, 1, "", "Error: testdata/validate/errors.hcl is not valid: 13 errors\n"},
		{[]string{"validate", "-s", "testdata/specs/seed.hcl", "--format", "yaml"}, 1, "", "Error: --format must be text or json, not \"yaml\"\n"},
		{[]string{"validate", "extra"}, 1, "", "unknown command"},
		{[]string{"validate", "--no-color", "-s", "testdata/validate/errors.hcl"}, 1, "", "Error: Unknown setting\n\n  on testdata/validate/errors.hcl line 16"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", code, out, errOut, tc.code, tc.out, tc.err)
			}
			if tc.code == 0 && strings.Count(out, "\n") != 1 {
				t.Errorf("the summary is not one line: %q", out)
			}
		})
	}
}

// TestValidateDefaultSpec: with no --spec, pgrepl.hcl of the working
// directory is the spec; --spec DIR reads the directory's *.hcl files.
func TestValidateDefaultSpec(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "testdata", "specs", "local-demo.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pgrepl.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", goldenPassword)
	if code, out, errOut := run(t, "", "validate"); code != 0 || out != `pgrepl.hcl is valid: cluster "demo" (PostgreSQL 15), primary pg1, standby pg2.`+"\n" {
		t.Errorf("exit %d %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, "", "validate", "-s", "."); code != 0 || !strings.HasPrefix(out, ". is valid") {
		t.Errorf("directory: exit %d %q", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "pgrepl.hcl")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "", "validate")
	if code != 1 || !strings.Contains(errOut, "Error: Cannot read spec\n\nNo spec file or directory pgrepl.hcl.") {
		t.Errorf("no spec: exit %d %q", code, errOut)
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"validate", "fmt"} {
		code, out, _ := run(t, "", "help", cmd)
		if code != 0 || !strings.Contains(out, "Examples:\n  pgrepl "+cmd) {
			t.Errorf("help %s: exit %d\n%s", cmd, code, out)
		}
	}
	if code, out, _ := run(t, "", "__complete", "validate", "--format", ""); code != 0 || !strings.Contains(out, "text\njson\n") {
		t.Errorf("completion of --format: exit %d %q", code, out)
	}
}
