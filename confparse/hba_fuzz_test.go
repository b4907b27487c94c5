package confparse

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseHBA: parsing never panics and gives back the input byte for
// byte; matching and the view never panic; an inserted line and a removed
// rule change exactly those lines, and the result parses again.
func FuzzParseHBA(f *testing.F) {
	seeds := []string{
		"local all all trust\n",
		"host all all 127.0.0.1/32 md5\r\nhost all all ::1/128 md5",
		"local \"a\"\"b\",c @list +g,\"+h\" ident map=x # c\n",
		"host all all 10.0.0.0 255.0.0.0 ldap ldapurl=\"ldap://h/dc=x?uid?sub\"\n",
		"host all \\\n all samenet trust \\",
		"include x.conf\ninclude_dir d\nlocal /^a /b trust\n",
		"local all all radius radiusservers=\"a, b\" radiussecrets=s\n\x00\n",
		"hostssl all all .example.com cert clientcert=verify-full\n",
		"host all all fe80::1%lo/64 trust\nhost all all 0x7f.1/8 trust\n",
	}
	if b, err := os.ReadFile(filepath.Join("..", "testdata", "hba", "edits", "initdb-replication", "input.conf")); err == nil {
		seeds = append(seeds, string(b))
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	reader := confMemReader{"/d/list": "a, b\n@list\n", "/d/x.conf": "local all all trust\n", "/d/d/a.conf": "host all all all md5\n"}
	conns := []HBAConn{
		{Type: "local", Database: "a", User: "b"},
		{Type: "host", Database: "replication", User: "rep", Addr: netip.MustParseAddr("127.0.0.3"), Replication: true},
		{Type: "host", SSL: true, Database: "d", User: "u", Addr: netip.MustParseAddr("fe80::1"),
			HostAddrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8"), {}}, MemberOf: func(string, string) (bool, bool) { return false, true }},
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		version := 12 + int(sel%6)
		opts := HBAOptions{Version: version, Reader: reader, SSL: sel&8 != 0}
		file, err := ParseHBA("/d/pg_hba.conf", data, opts)
		if file == nil {
			t.Fatalf("no file: %v", err)
		}
		if !bytes.Equal(file.Bytes(), data) {
			t.Fatalf("Bytes() differs from the input")
		}
		_ = file.FileRules()
		rules := file.Rules()
		for _, c := range conns {
			file.Match(c)
		}
		for _, r := range rules {
			_ = FormatHBARule(r)
		}

		// Insert a line at the start of the file: everything after it is
		// unchanged.
		text := "local all all trust # fuzz"
		if err := file.Insert(1, text); err == nil {
			eol := "\n"
			if file.crlf() {
				eol = "\r\n"
			}
			want := text + eol + string(data)
			if len(data) == 0 {
				want = text + "\n"
			}
			if string(file.Bytes()) != want {
				t.Fatalf("Insert(1): got %q, want %q", file.Bytes(), want)
			}
			if g, _ := ParseHBA("/d/pg_hba.conf", file.Bytes(), opts); g == nil || !bytes.Equal(g.Bytes(), file.Bytes()) {
				t.Fatal("re-parse after Insert")
			}
			if err := hbaSameParse(file); err != nil {
				t.Fatalf("Insert(1) into %q: %v", data, err)
			}
			inserted := string(file.Bytes())
			if err := file.RemoveLine(1); err != nil {
				// Refused (it would bring back a problem): nothing changed.
				if string(file.Bytes()) != inserted || !strings.Contains(err.Error(), "would refuse") {
					t.Fatalf("RemoveLine(1) after Insert(1): %v, file %q", err, file.Bytes())
				}
				return
			}
			if !bytes.Equal(file.Bytes(), data) {
				t.Fatalf("Insert then RemoveLine does not give the input back: %q", file.Bytes())
			}
		}

		// Remove the first rule of this file: only its lines go.
		for i := range rules {
			line := file.RuleLine(i)
			if line == 0 {
				continue
			}
			lines := hbaSplitLines(data)
			last := line - 1
			for _, ll := range hbaLogicalLines(lines, version) {
				if ll.first == line-1 {
					last = ll.last
					break
				}
			}
			if err := file.RemoveLine(line); err != nil {
				if !bytes.Equal(file.Bytes(), data) || !strings.Contains(err.Error(), "would refuse") {
					t.Fatalf("RemoveLine(%d): %v, file %q", line, err, file.Bytes())
				}
				break
			}
			var want strings.Builder
			for k, l := range lines {
				if k < line-1 || k > last {
					want.WriteString(l.text + l.eol)
				}
			}
			w := want.String()
			got := string(file.Bytes())
			if got != w && !(last == len(lines)-1 && lines[last].eol == "" && strings.TrimSuffix(strings.TrimSuffix(w, "\n"), "\r") == got) {
				t.Fatalf("RemoveLine(%d): got %q, want %q", line, got, w)
			}
			break
		}
	})
}
