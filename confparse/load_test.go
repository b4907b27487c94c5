package confparse

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// confMemReader is a Reader over an in-memory tree: file paths to contents, and
// directories as paths ending in "/" (or implied by the files in them).
type confMemReader map[string]string

func (m confMemReader) isDir(p string) bool {
	if _, ok := m[p+"/"]; ok {
		return true
	}
	for k := range m {
		if strings.HasPrefix(k, p+"/") {
			return true
		}
	}
	return false
}

func (m confMemReader) ReadFile(p string) ([]byte, error) {
	if s, ok := m[p]; ok && !strings.HasSuffix(p, "/") {
		return []byte(s), nil
	}
	if m.isDir(p) {
		return nil, &fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR}
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (m confMemReader) ReadDir(p string) ([]string, error) {
	if !m.isDir(p) {
		if _, ok := m[p]; ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOTDIR}
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	}
	seen := map[string]bool{}
	var names []string
	for k := range m {
		rest, ok := strings.CutPrefix(k, p+"/")
		if !ok || rest == "" || strings.Contains(rest, "/") || seen[rest] {
			continue // the directory itself, or something deeper: a subdirectory
		}
		seen[rest] = true
		names = append(names, rest)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names))) // any order will do
	return names, nil
}

func confEntriesString(es []Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s:%d #%d %s=%q applied=%v", e.SourceFile, e.SourceLine, e.SeqNo, e.Name, e.Setting, e.Applied)
		if e.Error != "" {
			fmt.Fprintf(&b, " error=%q", e.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLoadConf(t *testing.T) {
	tests := []struct {
		name    string
		files   confMemReader
		dataDir string
		want    string // entriesString of Entries
		err     string // LoadError text, "" when none
	}{
		{
			name: "order, duplicates, auto.conf last",
			files: confMemReader{
				"/etc/pg/postgresql.conf":   "work_mem = 1MB\ninclude_dir 'conf.d'\nWork_Mem = 2MB\ninclude_if_exists 'nope.conf'\n",
				"/etc/pg/conf.d/b.conf":     "x.b = 'it''s'\n",
				"/etc/pg/conf.d/a.conf":     "work_mem 3MB\n",
				"/etc/pg/conf.d/.a.conf":    "bad bad bad\n",
				"/etc/pg/conf.d/sub/x.conf": "bad bad bad\n",
				"/data/" + AutoConfName:     autoConfHeader + "work_mem = '4MB'\n",
			},
			dataDir: "/data",
			want: `/etc/pg/postgresql.conf:1 #1 work_mem="1MB" applied=false
/etc/pg/conf.d/a.conf:1 #2 work_mem="3MB" applied=false
/etc/pg/conf.d/b.conf:1 #3 x.b="it's" applied=true
/etc/pg/postgresql.conf:3 #4 Work_Mem="2MB" applied=true
/data/postgresql.auto.conf:3 #5 work_mem="4MB" applied=true
`,
		},
		{
			name:  "missing include",
			files: confMemReader{"/etc/pg/postgresql.conf": "work_mem = 1MB\ninclude 'x.conf'\nport = 1\n"},
			want: `/etc/pg/postgresql.conf:1 #1 work_mem="1MB" applied=false
/etc/pg/postgresql.conf:2 #2 ="" applied=false error="could not open file \"/etc/pg/x.conf\""
/etc/pg/postgresql.conf:3 #3 port="1" applied=false
`,
			err: `could not open configuration file "/etc/pg/x.conf": No such file or directory (include in file "/etc/pg/postgresql.conf" line 2)
configuration file "/etc/pg/postgresql.conf" contains errors`,
		},
		{
			name: "syntax error in auto.conf",
			files: confMemReader{
				"/etc/pg/postgresql.conf": "work_mem = 1MB\n",
				"/data/" + AutoConfName:   "port = 1\nport =\n",
			},
			dataDir: "/data",
			want: `/etc/pg/postgresql.conf:1 #1 work_mem="1MB" applied=false
/data/postgresql.auto.conf:1 #2 port="1" applied=false
/data/postgresql.auto.conf:2 #3 ="" applied=false error="syntax error"
`,
			err: `syntax error in file "/data/postgresql.auto.conf" line 2, near end of line
configuration file "postgresql.auto.conf" contains errors`,
		},
		{
			name: "include a directory",
			files: confMemReader{
				"/etc/pg/postgresql.conf": "include 'd'\n",
				"/etc/pg/d/":              "",
			},
			want: `/etc/pg/d:1 #1 ="" applied=false error="input in flex scanner failed"
`,
			err: `input in flex scanner failed at file "/etc/pg/d" line 1
configuration file "/etc/pg/postgresql.conf" contains errors`,
		},
		{
			name:  "include_dir of a file",
			files: confMemReader{"/etc/pg/postgresql.conf": "include_dir 'postgresql.conf'\n"},
			want: `/etc/pg/postgresql.conf:1 #1 ="" applied=false error="could not open directory \"/etc/pg/postgresql.conf\""
`,
			err: `could not open configuration directory "/etc/pg/postgresql.conf": Not a directory (include_dir in file "/etc/pg/postgresql.conf" line 1)
configuration file "/etc/pg/postgresql.conf" contains errors`,
		},
		{
			name:  "top file missing",
			files: confMemReader{},
			want: `:0 #1 ="" applied=false error="could not open file \"/etc/pg/postgresql.conf\""
`,
			err: `could not open configuration file "/etc/pg/postgresql.conf": No such file or directory
configuration file "/etc/pg/postgresql.conf" contains errors`,
		},
	}
	for _, tc := range tests {
		cfg, err := Load(tc.files, "/etc/pg/postgresql.conf", tc.dataDir)
		if cfg == nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := confEntriesString(cfg.Entries()); got != tc.want {
			t.Errorf("%s: entries\n%s\nwant\n%s", tc.name, got, tc.want)
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
			var le *LoadError
			if !errors.As(err, &le) || cfg.Err() == nil {
				t.Errorf("%s: error %T", tc.name, err)
			}
		}
		if gotErr != tc.err {
			t.Errorf("%s: error\n%s\nwant\n%s", tc.name, gotErr, tc.err)
		}
	}
}

func TestLoadConfErrorsAs(t *testing.T) {
	_, err := Load(confMemReader{"/p/postgresql.conf": "a.b = 1\nbad line here\n"}, "/p/postgresql.conf", "")
	var se *SyntaxError
	if !errors.As(err, &se) || se.File != "/p/postgresql.conf" || se.Line != 2 || se.Token != "here" {
		t.Errorf("errors.As(*SyntaxError): %+v from %v", se, err)
	}
	_, err = Load(confMemReader{"/p/postgresql.conf": "include 'x'\n"}, "/p/postgresql.conf", "")
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, fs.ErrNotExist) || fe.File != "/p/postgresql.conf" || fe.Line != 1 || fe.Directive != DirectiveInclude {
		t.Errorf("errors.As(*FileError): %+v from %v", fe, err)
	}
	if _, err := Load(confMemReader{}, "relative.conf", ""); err == nil {
		t.Error("Load of a relative path succeeded")
	}
}

func TestLoadConfFilesLookupDataDirectory(t *testing.T) {
	r := confMemReader{
		"/etc/pg/postgresql.conf": "data_directory = '/first'\ninclude 'a.conf'\ninclude 'b.conf'\ninclude 'a.conf'\nData_Directory = '/ignored'\n",
		"/etc/pg/a.conf":          "work_mem = 1MB\n",
		"/etc/pg/b.conf":          "data_directory = '/data'\nWORK_MEM = 2MB\n",
		"/data/" + AutoConfName:   "data_directory = '/auto'\n",
	}
	cfg, err := Load(r, "/etc/pg/postgresql.conf", "/data")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range cfg.Files() {
		paths = append(paths, f.Path())
	}
	if got := strings.Join(paths, " "); got != "/etc/pg/postgresql.conf /etc/pg/a.conf /etc/pg/b.conf /data/postgresql.auto.conf" {
		t.Errorf("Files() = %s", got)
	}
	if f := cfg.File("/etc/pg/b.conf"); f == nil || string(f.Bytes()) != r["/etc/pg/b.conf"] {
		t.Errorf("File(b.conf) = %v", f)
	}
	e, ok := cfg.Lookup("work_mem")
	if !ok || e.SourceFile != "/etc/pg/a.conf" || e.Setting != "1MB" || e.SeqNo != 5 {
		t.Errorf("Lookup(work_mem) = %+v, %v; want the second inclusion of a.conf", e, ok)
	}
	if _, ok := cfg.Lookup("absent"); ok {
		t.Error("Lookup(absent) found something")
	}
	// PostgreSQL's first pass takes the last data_directory spelled so,
	// before it reads postgresql.auto.conf.
	if d, ok := cfg.DataDirectory(); !ok || d != "/data" {
		t.Errorf("DataDirectory() = %q, %v; want /data", d, ok)
	}
}

func TestConfSetWinningReevaluates(t *testing.T) {
	r := confMemReader{
		"/etc/pg/postgresql.conf": "#wal_level = replica\t\t# minimal, replica, or logical\nwork_mem = 1MB\ninclude_dir 'conf.d'\nport = 5432\n",
		"/etc/pg/conf.d/10.conf":  "work_mem = 2MB\nport = 5433\n",
		"/data/" + AutoConfName:   autoConfHeader + "port = '5434'\n",
	}
	cfg, err := Load(r, "/etc/pg/postgresql.conf", "/data")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, path string
		line              int
	}{
		{"work_mem", "64MB", "/etc/pg/conf.d/10.conf", 1},
		{"port", "6000", "/data/postgresql.auto.conf", 3},
		{"wal_level", "logical", "/etc/pg/postgresql.conf", 1},
		{"max_wal_senders", "10", "/etc/pg/postgresql.conf", 5},
		{"WORK_MEM", "'128MB'", "/etc/pg/conf.d/10.conf", 1},
	} {
		path, line, err := cfg.SetWinning(tc.name, tc.token)
		if err != nil {
			t.Fatalf("SetWinning(%s, %s): %v", tc.name, tc.token, err)
		}
		if path != tc.path || line != tc.line {
			t.Errorf("SetWinning(%s, %s) edited %s:%d, want %s:%d", tc.name, tc.token, path, line, tc.path, tc.line)
		}
		want, _ := UnquoteValue(tc.token)
		if e, ok := cfg.Lookup(tc.name); !ok || e.Setting != want || e.SourceFile != path || e.SourceLine != line {
			t.Errorf("after SetWinning(%s, %s): Lookup = %+v", tc.name, tc.token, e)
		}
		// A fresh Load of the edited bytes agrees.
		edited := confMemReader{}
		for k, v := range r {
			edited[k] = v
		}
		for _, f := range cfg.Files() {
			edited[f.Path()] = string(f.Bytes())
		}
		again, err := Load(edited, "/etc/pg/postgresql.conf", "/data")
		if err != nil {
			t.Fatal(err)
		}
		if confEntriesString(again.Entries()) != confEntriesString(cfg.Entries()) {
			t.Errorf("re-evaluation differs from a fresh Load:\n%s\n%s", confEntriesString(cfg.Entries()), confEntriesString(again.Entries()))
		}
	}
	want := "#wal_level = replica\t\t# minimal, replica, or logical\n"
	if got := string(cfg.File("/etc/pg/postgresql.conf").Bytes()); !strings.HasPrefix(got, "wal_level = logical\t\t# minimal, replica, or logical\n") || strings.Contains(got, want) {
		t.Errorf("postgresql.conf after the edits:\n%s", got)
	}
	bad, _ := Load(confMemReader{"/p/postgresql.conf": "oops\n"}, "/p/postgresql.conf", "")
	if _, _, err := bad.SetWinning("work_mem", "1MB"); err == nil {
		t.Error("SetWinning on a rejected configuration succeeded")
	}
	if _, _, err := cfg.SetWinning("include_dir", "'x'"); err == nil {
		t.Error("SetWinning of include_dir succeeded")
	}
}
