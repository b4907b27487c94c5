package confparse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// splitKeep splits b into lines, each with its terminator.
func confSplitKeep(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

// checkLocality reports how an edit touched more than the lines it names.
func confCheckLocality(before, after []byte, ed Edit) error {
	bl, al := confSplitKeep(before), confSplitKeep(after)
	body := func(s string) string { return strings.TrimRight(s, "\r\n") }
	ending := func(s string) string { return s[len(body(s)):] }
	switch ed.Action {
	case EditNone:
		if !bytes.Equal(before, after) {
			return fmt.Errorf("no edit, but the file changed")
		}
	case EditReplace, EditUncomment:
		if len(bl) != len(al) {
			return fmt.Errorf("%s changed the number of lines: %d → %d", ed.Action, len(bl), len(al))
		}
		if len(ed.Changed) != 1 || ed.Changed[0] != ed.Line {
			return fmt.Errorf("%s: Changed %v, Line %d", ed.Action, ed.Changed, ed.Line)
		}
		for i := range bl {
			if i+1 == ed.Line {
				if ending(bl[i]) != ending(al[i]) {
					return fmt.Errorf("line %d: ending %q became %q", i+1, ending(bl[i]), ending(al[i]))
				}
				continue
			}
			if bl[i] != al[i] {
				return fmt.Errorf("line %d changed: %q → %q", i+1, bl[i], al[i])
			}
		}
	case EditAppend:
		if len(al) != len(bl)+1 || ed.Line != len(al) {
			return fmt.Errorf("append: %d lines → %d, Line %d", len(bl), len(al), ed.Line)
		}
		for i := range bl {
			// A last line without a newline gets one.
			gotEOL := i == len(bl)-1 && !strings.HasSuffix(bl[i], "\n") && strings.HasPrefix(al[i], bl[i]) &&
				(al[i][len(bl[i]):] == "\n" || al[i][len(bl[i]):] == "\r\n")
			if bl[i] != al[i] && !gotEOL {
				return fmt.Errorf("line %d changed: %q → %q", i+1, bl[i], al[i])
			}
		}
	case EditRemove:
		removed := map[int]bool{}
		for _, n := range ed.Removed {
			removed[n] = true
		}
		var kept []string
		for i, l := range bl {
			if !removed[i+1] {
				kept = append(kept, l)
			}
		}
		if strings.Join(kept, "") != string(after) {
			return fmt.Errorf("remove %v: the rest is not what remains:\n%q\n%q", ed.Removed, strings.Join(kept, ""), after)
		}
	case EditRewrite:
		if !bytes.HasPrefix(after, []byte(autoConfHeader)) {
			return fmt.Errorf("rewrite without ALTER SYSTEM's header")
		}
	default:
		return fmt.Errorf("unknown action %q", ed.Action)
	}
	return nil
}

// confSameParse reports how an edited file's records of its lines differ
// from those of a fresh parse of its bytes (re): an edit parses only the
// lines it changes.
func confSameParse(f, re *File) error {
	if !reflect.DeepEqual(f.err, re.err) {
		return fmt.Errorf("after the edit the error is %v, a fresh parse gives %v", f.err, re.err)
	}
	if len(f.lines) != len(re.lines) {
		return fmt.Errorf("after the edit %d lines, a fresh parse gives %d", len(f.lines), len(re.lines))
	}
	for i := range f.lines {
		if f.lines[i] != re.lines[i] {
			return fmt.Errorf("after the edit line %d is %+v, a fresh parse gives %+v", i+1, f.lines[i], re.lines[i])
		}
	}
	if f.recsOK {
		recs, invalid := re.records()
		if !reflect.DeepEqual(f.recs, recs) || f.recsInvalid != invalid {
			return fmt.Errorf("after the edit the records kept are\n%+v\na fresh parse gives\n%+v", f.recs, recs)
		}
	}
	return nil
}

// lastValue returns the value of the last line of f setting name.
func confLastValue(f *File, name string) (string, bool) {
	v, ok := "", false
	for _, s := range f.Settings() {
		if nameEqual(s.Name, name) {
			v, ok = s.Value, true
		}
	}
	return v, ok
}

// TestEditGolden runs each case under testdata/conf/edits: a directory with
// "input" (the file; its name is "input.auto" for a postgresql.auto.conf),
// "edits" (one "set NAME TOKEN" or "remove NAME" per line), and the golden
// "want" (the file after the edits) and "want.edits" (the Edit values).
func TestConfEditGolden(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/conf/edits/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 20 {
		t.Fatalf("only %d edit cases under testdata/conf/edits", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			path, input := "/etc/postgresql/postgresql.conf", filepath.Join(dir, "input")
			if _, err := os.Stat(input + ".auto"); err == nil {
				path, input = "/var/lib/postgresql/data/"+AutoConfName, input+".auto"
			}
			src, err := os.ReadFile(input)
			if err != nil {
				t.Fatal(err)
			}
			script, err := os.ReadFile(filepath.Join(dir, "edits"))
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseConf(path, src)
			if err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			for _, cmd := range strings.Split(strings.TrimSpace(string(script)), "\n") {
				verb, rest, _ := strings.Cut(cmd, " ")
				name, token, _ := strings.Cut(rest, " ")
				before := bytes.Clone(f.Bytes())
				var ed Edit
				switch verb {
				case "set":
					ed, err = f.Set(name, token)
				case "remove":
					ed, err = f.Remove(name)
				default:
					t.Fatalf("bad edit %q", cmd)
				}
				if err != nil {
					fmt.Fprintf(&log, "%s: error: %v\n", cmd, err)
					continue
				}
				fmt.Fprintf(&log, "%s: %s line %d changed %v removed %v\n", cmd, ed.Action, ed.Line, ed.Changed, ed.Removed)
				if err := confCheckLocality(before, f.Bytes(), ed); err != nil {
					t.Errorf("%s: %v", cmd, err)
				}
				re, err := ParseConf(path, f.Bytes())
				if err != nil {
					t.Errorf("%s: the result does not parse: %v", cmd, err)
					continue
				}
				if err := confSameParse(f, re); err != nil {
					t.Errorf("%s: %v", cmd, err)
				}
				v, ok := confLastValue(re, name)
				switch verb {
				case "set":
					want, _ := UnquoteValue(token)
					if !ok || v != want {
						t.Errorf("%s: the file now gives %q (%v), want %q", cmd, v, ok, want)
					}
				case "remove":
					if ok {
						t.Errorf("%s: still set to %q", cmd, v)
					}
				}
			}
			checkGolden(t, filepath.Join(dir, "want"), f.Bytes())
			checkGolden(t, filepath.Join(dir, "want.edits"), []byte(log.String()))

			// The same edits one after the other, the bytes not looked at
			// in between (so that each edit may write over the last one's):
			// the same file, and bytes given out before stay as they were.
			g, _ := ParseConf(path, src)
			g.records() // kept, and brought up to date by each edit
			given := g.Bytes()
			for _, cmd := range strings.Split(strings.TrimSpace(string(script)), "\n") {
				verb, rest, _ := strings.Cut(cmd, " ")
				name, token, _ := strings.Cut(rest, " ")
				if verb == "set" {
					_, _ = g.Set(name, token)
				} else {
					_, _ = g.Remove(name)
				}
				re, _ := ParseConf(path, g.src)
				if err := confSameParse(g, re); err != nil {
					t.Errorf("%s, bytes not looked at: %v", cmd, err)
				}
			}
			if !bytes.Equal(g.Bytes(), f.Bytes()) {
				t.Errorf("edits without looking at the bytes in between give\n%s", g.Bytes())
			}
			if !bytes.Equal(given, src) {
				t.Errorf("bytes given out before the edits changed to\n%s", given)
			}
		})
	}
}

func TestConfSetRejects(t *testing.T) {
	f, err := ParseConf("/etc/pg/postgresql.conf", []byte("work_mem = 1MB\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, value string }{
		{"include", "'x.conf'"},
		{"INCLUDE_DIR", "'d'"},
		{"include_if_exists", "'x'"},
		{"a.b.c", "1"},
		{"", "1"},
		{"work mem", "1"},
		{"work_mem", ""},
		{"work_mem", "1 2"},
		{"work_mem", "a.b"},
		{"work_mem", "'x"},
		{"work_mem", "1MB # c"},
		{"work_mem", "1\n"},
	} {
		if ed, err := f.Set(tc.name, tc.value); err == nil {
			t.Errorf("Set(%q, %q) = %+v, want an error", tc.name, tc.value, ed)
		}
	}
	if string(f.Bytes()) != "work_mem = 1MB\n" {
		t.Errorf("a refused Set changed the file: %q", f.Bytes())
	}
	bad, _ := ParseConf("/etc/pg/postgresql.conf", []byte("work_mem = 1MB\noops\n"))
	if _, err := bad.Set("work_mem", "2MB"); err == nil {
		t.Error("Set on a file with a syntax error succeeded")
	}
	if _, err := bad.Remove("work_mem"); err == nil {
		t.Error("Remove on a file with a syntax error succeeded")
	}
	auto, _ := ParseConf("/d/"+AutoConfName, []byte(autoConfHeader+"include 'x.conf'\n"))
	if _, err := auto.Set("work_mem", "2MB"); err == nil {
		t.Error("ALTER SYSTEM rewrite of an auto.conf with an include succeeded")
	}
	auto, _ = ParseConf("/d/"+AutoConfName, []byte(autoConfHeader))
	if _, err := auto.Set("application_name", `'a\nb'`); err == nil || !strings.Contains(err.Error(), "must not contain a newline") {
		t.Errorf("newline in an ALTER SYSTEM value: %v", err)
	}
}

func TestConfAlignGap(t *testing.T) {
	tests := []struct {
		line, value, want string
	}{
		// Spaces: the comment keeps its column while there is room.
		{"a = 1      # c", "22", "a = 22     # c"},
		{"a = 1      # c", "1234567", "a = 1234567 # c"},
		{"a = 1      # c", "123456789012", "a = 123456789012 # c"},
		{"a = 1234567 # c", "1", "a = 1       # c"},
		// Tabs: as many tabs as reach the comment's tab stop, at least one.
		{"shared_buffers = 128MB\t\t\t# min 128kB", "2GB", "shared_buffers = 2GB\t\t\t# min 128kB"},
		{"shared_buffers = 128MB\t\t\t# min 128kB", "'a long value here'", "shared_buffers = 'a long value here'\t# min 128kB"},
		{"shared_buffers = 128MB\t\t\t# min 128kB", "'a much longer value that passes'", "shared_buffers = 'a much longer value that passes'\t# min 128kB"},
		{"a = 1\t# c", "12345678", "a = 12345678\t# c"},
		// A comment that touched the value still does; no comment: the
		// rest of the line stays.
		{"a = 1# c", "22", "a = 22# c"},
		{"a = 1   ", "22", "a = 22   "},
		{"a = 1\r", "22", "a = 22\r"},
		{"a = 1 # c\r", "22", "a = 22 # c\r"},
	}
	for _, tc := range tests {
		f, err := ParseConf("/p/postgresql.conf", []byte(tc.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Set(strings.Fields(tc.line)[0], tc.value); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(string(f.Bytes()), "\n"); got != tc.want {
			t.Errorf("%q set to %s:\n got %q\nwant %q", tc.line, tc.value, got, tc.want)
		}
	}
}

// TestEditWinningEntries: after EditWinning the Config's entries are those
// a new evaluation of the edited files gives, whether the edit only changed
// a value (and so only the entries read from its line) or more.
func TestEditWinningEntries(t *testing.T) {
	const header = "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n"
	tests := []struct {
		name  string
		files confMemReader
		edits [][2]string // name, token
	}{
		{"value in place", confMemReader{"/d/postgresql.conf": "work_mem = 1MB\t# c\nport = 5432\nlisten_addresses = 'localhost'\n"},
			[][2]string{{"port", "5433"}, {"listen_addresses", "'*'"}, {"PORT", "5434"}, {"port", "5434"}}},
		{"included twice", confMemReader{
			"/d/postgresql.conf": "include 'a.conf'\nwork_mem = 2MB\ninclude 'a.conf'\n", "/d/a.conf": "work_mem = 1MB\nport = 1\n"},
			[][2]string{{"work_mem", "64MB"}, {"port", "2"}}},
		{"case-variant names", confMemReader{
			"/d/postgresql.conf": "Work_Mem = 1MB\nwork_mem = 2MB\ninclude 'a.conf'\n", "/d/a.conf": "WORK_MEM = 3MB\n"},
			[][2]string{{"work_mem", "4MB"}}},
		{"new lines and auto.conf", confMemReader{
			"/d/postgresql.conf": "#work_mem = 4MB\t# sample\nport = 5432", "/d/" + AutoConfName: header + "port = '6000'\n"},
			[][2]string{{"work_mem", "8MB"}, {"lock_timeout", "1s"}, {"port", "7000"}, {"work_mem", "9MB"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.files, "/d/postgresql.conf", "/d")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.edits {
				if _, err := c.EditWinning(e[0], e[1]); err != nil {
					t.Fatalf("%s = %s: %v", e[0], e[1], err)
				}
				got := c.Entries()
				c.eval(nil)
				if want := c.Entries(); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s = %s: entries\n%+v\nevaluated again:\n%+v", e[0], e[1], got, want)
				}
			}
		})
	}
}
