package confparse

// The oracle for every test in this file is a running PostgreSQL 15: its
// pg_file_settings view re-reads the configuration files each time it is
// queried, so one server serves every case. The server's config_file points
// into a directory the test rewrites for each case, and its data
// directory's postgresql.auto.conf is rewritten too.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// confServer is a PostgreSQL server whose config files a test controls.
type confServer struct {
	srv      *pgtest.Server
	confDir  string // the directory of the top config file, emptied for each case
	confFile string // confDir/postgresql.conf, the server's config_file
	autoConf string // the data directory's postgresql.auto.conf
}

// startConfServer starts a server whose config_file is an empty
// postgresql.conf in a directory of its own; connection settings come from
// the command line, so that no config file holds anything of the test's.
func startConfServer(t *testing.T) *confServer {
	t.Helper()
	s := pgtest.Init(t, pgtest.Options{NoConnSettings: true})
	cs := &confServer{
		srv:      s,
		confDir:  filepath.Join(s.Dir, "conf"),
		autoConf: filepath.Join(s.DataDir, AutoConfName),
	}
	cs.confFile = filepath.Join(cs.confDir, "postgresql.conf")
	pgtest.MkdirAll(t, cs.confDir, 0o755)
	pgtest.WriteFile(t, cs.confFile, []byte("# confparse differential tests\n"), 0o644)
	opts := fmt.Sprintf("-c config_file=%s -c port=%d -c listen_addresses='' -c unix_socket_directories=%s",
		cs.confFile, s.Port, s.SocketDir)
	out, err := pgtest.RunErr(filepath.Join(pgtest.BinDir(), "pg_ctl"), "-D", s.DataDir, "-l", s.LogFile, "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		t.Fatalf("start PostgreSQL: %v\n%s\n%s", err, out, s.Log(t))
	}
	t.Cleanup(func() {
		if err := s.StopErr("immediate"); err != nil {
			t.Error(err)
		}
	})
	return cs
}

// confCase is a tree of config files: paths relative to the top file's
// directory ("postgresql.conf" is the top file) and their contents.
// "$CONF" in a content stands for that directory's absolute path. A name
// ending in "/" is an (empty) directory.
type confCase struct {
	name  string
	files map[string]string
	auto  *string // postgresql.auto.conf; nil: absent
}

// setup writes the case's files, replacing the previous case's.
func (cs *confServer) setup(t *testing.T, c confCase) {
	t.Helper()
	ents, err := os.ReadDir(cs.confDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(cs.confDir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, 0, len(c.files))
	for n := range c.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(cs.confDir, n)
		if !strings.HasPrefix(p, cs.confDir+"/") {
			t.Fatalf("case file %q is outside the case directory", n)
		}
		// World-readable files and directories are enough for the
		// server's OS user, who needs to read them only.
		dir := filepath.Dir(p)
		if strings.HasSuffix(n, "/") {
			dir = p
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, "/") {
			continue
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(c.files[n], "$CONF", cs.confDir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.files["postgresql.conf"]; !ok {
		if err := os.WriteFile(cs.confFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if c.auto == nil {
		if err := os.Remove(cs.autoConf); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	} else {
		pgtest.WriteFile(t, cs.autoConf, []byte(*c.auto), 0o600)
	}
}

// confViewRow is a row of pg_file_settings.
type confViewRow struct {
	sourcefile *string
	sourceline *int32
	seqno      int32
	name       *string
	setting    *string
	applied    bool
	errText    *string
}

func (r confViewRow) String() string {
	s := func(p *string) string {
		if p == nil {
			return "NULL"
		}
		return fmt.Sprintf("%q", *p)
	}
	line := "NULL"
	if r.sourceline != nil {
		line = fmt.Sprint(*r.sourceline)
	}
	return fmt.Sprintf("{%s:%s #%d %s=%s applied=%v error=%s}", s(r.sourcefile), line, r.seqno, s(r.name), s(r.setting), r.applied, s(r.errText))
}

// view queries pg_file_settings on a new connection: a backend creates a
// placeholder for each unknown custom name it sees, which changes how a
// later query in the same session marks duplicates of that name.
func (cs *confServer) view(t *testing.T) []confViewRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, cs.srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT sourcefile, sourceline, seqno, name, setting, applied, error FROM pg_file_settings ORDER BY seqno")
	if err != nil {
		t.Fatal(err)
	}
	var out []confViewRow
	for rows.Next() {
		var r confViewRow
		if err := rows.Scan(&r.sourcefile, &r.sourceline, &r.seqno, &r.name, &r.setting, &r.applied, &r.errText); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Errors in pg_file_settings that only the server can find: confparse
// knows no setting names or value types.
const (
	confViewErrUnknown    = "unrecognized configuration parameter"
	confViewErrNotApplied = "setting could not be applied"
)

// confCompareView compares what Load made of the case with the view, row by
// row, and returns a description of each difference.
//
// Where the server judges names and values, it knows more than a parser:
// it rejects unknown names (and then applies nothing) and values it cannot
// take, and it finds duplicates of a custom name (a.b) only when a
// placeholder for that name exists, which a fresh backend does not have. On
// those rows and columns the comparison is limited to what the files say.
func confCompareView(got []Entry, view []confViewRow) []string {
	var diffs []string
	// A syntax or file error makes PostgreSQL apply nothing, and so does
	// an unknown name; a value it cannot take fails only its own row.
	rejected, unknownName := false, false
	for _, r := range view {
		switch {
		case r.errText == nil || *r.errText == confViewErrNotApplied:
		case *r.errText == confViewErrUnknown:
			unknownName = true
		default:
			rejected = true
		}
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for i := 0; i < max(len(got), len(view)); i++ {
		if i >= len(got) {
			diffs = append(diffs, fmt.Sprintf("row %d: missing, PostgreSQL has %v", i+1, view[i]))
			continue
		}
		if i >= len(view) {
			diffs = append(diffs, fmt.Sprintf("row %d: %+v, PostgreSQL has no such row", i+1, got[i]))
			continue
		}
		g, v := got[i], view[i]
		line := 0
		if v.sourceline != nil {
			line = int(*v.sourceline)
		}
		semantic := v.errText != nil && (*v.errText == confViewErrUnknown || *v.errText == confViewErrNotApplied)
		ok := g.SourceFile == str(v.sourcefile) && g.SourceLine == line && g.SeqNo == int(v.seqno) &&
			g.Name == str(v.name) && g.Setting == str(v.setting) && (v.name != nil || g.Name == "")
		if semantic {
			ok = ok && g.Error == ""
		} else {
			ok = ok && g.Error == str(v.errText)
		}
		switch {
		case rejected:
			ok = ok && !g.Applied && !v.applied
		case unknownName || semantic:
		case strings.Contains(g.Name, "."):
			// No placeholder, no duplicate detection: PostgreSQL marks
			// every row of a custom name applied.
			ok = ok && v.applied
		default:
			ok = ok && g.Applied == v.applied
		}
		if !ok {
			diffs = append(diffs, fmt.Sprintf("row %d: got %+v, PostgreSQL has %v", i+1, g, v))
		}
	}
	return diffs
}

// runConfCase sets the case up on the server, loads it with Load and
// compares. It returns the Config and Load's error.
func (cs *confServer) runConfCase(t *testing.T, c confCase) (*Config, error) {
	t.Helper()
	cs.setup(t, c)
	view := cs.view(t)
	cfg, err := Load(OSReader{}, cs.confFile, cs.srv.DataDir)
	if cfg == nil {
		t.Fatalf("Load: %v", err)
	}
	if diffs := confCompareView(cfg.Entries(), view); len(diffs) > 0 {
		t.Errorf("case %s: pg_file_settings differs:\n%s\nfiles: %v", c.name, strings.Join(diffs, "\n"), c.files)
	}
	viewRejects := false
	for _, r := range view {
		if r.errText != nil && *r.errText != confViewErrUnknown && *r.errText != confViewErrNotApplied {
			viewRejects = true
		}
	}
	if viewRejects != (err != nil) {
		t.Errorf("case %s: Load error %v, PostgreSQL rejects the files: %v", c.name, err, viewRejects)
	}
	return cfg, err
}

func confPtr(s string) *string { return &s }

// copyTree returns the files under dir as a confCase file map (directories
// included, as names ending in "/").
func confCopyTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			files[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// pgtestRunPostgresC runs "postgres -C work_mem" on the case's files, which
// reads the whole configuration as the server would at startup.
func confPostgresC(cs *confServer) (string, error) {
	return pgtest.RunErr(filepath.Join(pgtest.BinDir(), "postgres"), "-C", "work_mem",
		"--config-file="+cs.confFile, "-D", cs.srv.DataDir)
}
