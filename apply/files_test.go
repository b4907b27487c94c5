package apply

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

func TestEditFile(t *testing.T) {
	t.Parallel()
	n, dir := dirNode(t)
	ctx := testCtx(t)
	path := filepath.Join(dir, "postgresql.conf")
	old := []byte("port = 5432\n")
	pgtest.WriteFile(t, path, old, 0o640)

	// A file that changed since the plan is refused, and left alone.
	_, err := EditFile(ctx, n, path, state.Hash([]byte("something else")), []byte("new\n"), 0, "20261125T224837Z", nil, nil)
	var ce *ChangedError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "changed since the plan") {
		t.Fatalf("EditFile of a changed file: %v", err)
	}
	if got := readFile(t, path); got != string(old) {
		t.Fatalf("refused edit wrote %q", got)
	}
	if _, err := EditFile(ctx, n, path, "", []byte("new\n"), 0, "20261125T224837Z", nil, nil); !errors.As(err, &ce) || !strings.Contains(err.Error(), "created since the plan") {
		t.Fatalf("EditFile of a file the plan did not see: %v", err)
	}

	b, err := EditFile(ctx, n, path, state.Hash(old), []byte("port = 5433\n"), 0, "20261125T224837Z", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := path + ".pgrepl-20261125T224837Z"; b.Copy != want {
		t.Fatalf("backup at %q, want %q", b.Copy, want)
	}
	if got := readFile(t, path); got != "port = 5433\n" {
		t.Fatalf("new content %q", got)
	}
	for _, p := range []string{path, b.Copy} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 || fileOwner(t, fi) != pgtest.OSUser() {
			t.Errorf("%s: mode %v owner %s, want 0640 and %s kept", p, fi.Mode().Perm(), fileOwner(t, fi), pgtest.OSUser())
		}
	}
	if got := readFile(t, b.Copy); got != string(old) {
		t.Fatalf("backup holds %q, want the previous version", got)
	}

	// A second edit in the same second keeps both backups.
	b2, err := EditFile(ctx, n, path, state.Hash([]byte("port = 5433\n")), []byte("port = 5434\n"), 0, "20261125T224837Z", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := path + ".pgrepl-20261125T224837Z-1"; b2.Copy != want {
		t.Fatalf("second backup at %q, want %q", b2.Copy, want)
	}

	// Restore, newest first, brings back the first version.
	for _, bk := range []Backup{b2, b} {
		if err := bk.Restore(ctx, n, "20261125T224838Z"); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, path); got != string(old) {
		t.Fatalf("after restore %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("restore changed the mode to %v", fi.Mode().Perm())
	}

	// A new file: created with the mode asked; undoing it moves it aside.
	newPath := filepath.Join(dir, "conf.d.conf")
	nb, err := EditFile(ctx, n, newPath, "", []byte("x = 1\n"), 0o600, "20261125T224837Z", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if nb.Copy != "" {
		t.Fatalf("backup %q of a file that did not exist", nb.Copy)
	}
	if err := nb.Restore(ctx, n, "20261125T224839Z"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(newPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("undone new file still there: %v", err)
	}
	if got := readFile(t, newPath+".pgrepl-20261125T224839Z-undone"); got != "x = 1\n" {
		t.Fatalf("undone file kept as %q", got)
	}
}

func TestWritePassfile(t *testing.T) {
	t.Parallel()
	n, dir := dirNode(t)
	ctx := testCtx(t)
	path := filepath.Join(dir, "pg2.pgpass")
	// An existing file with the wrong mode and another entry.
	pgtest.WriteFile(t, path, []byte("# mine\nother:5432:*:bob:pw\n127.0.0.2:5432:replication:replicator:old\n"), 0o644)
	secret := `s3cr:t\pw`
	e := PassfileEntry{Host: "127.0.0.2", Port: "5432", Database: "replication", User: "replicator", Password: secret}
	if err := WritePassfile(ctx, n, path, e); err != nil {
		t.Fatal(err)
	}
	want := "127.0.0.2:5432:replication:replicator:s3cr\\:t\\\\pw\n# mine\nother:5432:*:bob:pw\n"
	if got := readFile(t, path); got != want {
		t.Fatalf("passfile:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fileOwner(t, fi) != pgtest.OSUser() {
		t.Fatalf("passfile mode %v owner %s, want 0600 %s", fi.Mode().Perm(), fileOwner(t, fi), pgtest.OSUser())
	}
	// A new one.
	path2 := filepath.Join(dir, "new.pgpass")
	if err := WritePassfile(ctx, n, path2, e); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path2); fi.Mode().Perm() != 0o600 {
		t.Fatalf("new passfile mode %v", fi.Mode().Perm())
	}
	k, ok := libpq.PassfileKey(e.line())
	if !ok || k != [4]string{"127.0.0.2", "5432", "replication", "replicator"} {
		t.Fatalf("libpq.PassfileKey(%q) = %q, %v", e.line(), k, ok)
	}
}

// TestEditFileMasksPasswordInBackup: the previous version of a file that
// held a password is kept with the password masked, with the file's owner
// and mode; Restore puts the real previous version back; a previous
// version that is not the plan's is refused before anything is written.
func TestEditFileMasksPasswordInBackup(t *testing.T) {
	t.Parallel()
	n, dir := dirNode(t)
	ctx := testCtx(t)
	path := filepath.Join(dir, "postgresql.auto.conf")
	old := []byte("primary_conninfo = 'host=a password=s3cret user=r'\n")
	masked := []byte("primary_conninfo = 'host=a password=" + spec.Redacted + " user=r'\n")
	pgtest.WriteFile(t, path, old, 0o640)
	newContent := []byte("primary_conninfo = 'host=a user=r passfile=/x'\n")

	stale := []byte("primary_conninfo = 'host=b password=s3cret user=r'\n")
	var ce *ChangedError
	if _, err := EditFile(ctx, n, path, state.Hash(old), newContent, 0, "20261125T224840Z", stale, masked); !errors.As(err, &ce) {
		t.Fatalf("EditFile with bytes that are not the plan's: %v", err)
	}
	if matches, _ := filepath.Glob(path + ".pgrepl-*"); len(matches) > 0 || readFile(t, path) != string(old) {
		t.Fatalf("a refused edit left %q or changed the file", matches)
	}

	b, err := EditFile(ctx, n, path, state.Hash(old), newContent, 0, "20261125T224840Z", old, masked)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, b.Copy); got != string(masked) {
		t.Errorf("backup holds %q, want the password masked", got)
	}
	if got := readFile(t, path); got != string(newContent) {
		t.Errorf("file holds %q", got)
	}
	fi, err := os.Stat(b.Copy)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || fileOwner(t, fi) != pgtest.OSUser() {
		t.Errorf("backup mode %v owner %s, want the file's 0640 and %s", fi.Mode().Perm(), fileOwner(t, fi), pgtest.OSUser())
	}
	if err := b.Restore(ctx, n, "20261125T224841Z"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != string(old) {
		t.Errorf("restored %q, want the real previous version", got)
	}
}
