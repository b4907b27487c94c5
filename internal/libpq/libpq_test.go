package libpq

import (
	"reflect"
	"testing"
)

func TestPassfileMatches(t *testing.T) {
	const host, port, db, user, pw = "10.0.0.1", "5432", "replication", "replicator", "s3cret"
	for _, tc := range []struct {
		name    string
		content string
		want    bool
	}{
		{"exact", "10.0.0.1:5432:replication:replicator:s3cret\n", true},
		{"no newline at the end", "10.0.0.1:5432:replication:replicator:s3cret", true},
		{"CRLF", "10.0.0.1:5432:replication:replicator:s3cret\r\n", true},
		{"wildcards", "*:*:*:*:s3cret\n", true},
		{"wildcard database", "10.0.0.1:5432:*:replicator:s3cret\n", true},
		{"other password", "10.0.0.1:5432:replication:replicator:other\n", false},
		{"first match wins", "*:*:*:replicator:other\n10.0.0.1:5432:replication:replicator:s3cret\n", false},
		{"earlier entries for others are skipped", "10.0.0.2:5432:replication:replicator:x\n10.0.0.1:5433:*:*:x\n10.0.0.1:5432:postgres:replicator:x\n10.0.0.1:5432:replication:replicator:s3cret\n", true},
		{"comment", "#10.0.0.1:5432:replication:replicator:other\n10.0.0.1:5432:replication:replicator:s3cret\n", true},
		{"comment only at the start of a line", " #10.0.0.1:5432:replication:replicator:s3cret\n", false},
		{"blank lines", "\n\n10.0.0.1:5432:replication:replicator:s3cret\n", true},
		{"password stops at a colon", "10.0.0.1:5432:replication:replicator:s3cret:extra\n", true},
		{"star is a wildcard only alone", "10.0.0.*:5432:replication:replicator:s3cret\n", false},
		{"too few fields", "10.0.0.1:5432:replication\n", false},
		{"empty", "", false},
		{"prefix of the host", "10.0.0.10:5432:replication:replicator:s3cret\n", false},
		{"host longer than the field", "10.0.0.:5432:replication:replicator:s3cret\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PassfileMatches([]byte(tc.content), host, port, db, user, pw); got != tc.want {
				t.Errorf("PassfileMatches(%q) = %v, want %v", tc.content, got, tc.want)
			}
		})
	}

	// Escapes: \: and \\ in fields and in the password.
	for _, tc := range []struct {
		content, host, pw string
		want              bool
	}{
		{`fe80\:\:1:5432:replication:replicator:a\:b\\c` + "\n", "fe80::1", `a:b\c`, true},
		{`fe80::1:5432:replication:replicator:x` + "\n", "fe80::1", "x", true}, // libpq matches a ':' of the value literally, escaped or not
		{`h:5432:replication:replicator:tail\` + "\n", "h", `tail\`, true},     // a final backslash is kept
		{`h:5432:replication:replicator:\x\y` + "\n", "h", "xy", true},
		{`h\:5432:replication:replicator:x` + "\n", "h", "x", false},
	} {
		if got := PassfileMatches([]byte(tc.content), tc.host, "5432", "replication", "replicator", tc.pw); got != tc.want {
			t.Errorf("PassfileMatches(%q, host %q, password %q) = %v, want %v", tc.content, tc.host, tc.pw, got, tc.want)
		}
	}
}

func TestPasswords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"host=a user=b password=secret", []string{"secret"}},
		{"host=a password = 'with space' user=b", []string{"with space"}},
		{`password='it\'s' host=a`, []string{"it's"}},
		{`password=back\\slash`, []string{`back\slash`}},
		{"host=a user=b", nil},
		{"passwordx=1 password=2", []string{"2"}},
		{"postgresql://u:p%40ss@h:5432/db?sslmode=disable", []string{"p@ss"}},
		{"postgres://u@h/db?password=q&x=1", []string{"q"}},
		{"postgres://u@h/db", nil},
		{"broken 'string", nil},
	} {
		if got := Passwords(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Passwords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConninfo(t *testing.T) {
	pairs, ok := ParseConninfo(`host=127.0.0.2 port = 5432 user='rep user' passfile='/a b/c\'d' application_name=pg\ 2`)
	if !ok {
		t.Fatal("did not parse")
	}
	want := []Pair{{"host", "127.0.0.2"}, {"port", "5432"}, {"user", "rep user"}, {"passfile", "/a b/c'd"}, {"application_name", "pg 2"}}
	if len(pairs) != len(want) {
		t.Fatalf("got %v", pairs)
	}
	for i := range want {
		if pairs[i] != want[i] {
			t.Errorf("pair %d: got %v, want %v", i, pairs[i], want[i])
		}
	}
	back, ok := ParseConninfo(FormatConninfo(pairs))
	if !ok || len(back) != len(pairs) {
		t.Fatalf("format does not parse back: %q", FormatConninfo(pairs))
	}
	for i := range back {
		if back[i] != pairs[i] {
			t.Errorf("round trip of %v gave %v", pairs[i], back[i])
		}
	}
	for _, bad := range []string{"host", "host=", "=x", "host='unterminated", "postgresql://u@h/db"} {
		if p, ok := ParseConninfo(bad); ok && bad != "host=" {
			t.Errorf("%q parsed as %v", bad, p)
		}
	}
}

func TestPassfileLineAndKey(t *testing.T) {
	line := PassfileLine("fe80::1", "5432", "replication", `re:p\l`, "pw")
	if line != `fe80\:\:1:5432:replication:re\:p\\l:pw` {
		t.Errorf("PassfileLine = %q", line)
	}
	k, ok := PassfileKey(line)
	if !ok || k != [4]string{"fe80::1", "5432", "replication", `re:p\l`} {
		t.Fatalf("PassfileKey(%q) = %q, %v", line, k, ok)
	}
	if _, ok := PassfileKey("# a:b:c:d:e"); ok {
		t.Error("a comment has a key")
	}
	if !PassfileMatches([]byte(line+"\n"), "fe80::1", "5432", "replication", `re:p\l`, "pw") {
		t.Error("libpq would not read back the line PassfileLine writes")
	}
}

func TestHasPassword(t *testing.T) {
	for in, want := range map[string]bool{
		"host=/run/postgresql user=postgres":       false,
		"host=a password=x":                        true,
		"host=a options='-c password=x'":           false,
		"postgresql://u:p@h/db":                    true,
		"postgresql://u@h/db?password=p":           true,
		"postgresql://u@h/db":                      false,
		"not a conninfo, has a password somewhere": true,
		"host='unterminated password=x":            true,
	} {
		if got := HasPassword(in); got != want {
			t.Errorf("HasPassword(%q) = %v, want %v", in, got, want)
		}
	}
}
