package confparse

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testConfAlterSystem checks that editing a postgresql.auto.conf gives, byte
// for byte, the file ALTER SYSTEM writes from the same file.
func testConfAlterSystem(t *testing.T, cs *confServer) {
	inputs := []string{
		autoConfHeader,
		"",
		autoConfHeader + "work_mem = '64MB'\n",
		autoConfHeader + "statement_timeout = '1s'\nwork_mem = '1MB'\nWork_Mem = '2MB'\nstatement_timeout = 5\n",
		"# hand edited\r\nwork_mem=2MB # comment\r\nWORK_MEM '5MB'\napplication_name = 'it''s \\\\ \\x'\nlock_timeout 10",
		autoConfHeader + "application_name = 'a\\\\b'\nsearch_path = '\"$user\", public'\n",
	}
	ops := []struct {
		name  string
		value *string // nil: RESET
	}{
		{"work_mem", confPtr("64MB")},
		{"Application_Name", confPtr(`it's \ ok`)},
		{"statement_timeout", confPtr("0")},
		{"work_mem", nil},
		{"lock_timeout", nil},
		// Not a list setting such as search_path: ALTER SYSTEM SET quotes
		// each element of those as an identifier, 'a, b' becoming "a, b".
		{"log_line_prefix", confPtr(`%m [%p] "q" 'a' \x `)},
	}
	ctx := context.Background()
	n := 0
	for _, in := range inputs {
		for _, op := range ops {
			cs.setup(t, confCase{name: "alter system", auto: confPtr(in)})
			sql := fmt.Sprintf("ALTER SYSTEM RESET %s", pgx.Identifier{op.name}.Sanitize())
			if op.value != nil {
				sql = fmt.Sprintf("ALTER SYSTEM SET %s = '%s'", pgx.Identifier{op.name}.Sanitize(), strings.ReplaceAll(*op.value, "'", "''"))
			}
			conn, err := pgx.Connect(ctx, cs.srv.DSN("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(ctx, sql)
			conn.Close(ctx)
			if err != nil {
				t.Fatalf("%s on %q: %v", sql, in, err)
			}
			want, err := os.ReadFile(cs.autoConf)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseConf(cs.autoConf, []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			var ed Edit
			if op.value != nil {
				ed, err = f.Set(op.name, QuoteValue(*op.value))
			} else {
				ed, err = f.Remove(op.name)
			}
			if err != nil {
				t.Fatalf("%s on %q: %v", sql, in, err)
			}
			if !bytes.Equal(f.Bytes(), want) {
				t.Errorf("%s on %q:\n got %q\nwant %q (ALTER SYSTEM)", sql, in, f.Bytes(), want)
			}
			if err := confCheckLocality([]byte(in), f.Bytes(), ed); err != nil {
				t.Errorf("%s on %q: %v", sql, in, err)
			}
			n++
		}
	}
	t.Logf("%d edits of postgresql.auto.conf match ALTER SYSTEM byte for byte", n)
}

// testConfSetWinning edits configurations with SetWinning, writes the files
// back, and asks PostgreSQL which line now wins.
func testConfSetWinning(t *testing.T, cs *confServer) {
	sample, err := os.ReadFile(filepath.Join(confCorpusPath(t), "postgresql.conf", "pg15-sample.conf"))
	if err != nil {
		t.Fatal(err)
	}
	header := autoConfHeader
	tests := []struct {
		c           confCase
		name, token string
		file        string // the file that must be edited, relative to the case dir, or "auto"
		action      EditAction
	}{
		{confCase{name: "winner in include_dir", files: map[string]string{
			"postgresql.conf": "work_mem = 1MB\t\t# main\ninclude_dir 'conf.d'\nmaintenance_work_mem = 8MB\n",
			"conf.d/a.conf":   "work_mem = 2MB  # from conf.d\r\n", "conf.d/b.conf": "statement_timeout = 0\n",
		}}, "work_mem", "64MB", "conf.d/a.conf", EditReplace},
		{confCase{name: "winner in auto.conf", files: map[string]string{"postgresql.conf": "work_mem = 1MB\n"},
			auto: confPtr(header + "work_mem = '3MB'\nstatement_timeout = '1s'\n")}, "work_mem", "64MB", "auto", EditRewrite},
		{confCase{name: "auto.conf elsewhere", files: map[string]string{"postgresql.conf": "work_mem = 1MB\n"},
			auto: confPtr(header + "statement_timeout = '1s'\n")}, "work_mem", "64MB", "postgresql.conf", EditReplace},
		{confCase{name: "sample line", files: map[string]string{"postgresql.conf": string(sample)}},
			"work_mem", "64MB", "postgresql.conf", EditUncomment},
		{confCase{name: "sample line quoted", files: map[string]string{"postgresql.conf": string(sample)}},
			"log_line_prefix", QuoteValue("%m [%p] it's "), "postgresql.conf", EditUncomment},
		{confCase{name: "absent", files: map[string]string{"postgresql.conf": "work_mem = 1MB"}},
			"lock_timeout", "10s", "postgresql.conf", EditAppend},
		{confCase{name: "case-variant winner", files: map[string]string{
			"postgresql.conf": "work_mem = 1MB\ninclude 'a.conf'\n", "a.conf": "Work_Mem = 2MB\n",
		}}, "work_mem", "64MB", "a.conf", EditReplace},
		{confCase{name: "duplicates then include", files: map[string]string{
			"postgresql.conf": "work_mem = 1MB\nwork_mem = 2MB\ninclude 'sub/a.conf'\nstatement_timeout = 0\n",
			"sub/a.conf":      "work_mem = 3MB\ninclude_if_exists 'missing.conf'\n",
		}}, "WORK_MEM", "'64MB'", "sub/a.conf", EditReplace},
		{confCase{name: "winner is the second inclusion", files: map[string]string{
			"postgresql.conf": "include 'a.conf'\nwork_mem = 2MB\ninclude 'a.conf'\n", "a.conf": "work_mem = 1MB\n",
		}}, "work_mem", "64MB", "a.conf", EditReplace},
	}
	for _, tc := range tests {
		cs.setup(t, tc.c)
		cfg, err := Load(OSReader{}, cs.confFile, cs.srv.DataDir)
		if err != nil {
			t.Fatalf("%s: %v", tc.c.name, err)
		}
		before := map[string][]byte{}
		for _, f := range cfg.Files() {
			before[f.Path()] = bytes.Clone(f.Bytes())
		}
		ed, err := cfg.EditWinning(tc.name, tc.token)
		if err != nil {
			t.Errorf("%s: %v", tc.c.name, err)
			continue
		}
		wantFile := filepath.Join(cs.confDir, tc.file)
		if tc.file == "auto" {
			wantFile = cs.autoConf
		}
		if ed.Path != wantFile || ed.Action != tc.action {
			t.Errorf("%s: edited %s (%s), want %s (%s)", tc.c.name, ed.Path, ed.Action, wantFile, tc.action)
		}
		for _, f := range cfg.Files() {
			if !bytes.Equal(before[f.Path()], f.Bytes()) {
				if f.Path() != ed.Path {
					t.Errorf("%s: %s changed too", tc.c.name, f.Path())
				}
				if err := os.WriteFile(f.Path(), f.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := confCheckLocality(before[ed.Path], cfg.File(ed.Path).Bytes(), ed); err != nil {
			t.Errorf("%s: %v", tc.c.name, err)
		}
		// PostgreSQL's verdict: the last row for the name is the edit.
		want, _ := UnquoteValue(tc.token)
		var last *confViewRow
		rows := cs.view(t)
		for i := range rows {
			if rows[i].name != nil && nameEqual(*rows[i].name, tc.name) {
				last = &rows[i]
			}
			if rows[i].errText != nil {
				t.Errorf("%s: PostgreSQL reports %v", tc.c.name, rows[i])
			}
		}
		if last == nil || *last.setting != want || *last.sourcefile != ed.Path || int(*last.sourceline) != ed.Line || !last.applied {
			t.Errorf("%s: PostgreSQL's last row for %s is %v, want %q at %s:%d applied", tc.c.name, tc.name, last, want, ed.Path, ed.Line)
		}
	}
}

// testConfPlaceholderQuirk pins a PostgreSQL behaviour confCompareView relies
// on: in a backend without a placeholder for a custom name, pg_file_settings
// marks every duplicate of it applied; after the backend has made one (the
// view itself does), the earlier duplicates are not.
func testConfPlaceholderQuirk(t *testing.T, cs *confServer) {
	cs.setup(t, confCase{files: map[string]string{"postgresql.conf": "x.y = 1\nx.y = 2\n"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, cs.srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	applied := func() []bool {
		rows, err := conn.Query(ctx, "SELECT applied FROM pg_file_settings ORDER BY seqno")
		if err != nil {
			t.Fatal(err)
		}
		var out []bool
		for rows.Next() {
			var a bool
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	if got := fmt.Sprint(applied()); got != "[true true]" {
		t.Errorf("first query: applied %s, want [true true]", got)
	}
	if got := fmt.Sprint(applied()); got != "[false true]" {
		t.Errorf("second query: applied %s, want [false true]", got)
	}
	cfg, err := Load(OSReader{}, cs.confFile, "")
	if err != nil {
		t.Fatal(err)
	}
	var ours []bool
	for _, e := range cfg.Entries() {
		ours = append(ours, e.Applied)
	}
	if got := fmt.Sprint(ours); got != "[false true]" {
		t.Errorf("Load: applied %s, want [false true] (as a server that knows the name)", got)
	}
}
