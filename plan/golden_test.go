package plan_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/plan/render"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

var update = flag.Bool("update", false, "rewrite the State snapshots in testdata/states and the goldens in testdata/plans")

// root is the repository root, where testdata/ lives.
const root = ".."

const testPassword = "demo-only-password"

func loadSpec(t testing.TB, name string) *spec.Spec {
	t.Helper()
	sp, diags := spec.Load(name, spec.Options{Dir: root, LookupEnv: func(k string) (string, bool) {
		if k == "PGREPL_REPLICATION_PASSWORD" {
			return testPassword, true
		}
		return "", false
	}})
	if diags.HasErrors() {
		t.Fatalf("load %s: %v", name, diags)
	}
	return sp
}

func statePath(name string) string { return filepath.Join(root, "testdata", "states", name+".json") }

func writeState(t testing.TB, name string, st *state.State) {
	t.Helper()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath(name), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readState(t testing.TB, name string) *state.State {
	t.Helper()
	b, err := os.ReadFile(statePath(name))
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update to build the snapshots)", err)
	}
	var st state.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", statePath(name), err)
	}
	return &st
}

// golden compares got with testdata/plans/<name>, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join(root, "testdata", "plans", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./plan -update and review the diff):\n%s", p, firstDifference(string(want), string(got)))
	}
}

func firstDifference(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(no difference found line by line)"
}

// renderAll renders p in every format.
func renderAll(t *testing.T, p *plan.Plan) (text, md, js []byte) {
	t.Helper()
	var a, b, c bytes.Buffer
	if err := render.Text(&a, p, render.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := render.Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := render.JSON(&c, p); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), b.Bytes(), c.Bytes()
}

// TestGolden plans each case from its snapshot and compares the three
// renderings with the goldens. Then it checks the plan converges: planning
// the State that carrying it out leaves (Simulate) changes nothing.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			sp := loadSpec(t, c.spec)
			if *update {
				writeState(t, c.name, c.build(t, sp))
			}
			st := readState(t, c.name)
			p, err := plan.Make(sp, st, c.opts)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			text, md, js := renderAll(t, p)
			golden(t, c.name+".txt", text)
			golden(t, c.name+".md", md)
			golden(t, c.name+".json", js)
			for _, out := range [][]byte{text, md, js} {
				if bytes.Contains(out, []byte(testPassword)) || bytes.Contains(out, []byte("hunter2")) || bytes.Contains(out, []byte("not-a-real-password")) {
					t.Errorf("a rendering holds a password:\n%s", out)
				}
			}

			// Deterministic: the same inputs give the same bytes.
			p2, err := plan.Make(sp, readState(t, c.name), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			text2, md2, js2 := renderAll(t, p2)
			if !bytes.Equal(text, text2) || !bytes.Equal(md, md2) || !bytes.Equal(js, js2) {
				t.Error("planning the same state twice gave different output")
			}
			if ok, why := plan.Equivalent(p, p2); !ok {
				t.Errorf("Equivalent(p, p) is false: %s", why)
			}

			// Converges: after the plan, nothing is left to do.
			after, err := plan.Simulate(p, st)
			if err != nil {
				t.Fatalf("simulate: %v", err)
			}
			// (--replace rebuilds whatever the state; the state after it
			// is checked without it.)
			p3, err := plan.Make(sp, after, plan.Options{Targets: c.opts.Targets})
			if err != nil {
				t.Fatalf("plan after simulate: %v", err)
			}
			if !p3.Empty() {
				var buf bytes.Buffer
				_ = render.Text(&buf, p3, render.TextOptions{})
				t.Errorf("planning the state the plan leaves is not empty:\n%s", buf.String())
			}
		})
	}
}
