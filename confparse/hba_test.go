package confparse

import (
	"encoding/json"
	"errors"
	"net/netip"
	"path"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const hbaTestPath = "/etc/pg/pg_hba.conf"

func parseHBAForTest(t *testing.T, src string, version int, files confMemReader) (*HBAFile, error) {
	t.Helper()
	opts := HBAOptions{Version: version}
	if files != nil {
		opts.Reader = files
	}
	f, err := ParseHBA(hbaTestPath, []byte(src), opts)
	if f == nil {
		t.Fatalf("ParseHBA gave no file: %v", err)
	}
	if got := string(f.Bytes()); got != src {
		t.Fatalf("Bytes() = %q, want the source %q", got, src)
	}
	return f, err
}

// errorMessages lists the errors of a parse as "line: message".
func errorMessages(err error) []string {
	var es HBAErrors
	if !errors.As(err, &es) {
		return nil
	}
	var out []string
	for _, e := range es {
		out = append(out, path.Base(e.File)+":"+strconv.Itoa(e.Line)+": "+e.Msg)
	}
	return out
}

func ruleSummary(rs []HBARule) []string {
	var out []string
	for _, r := range rs {
		var db, us []string
		for _, t := range r.Databases {
			db = append(db, t.Value)
		}
		for _, t := range r.Users {
			us = append(us, t.Value)
		}
		s := path.Base(r.File) + ":" + strconv.Itoa(r.Line) + " " + r.Type + " " + strings.Join(db, ",") + " " + strings.Join(us, ",")
		if r.Address.Text != "" {
			s += " " + r.Address.Text
		}
		out = append(out, s+" "+r.Method)
	}
	return out
}

// TestHBAVersions covers what differs between PostgreSQL 12 and 17 and
// cannot be run here (only 15 is installed): each case cites the source
// behaviour it follows.
func TestHBAVersions(t *testing.T) {
	cases := []struct {
		name    string
		version int
		src     string
		files   confMemReader
		rules   []string
		errs    []string
		warns   []string
	}{
		// Line continuation arrived in 14 (tokenize_auth_file reads with
		// pg_get_line_append and strips a trailing backslash); 13 reads
		// lines with fgets and sees the backslash as a token.
		{name: "continuation 13", version: 13, src: "local all \\\n all trust\n",
			errs: []string{"pg_hba.conf:1: end-of-line before authentication method", `pg_hba.conf:2: invalid connection type "all"`}},
		{name: "continuation 14", version: 14, src: "local all \\\n all trust\nlocal all all md5\n",
			rules: []string{"pg_hba.conf:1 local all all trust", "pg_hba.conf:3 local all all md5"}},
		// 12 and 13 read lines into a 20480-byte buffer.
		{name: "long line 13", version: 13, src: "local all all trust # " + strings.Repeat("x", 20480) + "\nlocal all all md5\n",
			// The rest of the line is read as line 2, as fgets leaves it.
			rules: []string{"pg_hba.conf:3 local all all md5"},
			errs:  []string{"pg_hba.conf:1: authentication file line too long", `pg_hba.conf:2: invalid connection type "` + strings.Repeat("x", 23) + `"`}},
		{name: "long line 14", version: 14, src: "local all all trust # " + strings.Repeat("x", 20480) + "\n",
			rules: []string{"pg_hba.conf:1 local all all trust"}},
		// Tokens were limited to MAX_TOKEN (10240) until 15; 16 reads them
		// into a StringInfo.
		{name: "long token 15", version: 15, src: "local " + strings.Repeat("d", 10240) + " all trust\n",
			errs: []string{`pg_hba.conf:1: authentication file token too long, skipping: "` + strings.Repeat("d", 10239) + `"`}},
		{name: "long token 16", version: 16, src: "local " + strings.Repeat("d", 10240) + " all trust\n",
			rules: []string{"pg_hba.conf:1 local " + strings.Repeat("d", 10240) + " all trust"}},
		// clientcert: 12 takes 1/0 and verify-ca/verify-full, 13 adds
		// no-verify, 14 keeps only verify-ca and verify-full.
		{name: "clientcert 12", version: 12, src: "hostssl all all all md5 clientcert=1\nhostssl all all all md5 clientcert=0\nhostssl all all all md5 clientcert=no-verify\nhostssl all all all cert clientcert=0\n",
			rules: []string{"pg_hba.conf:1 hostssl all all all md5", "pg_hba.conf:2 hostssl all all all md5"},
			errs:  []string{`pg_hba.conf:3: invalid value for clientcert: "no-verify"`, `pg_hba.conf:4: clientcert can not be set to 0 when using "cert" authentication`},
			warns: []string{"pg_hba.conf:1: hostssl record cannot match because SSL is disabled", "pg_hba.conf:2: hostssl record cannot match because SSL is disabled", "pg_hba.conf:3: hostssl record cannot match because SSL is disabled", "pg_hba.conf:4: hostssl record cannot match because SSL is disabled"}},
		{name: "clientcert 13", version: 13, src: "hostssl all all all md5 clientcert=no-verify\nhostssl all all all cert clientcert=no-verify\nhostssl all all all md5 clientname=CN\n",
			rules: []string{"pg_hba.conf:1 hostssl all all all md5"},
			errs:  []string{`pg_hba.conf:2: clientcert cannot be set to "no-verify" when using "cert" authentication`, `pg_hba.conf:3: unrecognized authentication option name: "clientname"`},
			warns: []string{"pg_hba.conf:1: hostssl record cannot match because SSL is disabled", "pg_hba.conf:2: hostssl record cannot match because SSL is disabled", "pg_hba.conf:3: hostssl record cannot match because SSL is disabled"}},
		{name: "clientcert 14", version: 14, src: "hostssl all all all md5 clientcert=1\nhostssl all all all md5 clientname=CN\n",
			rules: []string{"pg_hba.conf:2 hostssl all all all md5"},
			errs:  []string{`pg_hba.conf:1: invalid value for clientcert: "1"`},
			warns: []string{"pg_hba.conf:1: hostssl record cannot match because SSL is disabled", "pg_hba.conf:2: hostssl record cannot match because SSL is disabled"}},
		// RADIUS list lengths: 13 logs them without an error column.
		{name: "radius 13", version: 13, src: "host all all all radius radiusservers=\"a,b\" radiussecrets=\"x,y,z\"\n",
			errs: []string{"pg_hba.conf:1: the number of RADIUS secrets (3) must be 1 or the same as the number of RADIUS servers (2)"}},
		// Include directives arrived in 16; 15 reads "include" as a
		// connection type.
		{name: "include 15", version: 15, src: "include other.conf\nlocal all all trust\n", files: confMemReader{"/etc/pg/other.conf": "host all all all md5\n"},
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: invalid connection type "include"`}},
		{name: "include 16", version: 16, src: "local all all trust\ninclude other.conf\nhost all all all reject\n", files: confMemReader{"/etc/pg/other.conf": "# x\nhost all all all md5\n"},
			rules: []string{"pg_hba.conf:1 local all all trust", "other.conf:2 host all all all md5", "pg_hba.conf:3 host all all all reject"}},
		{name: "include relative and nested 16", version: 16, src: "include sub/a.conf\n", files: confMemReader{"/etc/pg/sub/a.conf": "include b.conf\nlocal all a trust\n", "/etc/pg/sub/b.conf": "local all b trust\n"},
			rules: []string{"b.conf:1 local all b trust", "a.conf:2 local all a trust"}},
		{name: "include missing 16", version: 16, src: "include nope.conf\nlocal all all trust\n", files: confMemReader{},
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: could not open file "/etc/pg/nope.conf": No such file or directory`}},
		{name: "include_if_exists 16", version: 16, src: "include_if_exists nope.conf\nlocal all all trust\n", files: confMemReader{},
			rules: []string{"pg_hba.conf:2 local all all trust"},
			warns: []string{`pg_hba.conf:1: skipping missing authentication file "/etc/pg/nope.conf"`}},
		{name: "include_dir 16", version: 16, src: "include_dir conf.d\nlocal all all reject\n", files: confMemReader{
			"/etc/pg/conf.d/20-b.conf": "local all b trust\n", "/etc/pg/conf.d/10-a.conf": "local all a trust\n",
			"/etc/pg/conf.d/.hidden.conf": "bogus\n", "/etc/pg/conf.d/notes.txt": "bogus\n", "/etc/pg/conf.d/.conf": "bogus\n"},
			rules: []string{"10-a.conf:1 local all a trust", "20-b.conf:1 local all b trust", "pg_hba.conf:2 local all all reject"}},
		{name: "include_dir missing 16", version: 16, src: "include_dir nope\nlocal all all trust\n", files: confMemReader{},
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: could not open configuration directory "/etc/pg/nope": No such file or directory`}},
		{name: "include loop 16", version: 16, src: "include pg_hba.conf\n", files: confMemReader{"/etc/pg/pg_hba.conf": "include pg_hba.conf\n"},
			errs: []string{`pg_hba.conf:1: could not open file "/etc/pg/pg_hba.conf": maximum nesting depth exceeded`}},
		{name: "include three fields 16", version: 16, src: "include a b\nlocal all all trust\n",
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: invalid connection type "include"`}},
		// The @file message changed with open_auth_file in 16.
		{name: "at file missing 15", version: 15, src: "local @nope all trust\nlocal all all trust\n", files: confMemReader{},
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: could not open secondary authentication file "@nope" as "/etc/pg/nope": No such file or directory`}},
		{name: "at file missing 16", version: 16, src: "local @nope all trust\nlocal all all trust\n", files: confMemReader{},
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: could not open file "/etc/pg/nope": No such file or directory`}},
		{name: "at file no reader", version: 15, src: "local @list all trust\nlocal all all trust\n",
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: could not open secondary authentication file "@list" as "/etc/pg/list": no file reader given`}},
		{name: "at file", version: 15, src: "local @list all trust\n", files: confMemReader{"/etc/pg/list": "a, b\nc\n"},
			rules: []string{"pg_hba.conf:1 local a,b,c all trust"}},
		// Regular expressions arrived in 16.
		{name: "regex 15", version: 15, src: "local /^db all trust\n", rules: []string{"pg_hba.conf:1 local /^db all trust"}},
		{name: "regex 16", version: 16, src: "local /^db all trust\nlocal all /(unbalanced trust\n",
			rules: []string{"pg_hba.conf:1 local /^db all trust"},
			errs:  []string{`pg_hba.conf:2: invalid regular expression "(unbalanced": parentheses () not balanced`}},
		// Methods removed long ago are unknown to every version.
		{name: "krb5", version: 12, src: "host all all all krb5\nlocal all all trust\n",
			rules: []string{"pg_hba.conf:2 local all all trust"},
			errs:  []string{`pg_hba.conf:1: invalid authentication method "krb5"`}},
		{name: "no entries", version: 17, src: "# nothing\n",
			errs: []string{`pg_hba.conf:0: configuration file "/etc/pg/pg_hba.conf" contains no entries`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseHBAForTest(t, c.src, c.version, c.files)
			if got := ruleSummary(f.Rules()); !reflect.DeepEqual(got, c.rules) {
				t.Errorf("rules:\n got %q\nwant %q", got, c.rules)
			}
			if got := errorMessages(err); !reflect.DeepEqual(got, c.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, c.errs)
			}
			var warns []string
			for _, w := range f.Warnings() {
				warns = append(warns, path.Base(w.File)+":"+strconv.Itoa(w.Line)+": "+w.Msg)
			}
			if !reflect.DeepEqual(warns, c.warns) {
				t.Errorf("warnings:\n got %q\nwant %q", warns, c.warns)
			}
		})
	}
}

func TestHBABadVersion(t *testing.T) {
	for _, v := range []int{0, 11, 18} {
		if f, err := ParseHBA("x", nil, HBAOptions{Version: v}); f != nil || err == nil {
			t.Errorf("version %d: got %v, %v; want an error", v, f, err)
		}
	}
}

func TestHBAErrorText(t *testing.T) {
	_, err := parseHBAForTest(t, "local all all trust\nlocal all all foo\n", 15, nil)
	var he *HBAError
	if !errors.As(err, &he) {
		t.Fatalf("error %v is not an *HBAError", err)
	}
	want := `invalid authentication method "foo" (line 2 of configuration file "/etc/pg/pg_hba.conf")`
	if he.Error() != want || err.Error() != want {
		t.Errorf("Error() = %q / %q, want %q", he.Error(), err.Error(), want)
	}
	if he.File != hbaTestPath || he.Line != 2 || he.Msg != `invalid authentication method "foo"` {
		t.Errorf("HBAError = %+v", *he)
	}
}

func TestHBARuleModel(t *testing.T) {
	src := "# header\n" +
		"local   \"all\",db1  +admins,\"+x\"   ident map=m  # pgrepl: standby pg2\n" +
		"host all all 10.1.2.3/8 md5\n" +
		"host all all 192.168.0.0 255.255.0.0 md5\n" +
		"host all all 10.0.0.0 255.0.255.0 md5\n" +
		"hostssl all all .example.com cert clientcert=verify-full\n" +
		"host all all fe80::1%lo/64 trust\n" +
		"host replication rep samenet scram-sha-256\n"
	f, err := parseHBAForTest(t, src, 15, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := f.Rules()
	if len(rs) != 7 {
		t.Fatalf("got %d rules", len(rs))
	}
	r := rs[0]
	if r.Line != 2 || r.Type != "local" || r.Method != "peer" || r.Comment != "pgrepl: standby pg2" {
		t.Errorf("rule 0 = %+v", r)
	}
	if want := []HBAToken{{"all", true}, {"db1", false}}; !reflect.DeepEqual(r.Databases, want) {
		t.Errorf("databases = %+v", r.Databases)
	}
	if want := []HBAToken{{"+admins", false}, {"+x", true}}; !reflect.DeepEqual(r.Users, want) {
		t.Errorf("users = %+v", r.Users)
	}
	if want := []HBAOption{{"map", "m"}}; !reflect.DeepEqual(r.Options, want) {
		t.Errorf("options = %+v", r.Options)
	}
	if a := rs[1].Address; a.Kind != HBAAddrIP || a.Prefix != netip.MustParsePrefix("10.1.2.3/8") || a.Addr != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("CIDR address = %+v", a)
	}
	if a := rs[2].Address; a.Prefix != netip.MustParsePrefix("192.168.0.0/16") || a.NetmaskText != "255.255.0.0" {
		t.Errorf("netmask address = %+v", a)
	}
	if a := rs[3].Address; a.Prefix.IsValid() || a.Mask != netip.MustParseAddr("255.0.255.0") {
		t.Errorf("non-contiguous netmask = %+v", a)
	}
	if a := rs[4].Address; a.Kind != HBAAddrHostname || a.Hostname != ".example.com" || rs[4].Warning == "" {
		t.Errorf("hostname = %+v, warning %q", a, rs[4].Warning)
	}
	if a := rs[5].Address; a.Addr.Zone() != "lo" || a.Prefix != netip.MustParsePrefix("fe80::1/64") {
		t.Errorf("zone = %+v", a)
	}
	if a := rs[6].Address; a.Kind != HBAAddrSameNet {
		t.Errorf("samenet = %+v", a)
	}
	if f.NumLines() != 8 || f.Line(3) != "host all all 10.1.2.3/8 md5" || f.Line(0) != "" || f.Line(9) != "" {
		t.Errorf("NumLines/Line: %d %q", f.NumLines(), f.Line(3))
	}
}

func TestHBAFileRulesJSON(t *testing.T) {
	f, _ := parseHBAForTest(t, "local all all trust\nfoo all\n", 15, nil)
	b, err := json.Marshal(f.FileRules())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"line_number":1,"type":"local","database":["all"],"user_name":["all"],"address":null,"netmask":null,"auth_method":"trust","options":null,"error":null},` +
		`{"line_number":2,"type":null,"database":null,"user_name":null,"address":null,"netmask":null,"auth_method":null,"options":null,"error":"invalid connection type \"foo\""}]`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	// 16's view has rule_number and file_name first.
	f, _ = parseHBAForTest(t, "local all all trust\nfoo all\n", 16, nil)
	b, err = json.Marshal(f.FileRules())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `[{"rule_number":1,"file_name":"/etc/pg/pg_hba.conf","line_number":1,`) ||
		!strings.Contains(string(b), `{"rule_number":null,"file_name":"/etc/pg/pg_hba.conf","line_number":2,`) {
		t.Errorf("16 JSON: %s", b)
	}
}

// TestHBAAddressParsing checks the glibc-compatible address functions on
// forms the differential test does not reach.
func TestHBAAddressParsing(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // "" for not numeric
	}{
		{"127.0.0.1", "127.0.0.1"}, {"127.1", "127.0.0.1"}, {"0x7f.1", "127.0.0.1"}, {"0177.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"}, {"1.2.3.4.5", ""}, {"1..2", ""}, {"", ""}, {" 1.2.3.4", ""}, {"1.2.3.4 ", ""},
		{"0xffffffff", "255.255.255.255"}, {"0x100000000", ""}, {"256.1.1.1", ""}, {"1.256.1.1", ""},
		{"::", "::"}, {"::1", "::1"}, {"1::", "1::"}, {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"}, {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"}, {"1:2:3:4:5:6:7:1.2.3.4", ""}, {"::1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"}, {":::", ""}, {"1:::2", ""}, {"fe80::1%eth0", "fe80::1"}, {"::1%eth0", ""}, {"::1%7", "::1"},
		{"::1%4294967296", ""}, {"0:0:0:0:0:1:0:0", "::1:0:0"}, {"1:0:0:1:0:0:0:1", "1:0:0:1::1"}, {"0:0:1:0:0:0:0:0", "0:0:1::"},
	} {
		a, ok := hbaNumericHost(c.in)
		got := ""
		if ok {
			got = hbaFormatAddr(a)
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		bits string
		v4   bool
		want string
	}{{"0", true, "0.0.0.0"}, {"1", true, "128.0.0.0"}, {"31", true, "255.255.255.254"}, {"33", true, ""},
		{"+24", true, "255.255.255.0"}, {"-0", true, "0.0.0.0"}, {"\t8", true, "255.0.0.0"}, {"8 ", true, ""}, {"", true, ""},
		{"65", false, "ffff:ffff:ffff:ffff:8000::"}, {"128", false, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, {"129", false, ""}} {
		m, ok := hbaCIDRMask(c.bits, c.v4)
		got := ""
		if ok {
			got = hbaFormatAddr(m)
		}
		if got != c.want {
			t.Errorf("/%q: got %q, want %q", c.bits, got, c.want)
		}
	}
}

func TestHBASplitGUCList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true}, {"  ", nil, true}, {"a", []string{"a"}, true}, {" a , b ", []string{"a", "b"}, true},
		{`"a b","c""d"`, []string{"a b", `c"d`}, true}, {"a,", nil, false}, {"a,,b", nil, false}, {`"a`, nil, false}, {"a b", nil, false},
	} {
		got, ok := hbaSplitGUCList(c.in)
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
