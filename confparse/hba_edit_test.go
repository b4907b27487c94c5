package confparse

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// replicationRule is the rule the planner adds for a standby.
func replicationRule(addr string) HBARule {
	return HBARule{
		Type:      "host",
		Databases: []HBAToken{{Value: "replication"}},
		Users:     []HBAToken{HBANameToken("replicator")},
		Address:   HBAAddressFromPrefix(netip.MustParsePrefix(addr)),
		Method:    "scram-sha-256",
	}
}

// firstRuleIndex returns the index of the first rule satisfying ok, or -1.
func firstRuleIndex(f *HBAFile, ok func(HBARule) bool) int {
	for i, r := range f.Rules() {
		if ok(r) {
			return i
		}
	}
	return -1
}

// TestHBAEditGolden applies edits to testdata/hba/edits/<case>/input.conf and
// compares the result with want.conf (go test -update rewrites them).
func TestHBAEditGolden(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, f *HBAFile) error
	}{
		{"initdb-replication", func(t *testing.T, f *HBAFile) error {
			i := firstRuleIndex(f, func(r HBARule) bool { return r.Type == "host" && r.Databases[0].IsKeyword("replication") })
			return f.InsertRule(i, replicationRule("127.0.0.3/32"), "pgrepl: standby pg2")
		}},
		{"debian-first", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(0, replicationRule("10.0.0.3/32"), "pgrepl: standby pg2")
		}},
		{"crlf-append", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(len(f.Rules()), replicationRule("127.0.0.4/32"), "pgrepl: standby pg3")
		}},
		{"no-final-newline", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(len(f.Rules()), replicationRule("fd00::3/128"), "")
		}},
		{"tabs", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(1, replicationRule("127.0.0.3/32"), "pgrepl")
		}},
		{"remove-managed", func(t *testing.T, f *HBAFile) error {
			i := firstRuleIndex(f, func(r HBARule) bool { return strings.HasPrefix(r.Comment, "pgrepl:") })
			return f.RemoveLine(f.RuleLine(i))
		}},
		{"remove-continued", func(t *testing.T, f *HBAFile) error {
			return f.RemoveLine(f.Rules()[1].Line)
		}},
		{"insert-comment", func(t *testing.T, f *HBAFile) error {
			return f.Insert(2, "# managed by pgrepl: do not edit the next line")
		}},
		{"empty", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(0, HBARule{Type: "local", Databases: []HBAToken{{Value: "all"}}, Users: []HBAToken{{Value: "all"}}, Method: "peer"}, "")
		}},
		{"header-only", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(0, replicationRule("192.168.10.20/32"), "pgrepl: standby pg2")
		}},
		{"remove-last-no-newline", func(t *testing.T, f *HBAFile) error {
			return f.RemoveLine(3)
		}},
		{"quoting", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(0, HBARule{
				Type:      "host",
				Databases: []HBAToken{HBANameToken("my db"), HBANameToken("all"), {Value: `q"d`}},
				Users:     []HBAToken{HBANameToken("+notagroup"), {Value: "+admins"}},
				Address:   HBAAddress{Kind: HBAAddrHostname, Hostname: ".example.com", Text: ".example.com"},
				Method:    "ldap",
				Options:   []HBAOption{{"ldapserver", "ldap.example.com"}, {"ldapbasedn", "dc=example, dc=com"}, {"ldapsearchfilter", `(cn="$username")`}},
			}, "odd names")
		}},
		{"netmask-ref", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(1, replicationRule("10.1.0.0/16"), "")
		}},
		{"local-near", func(t *testing.T, f *HBAFile) error {
			return f.InsertRule(1, replicationRule("127.0.0.3/32"), "near the local line")
		}},
	}
	root := filepath.Join("..", "testdata", "hba", "edits")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(root, c.name)
			in, err := os.ReadFile(filepath.Join(dir, "input.conf"))
			if err != nil {
				t.Fatal(err)
			}
			f, _ := ParseHBA("/data/pg_hba.conf", in, HBAOptions{Version: 15})
			if f == nil {
				t.Fatal("no file")
			}
			before := f.Rules()
			if err := c.edit(t, f); err != nil {
				t.Fatalf("edit: %v", err)
			}
			if err := hbaSameParse(f); err != nil {
				t.Error(err)
			}
			got := f.Bytes()
			wantPath := filepath.Join(dir, "want.conf")
			checkGolden(t, wantPath, got)
			// Only the edited lines changed: the unchanged lines of the input
			// are all there, in order.
			assertLinesKept(t, in, got)
			// The result parses as itself, and the rules before the edit
			// are still there unless removed.
			g, err := ParseHBA("/data/pg_hba.conf", got, HBAOptions{Version: 15})
			if g == nil || (err != nil && len(before) > 0) {
				t.Fatalf("re-parse: %v", err)
			}
			if !bytes.Equal(g.Bytes(), got) {
				t.Error("re-parse does not give the same bytes")
			}
		})
	}
}

// assertLinesKept checks that out holds the lines of in, in order, each
// byte-identical (line ends aside for the line that was last).
func assertLinesKept(t *testing.T, in, out []byte) {
	t.Helper()
	il := strings.SplitAfter(string(in), "\n")
	ol := strings.SplitAfter(string(out), "\n")
	j := 0
	kept := 0
	for _, l := range il {
		if l == "" {
			continue
		}
		k := j
		for k < len(ol) && strings.TrimRight(ol[k], "\r\n") != strings.TrimRight(l, "\r\n") {
			k++
		}
		if k < len(ol) {
			kept++
			j = k + 1
		}
	}
	changed := 0
	for _, l := range il {
		if l != "" {
			changed++
		}
	}
	if changed-kept > 3 { // a removed continued line is at most 3 lines here
		t.Errorf("only %d of %d input lines kept", kept, changed)
	}
}

func TestHBAEditErrors(t *testing.T) {
	const src = "local all all trust\nhost all all \\\n 10.0.0.0/8 md5\nhost all all ::1/128 md5\n"
	cases := []struct {
		name    string
		version int
		src     string
		files   confMemReader
		edit    func(f *HBAFile) error
		wantErr string
	}{
		{"insert inside continued line", 15, src, nil, func(f *HBAFile) error { return f.Insert(3, "# x") }, "inside a continued line"},
		{"insert line break", 15, src, nil, func(f *HBAFile) error { return f.Insert(1, "a\nb") }, "line break"},
		{"insert trailing backslash", 15, src, nil, func(f *HBAFile) error { return f.Insert(1, "# x \\") }, "backslash"},
		{"insert out of range", 15, src, nil, func(f *HBAFile) error { return f.Insert(6, "# x") }, "outside"},
		{"insert refused line", 15, src, nil, func(f *HBAFile) error { return f.Insert(1, "host all all all peer") }, "peer authentication is only supported on local sockets"},
		{"rule refused", 15, src, nil, func(f *HBAFile) error {
			return f.InsertRule(0, HBARule{Type: "host", Databases: []HBAToken{{Value: "all"}}, Users: []HBAToken{{Value: "all"}}, Address: HBAAddress{Kind: HBAAddrAll}, Method: "peer"}, "")
		}, "peer authentication"},
		{"rule not representable", 15, src, nil, func(f *HBAFile) error {
			return f.InsertRule(0, HBARule{Type: "local", Databases: []HBAToken{{Value: "a\nb"}}, Users: []HBAToken{{Value: "all"}}, Method: "trust"}, "")
		}, "line break"},
		{"rule index", 15, src, nil, func(f *HBAFile) error { return f.InsertRule(9, replicationRule("10.0.0.1/32"), "") }, "outside"},
		{"comment line break", 15, src, nil, func(f *HBAFile) error { return f.InsertRule(0, replicationRule("10.0.0.1/32"), "a\nb") }, "comment"},
		{"remove continuation", 15, src, nil, func(f *HBAFile) error { return f.RemoveLine(3) }, "continues line 2"},
		{"remove out of range", 15, src, nil, func(f *HBAFile) error { return f.RemoveLine(0) }, "outside"},
		{"append after trailing backslash", 15, "local all all trust \\", nil, func(f *HBAFile) error { return f.Insert(2, "# x") }, "inside a continued line"},
		{"remove the only rule", 15, "# x\nlocal all all trust\n", nil, func(f *HBAFile) error { return f.RemoveLine(2) }, "contains no entries"},
		{"insert include of a broken file", 16, src, confMemReader{"/etc/pg/bad.conf": "local all all bogus\n"},
			func(f *HBAFile) error { return f.Insert(1, "include bad.conf") }, `invalid authentication method "bogus"`},
		{"second rule of include", 16, "include more.conf\nlocal all all trust\n", confMemReader{hbaTestPath[:strings.LastIndex(hbaTestPath, "/")] + "/more.conf": "local a all trust\nlocal b all trust\n"},
			func(f *HBAFile) error { return f.InsertRule(1, replicationRule("10.0.0.1/32"), "") }, "not the first rule"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, _ := parseHBAForTest(t, c.src, c.version, c.files)
			before := string(f.Bytes())
			err := c.edit(f)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, c.wantErr)
			}
			if got := string(f.Bytes()); got != before {
				t.Errorf("a failed edit changed the file:\n%q\nto\n%q", before, got)
			}
		})
	}
}

// TestHBAInsertBeforeInclude: a rule an include brings in first can be
// preceded, by a line before the directive.
func TestHBAInsertBeforeInclude(t *testing.T) {
	dir := hbaTestPath[:strings.LastIndex(hbaTestPath, "/")]
	files := confMemReader{dir + "/more.conf": "local a all trust\nlocal b all trust\n"}
	f, err := parseHBAForTest(t, "local all all reject\ninclude more.conf\nlocal all all trust\n", 16, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.InsertRule(1, replicationRule("10.0.0.1/32"), "x"); err != nil {
		t.Fatal(err)
	}
	rules := ruleSummary(f.Rules())
	want := []string{"pg_hba.conf:1 local all all reject", "pg_hba.conf:2 host replication replicator 10.0.0.1/32 scram-sha-256",
		"more.conf:1 local a all trust", "more.conf:2 local b all trust", "pg_hba.conf:4 local all all trust"}
	if strings.Join(rules, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
	// After the last rule, which an include brings in: after the directive.
	f, _ = parseHBAForTest(t, "local all all reject\ninclude more.conf\n# end\n", 16, files)
	if err := f.InsertRule(3, replicationRule("10.0.0.2/32"), ""); err != nil {
		t.Fatal(err)
	}
	if got := f.Line(3); !strings.HasPrefix(got, "host") {
		t.Errorf("line 3 = %q, want the new rule", got)
	}
}

func TestFormatHBARule(t *testing.T) {
	for _, c := range []struct {
		r    HBARule
		want string
	}{
		{HBARule{Type: "local", Databases: []HBAToken{{Value: "all"}}, Users: []HBAToken{{Value: "all"}}, Method: "peer"},
			"local   all             all                                     peer"},
		{replicationRule("127.0.0.3/32"), "host    replication     replicator      127.0.0.3/32            scram-sha-256"},
		{HBARule{Type: "hostssl", Databases: []HBAToken{{Value: "a very long database name"}}, Users: []HBAToken{HBANameToken("all")},
			Address: HBAAddress{Kind: HBAAddrIP, Addr: netip.MustParseAddr("10.0.0.0"), Mask: netip.MustParseAddr("255.0.255.0")}, Method: "cert", Options: []HBAOption{{"map", "m"}}},
			`hostssl "a very long database name" "all" 10.0.0.0 255.0.255.0  cert map=m`},
		{HBARule{Type: "host", Databases: []HBAToken{{Value: "all"}}, Users: []HBAToken{{Value: "all"}}, Address: HBAAddress{Kind: HBAAddrSameNet}, Method: "md5"},
			"host    all             all             samenet                 md5"},
	} {
		if got := FormatHBARule(c.r); got != c.want {
			t.Errorf("FormatHBARule:\n got %q\nwant %q", got, c.want)
		}
	}
}

// hbaSameParse reports how an edited file's records differ from those of a
// fresh parse of its bytes: an insertion parses only the new line when it
// can.
func hbaSameParse(f *HBAFile) error {
	g, _ := ParseHBA(f.path, f.Bytes(), f.opts)
	if g == nil {
		return fmt.Errorf("no file from a fresh parse")
	}
	if !reflect.DeepEqual(f.lines, g.lines) {
		return fmt.Errorf("lines differ from a fresh parse")
	}
	if len(f.recs) != len(g.recs) {
		return fmt.Errorf("%d records, a fresh parse gives %d", len(f.recs), len(g.recs))
	}
	for i := range f.recs {
		if !reflect.DeepEqual(f.recs[i], g.recs[i]) {
			return fmt.Errorf("record %d is\n%+v\na fresh parse gives\n%+v", i, f.recs[i].tok, g.recs[i].tok)
		}
	}
	if !reflect.DeepEqual(f.errs, g.errs) || !reflect.DeepEqual(f.warns, g.warns) || !reflect.DeepEqual(f.log, g.log) {
		return fmt.Errorf("problems %v, warnings %v; a fresh parse gives %v, %v", f.errs, f.warns, g.errs, g.warns)
	}
	if f.logicalOK {
		lls, next := hbaLogicalLinesNext(f.lines, f.opts.Version)
		if !reflect.DeepEqual(f.logical, lls) || f.logicalNext != next {
			return fmt.Errorf("logical lines kept\n%+v (next %d)\nthe lines give\n%+v (next %d)", f.logical, f.logicalNext, lls, next)
		}
	}
	if len(f.regexps) != len(g.regexps) {
		return fmt.Errorf("%d regular expressions, a fresh parse gives %d", len(f.regexps), len(g.regexps))
	}
	return nil
}

// TestHBAInsertParsesOneLine: insertions into files of every kind leave
// the file as a fresh parse of its bytes reads it, for each version.
func TestHBAInsertParsesOneLine(t *testing.T) {
	dir := hbaTestPath[:strings.LastIndex(hbaTestPath, "/")]
	files := confMemReader{dir + "/more.conf": "local a all trust\nlocal b all trust\n", dir + "/users": "alice, bob\n"}
	srcs := []string{
		"",
		"# only a comment\n",
		"local all all trust\nhost all all 127.0.0.1/32 md5\n",
		"local all all trust\r\nhost all all ::1/128 md5\r\n",
		"local all all trust\nhost all \\\n  all 10.0.0.0/8 md5\nhost all all all reject\n",
		"local all all reject\ninclude more.conf\nlocal all all trust\n",
		"local all @users trust\nlocal all /^a.*$ trust\nhostssl all all all cert\n",
		"local all all bogus\nlocal all all trust\n",
		"local all all trust\nhost all all 10.0.0.0/8 md5", // no final newline
	}
	inserts := []string{
		"host replication replicator 127.0.0.3/32 scram-sha-256  # pgrepl: demo/pg2",
		"local all /^b trust",
		"# a comment",
		"local all @users md5",
		"host all all all bogus",
		"hostssl all all all md5",
		"include more.conf",
	}
	for v := 12; v <= 17; v++ {
		for i, src := range srcs {
			for j, text := range inserts {
				for _, ssl := range []bool{false, true} {
					f, _ := ParseHBA(hbaTestPath, []byte(src), HBAOptions{Version: v, Reader: files, SSL: ssl})
					for line := 1; line <= f.NumLines()+1; line++ {
						g, _ := ParseHBA(hbaTestPath, []byte(src), HBAOptions{Version: v, Reader: files, SSL: ssl})
						if err := g.Insert(line, text); err != nil {
							continue
						}
						if err := hbaSameParse(g); err != nil {
							t.Fatalf("version %d, file %d, insert %d at line %d, ssl %v: %v", v, i, j, line, ssl, err)
						}
						// And a second one after it.
						if err := g.Insert(min(line+1, g.NumLines()+1), inserts[0]); err == nil {
							if err := hbaSameParse(g); err != nil {
								t.Fatalf("version %d, file %d, insert %d at line %d then another: %v", v, i, j, line, err)
							}
						}
					}
				}
			}
		}
	}
}
