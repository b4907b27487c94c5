package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cmdFS carries out the file operations by running small commands as a user:
// over SSH (there is no SFTP in x/crypto/ssh, and SFTP could not switch user
// anyway) and locally when the acting user is not the one pgrepl runs as.
// Each command is an argv; scripts get their data as positional parameters
// ("$1", "$2"), never spliced into the script text. They need a POSIX sh and
// GNU coreutils and findutils, which every Linux PostgreSQL host has.
//
// Commands run with LC_ALL=C so that failures read "No such file or
// directory" whatever the host's locale, which is how ENOENT, EACCES and
// EEXIST are told apart.
type cmdFS struct {
	run  func(ctx context.Context, c Cmd) (Result, error)
	host string // Transport.Name
	as   string // acting user; "" = the transport's own user
}

func (c cmdFS) exec(ctx context.Context, op, p string, stdin []byte, argv ...string) ([]byte, error) {
	cmd := Cmd{Argv: append([]string{"env", "LC_ALL=C"}, argv...), As: c.as, Light: true}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	res, err := c.run(ctx, cmd)
	if err != nil {
		var oe *OpError
		if errors.As(err, &oe) {
			// Rename the step from the command to the file operation.
			return nil, &OpError{Op: op, Path: p, Host: c.host, As: c.as, Err: oe.Err}
		}
		return nil, &OpError{Op: op, Path: p, Host: c.host, As: c.as, Err: err}
	}
	if res.ExitCode != 0 || res.Signal != "" {
		return nil, &OpError{Op: op, Path: p, Host: c.host, As: c.as, Err: commandFailure(res)}
	}
	return res.Stdout, nil
}

// remoteError is what a file command printed when it failed, classified by
// the C-locale strerror text it contains.
type remoteError struct {
	msg  string
	kind error // fs.ErrNotExist, fs.ErrPermission, fs.ErrExist or nil
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

func commandFailure(res Result) error {
	msg := strings.TrimSpace(string(res.Stderr))
	if msg == "" {
		msg = res.Status()
	}
	msg = lastLines(msg, 5)
	e := &remoteError{msg: msg}
	switch {
	case strings.Contains(msg, "No such file or directory"):
		e.kind = fs.ErrNotExist
	case strings.Contains(msg, "Permission denied"), strings.Contains(msg, "Operation not permitted"):
		e.kind = fs.ErrPermission
	case strings.Contains(msg, "File exists"):
		e.kind = fs.ErrExist
	}
	return e
}

func (c cmdFS) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := checkPath(p); err != nil {
		return nil, &OpError{Op: "read", Path: p, Host: c.host, Err: err}
	}
	out, err := c.exec(ctx, "read", p, nil, "cat", "--", p)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func (c cmdFS) ReadDir(ctx context.Context, p string) ([]string, error) {
	if err := checkPath(p); err != nil {
		return nil, &OpError{Op: "readdir", Path: p, Host: c.host, Err: err}
	}
	// The trailing slash makes find follow a symlinked directory and fail
	// with "Not a directory" on a file, as os.ReadDir does. find insists on
	// returning to its starting directory, which sudo leaves at the login
	// user's home: start from "/".
	dir := strings.TrimSuffix(p, "/") + "/"
	out, err := c.exec(ctx, "readdir", p, nil, "sh", "-c", `cd / && exec find "$1" -mindepth 1 -maxdepth 1 -printf '%f\0'`, "pgrepl-readdir", dir)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, n := range strings.Split(string(out), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// statFormat is stat(1)'s --printf for parseStat: size, raw mode in hex,
// owner and group names and numbers, modification time in seconds.
const statFormat = `%s\n%f\n%U\n%G\n%u\n%g\n%Y\n`

func (c cmdFS) Stat(ctx context.Context, p string) (FileInfo, error) {
	if err := checkPath(p); err != nil {
		return FileInfo{}, &OpError{Op: "stat", Path: p, Host: c.host, Err: err}
	}
	out, err := c.exec(ctx, "stat", p, nil, "stat", "-L", "--printf="+statFormat, "--", p)
	if err != nil {
		return FileInfo{}, err
	}
	fi, err := parseStat(path.Base(p), string(out))
	if err != nil {
		return FileInfo{}, &OpError{Op: "stat", Path: p, Host: c.host, As: c.as, Err: err}
	}
	return fi, nil
}

func parseStat(name, out string) (FileInfo, error) {
	f := strings.Split(out, "\n")
	if len(f) != 8 || f[7] != "" {
		return FileInfo{}, fmt.Errorf("unexpected output of stat: %q", out)
	}
	size, err1 := strconv.ParseInt(f[0], 10, 64)
	raw, err2 := strconv.ParseUint(f[1], 16, 32)
	uid, err3 := strconv.Atoi(f[4])
	gid, err4 := strconv.Atoi(f[5])
	mtime, err5 := strconv.ParseInt(f[6], 10, 64)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return FileInfo{}, fmt.Errorf("unexpected output of stat %q: %w", out, err)
	}
	owner, group := f[2], f[3]
	if owner == "UNKNOWN" {
		owner = f[4]
	}
	if group == "UNKNOWN" {
		group = f[5]
	}
	return FileInfo{
		Name: name, Size: size, Mode: unixMode(uint32(raw)), ModTime: time.Unix(mtime, 0),
		Owner: owner, Group: group, UID: uid, GID: gid,
	}, nil
}

// unixMode converts a st_mode to an fs.FileMode.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		mode |= fs.ModeDir
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o140000:
		mode |= fs.ModeSocket
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o020000:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		mode |= fs.ModeDevice
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// octalMode is mode in chmod(1)'s numeric form, special bits included.
func octalMode(m fs.FileMode) string { return fmt.Sprintf("%04o", UnixPerm(m)) }

// writeScript replaces "$1" atomically with its standard input. $2 is the
// mode of a new file, $3 is 1 to apply that mode to an existing file too.
// The temporary file is made by mktemp with mode 0600 before a byte is
// written, so a secret is never readable by others, and removed on failure.
const writeScript = `set -e
dst=$1
if [ -L "$dst" ]; then dst=$(readlink -f -- "$dst"); fi
dir=${dst%/*}
dir=${dir:-/}
tmp=$(mktemp -- "$dir/.${dst##*/}.pgrepl-XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
if [ -e "$dst" ]; then
	chown --reference="$dst" -- "$tmp"
	chmod --reference="$dst" -- "$tmp"
fi
if [ ! -e "$dst" ] || [ "$3" = 1 ]; then chmod -- "$2" "$tmp"; fi
sync -- "$tmp"
mv -f -- "$tmp" "$dst"
trap - EXIT
sync -- "$dir"
`

func (c cmdFS) WriteFileAtomic(ctx context.Context, p string, data []byte, opts WriteOptions) error {
	if err := checkPath(p); err != nil {
		return &OpError{Op: "write", Path: p, Host: c.host, Err: err}
	}
	enforce := "0"
	if opts.EnforceMode {
		enforce = "1"
	}
	if data == nil {
		data = []byte{}
	}
	_, err := c.exec(ctx, "write", p, data, "sh", "-c", writeScript, "pgrepl-write", p, octalMode(opts.mode()), enforce)
	return err
}

// renameScript renames $1 to $2 on one file system, refusing to replace $2.
const renameScript = `if [ -e "$2" ] || [ -L "$2" ]; then
	echo "rename: $2: File exists" >&2
	exit 1
fi
src=$(stat -c %d -- "$1") || exit 1
dir=${2%/*}
dst=$(stat -c %d -- "${dir:-/}") || exit 1
if [ "$src" != "$dst" ]; then
	echo "rename: $1 and $2 are on different file systems; nothing moved" >&2
	exit 1
fi
exec mv -T -- "$1" "$2"
`

func (c cmdFS) Rename(ctx context.Context, oldpath, newpath string) error {
	p := oldpath + " to " + newpath
	if err := errors.Join(checkPath(oldpath), checkPath(newpath)); err != nil {
		return &OpError{Op: "rename", Path: p, Host: c.host, Err: err}
	}
	_, err := c.exec(ctx, "rename", p, nil, "sh", "-c", renameScript, "pgrepl-rename", oldpath, newpath)
	return err
}

// mkdirScript makes each missing directory of "$2" "$3" … (parents first)
// with mode $1; a directory made meanwhile by someone else is fine.
const mkdirScript = `set -e
mode=$1
shift
for d in "$@"; do
	if [ ! -d "$d" ]; then mkdir -m "$mode" -- "$d" || [ -d "$d" ]; fi
done
`

func (c cmdFS) MkdirAll(ctx context.Context, p string, perm fs.FileMode) error {
	if err := checkPath(p); err != nil {
		return &OpError{Op: "mkdir", Path: p, Host: c.host, Err: err}
	}
	argv := []string{"sh", "-c", mkdirScript, "pgrepl-mkdir", octalMode(perm)}
	argv = append(argv, pathChain(p)...)
	_, err := c.exec(ctx, "mkdir", p, nil, argv...)
	return err
}

// pathChain lists p's directories from the top: /a/b/c → /a, /a/b, /a/b/c.
func pathChain(p string) []string {
	p = path.Clean(p)
	var chain []string
	for d := p; d != "/"; d = path.Dir(d) {
		chain = append(chain, d)
	}
	slices.Reverse(chain)
	return chain
}

const removeScript = `if [ -d "$1" ] && [ ! -L "$1" ]; then exec rmdir -- "$1"; fi
exec rm -- "$1"
`

func (c cmdFS) Remove(ctx context.Context, p string) error {
	if err := checkPath(p); err != nil {
		return &OpError{Op: "remove", Path: p, Host: c.host, Err: err}
	}
	_, err := c.exec(ctx, "remove", p, nil, "sh", "-c", removeScript, "pgrepl-remove", p)
	return err
}
