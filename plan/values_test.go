package plan

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// TestUnifiedDiffMatchesGNU holds the diffs to GNU diff -u: the same hunks,
// the same headers, the same "\ No newline at end of file".
func TestUnifiedDiffMatchesGNU(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("no diff(1)")
	}
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(f(i) + "\n")
		}
		return b.String()
	}
	base := lines(40, func(i int) string { return "line " + strconv.Itoa(i) })
	cases := []struct{ name, old, new string }{
		{"one change in the middle", base, strings.Replace(base, "line 20\n", "line twenty\n", 1)},
		{"first line", base, strings.Replace(base, "line 1\n", "first\n", 1)},
		{"last line", base, strings.Replace(base, "line 40\n", "last\n", 1)},
		{"two changes close together", base, strings.Replace(strings.Replace(base, "line 10\n", "ten\n", 1), "line 15\n", "fifteen\n", 1)},
		{"two changes far apart", base, strings.Replace(strings.Replace(base, "line 5\n", "five\n", 1), "line 30\n", "thirty\n", 1)},
		{"lines added", base, strings.Replace(base, "line 12\n", "line 12\nnew a\nnew b\n", 1)},
		{"lines removed", base, strings.Replace(base, "line 12\nline 13\n", "", 1)},
		{"append", base, base + "appended = 1\n"},
		{"no newline at the end, kept", "a\nb\nc", "a\nB\nc"},
		{"no newline at the end, added", "a\nb\nc", "a\nb\nc\n"},
		{"new file", "", "host:5432:replication:u:x\n"},
		{"emptied", "a\nb\n", ""},
		{"tabs and comments", "x = 1\t\t# one\ny = 2\t# two\n", "x = 1\t\t# one\ny = 3\t# two\n"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			if err := os.WriteFile(a, []byte(c.old), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(b, []byte(c.new), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("diff", "-u", "--label", "/old", "--label", "/new", a, b).Output()
			if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
				t.Fatalf("diff: %v", err)
			}
			got := unifiedDiff("/old", "/new", []byte(c.old), []byte(c.new), nil)
			if got != string(out) {
				t.Errorf("diff -u says\n%s\nunifiedDiff says\n%s", out, got)
			}
		})
	}
	if unifiedDiff("a", "b", []byte("same\n"), []byte("same\n"), nil) != "" {
		t.Error("equal contents must give no diff")
	}
}

func TestConninfo(t *testing.T) {
	same := []struct {
		a, b string
		want bool
	}{
		{"host=a port=1", "port=1 host=a", true},
		{"host=a port=1", "host=a port=2", false},
		{"host=a port=1", "host=a port=1 sslmode=prefer", false},
		{"host=a", "host='a'", true},
		{"postgresql://a", "postgresql://a", true},
	}
	for _, c := range same {
		if got := sameConninfo(c.a, c.b); got != c.want {
			t.Errorf("sameConninfo(%q, %q) = %v", c.a, c.b, got)
		}
	}
	d := conninfoDiff("host=10.0.0.9 port=5432 user=r password=hunter2", "host=127.0.0.2 port=5432 user=r application_name=pg2")
	if strings.Contains(d, "hunter2") || !strings.Contains(d, "host is 10.0.0.9, not 127.0.0.2") || !strings.Contains(d, "application_name is missing") || !strings.Contains(d, "it holds a password") {
		t.Errorf("conninfoDiff: %s", d)
	}
}

func TestRedaction(t *testing.T) {
	cases := []struct{ in, want string }{
		{"primary_conninfo = 'host=a password=hunter2 user=r'", "primary_conninfo = 'host=a password=''(sensitive value)'' user=r'"},
		{"primary_conninfo = 'host=a password=''hun ter2'' user=r'\t# old", "primary_conninfo = 'host=a password=''(sensitive value)'' user=r'\t# old"},
		{"primary_conninfo = 'postgresql://r:hunter2@a/db'", "primary_conninfo = '(sensitive value)'"},
		{"#primary_conninfo = 'host=a password=hunter2'", "#primary_conninfo = 'host=a (sensitive value)"},
		{"primary_conninfo = 'host=a user=r'", "primary_conninfo = 'host=a user=r'"},
		{"listen_addresses = '*'", "listen_addresses = '*'"},
		{"primary_conninfo = 'host=a password=unterminated", "primary_conninfo = 'host=a (sensitive value)"},
		// Lowercasing lengthens Ⱥ: the cut is still right before the word.
		{"# ȺȺȺȺȺȺȺȺȺȺ password=hunter2", "# ȺȺȺȺȺȺȺȺȺȺ (sensitive value)"},
		{"# " + strings.Repeat("Ⱥ", 40) + " PASSWORD=hunter2", "# " + strings.Repeat("Ⱥ", 40) + " (sensitive value)"},
	}
	for _, c := range cases {
		got := redactConfLine(c.in)
		if got != c.want {
			t.Errorf("redactConfLine(%q)\n got  %q\n want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "hun ter2") {
			t.Errorf("redactConfLine(%q) leaks the password: %q", c.in, got)
		}
	}
	if v := redactValue("host=a password=x"); strings.Contains(v, "=x") {
		t.Errorf("redactValue leaks: %q", v)
	}
}

func TestListenCovers(t *testing.T) {
	cases := []struct {
		value, host string
		want        bool
	}{
		{"*", "10.0.0.1", true},
		{"localhost", "127.0.0.2", false},
		{"localhost", "127.0.0.1", true},
		{"localhost, 127.0.0.2", "127.0.0.2", true},
		{"0.0.0.0", "10.0.0.1", true},
		{"0.0.0.0", "2001:db8::1", false},
		{"::", "2001:db8::1", true},
		{"db1.example.com", "db1.example.com", true},
		{"DB1.example.com", "db1.example.com", true},
		{"", "10.0.0.1", false},
		{"10.0.0.1,10.0.0.2", "10.0.0.2", true},
	}
	for _, c := range cases {
		if got := listenCovers(c.value, c.host); got != c.want {
			t.Errorf("listenCovers(%q, %q) = %v", c.value, c.host, got)
		}
	}
}

func TestSynchronousNames(t *testing.T) {
	if got := synchronousNames([]string{"pg2", "pg-3", "Pg4"}); got != `FIRST 1 (pg2, "pg-3", Pg4)` {
		t.Errorf("synchronousNames: %s", got)
	}
	if synchronousNames(nil) != "" {
		t.Error("no names must give an empty value")
	}
	known := func(n string) bool { return n == "pg2" || n == "pg-3" }
	cases := []struct {
		v    string
		want bool
	}{
		{"FIRST 1 (pg2)", true},
		{`FIRST 1 (pg2, "pg-3")`, true},
		{"FIRST 1 (pg9)", false},
		{"ANY 1 (pg2)", false},
		{"pg2", false},
		{"FIRST 2 (pg2, \"pg-3\")", false},
	}
	for _, c := range cases {
		if got := pgreplSynchronous(c.v, known); got != c.want {
			t.Errorf("pgreplSynchronous(%q) = %v", c.v, got)
		}
	}
}

func TestLineEdits(t *testing.T) {
	// Original lines 1..10. Remove line 3 (1 line), then insert at 5 (1
	// line), then remove lines 8-9 (2 lines, a continued line).
	es := lineEdits{{3, 1, false}, {5, 1, true}, {8, 2, false}}
	// Edited file: 1 2 4 5 [new] 6 7 10
	want := map[int]int{1: 1, 2: 2, 3: 4, 4: 5, 5: 0, 6: 6, 7: 7, 8: 10}
	for cur, orig := range want {
		if got := es.original(cur); got != orig {
			t.Errorf("original(%d) = %d, want %d", cur, got, orig)
		}
	}
}

func TestPassfileLine(t *testing.T) {
	c := &spec.Cluster{Primary: &spec.Node{Host: "::1", Port: 5433}, Replication: spec.Replication{User: `re:p\l`}}
	if got := passfileLine(c, "x"); got != `\:\:1:5433:replication:re\:p\\l:x` {
		t.Errorf("passfileLine: %s", got)
	}
}

// TestContainsPassword: the same answer as lowercasing the line first.
func TestContainsPassword(t *testing.T) {
	for _, s := range []string{"", "password", "PASSWORD", "x PassWord=1", "passwor", "pass word", "ppassword",
		"paſsword", "pässword", "PASSWORDx", "xx\xffpassword", "p\x00assword", "Pas\u0130sword", "\u212Apassword"} {
		want := strings.Contains(strings.ToLower(s), "password")
		if got := containsPassword(s); got != want {
			t.Errorf("containsPassword(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestMiddleDiffRunes: numbering the lines itself, middleDiff gives the
// diff diffmatchpatch's own line conversion gives, on edits of the kinds a
// plan makes (lines replaced, added, removed, moved, repeated, a last
// line without its end) to a real postgresql.conf and on random lines.
func TestMiddleDiffRunes(t *testing.T) {
	var fresh state.State
	data, err := os.ReadFile(filepath.Join("..", "testdata", "states", "fresh-pair.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fresh); err != nil {
		t.Fatal(err)
	}
	var sample []byte
	for _, f := range fresh.Clusters[0].Nodes[0].Files {
		if f.Role == state.RoleConfig {
			sample = f.Content
		}
	}
	if len(sample) < 10000 {
		t.Fatalf("no postgresql.conf in the fresh-pair state (%d bytes)", len(sample))
	}
	base := strings.SplitAfter(string(sample), "\n")
	rnd := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "# (change requires restart)\n", "port = 5433\n", "x\n", "x", "\n", "listen_addresses = '*'\n"}
	for i := 0; i < 2000; i++ {
		lines := base
		if i%2 == 1 {
			lines = nil
			for n := rnd.IntN(12); n > 0; n-- {
				lines = append(lines, words[rnd.IntN(len(words))])
			}
		}
		a := append([]string(nil), lines...)
		b := append([]string(nil), lines...)
		for n := 1 + rnd.IntN(4); n > 0 && len(b) > 0; n-- {
			k := rnd.IntN(len(b))
			switch rnd.IntN(4) {
			case 0:
				b[k] = words[rnd.IntN(len(words))]
			case 1:
				b = append(b[:k], append([]string{words[rnd.IntN(len(words))]}, b[k:]...)...)
			case 2:
				b = append(b[:k], b[k+1:]...)
			default:
				j := rnd.IntN(len(b))
				b[k], b[j] = b[j], b[k]
			}
		}
		as, bs := strings.Join(a, ""), strings.Join(b, "")
		if as == "" || bs == "" {
			continue
		}
		got, want := middleDiff(as, bs), middleDiffLines(as, bs)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: %q to %q:\n%+v\ndiffmatchpatch's conversion gives\n%+v", i, as, bs, got, want)
		}
	}
}
