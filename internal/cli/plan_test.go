package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const planPassword = "plan-Pa55word-never-shown"

// planGolden reads a golden plan of package plan's tests.
func planGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPlanFromState(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", planPassword)
	spec := "testdata/specs/local-demo.hcl"
	for _, c := range []struct {
		state, format, golden string
	}{
		{"fresh-pair", "text", "fresh-pair.txt"},
		{"fresh-pair", "json", "fresh-pair.json"},
		{"fresh-pair", "markdown", "fresh-pair.md"},
		{"wrong-conninfo", "text", "wrong-conninfo.txt"},
		{"converged-pair", "text", "converged-pair.txt"},
	} {
		t.Run(c.state+" "+c.format, func(t *testing.T) {
			code, out, errOut := run(t, "", "plan", "-s", spec, "--state", "testdata/states/"+c.state+".json", "--format", c.format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out != planGolden(t, c.golden) {
				t.Errorf("stdout is not testdata/plans/%s:\n%s", c.golden, out)
			}
			if strings.Contains(out+errOut, planPassword) {
				t.Error("the password is printed")
			}
		})
	}
}

func TestPlanDetailedExitcode(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", planPassword)
	for state, want := range map[string]int{"fresh-pair": ExitChanges, "converged-pair": ExitOK} {
		code, _, errOut := run(t, "", "plan", "-s", "testdata/specs/local-demo.hcl", "--state", "testdata/states/"+state+".json", "--detailed-exitcode")
		if code != want {
			t.Errorf("%s: exit %d, want %d (%s)", state, code, want, errOut)
		}
	}
	// Without the flag, changes are a success.
	if code, _, _ := run(t, "", "plan", "-s", "testdata/specs/local-demo.hcl", "--state", "testdata/states/fresh-pair.json"); code != ExitOK {
		t.Errorf("exit %d without --detailed-exitcode", code)
	}
}

func TestPlanTargetReplace(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", planPassword)
	code, out, errOut := run(t, "", "plan", "-s", "testdata/specs/local-demo.hcl", "--state", "testdata/states/converged-pair.json", "--replace", "pg2", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != planGolden(t, "replace-healthy.json") {
		t.Errorf("--replace pg2 is not the replace-healthy plan:\n%s", out)
	}
	code, out, errOut = run(t, "", "plan", "-s", "testdata/specs/three-standbys.hcl", "--state", "testdata/states/target-two-standbys.json", "--target", "pg2", "--target", "billing/pg3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != planGolden(t, "target-two-standbys.txt") {
		t.Errorf("--target pg2 --target billing/pg3 is not the target-two-standbys plan:\n%s", out)
	}
	code, _, errOut = run(t, "", "plan", "-s", "testdata/specs/local-demo.hcl", "--state", "testdata/states/converged-pair.json", "--target", "pg7")
	if code != ExitError || !strings.Contains(errOut, `Error: cannot plan: --target pg7: the spec has no node "pg7"`) {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestPlanOutAndShow(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", planPassword)
	dir := t.TempDir()
	saved := filepath.Join(dir, "tonight.plan")
	code, out, errOut := run(t, "", "plan", "-s", "testdata/specs/local-demo.hcl", "--state", "testdata/states/fresh-pair.json", "--out", saved)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "Saved the plan to "+saved+". To carry it out: pgrepl apply "+saved) {
		t.Errorf("stderr: %s", errOut)
	}
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), planPassword) {
		t.Error("the saved plan holds the password")
	}
	fi, err := os.Stat(saved)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("saved plan mode: %v %v", fi.Mode(), err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format_version", "pgrepl_version", "spec", "inputs", "options", "plan"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the saved plan has no %q", k)
		}
	}
	for format, golden := range map[string]string{"text": "fresh-pair.txt", "json": "fresh-pair.json", "markdown": "fresh-pair.md"} {
		code, shown, errOut := run(t, "", "show", saved, "--format", format)
		if code != 0 {
			t.Fatalf("show --format %s: exit %d: %s", format, code, errOut)
		}
		if shown != planGolden(t, golden) {
			t.Errorf("show --format %s is not what plan printed:\n%s", format, shown)
		}
	}
	if out != planGolden(t, "fresh-pair.txt") {
		t.Error("plan --out printed another plan")
	}

	// show refuses what is not a saved plan.
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte(`{"format_version": "9"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "show", junk); code != ExitError || !strings.Contains(errOut, "format_version") {
		t.Errorf("show junk: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "show", filepath.Join(dir, "missing")); code != ExitError || !strings.Contains(errOut, "no such file") {
		t.Errorf("show missing: exit %d: %s", code, errOut)
	}
}

func TestPlanOutRefusesLiteralPassword(t *testing.T) {
	chdirRoot(t)
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/specs/local-demo.hcl")
	if err != nil {
		t.Fatal(err)
	}
	lit := strings.Replace(string(src), `password = env("PGREPL_REPLICATION_PASSWORD")`, `password = "`+planPassword+`"`, 1)
	specFile := filepath.Join(dir, "lit.hcl")
	if err := os.WriteFile(specFile, []byte(lit), 0o600); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "x.plan")
	code, out, errOut := run(t, "", "plan", "-s", specFile, "--state", "testdata/states/fresh-pair.json", "--out", saved)
	if code != ExitError || !strings.Contains(errOut, "replication password as a literal") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if out != "" {
		t.Errorf("a refused plan printed: %s", out)
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Error("a plan file was written")
	}
	if strings.Contains(out+errOut, planPassword) {
		t.Error("the password is printed")
	}
	// Without --out the same spec plans (with a warning on stderr).
	if code, _, errOut := run(t, "", "plan", "-s", specFile, "--state", "testdata/states/fresh-pair.json"); code != 0 || strings.Contains(errOut, planPassword) {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestPlanErrors(t *testing.T) {
	chdirRoot(t)
	t.Setenv("PGREPL_REPLICATION_PASSWORD", planPassword)
	dir := t.TempDir()
	down := filepath.Join(dir, "down.json")
	b, err := os.ReadFile("testdata/states/converged-pair.json")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	pg1 := st["clusters"].([]any)[0].(map[string]any)["nodes"].([]any)[0].(map[string]any)
	pg1["server"].(map[string]any)["up"] = false
	b, _ = json.Marshal(st)
	if err := os.WriteFile(down, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"primary down", []string{"plan", "-s", "testdata/specs/local-demo.hcl", "--state", down}, "Error: cannot plan: demo/pg1 (127.0.0.2): the primary's server is not running"},
		{"bad format", []string{"plan", "-s", "testdata/specs/local-demo.hcl", "--format", "yaml"}, "--format must be text, json or markdown"},
		{"invalid spec", []string{"plan", "-s", "testdata/validate/errors.hcl"}, "is not valid"},
		{"missing state", []string{"plan", "-s", "testdata/specs/local-demo.hcl", "--state", filepath.Join(dir, "none.json")}, "read state"},
		{"arguments", []string{"plan", "extra"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := run(t, "", c.args...)
			if code != ExitError || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, errOut, c.want)
			}
			if out != "" {
				t.Errorf("stdout: %s", out)
			}
		})
	}
}
