package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfHBAJSON(t *testing.T) {
	p := writeTemp(t, "pg_hba.conf", "local all all peer\nhost replication rep 127.0.0.3/32 scram-sha-256 # pgrepl\nhostssl all all ::1/128 cert\n")
	code, out, errOut := run(t, "", "conf", "hba", p, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []map[string]any{
		{"line_number": 1.0, "type": "local", "database": []any{"all"}, "user_name": []any{"all"}, "address": nil, "netmask": nil, "auth_method": "peer", "options": nil, "error": nil},
		{"line_number": 2.0, "type": "host", "database": []any{"replication"}, "user_name": []any{"rep"}, "address": "127.0.0.3", "netmask": "255.255.255.255", "auth_method": "scram-sha-256", "options": nil, "error": nil},
		{"line_number": 3.0, "type": "hostssl", "database": []any{"all"}, "user_name": []any{"all"}, "address": "::1", "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "auth_method": "cert", "options": []any{"clientcert=verify-full"}, "error": "hostssl record cannot match because SSL is disabled"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// Keys in the view's order.
	if !strings.Contains(out, `"line_number": 1,
    "type": "local",
    "database": [`) {
		t.Errorf("columns out of order:\n%s", out)
	}
	if !strings.Contains(errOut, "Warning: hostssl record cannot match because SSL is disabled") {
		t.Errorf("stderr = %q", errOut)
	}
	// With --ssl the hostssl line is fine.
	code, out, errOut = run(t, "", "conf", "hba", p, "--format", "json", "--ssl")
	if code != 0 || strings.Contains(out, "cannot match") || errOut != "" {
		t.Errorf("--ssl: exit %d\n%s\n%s", code, out, errOut)
	}
	// 16 adds rule_number and file_name.
	code, out, _ = run(t, "", "conf", "hba", p, "--format", "json", "--pg-version", "16")
	if code != 0 || !strings.Contains(out, `"rule_number": 1,
    "file_name": "`+p+`",`) {
		t.Errorf("--pg-version 16: exit %d\n%s", code, out)
	}
}

func TestConfHBARefused(t *testing.T) {
	p := writeTemp(t, "pg_hba.conf", "local all all trust\nhost all all 10.0.0.0/8 foo\nhostssl all all all md5 clientcert=1\n")
	code, out, errOut := run(t, "", "conf", "hba", p)
	if code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
	}
	for _, want := range []string{
		`invalid authentication method "foo" (line 2 of configuration file "` + p + `")`,
		`invalid value for clientcert: "1" (line 3 of configuration file "` + p + `")`,
		"PostgreSQL 15 would refuse " + p,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// The rows are still shown, in a table with file:line.
	for _, want := range []string{"LINE", p + ":1", "local", p + `:2  error: invalid authentication method "foo"`, p + `:3  error: invalid value for clientcert: "1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// Version matters: 13 takes clientcert=1.
	_, _, errOut = run(t, "", "conf", "hba", p, "--pg-version", "13")
	if strings.Contains(errOut, "clientcert") {
		t.Errorf("13 refused clientcert=1: %s", errOut)
	}
}

func TestConfHBAText(t *testing.T) {
	p := writeTemp(t, "pg_hba.conf", "local all all peer\nhost all +admins,bob 10.0.0.0 255.0.0.0 ldap ldapserver=x ldapbasedn=\"dc=x\"\n")
	code, out, errOut := run(t, "", "conf", "hba", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows:\n%s", out)
	}
	// Aligned: each column starts at the same offset on every line.
	col := strings.Index(lines[0], "METHOD")
	if col < 0 || lines[1][col:col+4] != "peer" || lines[2][col:col+4] != "ldap" {
		t.Errorf("columns not aligned:\n%s", out)
	}
	if !strings.Contains(lines[2], "+admins,bob") || !strings.Contains(lines[2], "ldapserver=x ldapbasedn=dc=x ldapscope=2") {
		t.Errorf("row 2 = %q", lines[2])
	}
}

func TestConfHBAUsage(t *testing.T) {
	p := writeTemp(t, "pg_hba.conf", "local all all peer\n")
	for _, args := range [][]string{
		{"conf", "hba", filepath.Join(t.TempDir(), "missing")},
		{"conf", "hba", p, "--format", "yaml"},
		{"conf", "hba", p, "--pg-version", "11"},
		{"conf", "hba"},
	} {
		if code, _, errOut := run(t, "", args...); code != ExitError || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestConfHBAMatchesPostgreSQL runs the command on the hba file of a real
// PostgreSQL 15 and compares its JSON with the JSON PostgreSQL itself makes
// of pg_hba_file_rules.
func TestConfHBAMatchesPostgreSQL(t *testing.T) {
	pgtest.Require(t)
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	conn := s.Conn(t)
	ctx := context.Background()
	var hbaPath string
	if err := conn.QueryRow(ctx, "SELECT current_setting('hba_file')").Scan(&hbaPath); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"mixed": "local all all peer\n" +
			"host \"my db\",b \"all\",+g 10.1.2.3/8 md5\n" +
			"host all all 192.168.0.0 255.255.0.0 scram-sha-256\n" +
			"host replication rep fe80::1%lo/64 trust\n" +
			"hostssl all all all cert map=m\n" +
			"host all all all ldap ldapurl=\"ldap://h/dc=x?uid?sub\"\n" +
			"host all all all bogus\n",
	}
	if b, err := os.ReadFile("/work/shared/corpus/debian-pg15/pg_hba.conf"); err == nil {
		files["debian"] = string(b)
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			pgtest.WriteFile(t, hbaPath, []byte(content), 0o600)
			var pgJSON string
			if err := conn.QueryRow(ctx, `SELECT COALESCE(json_agg(r), '[]') FROM (SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules) r`).Scan(&pgJSON); err != nil {
				t.Fatal(err)
			}
			_, out, errOut := run(t, "", "conf", "hba", hbaPath, "--format", "json")
			var got, want any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s %s", err, out, errOut)
			}
			if err := json.Unmarshal([]byte(pgJSON), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pgrepl:\n%s\nPostgreSQL:\n%s", out, pgJSON)
			}
		})
	}
}
