package confparse

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// confParseCase is one line of postgresql.conf and what PostgreSQL makes of
// it: a setting, nothing, or a syntax error.
type confParseCase struct {
	src   string
	name  string // "" when the line sets nothing
	raw   string // the value token
	value string // the value PostgreSQL stores
	err   string // PostgreSQL's message, with FILE for the path
}

// confParseCases read like guc-file.l's rules. Each was checked against
// PostgreSQL 15 by TestConfDifferential, which runs them all.
var confParseCases = []confParseCase{
	// Records: name, optional "=", value, then end of line or a comment.
	{src: "work_mem = 64MB", name: "work_mem", raw: "64MB", value: "64MB"},
	{src: "work_mem=64MB", name: "work_mem", raw: "64MB", value: "64MB"},
	{src: "work_mem 64MB", name: "work_mem", raw: "64MB", value: "64MB"},
	{src: "\t  work_mem\t=\t64MB\t\t# a comment", name: "work_mem", raw: "64MB", value: "64MB"},
	{src: "work_mem = 64MB# touching comment", name: "work_mem", raw: "64MB", value: "64MB"},
	{src: "Work_Mem = 1MB", name: "Work_Mem", raw: "1MB", value: "1MB"},
	{src: "a.b = 1", name: "a.b", raw: "1", value: "1"},
	{src: "A_1.b_2 = x", name: "A_1.b_2", raw: "x", value: "x"},
	{src: "\xc3\xa9t\xc3\xa9.x = \xc3\xa9", name: "\xc3\xa9t\xc3\xa9.x", raw: "\xc3\xa9", value: "\xc3\xa9"},
	// Integers, hex, units, signs.
	{src: "a.i = 0", name: "a.i", raw: "0", value: "0"},
	{src: "a.i = -1", name: "a.i", raw: "-1", value: "-1"},
	{src: "a.i = +15", name: "a.i", raw: "+15", value: "+15"},
	{src: "a.i = 0777", name: "a.i", raw: "0777", value: "0777"},
	{src: "a.i = 0x1F", name: "a.i", raw: "0x1F", value: "0x1F"},
	{src: "a.i = 0x1Fkb", name: "a.i", raw: "0x1Fkb", value: "0x1Fkb"},
	{src: "a.i = 0xZZ", name: "a.i", raw: "0xZZ", value: "0xZZ"},
	{src: "a.i = 5min", name: "a.i", raw: "5min", value: "5min"},
	{src: "a.i = 1e", name: "a.i", raw: "1e", value: "1e"},
	// Reals: digits, a dot, digits, an optional complete exponent.
	{src: "a.r = 1.5", name: "a.r", raw: "1.5", value: "1.5"},
	{src: "a.r = .5", name: "a.r", raw: ".5", value: ".5"},
	{src: "a.r = 1.", name: "a.r", raw: "1.", value: "1."},
	{src: "a.r = -.5e-3", name: "a.r", raw: "-.5e-3", value: "-.5e-3"},
	{src: "a.r = 1.5E+10", name: "a.r", raw: "1.5E+10", value: "1.5E+10"},
	{src: "a.r = .", name: "a.r", raw: ".", value: "."},
	{src: "a.r = -.", name: "a.r", raw: "-.", value: "-."},
	// Identifiers and unquoted strings.
	{src: "a.s = on", name: "a.s", raw: "on", value: "on"},
	{src: "a.s = _x/y:z-w.v", name: "a.s", raw: "_x/y:z-w.v", value: "_x/y:z-w.v"},
	{src: "a.s = en_US.UTF-8", name: "a.s", raw: "en_US.UTF-8", value: "en_US.UTF-8"},
	{src: "a.s = a.b.c", name: "a.s", raw: "a.b.c", value: "a.b.c"},
	// Quoted strings: '' and backslash escapes.
	{src: "a.q = ''", name: "a.q", raw: "''", value: ""},
	{src: "a.q = 'it''s'", name: "a.q", raw: "'it''s'", value: "it's"},
	{src: "a.q = ''''", name: "a.q", raw: "''''", value: "'"},
	{src: `a.q = 'it\'s'`, name: "a.q", raw: `'it\'s'`, value: "it's"},
	{src: `a.q = 'a\\b'`, name: "a.q", raw: `'a\\b'`, value: `a\b`},
	{src: `a.q = '\b\f\n\r\t|'`, name: "a.q", raw: `'\b\f\n\r\t|'`, value: "\b\f\n\r\t|"},
	{src: `a.q = '\101\x\q'`, name: "a.q", raw: `'\101\x\q'`, value: "Axq"},
	{src: `a.q = 'q\777r'`, name: "a.q", raw: `'q\777r'`, value: "q\xffr"},
	{src: `a.q = 'q\1234'`, name: "a.q", raw: `'q\1234'`, value: "qS4"},
	{src: `a.q = 'x\0yz'`, name: "a.q", raw: `'x\0yz'`, value: "x"},
	{src: `a.q = 'q\400r'`, name: "a.q", raw: `'q\400r'`, value: "q"},
	{src: "a.q = 'a\x00b'", name: "a.q", raw: "'a\x00b'", value: ""},
	{src: "a.q = 'a # not a comment'", name: "a.q", raw: "'a # not a comment'", value: "a # not a comment"},
	{src: "a.q='x'#c", name: "a.q", raw: "'x'", value: "x"},
	{src: "a.q 'nospace'", name: "a.q", raw: "'nospace'", value: "nospace"},
	{src: "a.q = '\"$user\", public'", name: "a.q", raw: "'\"$user\", public'", value: "\"$user\", public"},
	{src: "include_dir = 'conf.d'", name: "include_dir", raw: "'conf.d'", value: "conf.d"},
	// Lines that set nothing.
	{src: ""},
	{src: "   \t "},
	{src: "# comment"},
	{src: "  # indented comment = 'x"},
	// Syntax errors.
	{src: "search_path = foo.bar", err: `syntax error in file "FILE" line 1, near token "foo.bar"`},
	{src: "log_filename = server.log", err: `syntax error in file "FILE" line 1, near token "server.log"`},
	{src: "a.b.c = 1", err: `syntax error in file "FILE" line 1, near token "a.b.c"`},
	{src: "a$b = 1", err: `syntax error in file "FILE" line 1, near token "$"`},
	{src: "a.r = 1e3", err: `syntax error in file "FILE" line 1, near token "3"`},
	{src: "a.r = 1.5GB", err: `syntax error in file "FILE" line 1, near token "GB"`},
	{src: "a.r = 1.5e", err: `syntax error in file "FILE" line 1, near token "e"`},
	{src: "a.i = 0X1F", err: `syntax error in file "FILE" line 1, near token "1F"`},
	{src: "a.s = /tmp/x", err: `syntax error in file "FILE" line 1, near token "/"`},
	{src: "a.s = -x", err: `syntax error in file "FILE" line 1, near token "-"`},
	{src: "a.s = +", err: `syntax error in file "FILE" line 1, near token "+"`},
	{src: "a.s = \"x\"", err: `syntax error in file "FILE" line 1, near token """`},
	{src: "a.s = b c", err: `syntax error in file "FILE" line 1, near token "c"`},
	{src: "a.s = = b", err: `syntax error in file "FILE" line 1, near token "="`},
	{src: "a.s = 'x", err: `syntax error in file "FILE" line 1, near token "'"`},
	{src: "a.s = 'x'' y", err: `syntax error in file "FILE" line 1, near token "'"`},
	{src: `a.s = 'x\'`, err: `syntax error in file "FILE" line 1, near token "'"`},
	{src: "a.s = 'x' 'y'", err: `syntax error in file "FILE" line 1, near token "'y'"`},
	{src: "a.s = \fx", err: "syntax error in file \"FILE\" line 1, near token \"\f\""},
	{src: "a.s =", err: `syntax error in file "FILE" line 1, near end of line`},
	{src: "a.s # comment", err: `syntax error in file "FILE" line 1, near end of line`},
	{src: "auto", err: `syntax error in file "FILE" line 1, near end of line`},
	{src: "= 1", err: `syntax error in file "FILE" line 1, near token "="`},
	{src: "1 = 1", err: `syntax error in file "FILE" line 1, near token "1"`},
	{src: "'a' = 1", err: `syntax error in file "FILE" line 1, near token "'a'"`},
	{src: "a-b = 1", err: `syntax error in file "FILE" line 1, near token "a-b"`},
	{src: "p o r t = 666", err: `syntax error in file "FILE" line 1, near token "r"`},
	{src: "a.s = x\x00", err: `syntax error in file "FILE" line 1, near token ""`},
}

func TestParseConfLines(t *testing.T) {
	for _, tc := range confParseCases {
		for _, eol := range []string{"\n", "\r\n"} {
			src := tc.src + eol
			f, err := ParseConf("/etc/pg/x.conf", []byte(src))
			if !bytes.Equal(f.Bytes(), []byte(src)) {
				t.Errorf("%q: Bytes() = %q", src, f.Bytes())
			}
			if tc.err != "" {
				want := strings.ReplaceAll(tc.err, "FILE", "/etc/pg/x.conf")
				var se *SyntaxError
				if !errors.As(err, &se) || err.Error() != want {
					t.Errorf("%q: error %v, want %s", src, err, want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%q: %v", src, err)
				continue
			}
			got := f.Settings()
			if tc.name == "" {
				if len(got) != 0 {
					t.Errorf("%q: settings %+v, want none", src, got)
				}
				continue
			}
			if len(got) != 1 || got[0].Name != tc.name || got[0].Raw != tc.raw || got[0].Value != tc.value || got[0].Line != 1 {
				t.Errorf("%q: settings %+v, want %s raw %q value %q", src, got, tc.name, tc.raw, tc.value)
			}
		}
	}
}

func TestParseConfLineNumbers(t *testing.T) {
	tests := []struct {
		src      string
		lines    []int  // lines of the settings
		errLine  int    // PostgreSQL's line number of the error
		physical int    // the physical line of the error
		errTok   string // "" for near end of line
	}{
		{src: "a.x = 1\n\n# c\nb.x = 2\n", lines: []int{1, 4}},
		{src: "a.x = 1\r\nb.x = 2", lines: []int{1, 2}},
		{src: "a.x = 1\nb.x = 2\nfoo =", lines: []int{1, 2}, errLine: 2, physical: 3},
		{src: "foo", errLine: 0, physical: 1},
		{src: "foo\n", errLine: 1, physical: 1},
		{src: "a.x = 1\nfoo = bar baz", lines: []int{1}, errLine: 2, physical: 2, errTok: "baz"},
		{src: "a.x = 1\nbad line here\nb.x = 2\nworse =\n", lines: []int{1, 3}, errLine: 2, physical: 2, errTok: "here"},
		{src: "a.x = 1\rb.x = 2\n", errLine: 1, physical: 1, errTok: "b.x"}, // a lone CR is a blank
	}
	for _, tc := range tests {
		f, err := ParseConf("/f", []byte(tc.src))
		var got []int
		for _, s := range f.Settings() {
			got = append(got, s.Line)
		}
		if !slices.Equal(got, tc.lines) {
			t.Errorf("%q: setting lines %v, want %v", tc.src, got, tc.lines)
		}
		if tc.physical == 0 {
			if err != nil {
				t.Errorf("%q: %v", tc.src, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a syntax error", tc.src, err)
			continue
		}
		if se.Line != tc.errLine || se.Physical != tc.physical || se.Token != tc.errTok || se.EndOfLine != (tc.errTok == "") {
			t.Errorf("%q: %+v, want line %d physical %d token %q", tc.src, se, tc.errLine, tc.physical, tc.errTok)
		}
	}
}

func TestParseConfBytesIdentity(t *testing.T) {
	for _, src := range []string{
		"", "\n", "\r\n", "x", "a = 1", "a = 1\n", "a = 1\r\n\r\n", "\n\n\n", "# only\n# comments",
		"a = 1\nbad\n", "a = 'x\n", "\x00\xff\xfe\n\t\r",
	} {
		f, _ := ParseConf("/f", []byte(src))
		if got := string(f.Bytes()); got != src {
			t.Errorf("Bytes() = %q, want %q", got, src)
		}
		wantLines := strings.Count(src, "\n")
		if src != "" && !strings.HasSuffix(src, "\n") {
			wantLines++
		}
		if f.NumLines() != wantLines {
			t.Errorf("%q: NumLines() = %d, want %d", src, f.NumLines(), wantLines)
		}
	}
}

func TestParseConfDoesNotKeepCallersSlice(t *testing.T) {
	src := []byte("a.b = 1\n")
	f, err := ParseConf("/f", src)
	if err != nil {
		t.Fatal(err)
	}
	src[6] = '2'
	if s := f.Settings(); s[0].Value != "1" {
		t.Fatalf("File changed with the caller's slice: %+v", s)
	}
}

func TestQuoteValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"128", "128"},
		{"128MB", "128MB"},
		{"-1", "-1"},
		{"0.5", "0.5"},
		{"replica", "replica"},
		{"on", "on"},
		{"en_US.UTF-8", "en_US.UTF-8"},
		{"a.b", "'a.b'"}, // a qualified name is no value token
		{"1e3", "'1e3'"},
		{"localhost, 127.0.0.2", "'localhost, 127.0.0.2'"},
		{"*", "'*'"},
		{"/var/run/postgresql", "'/var/run/postgresql'"},
		{"it's", "'it''s'"},
		{`C:\dir`, `'C:\\dir'`},
		{"a\nb\rc\td", `'a\nb\rc` + "\td'"},
		{"x\x00y", "x"},
		{`"$user", public`, `'"$user", public'`},
	}
	for _, tc := range tests {
		got := QuoteValue(tc.in)
		if got != tc.want {
			t.Errorf("QuoteValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
		v, err := UnquoteValue(got)
		want := tc.in
		if i := strings.IndexByte(want, 0); i >= 0 {
			want = want[:i]
		}
		if err != nil || v != want {
			t.Errorf("UnquoteValue(%s) = %q, %v; want %q", got, v, err, want)
		}
	}
	for _, bad := range []string{"", "a b", "a.b", "'x", "1 # c", " 1"} {
		if v, err := UnquoteValue(bad); err == nil {
			t.Errorf("UnquoteValue(%q) = %q, want an error", bad, v)
		}
	}
}
