package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func statT(fi fs.FileInfo) *syscall.Stat_t { return fi.Sys().(*syscall.Stat_t) }

// waitGone waits until no process on this machine runs argv (a command a
// transport was told to stop), failing after 10s.
func waitGone(t *testing.T, argv []string) {
	t.Helper()
	want := strings.Join(argv, "\x00") + "\x00"
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := 0
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && string(b) == want {
				found, _ = strconv.Atoi(e.Name())
			}
		}
		if found == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d (%q) still runs after its context ended", found, argv)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// This file holds the checks every Transport must pass, run against Local
// (natively and through runuser) and SSH (logged in as the OS user, and as
// root with become = "sudo"), all on this machine.

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// weirdArgs survive the trip through any transport unchanged.
var weirdArgs = []string{
	"plain", "two words", "", "it's", `"double"`, `back\slash`, "$HOME", "${PATH}", "`id`", "$(id)",
	"line1\nline2", "tab\tsep", "*", "?", "[a-z]", "~", "~root", "#", "!", "a;b", "a|b", "a&b",
	"<in", ">out", "(x)", "{a,b}", "-n", "--", "é€", " lead", "trail ",
}

// testCommands checks Run: output, exit codes, stdin, arguments, env; every
// command runs as user as.
func testCommands(t *testing.T, tr Transport, as string) {
	ctx := testCtx(t)
	run := func(t *testing.T, c Cmd) Result {
		t.Helper()
		c.As = as
		res, err := tr.Run(ctx, c)
		if err != nil {
			t.Fatalf("Run(%q): %v", c.Argv, err)
		}
		return res
	}
	t.Run("stdout stderr exit", func(t *testing.T) {
		res := run(t, Cmd{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
		if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
			t.Fatalf("got stdout %q stderr %q exit %d", res.Stdout, res.Stderr, res.ExitCode)
		}
		err := res.Err()
		var ee *ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("Err() = %v, want *ExitError", err)
		}
		for _, want := range []string{tr.Name(), "exit status 3", "err", `"sh -c`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if res := run(t, Cmd{Argv: []string{"true"}}); res.Err() != nil || res.ExitCode != 0 {
			t.Errorf("true: %v", res.Err())
		}
	})
	t.Run("arguments intact", func(t *testing.T) {
		res := run(t, Cmd{Argv: append([]string{"printf", `%s\0`}, weirdArgs...)})
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		want := strings.Join(weirdArgs, "\x00") + "\x00"
		if string(res.Stdout) != want {
			t.Fatalf("arguments came out as %q, want %q", res.Stdout, want)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		data := []byte("line 1\nsecret: s3cr3t\x00binary\xff\n")
		res := run(t, Cmd{Argv: []string{"cat"}, Stdin: bytes.NewReader(data)})
		if !bytes.Equal(res.Stdout, data) {
			t.Fatalf("cat echoed %q, want %q", res.Stdout, data)
		}
		// No stdin: the command reads EOF at once.
		res = run(t, Cmd{Argv: []string{"wc", "-c"}})
		if strings.TrimSpace(string(res.Stdout)) != "0" {
			t.Fatalf("wc -c without stdin = %q", res.Stdout)
		}
	})
	t.Run("streaming", func(t *testing.T) {
		var out, errb bytes.Buffer
		res := run(t, Cmd{Argv: []string{"sh", "-c", "echo progress >&2; echo data"}, Stdout: &out, Stderr: &errb})
		if out.String() != "data\n" || errb.String() != "progress\n" {
			t.Fatalf("streamed stdout %q stderr %q", out.String(), errb.String())
		}
		if res.Stdout != nil || string(res.Stderr) != "progress\n" {
			t.Fatalf("Result kept stdout %q stderr %q", res.Stdout, res.Stderr)
		}
	})
	t.Run("env", func(t *testing.T) {
		res := run(t, Cmd{Argv: []string{"sh", "-c", `printf '%s' "$PGREPL_T"`}, Env: []string{"PGREPL_T=a b'$c"}})
		if string(res.Stdout) != "a b'$c" {
			t.Fatalf("env value came out as %q", res.Stdout)
		}
		if _, err := tr.Run(ctx, Cmd{Argv: []string{"true"}, Env: []string{"NOVALUE"}, As: as}); err == nil {
			t.Fatal("Env entry without '=' accepted")
		}
	})
	t.Run("signal", func(t *testing.T) {
		res := run(t, Cmd{Argv: []string{"sh", "-c", "kill -KILL $$"}})
		if as != "" && res.ExitCode == 128+9 {
			// runuser reports its child's death by signal as 128+n.
			return
		}
		if res.Signal != "KILL" || res.ExitCode != -1 {
			t.Fatalf("got signal %q exit %d", res.Signal, res.ExitCode)
		}
		if err := res.Err(); err == nil || !strings.Contains(err.Error(), "signal KILL") {
			t.Fatalf("Err() = %v", err)
		}
	})
	t.Run("missing program", func(t *testing.T) {
		res, err := tr.Run(ctx, Cmd{Argv: []string{"/nonexistent/pgrepl-no-such-program"}, As: as})
		if err == nil && res.Err() == nil {
			t.Fatal("running a missing program succeeded")
		}
	})
	t.Run("empty argv", func(t *testing.T) {
		_, err := tr.Run(ctx, Cmd{As: as})
		if err == nil || !strings.Contains(err.Error(), tr.Name()) {
			t.Fatalf("empty argv: %v", err)
		}
	})
	t.Run("context ends command", func(t *testing.T) {
		// A duration no other process uses, to find this sleep in /proc.
		arg := fmt.Sprintf("60.%d", rand.Int32())
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := tr.Run(cctx, Cmd{Argv: []string{"sleep", arg}, As: as})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("sleep %s with a 300ms context: %v", arg, err)
		}
		if !strings.Contains(err.Error(), tr.Name()) || !strings.Contains(err.Error(), "sleep "+arg) {
			t.Errorf("error %q does not name host and step", err)
		}
		waitGone(t, []string{"sleep", arg})
	})
}

// fileOwner is how the tests set up files for an acting user.
type fileOwner struct {
	name     string
	uid, gid int
}

func lookupOwner(t *testing.T, name string) fileOwner {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return fileOwner{name: name, uid: uid, gid: gid}
}

// ownedDir makes a 0700 directory that belongs to o, as a data directory
// belongs to postgres.
func ownedDir(t *testing.T, o fileOwner) string {
	t.Helper()
	base, err := os.MkdirTemp("", "pgrepl-host-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, o.uid, o.gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeOwned(t *testing.T, path, data string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func wantNotExist(t *testing.T, tr Transport, err error, path string) {
	t.Helper()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: got %v, want fs.ErrNotExist", path, err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tr.Name()) {
		t.Errorf("error %q does not name the path and the host", err)
	}
}

// testFileOps checks the file operations of tr, whose acting user is o, in
// a fresh directory of o's. The tests run as root, so they set up and check
// files directly.
func testFileOps(t *testing.T, tr Transport, o fileOwner) {
	ctx := testCtx(t)
	dir := ownedDir(t, o)
	p := func(name string) string { return filepath.Join(dir, name) }

	t.Run("missing", func(t *testing.T) {
		_, err := tr.ReadFile(ctx, p("nope"))
		wantNotExist(t, tr, err, p("nope"))
		_, err = tr.Stat(ctx, p("nope"))
		wantNotExist(t, tr, err, p("nope"))
		_, err = tr.ReadDir(ctx, p("nope"))
		wantNotExist(t, tr, err, p("nope"))
		err = tr.Remove(ctx, p("nope"))
		wantNotExist(t, tr, err, p("nope"))
		_, err = tr.ReadFile(ctx, p("nope/deeper"))
		wantNotExist(t, tr, err, p("nope/deeper"))
	})

	t.Run("relative path refused", func(t *testing.T) {
		if _, err := tr.ReadFile(ctx, "postgresql.conf"); err == nil || !strings.Contains(err.Error(), "not absolute") {
			t.Fatalf("relative path: %v", err)
		}
	})

	t.Run("write new, read, stat", func(t *testing.T) {
		for i, data := range [][]byte{
			[]byte("listen_addresses = '*'\n"),
			{},
			[]byte("no newline at end"),
			append(bytes.Repeat([]byte("0123456789abcdef\n"), 64<<10), 0, 0xff),
		} {
			path := p("new" + strconv.Itoa(i) + ".conf")
			if err := tr.WriteFileAtomic(ctx, path, data, WriteOptions{Mode: 0o640}); err != nil {
				t.Fatal(err)
			}
			got, err := tr.ReadFile(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, wrote %d", len(got), len(data))
			}
			fi, err := tr.Stat(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Name != filepath.Base(path) || fi.Size != int64(len(data)) || fi.Mode != 0o640 || fi.IsDir() ||
				fi.Owner != o.name || fi.UID != o.uid || fi.GID != o.gid {
				t.Fatalf("new file: %+v, want mode 0640, owner %s, size %d", fi, o.name, len(data))
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime.Equal(st.ModTime().Truncate(time.Second)) && !fi.ModTime.Equal(st.ModTime()) {
				t.Errorf("ModTime %v, file says %v", fi.ModTime, st.ModTime())
			}
		}
		// Default mode of a new file: 0600.
		if err := tr.WriteFileAtomic(ctx, p("default"), []byte("x"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if fi, err := tr.Stat(ctx, p("default")); err != nil || fi.Mode != 0o600 {
			t.Fatalf("default mode: %+v %v", fi, err)
		}
	})

	t.Run("write keeps owner group and mode", func(t *testing.T) {
		// Group ssl-cert (postgres is a member on Debian) differs from the
		// owner's primary group, so a kept group is told from a reset one.
		g, err := user.LookupGroup("ssl-cert")
		gid := o.gid
		if err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		}
		path := p("postgresql.conf")
		writeOwned(t, path, "old\n", 0o604, o.uid, gid)
		if err := tr.WriteFileAtomic(ctx, path, []byte("new\n"), WriteOptions{Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		sys := statT(st)
		if st.Mode() != 0o604 || int(sys.Uid) != o.uid || int(sys.Gid) != gid {
			t.Fatalf("after write: mode %v uid %d gid %d, want 0604 %d %d", st.Mode(), sys.Uid, sys.Gid, o.uid, gid)
		}
		if b, _ := os.ReadFile(path); string(b) != "new\n" {
			t.Fatalf("content %q", b)
		}
		// EnforceMode: the passfile case.
		if err := tr.WriteFileAtomic(ctx, path, []byte("newer\n"), WriteOptions{Mode: 0o600, EnforceMode: true}); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(path); st.Mode() != 0o600 {
			t.Fatalf("EnforceMode: mode %v", st.Mode())
		}
		names, err := tr.ReadDir(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if strings.Contains(n, ".pgrepl-") {
				t.Errorf("temporary file %s left behind", n)
			}
		}
	})

	t.Run("write through symlink keeps the link", func(t *testing.T) {
		target := p("real.conf")
		link := p("link.conf")
		writeOwned(t, target, "old\n", 0o644, o.uid, o.gid)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := tr.WriteFileAtomic(ctx, link, []byte("via link\n"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("link replaced: %v %v", st, err)
		}
		if b, _ := os.ReadFile(target); string(b) != "via link\n" {
			t.Fatalf("target holds %q", b)
		}
		if st, _ := os.Stat(target); st.Mode() != 0o644 {
			t.Fatalf("target mode %v", st.Mode())
		}
	})

	t.Run("write into missing dir", func(t *testing.T) {
		err := tr.WriteFileAtomic(ctx, p("nodir/x.conf"), []byte("x"), WriteOptions{})
		if err == nil || !strings.Contains(err.Error(), p("nodir/x.conf")) {
			t.Fatalf("write into a missing directory: %v", err)
		}
	})

	t.Run("readdir", func(t *testing.T) {
		sub := p("listing")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(sub, o.uid, o.gid); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"b.conf", ".hidden", "a file", "pg_wal"} {
			writeOwned(t, filepath.Join(sub, n), "", 0o600, o.uid, o.gid)
		}
		names, err := tr.ReadDir(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(names, "|"), ".hidden|a file|b.conf|pg_wal"; got != want {
			t.Fatalf("ReadDir = %q, want %q", got, want)
		}
		empty := p("empty")
		if err := os.Mkdir(empty, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(empty, o.uid, o.gid); err != nil {
			t.Fatal(err)
		}
		if names, err := tr.ReadDir(ctx, empty); err != nil || len(names) != 0 || names == nil {
			t.Fatalf("empty dir: %q %v", names, err)
		}
		if _, err := tr.ReadDir(ctx, filepath.Join(sub, "b.conf")); err == nil {
			t.Fatal("ReadDir of a file succeeded")
		}
		fi, err := tr.Stat(ctx, sub)
		if err != nil || !fi.IsDir() || fi.Mode.Perm() != 0o700 {
			t.Fatalf("Stat dir: %+v %v", fi, err)
		}
	})

	t.Run("rename", func(t *testing.T) {
		a, b, c := p("ren-a"), p("ren-b"), p("ren-c")
		writeOwned(t, a, "A", 0o600, o.uid, o.gid)
		writeOwned(t, c, "C", 0o600, o.uid, o.gid)
		if err := tr.Rename(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(a); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s still there", a)
		}
		err := tr.Rename(ctx, b, c)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("rename over an existing file: %v, want fs.ErrExist", err)
		}
		if x, _ := os.ReadFile(c); string(x) != "C" {
			t.Fatalf("existing target clobbered: %q", x)
		}
		if x, _ := os.ReadFile(b); string(x) != "A" {
			t.Fatalf("source changed: %q", x)
		}
		err = tr.Rename(ctx, p("ren-none"), p("ren-d"))
		wantNotExist(t, tr, err, p("ren-none"))
		// A directory moves aside whole, as a data directory does.
		d := p("ren-dir")
		if err := os.MkdirAll(filepath.Join(d, "base"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, o.uid, o.gid); err != nil {
			t.Fatal(err)
		}
		if err := tr.Rename(ctx, d, d+".pgrepl-20250101T000000Z"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(d+".pgrepl-20250101T000000Z", "base")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("mkdirall", func(t *testing.T) {
		deep := p("m1/m2/m3")
		if err := tr.MkdirAll(ctx, deep, 0o750); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{p("m1"), p("m1/m2"), deep} {
			st, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != fs.ModeDir|0o750 || int(statT(st).Uid) != o.uid {
				t.Fatalf("%s: mode %v uid %d", d, st.Mode(), statT(st).Uid)
			}
		}
		// Existing directories stay as they are.
		if err := os.Chmod(p("m1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := tr.MkdirAll(ctx, p("m1/m2/m4"), 0o700); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(p("m1")); st.Mode().Perm() != 0o755 {
			t.Fatalf("existing dir changed to %v", st.Mode())
		}
		if st, _ := os.Stat(p("m1/m2/m4")); st.Mode().Perm() != 0o700 {
			t.Fatalf("new dir mode %v", st.Mode())
		}
		writeOwned(t, p("afile"), "", 0o600, o.uid, o.gid)
		if err := tr.MkdirAll(ctx, p("afile/sub"), 0o700); err == nil {
			t.Fatal("MkdirAll below a file succeeded")
		}
	})

	t.Run("remove", func(t *testing.T) {
		writeOwned(t, p("rm-file"), "x", 0o600, o.uid, o.gid)
		if err := tr.Remove(ctx, p("rm-file")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p("rm-file")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("file still there")
		}
		for _, d := range []string{p("rm-dir"), p("rm-dir/inner")} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(d, o.uid, o.gid); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.Remove(ctx, p("rm-dir")); err == nil {
			t.Fatal("Remove removed a non-empty directory")
		}
		if _, err := os.Stat(p("rm-dir/inner")); err != nil {
			t.Fatal("non-empty directory damaged")
		}
		if err := tr.Remove(ctx, p("rm-dir/inner")); err != nil {
			t.Fatal(err)
		}
	})

	if o.uid != 0 {
		t.Run("permission denied", func(t *testing.T) {
			path := p("root-only")
			writeOwned(t, path, "secret", 0o600, 0, 0)
			_, err := tr.ReadFile(ctx, path)
			if !errors.Is(err, fs.ErrPermission) {
				t.Fatalf("reading a root-only file as %s: %v, want fs.ErrPermission", o.name, err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tr.Name()) {
				t.Errorf("error %q does not name the path and the host", err)
			}
			// Keeping a root-owned file's owner is impossible for o: an error,
			// not a silent change of owner.
			if err := tr.WriteFileAtomic(ctx, path, []byte("x"), WriteOptions{}); err == nil {
				t.Fatal("write of a root-owned file as a non-root user succeeded")
			}
			st, _ := os.Stat(path)
			if statT(st).Uid != 0 {
				t.Fatal("owner changed")
			}
		})
	}
}
