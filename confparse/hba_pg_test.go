package confparse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// The differential tests: for each case, the file is written over the hba
// file of a running PostgreSQL 15 and
//   - pg_hba_file_rules (which re-reads the file at query time) must equal
//     FileRules(), row by row, error column included;
//   - a reload must log exactly the messages ParseHBA gives as errors and
//     warnings, with the same line numbers, and PostgreSQL must refuse the
//     file exactly when ParseHBA returns an error.
// The server's pg_ident.conf is made invalid on purpose: every reload then
// ends with "pg_ident.conf was not reloaded", which marks the end of the
// hba messages of that reload in the log.

type hbaServer struct {
	srv     *pgtest.Server
	conn    *pgx.Conn
	hbaPath string
	ssl     bool
}

func startHBAServer(t *testing.T, ssl bool) *hbaServer {
	t.Helper()
	pgtest.Require(t)
	s := pgtest.Init(t, pgtest.Options{Host: "127.0.0.2"})
	if ssl {
		writeTestCert(t, s.DataDir)
		s.AppendConf(t, "ssl = on")
	}
	s.Start(t)
	conn := s.Conn(t)
	var hbaPath, identPath string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('hba_file'), current_setting('ident_file')").Scan(&hbaPath, &identPath); err != nil {
		t.Fatal(err)
	}
	pgtest.WriteFile(t, identPath, []byte("x\n"), 0o600)
	return &hbaServer{srv: s, conn: conn, hbaPath: hbaPath, ssl: ssl}
}

// hbaLogLine is one LOG message of the server with its CONTEXT, if any.
type hbaLogLine struct {
	Msg     string
	Context string
}

var hbaLogRe = regexp.MustCompile(`^\S+ \S+ \S+ \[\d+\] (LOG|CONTEXT|HINT|WARNING|ERROR|DETAIL):  (.*)$`)

// reload writes src as the hba file (and the extra files beside it), has the
// server reload, and returns the LOG messages of that reload about hba.
func (h *hbaServer) reload(t *testing.T, src []byte) ([]hbaLogLine, bool) {
	t.Helper()
	pgtest.WriteFile(t, h.hbaPath, src, 0o600)
	before, err := os.ReadFile(h.srv.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.conn.Exec(context.Background(), "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	const done = "pg_ident.conf was not reloaded"
	deadline := time.Now().Add(30 * time.Second)
	var window string
	for {
		b, err := os.ReadFile(h.srv.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		window = string(b[len(before):])
		if strings.Contains(window, done) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not finish reloading; log:\n%s", window)
		}
		time.Sleep(20 * time.Millisecond)
	}
	window = window[:strings.Index(window, done)]
	window = window[:strings.LastIndex(window, "\n")+1] // drop the marker line's prefix
	refused := strings.Contains(window, "pg_hba.conf was not reloaded")
	var out []hbaLogLine
	for _, line := range strings.Split(window, "\n") {
		m := hbaLogRe.FindStringSubmatch(line)
		if m == nil {
			if len(out) > 0 && line != "" && !strings.Contains(line, "] ") {
				// continuation of a multi-line message
				out[len(out)-1].Msg += "\n" + strings.TrimPrefix(line, "\t")
			}
			continue
		}
		switch m[1] {
		case "LOG":
			out = append(out, hbaLogLine{Msg: m[2]})
		case "CONTEXT":
			if len(out) > 0 {
				out[len(out)-1].Context = m[2]
			}
		}
	}
	// Keep the hba messages: drop the reload chatter and pg_ident's errors.
	var hba []hbaLogLine
	for _, l := range out {
		switch {
		case strings.HasPrefix(l.Msg, "received SIGHUP"),
			l.Msg == "pg_hba.conf was not reloaded",
			strings.Contains(l.Context, "pg_ident.conf"),
			strings.Contains(l.Msg, "pg_ident.conf"),
			strings.HasPrefix(l.Msg, "parameter \""):
			continue
		}
		hba = append(hba, l)
	}
	return hba, refused
}

// view returns the server's pg_hba_file_rules: PostgreSQL 15's nine columns.
func (h *hbaServer) view(t *testing.T) []HBAFileRule {
	t.Helper()
	rows, err := h.conn.Query(context.Background(),
		"SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []HBAFileRule
	for rows.Next() {
		var r HBAFileRule
		if err := rows.Scan(&r.LineNumber, &r.Type, &r.Database, &r.UserName, &r.Address, &r.Netmask, &r.AuthMethod, &r.Options, &r.Error); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// pg15Columns clears what PostgreSQL 15's view does not have: 16's
// rule_number and file_name columns.
func pg15Columns(rs []HBAFileRule) []HBAFileRule {
	for i := range rs {
		rs[i].RuleNumber, rs[i].FileName, rs[i].version = nil, "", 0
	}
	return rs
}

func fmtRows(rs []HBAFileRule) string {
	var b strings.Builder
	s := func(p *string) string {
		if p == nil {
			return "NULL"
		}
		return fmt.Sprintf("%q", *p)
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "  %d %s %q %q %s %s %s %q %s\n", r.LineNumber, s(r.Type), r.Database, r.UserName, s(r.Address), s(r.Netmask), s(r.AuthMethod), r.Options, s(r.Error))
	}
	return b.String()
}

type hbaPGCase struct {
	name  string
	src   string
	files map[string]string // written beside the hba file for the case
}

// check runs one case against the server.
func (h *hbaServer) check(t *testing.T, c hbaPGCase) {
	t.Helper()
	dir := filepath.Dir(h.hbaPath)
	for name, content := range c.files {
		p := filepath.Join(dir, name)
		pgtest.MkdirAll(t, filepath.Dir(p), 0o700)
		pgtest.WriteFile(t, p, []byte(content), 0o600)
	}
	defer func() {
		for name := range c.files {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Error(err)
			}
		}
	}()
	src := []byte(c.src)
	logs, refused := h.reload(t, src)
	got := h.view(t)

	f, err := ParseHBA(h.hbaPath, src, HBAOptions{Version: 15, Reader: OSReader{}, SSL: h.ssl})
	if f == nil {
		t.Fatalf("ParseHBA: %v", err)
	}
	want := pg15Columns(f.FileRules())
	if os.Getenv("PGREPL_HBA_DEBUG") != "" {
		t.Logf("PostgreSQL rows:\n%slog:\n%srefused: %v", fmtRows(got), fmtLogs(logs), refused)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pg_hba_file_rules differs\nsource:\n%s\nPostgreSQL:\n%spgrepl:\n%s", c.src, fmtRows(got), fmtRows(want))
	}
	var ours []hbaLogLine
	for _, e := range f.log {
		ours = append(ours, hbaLogLine{Msg: e.Msg, Context: fmt.Sprintf("line %d of configuration file \"%s\"", e.Line, e.File)})
	}
	if !sameLogs(logs, ours) {
		t.Errorf("server log differs\nsource:\n%s\nPostgreSQL:\n%spgrepl:\n%s", c.src, fmtLogs(logs), fmtLogs(ours))
	}
	if (err != nil) != refused {
		t.Errorf("ParseHBA error = %v, but PostgreSQL refused the file: %v", err, refused)
	}
	if err != nil {
		var he *HBAError
		if !errors.As(err, &he) {
			t.Errorf("error %v is not an *HBAError", err)
		}
	}
}

// sameLogs compares the server's messages with ours. A server message
// without a CONTEXT line (some have none) matches on its text alone.
func sameLogs(pg, ours []hbaLogLine) bool {
	if len(pg) != len(ours) {
		return false
	}
	for i := range pg {
		if pg[i].Msg != ours[i].Msg {
			return false
		}
		if pg[i].Context != "" && pg[i].Context != ours[i].Context {
			return false
		}
	}
	return true
}

func fmtLogs(ls []hbaLogLine) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %s | %s\n", l.Msg, l.Context)
	}
	return b.String()
}
