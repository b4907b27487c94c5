package shell

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "''"},
		{"pg_ctl", "pg_ctl"},
		{"/usr/lib/postgresql/15/bin/pg_ctl", "/usr/lib/postgresql/15/bin/pg_ctl"},
		{"-D", "-D"},
		{"user@host:5432", "user@host:5432"},
		{"a=b", "a=b"},
		{"=cmd", "'=cmd'"},
		{"~", "'~'"},
		{"~/x", "'~/x'"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"'", `''\'''`},
		{"''", `''\'''\'''`},
		{"$HOME", "'$HOME'"},
		{"`id`", "'`id`'"},
		{"$(id)", "'$(id)'"},
		{"a\nb", "'a\nb'"},
		{"back\\slash", "'back\\slash'"},
		{"*", "'*'"},
		{"a;b", "'a;b'"},
		{"a|b&c", "'a|b&c'"},
		{"!event", "'!event'"},
		{"{a,b}", "'{a,b}'"},
		{"tab\there", "'tab\there'"},
		{"é", "'é'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJoin(t *testing.T) {
	got := Join([]string{"sudo", "-n", "-u", "postgres", "--", "cat", "/srv/my data/it's.conf"})
	want := `sudo -n -u postgres -- cat '/srv/my data/it'\''s.conf'`
	if got != want {
		t.Errorf("Join = %s, want %s", got, want)
	}
}

// roundTrip has each POSIX shell on this machine parse Join(argv) and
// print the words it got, NUL-terminated: the real oracle for quoting.
func roundTrip(t testing.TB, argv []string) {
	t.Helper()
	script := `printf '%s\0' ` + Join(argv)
	want := strings.Join(argv, "\x00") + "\x00"
	for _, sh := range []string{"sh", "dash", "bash"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", script).Output()
		if err != nil {
			t.Fatalf("%s -c %q: %v", sh, script, err)
		}
		if !bytes.Equal(out, []byte(want)) {
			t.Fatalf("%s read %q back as %q, want %q", sh, Join(argv), out, want)
		}
	}
}

func TestJoinRoundTrip(t *testing.T) {
	roundTrip(t, []string{
		"", "plain", "two words", "it's", "'", `"`, `\`, "$HOME", "${x:-y}", "`id`", "$(id)",
		"a\nb", "tab\t", "*", "?", "[a]", "~", "~root", "=x", "a=b", "#comment", "!", "!!", "{a,b}",
		"a;b", "a|b", "a&b", "<x", ">x", "(x)", "%1", "é€", "\x01\x7f\xff", " lead", "trail ",
	})
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a", "it's", "$x", "a\nb", "'\"\\`$", "~user", "\xff"} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsRune(a, 0) || strings.ContainsRune(b, 0) {
			t.Skip("an argument cannot hold NUL")
		}
		for _, s := range []string{a, b} {
			q := Quote(s)
			// Outside quotes only safe bytes may appear.
			if q != s && (q[0] != '\'' || q[len(q)-1] != '\'') {
				t.Fatalf("Quote(%q) = %q: neither bare nor quoted", s, q)
			}
		}
		roundTrip(t, []string{a, b})
	})
}
