package observe

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// TestProbe runs the host probe as the postgres user on paths of every
// kind it meets, and checks what it reports of each.
func TestProbe(t *testing.T) {
	pgtest.Require(t)
	base, err := os.MkdirTemp("", "observe-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	pgtest.MkdirAll(t, base, 0o755)
	p := func(parts ...string) string { return filepath.Join(append([]string{base}, parts...)...) }
	dir := func(name string, mode os.FileMode) string {
		d := p(name)
		pgtest.MkdirAll(t, d, mode)
		return d
	}
	file := func(name, content string, mode os.FileMode) string {
		pgtest.WriteFile(t, p(name), []byte(content), mode)
		return p(name)
	}

	empty := dir("empty", 0o700)
	hidden := dir("hidden", 0o700)
	file("hidden/.keep", "", 0o600)
	fake := dir("fake data", 0o750) // PG_VERSION, but no cluster in it
	file("fake data/PG_VERSION", "15\n", 0o600)
	file("fake data/standby.signal", "", 0o600)
	unlistable := dir("unlistable", 0o300)
	if os.Getuid() == 0 {
		// A directory postgres cannot search.
		if err := os.MkdirAll(p("private", "data"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	notDir := file("plain", "x", 0o600)
	conf := file("postgresql.conf", "port = 5432\n", 0o640)
	odd := file("odd name\nwith newline.conf", "# odd\n", 0o600)
	emptyFile := file("empty.conf", "", 0o600)
	noNewline := file("nonl.conf", "a = 1", 0o600)
	if err := os.Symlink(conf, p("link.conf")); err != nil {
		t.Fatal(err)
	}
	secret := file("secret.conf", "hidden = 1\n", 0o600)
	if err := os.Chown(secret, 0, 0); err != nil && os.Getuid() == 0 {
		t.Fatal(err)
	}
	bin := pgtest.BinDir()

	targets := []probeTarget{
		{dataDir: empty, binDir: bin, files: []string{conf, p("link.conf"), odd, emptyFile, noNewline, p("missing.conf"), p("no", "dir", "x.conf"), p("hidden")}},
		{dataDir: hidden, binDir: bin, files: []string{conf}}, // shared file, shared bin dir
		{dataDir: fake, binDir: p("nobin"), files: []string{secret}},
		{dataDir: unlistable, binDir: bin},
		{dataDir: notDir, binDir: bin},
		{dataDir: p("missing", "data"), binDir: bin},
	}
	if os.Getuid() == 0 {
		targets = append(targets, probeTarget{dataDir: p("private", "data"), binDir: bin, files: []string{p("private", "data", "postgresql.conf")}})
	}
	tr, err := host.NewLocal(host.LocalConfig{OSUser: pgtest.OSUser()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := runProbe(testCtx(t), tr, pgtest.OSUser(), targets)
	if err != nil {
		t.Fatal(err)
	}

	machineID, _ := os.ReadFile("/etc/machine-id")
	if h.machineID != strings.TrimSpace(string(machineID)) {
		t.Errorf("machine id %q", h.machineID)
	}
	if !strings.Contains(h.binVersion[bin], "(PostgreSQL) 15.") || len(h.binVersion) != 1 {
		t.Errorf("versions %q", h.binVersion)
	}
	if msg := h.binErr[p("nobin")]; !strings.Contains(msg, "not found") && !strings.Contains(msg, "No such file") {
		t.Errorf("missing binaries: %q", msg)
	}

	// Directories.
	for _, d := range []string{empty, hidden, fake, unlistable} {
		if f := h.files[d]; f == nil || !f.info.isDir() || f.info.owner != pgtest.OSUser() {
			t.Errorf("%s: %+v", d, f)
		}
	}
	if got := h.files[fake].info.mode(); got != "0750" {
		t.Errorf("mode of %s: %s", fake, got)
	}
	if got, ok := h.listing[empty]; !ok || len(got) != 0 {
		t.Errorf("listing of an empty directory: %q, %v", got, ok)
	}
	if got := h.listing[hidden]; !reflect.DeepEqual(got, []string{".keep"}) {
		t.Errorf("listing of a directory with a hidden file: %q", got)
	}
	got := h.listing[fake]
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{"PG_VERSION", "standby.signal"}) {
		t.Errorf("listing of %s: %q", fake, got)
	}
	if !h.files[unlistable].unlistable {
		t.Errorf("%s is listable", unlistable)
	}
	if _, listed := h.listing[unlistable]; listed {
		t.Errorf("%s listed", unlistable)
	}
	if f := h.files[notDir]; f == nil || f.info.isDir() || !f.info.isRegular() {
		t.Errorf("%s: %+v", notDir, f)
	}
	if f := h.files[p("missing", "data")]; f == nil || !errors.Is(f.statErr, fs.ErrNotExist) {
		t.Errorf("missing data directory: %+v", f)
	}
	if os.Getuid() == 0 {
		for _, q := range []string{p("private", "data"), p("private", "data", "postgresql.conf")} {
			if f := h.files[q]; f == nil || !errors.Is(f.statErr, fs.ErrPermission) {
				t.Errorf("%s under a directory postgres cannot search: %+v", q, f)
			}
		}
	}

	// PG_VERSION and pg_controldata.
	if h.pgVersion[fake] != "15" || !strings.Contains(h.controlErr[fake], "nobin/pg_controldata") {
		t.Errorf("fake data dir: PG_VERSION %q, controldata error %q", h.pgVersion[fake], h.controlErr[fake])
	}
	if _, ran := h.controlData[empty]; ran {
		t.Error("pg_controldata ran without a PG_VERSION")
	}

	// Files.
	for _, tc := range []struct {
		path, content string
	}{{conf, "port = 5432\n"}, {p("link.conf"), "port = 5432\n"}, {odd, "# odd\n"}, {emptyFile, ""}, {noNewline, "a = 1"}} {
		f := h.files[tc.path]
		if f == nil || !f.complete() || f.statErr != nil || f.readErr != nil || string(f.data) != tc.content || f.data == nil {
			t.Errorf("%q: %+v", tc.path, f)
		}
	}
	if f := h.files[conf]; f.info.mode() != "0640" || f.info.owner != pgtest.OSUser() || f.info.group == "" {
		t.Errorf("%s: %+v", conf, f.info)
	}
	for _, q := range []string{p("missing.conf"), p("no", "dir", "x.conf")} {
		if f := h.files[q]; f == nil || !errors.Is(f.statErr, fs.ErrNotExist) {
			t.Errorf("%s: %+v", q, f)
		}
	}
	if f := h.files[p("hidden")]; f == nil || !f.info.isDir() || f.data != nil || !f.complete() {
		t.Errorf("a directory as a file: %+v", f)
	}
	if os.Getuid() == 0 {
		if f := h.files[secret]; f == nil || f.info.owner != "root" || !errors.Is(f.readErr, fs.ErrPermission) || f.data != nil {
			t.Errorf("unreadable %s: %+v", secret, f)
		}
	}

	// Free space, for the missing directory too (its nearest parent).
	for _, tg := range targets {
		if h.free[tg.dataDir] == 0 {
			t.Errorf("no free space for %s (%v)", tg.dataDir, h.freeErr)
		}
	}
}
