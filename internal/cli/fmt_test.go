package cli

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const unformatted = `cluster "demo" {
  postgres_version = 15
  replication {
    user = "replicator"
    password="hunter2-literal"
  }
  primary "pg1" {
      host = "127.0.0.2"
    data_dir = "/srv/pg1"
  }
}
`

const formatted = `cluster "demo" {
  postgres_version = 15
  replication {
    user     = "replicator"
    password = "hunter2-literal"
  }
  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "/srv/pg1"
  }
}
`

func writeSpec(t *testing.T, dir, name, src string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func readSpec(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFmtCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeSpec(t, dir, "pgrepl.hcl", unformatted, 0o600)
	writeSpec(t, dir, "ok.hcl", formatted, 0o644)

	code, out, errOut := run(t, "", "fmt", "--check", "pgrepl.hcl", "ok.hcl")
	want := `--- old/pgrepl.hcl
+++ new/pgrepl.hcl
@@ -1,11 +1,11 @@
 cluster "demo" {
   postgres_version = 15
   replication {
-    user = "replicator"
-    password="***************"
+    user     = "replicator"
+    password = "***************"
   }
   primary "pg1" {
-      host = "127.0.0.2"
+    host     = "127.0.0.2"
     data_dir = "/srv/pg1"
   }
 }
`
	if code != ExitFmt || out != want || errOut != "" {
		t.Errorf("fmt --check: exit %d, stderr %q, diff:\n%s\nwant:\n%s", code, errOut, out, want)
	}
	if got := readSpec(t, filepath.Join(dir, "pgrepl.hcl")); got != unformatted {
		t.Error("fmt --check changed the file")
	}
	if code, out, _ := run(t, "", "fmt", "--check", "ok.hcl"); code != 0 || out != "" {
		t.Errorf("fmt --check of a formatted file: exit %d %q", code, out)
	}
}

func TestFmtRewrite(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	sub := filepath.Join(dir, "specs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	a := writeSpec(t, sub, "a.hcl", unformatted, 0o640)
	b := writeSpec(t, sub, "b.hcl", formatted, 0o644)
	writeSpec(t, sub, "notes.txt", "not  hcl =", 0o644)
	// As root (as in CI), a file owned by another user keeps its owner.
	const nobody = 65534
	root := os.Geteuid() == 0
	if root {
		if err := os.Chown(a, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}

	// No PATH: the spec given with --spec (a directory) is formatted.
	code, out, errOut := run(t, "", "fmt", "-s", "specs")
	if code != 0 || out != filepath.Join("specs", "a.hcl")+"\n" || errOut != "" {
		t.Fatalf("fmt: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := readSpec(t, a); got != formatted {
		t.Errorf("a.hcl:\n%s", got)
	}
	fi, err := os.Stat(a)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode of a.hcl: %v %v, want 0640", fi.Mode(), err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); root && (!ok || st.Uid != nobody || st.Gid != nobody) {
		t.Errorf("owner of a.hcl: %+v", fi.Sys())
	}
	if got := readSpec(t, b); got != formatted {
		t.Error("b.hcl changed")
	}
	entries, _ := os.ReadDir(sub)
	if len(entries) != 3 {
		t.Errorf("left-over files: %v", entries)
	}
	// Idempotent.
	if code, out, _ := run(t, "", "fmt", "-s", "specs"); code != 0 || out != "" {
		t.Errorf("second fmt: exit %d %q", code, out)
	}
}

func TestFmtStdin(t *testing.T) {
	code, out, errOut := run(t, unformatted, "fmt", "-")
	if code != 0 || out != formatted || errOut != "" {
		t.Errorf("fmt -: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	code, out, _ = run(t, unformatted, "fmt", "--check", "-")
	if code != ExitFmt || !strings.HasPrefix(out, "--- old/<stdin>\n+++ new/<stdin>\n@@ -1,11 +1,11 @@\n") {
		t.Errorf("fmt --check -: exit %d\n%s", code, out)
	}
}

func TestFmtErrors(t *testing.T) {
	dir := t.TempDir()
	broken := "cluster \"x\" {\n  replication {\n    password = \"hunter2-literal\"\n  }\n  postgres_version = \n}\n"
	p := writeSpec(t, dir, "broken.hcl", broken, 0o644)
	code, out, errOut := run(t, "", "fmt", p)
	if code != ExitError || out != "" || !strings.Contains(errOut, "Error: Invalid expression") || !strings.Contains(errOut, "Error: 1 file could not be formatted") {
		t.Errorf("broken file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(errOut, "hunter2") {
		t.Errorf("a password was printed: %s", errOut)
	}
	if readSpec(t, p) != broken {
		t.Error("a broken file was rewritten")
	}
	code, _, errOut = run(t, "", "fmt", filepath.Join(dir, "missing.hcl"))
	if code != ExitError || !strings.Contains(errOut, "no spec file or directory") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
}

func TestUnifiedDiff(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"a\n", "a\n", ""},
		{"a\nb\n", "a\nc\n", "--- old/f\n+++ new/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"},
		{"", "x\n", "--- old/f\n+++ new/f\n@@ -0,0 +1 @@\n+x\n"},
		{"x\n", "", "--- old/f\n+++ new/f\n@@ -1 +0,0 @@\n-x\n"},
		{"a\nb", "a\nb\n", "--- old/f\n+++ new/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		// Two changes 7 lines apart make two hunks; 6 apart, one.
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "x\n2\n3\n4\n5\n6\n7\n8\ny\n",
			"--- old/f\n+++ new/f\n@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n 4\n@@ -6,4 +6,4 @@\n 6\n 7\n 8\n-9\n+y\n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n", "x\n2\n3\n4\n5\n6\n7\ny\n",
			"--- old/f\n+++ new/f\n@@ -1,8 +1,8 @@\n-1\n+x\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+y\n"},
	}
	for _, tc := range cases {
		if got := unifiedDiff("f", tc.a, tc.b); got != tc.want {
			t.Errorf("unifiedDiff(%q, %q):\n%s\nwant:\n%s", tc.a, tc.b, got, tc.want)
		}
	}
	// Property: applying the diff to a gives b.
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 500; i++ {
		a, b := randomLines(rng), randomLines(rng)
		d := unifiedDiff("f", a, b)
		got, err := applyDiff(a, d)
		if err != nil || got != b {
			t.Fatalf("diff of %q → %q does not apply (%v), gives %q:\n%s", a, b, err, got, d)
		}
	}
}

func randomLines(rng *rand.Rand) string {
	var sb strings.Builder
	n := rng.Intn(30)
	for i := 0; i < n; i++ {
		sb.WriteString(strconv.Itoa(rng.Intn(6)))
		if i < n-1 || rng.Intn(4) > 0 {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// applyDiff applies a unified diff to a, checking every context and removed
// line and every hunk header.
func applyDiff(a, diff string) (string, error) {
	if diff == "" {
		return a, nil
	}
	old := strings.SplitAfter(a, "\n")
	if old[len(old)-1] == "" {
		old = old[:len(old)-1]
	}
	lines := strings.SplitAfter(diff, "\n")[2:]
	var out []string
	pos := 0 // lines of old consumed
	for i := 0; i < len(lines) && lines[i] != ""; {
		h := lines[i]
		oldStart, on, nn := parseHunk(h)
		i++
		start := oldStart - 1
		if on == 0 {
			start = oldStart
		}
		out = append(out, old[pos:start]...)
		pos = start
		seenOld, seenNew := 0, 0
		for i < len(lines) && lines[i] != "" && !strings.HasPrefix(lines[i], "@@") {
			l := lines[i]
			i++
			text := l[1:]
			if i < len(lines) && strings.HasPrefix(lines[i], `\ No newline`) {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			switch l[0] {
			case ' ':
				if pos >= len(old) || old[pos] != text {
					return "", fmt.Errorf("context %q at old line %d", text, pos+1)
				}
				out = append(out, text)
				pos++
				seenOld++
				seenNew++
			case '-':
				if pos >= len(old) || old[pos] != text {
					return "", fmt.Errorf("removed %q at old line %d", text, pos+1)
				}
				pos++
				seenOld++
			case '+':
				out = append(out, text)
				seenNew++
			}
		}
		if seenOld != on || seenNew != nn {
			return "", fmt.Errorf("hunk %q has %d old and %d new lines", h, seenOld, seenNew)
		}
	}
	out = append(out, old[pos:]...)
	return strings.Join(out, ""), nil
}

// parseHunk parses a hunk header "@@ -s[,n] +s[,n] @@" (",1" may be left
// out) into the old start and both counts.
func parseHunk(h string) (oldStart, oldN, newN int) {
	f := strings.Fields(h)
	parse := func(s string) (int, int) {
		s = s[1:]
		start, n, ok := strings.Cut(s, ",")
		a, _ := strconv.Atoi(start)
		if !ok {
			return a, 1
		}
		b, _ := strconv.Atoi(n)
		return a, b
	}
	oldStart, oldN = parse(f[1])
	_, newN = parse(f[2])
	return oldStart, oldN, newN
}
