package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// settingsGolden compares got, with dir replaced by $DIR, to a golden file.
func settingsGolden(t *testing.T, path, dir, got string) {
	t.Helper()
	checkGolden(t, path, strings.ReplaceAll(got, dir, "$DIR"))
}

func TestConfSettingsGolden(t *testing.T) {
	dir, err := filepath.Abs("../../testdata/conf/settings")
	if err != nil {
		t.Fatal(err)
	}
	// The default layout: the config files in the data directory.
	conf := filepath.Join(dir, "main/postgresql.conf")
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"main.txt", []string{"conf", "settings", conf}},
		{"main.json", []string{"conf", "settings", conf, "--format", "json"}},
		{"main-no-auto.txt", []string{"conf", "settings", conf, "--data-dir="}},
	} {
		code, stdout, stderr := run(t, "", tc.args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %s", tc.args, code, stderr)
		}
		settingsGolden(t, filepath.Join(dir, tc.golden), dir, stdout)
	}
	// The JSON has exactly pg_file_settings' columns.
	_, stdout, _ := run(t, "", "conf", "settings", conf, "--format", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		if len(keys) != 7 || r["sourcefile"] == nil || r["error"] != nil {
			t.Errorf("row %v", r)
		}
	}
}

func TestConfSettingsErrors(t *testing.T) {
	dir, err := filepath.Abs("../../testdata/conf/settings")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "conf", "settings", filepath.Join(dir, "broken/postgresql.conf"), "--format", "json")
	want := `Error: syntax error in file "` + filepath.Join(dir, "broken/inc.conf") + `" line 2, near token "server.log"` + "\n" +
		`configuration file "` + filepath.Join(dir, "broken/postgresql.conf") + `" contains errors` + "\n"
	if code != ExitError || stdout != "" || stderr != want {
		t.Errorf("broken: exit %d, stdout %q, stderr\n%s\nwant\n%s", code, stdout, stderr, want)
	}
	code, _, stderr = run(t, "", "conf", "settings", filepath.Join(dir, "nonexistent.conf"))
	if code != ExitError || !strings.Contains(stderr, `could not open configuration file "`+filepath.Join(dir, "nonexistent.conf")+`": No such file or directory`) {
		t.Errorf("missing file: exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = run(t, "", "conf", "settings", filepath.Join(dir, "main/postgresql.conf"), "--format", "yaml")
	if code != ExitError || !strings.Contains(stderr, "--format") {
		t.Errorf("bad format: exit %d, stderr %s", code, stderr)
	}
	code, _, _ = run(t, "", "conf", "settings")
	if code != ExitError {
		t.Errorf("no FILE: exit %d", code)
	}
}

// TestConfSettingsDataDir checks the choice of the data directory:
// data_directory from the file (Debian's layout), else the file's own
// directory, else nothing with --data-dir=.
func TestConfSettingsDataDir(t *testing.T) {
	tmp := t.TempDir()
	etc, data := filepath.Join(tmp, "etc"), filepath.Join(tmp, "data")
	for _, d := range []string{etc, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(etc, "postgresql.conf"), "data_directory = '"+data+"'\nwork_mem = 1MB\n")
	write(filepath.Join(data, "postgresql.auto.conf"), "work_mem = '2MB'\n")
	write(filepath.Join(etc, "postgresql.auto.conf"), "work_mem = '3MB'\n")
	winner := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := run(t, "", append([]string{"conf", "settings", filepath.Join(etc, "postgresql.conf"), "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var rows []confSettingRow
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
			t.Fatal(err)
		}
		last := ""
		for _, r := range rows {
			if *r.Name == "work_mem" {
				last = *r.Setting
			}
		}
		return last
	}
	if got := winner(); got != "2MB" {
		t.Errorf("with data_directory: work_mem %s, want 2MB from %s", got, data)
	}
	if got := winner("--data-dir", etc); got != "3MB" {
		t.Errorf("--data-dir etc: work_mem %s, want 3MB", got)
	}
	if got := winner("--data-dir="); got != "1MB" {
		t.Errorf("--data-dir=: work_mem %s, want 1MB", got)
	}
	write(filepath.Join(etc, "postgresql.conf"), "work_mem = 1MB\n")
	if got := winner(); got != "3MB" {
		t.Errorf("without data_directory: work_mem %s, want 3MB from the file's directory", got)
	}
}

// TestConfSettingsAgreesWithPostgres runs the command on a real server's
// postgresql.conf (with an include_dir, duplicates and ALTER SYSTEM
// settings) and compares its JSON with the server's pg_file_settings.
func TestConfSettingsAgreesWithPostgres(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	confd := filepath.Join(s.DataDir, "conf.d")
	pgtest.MkdirAll(t, confd, 0o700)
	pgtest.WriteFile(t, filepath.Join(confd, "10-pgrepl.conf"), []byte("work_mem = 8MB\r\nWork_Mem = '16MB'\n"), 0o600)
	s.AppendConf(t, "work_mem = 4MB # first", "include_dir 'conf.d'", "statement_timeout = 0", "log_line_prefix = '%m [%p] it''s '")
	s.Exec(t, "ALTER SYSTEM SET statement_timeout = '5min'")
	s.Exec(t, "ALTER SYSTEM SET application_name = 'pgrepl test'")

	var view string
	err := s.Conn(t).QueryRow(context.Background(), `SELECT coalesce(json_agg(json_build_object(
		'sourcefile', sourcefile, 'sourceline', sourceline, 'seqno', seqno, 'name', name,
		'setting', setting, 'applied', applied, 'error', error) ORDER BY seqno), '[]')::text FROM pg_file_settings`).Scan(&view)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "conf", "settings", filepath.Join(s.DataDir, "postgresql.conf"), "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got, want []confSettingRow
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(view), &want); err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.MarshalIndent(got, "", " ")
	wantJSON, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("pgrepl conf settings differs from pg_file_settings:\n--- pgrepl\n%s\n--- PostgreSQL\n%s", gotJSON, wantJSON)
	}
	if len(want) < 10 {
		t.Errorf("only %d rows: the server's files are not what the test wrote", len(want))
	}
}
