package observe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/host"
)

// probeScript gathers, in one command run as the node's os_user, what the
// host says of the node: its machine id, the server binaries' version, the
// data directory (stat, listing, PG_VERSION, pg_controldata), the free space
// where it lives, the standby's passfile and the config files expected to be
// read. One command instead of a dozen keeps a node to one round trip over
// SSH and one process tree locally.
//
// Its arguments are data, never script text: $1 a random boundary, $2 the
// data directory, $3 the bin directory, $4 the passfile ("" for none), then
// the files to read. Its output is a sequence of sections, each
//
//	\n--BOUNDARY TAG\n<output>\n--BOUNDARY rc STATUS\n
//
// so that any bytes, file contents included, pass unchanged: the boundary is
// 128 random bits that no file holds by chance. A file's content section
// carries no error text (a partly read passfile must not leak into a
// message); its stat section says why it could not be read.
const probeScript = `K=$1 D=$2 B=$3 P=$4
shift 4
cd / || exit
s() { printf '\n--%s %s\n' "$K" "$1"; }
e() { printf '\n--%s rc %d\n' "$K" "$1"; }
F='%F\n%a\n%U\n%G\n%s\n'
s machine-id
if [ -r /etc/machine-id ]; then cat /etc/machine-id; else cat /var/lib/dbus/machine-id; fi 2>&1; e $?
s version; "$B/postgres" --version 2>&1; e $?
s datadir; stat -L --printf="$F" -- "$D" 2>&1; e $?
if [ -d "$D" ]; then
	s list; find "$D/" -mindepth 1 -maxdepth 1 -printf '%f\0' 2>&1; e $?
	if [ -f "$D/PG_VERSION" ]; then
		s pg_version; cat -- "$D/PG_VERSION" 2>&1; e $?
		s controldata; "$B/pg_controldata" -D "$D" 2>&1; e $?
	fi
fi
p=$D
while [ ! -e "$p" ]; do p=${p%/*}; [ -n "$p" ] || p=/; done
s df; stat -f -L --printf='%a %S\n' -- "$p" 2>&1; e $?
if [ -n "$P" ]; then set -- "$P" "$@"; fi
i=0
for f do
	s "stat $i"; stat -L --printf="$F" -- "$f" 2>&1; r=$?; e $r
	if [ $r -eq 0 ] && [ -f "$f" ]; then
		s "file $i"
		if [ -r "$f" ]; then cat -- "$f" 2>/dev/null; e $?; else echo 'Permission denied'; e 1; fi
	fi
	i=$((i+1))
done
`

// section is one section of the probe's output.
type section struct {
	out []byte
	rc  int
}

// probeResult is the probe's output by tag.
type probeResult map[string]section

// runProbe runs the probe on tr as osUser. files are read in order; the
// passfile, when not "", comes first.
func runProbe(ctx context.Context, tr host.Transport, osUser, dataDir, binDir, passfile string, files []string) (probeResult, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("probe boundary: %w", err)
	}
	k := hex.EncodeToString(b[:])
	argv := append([]string{"sh", "-c", probeScript, "pgrepl-observe", k, dataDir, binDir, passfile}, files...)
	res, err := tr.Run(ctx, host.Cmd{Argv: argv, As: osUser, Env: []string{"LC_ALL=C"}})
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return parseProbe(res.Stdout, k)
}

// parseProbe splits the probe's output into its sections.
func parseProbe(out []byte, k string) (probeResult, error) {
	sep := []byte("\n--" + k + " ")
	parts := bytes.Split(out, sep)
	if len(parts) < 2 || len(bytes.TrimSpace(parts[0])) != 0 {
		return nil, fmt.Errorf("unexpected output of the observation script: %q", clip(out))
	}
	r := probeResult{}
	parts = parts[1:]
	for i := 0; i < len(parts); i += 2 {
		head, body, ok := bytes.Cut(parts[i], []byte("\n"))
		if !ok || i+1 >= len(parts) {
			return nil, fmt.Errorf("observation script output cut short at %q", clip(parts[i]))
		}
		tail := strings.TrimSuffix(string(parts[i+1]), "\n")
		code, found := strings.CutPrefix(tail, "rc ")
		rc, err := strconv.Atoi(code)
		if !found || err != nil {
			return nil, fmt.Errorf("observation script: bad status line %q", clip(parts[i+1]))
		}
		r[string(head)] = section{out: body, rc: rc}
	}
	return r, nil
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// text returns the section's output trimmed, and whether it exists and
// succeeded.
func (r probeResult) text(tag string) (string, bool) {
	s, ok := r[tag]
	if !ok || s.rc != 0 {
		return "", false
	}
	return strings.TrimSpace(string(s.out)), true
}

// failure is the message of a failed section, or "" when it succeeded or
// did not run.
func (r probeResult) failure(tag string) string {
	s, ok := r[tag]
	if !ok || s.rc == 0 {
		return ""
	}
	msg := strings.TrimSpace(string(s.out))
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", s.rc)
	}
	return msg
}

// statInfo is what stat(1) said of a file.
type statInfo struct {
	kind  string // %F: "regular file", "directory", …
	perm  uint32 // %a: permission and special bits
	owner string
	group string
	size  int64
}

func (si statInfo) isDir() bool     { return si.kind == "directory" }
func (si statInfo) isRegular() bool { return strings.HasPrefix(si.kind, "regular") }

// mode formats the permission bits as state.File.Mode holds them: "0600".
func (si statInfo) mode() string { return fmt.Sprintf("%04o", si.perm) }

func parseStatInfo(out []byte) (statInfo, error) {
	f := strings.Split(string(out), "\n")
	if len(f) < 5 {
		return statInfo{}, fmt.Errorf("unexpected output of stat: %q", clip(out))
	}
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		return statInfo{}, fmt.Errorf("unexpected output of stat: %q", clip(out))
	}
	return statInfo{kind: f[0], perm: uint32(perm), owner: f[2], group: f[3], size: size}, nil
}

// statError turns a failed stat section's message into an error that
// errors.Is recognises as fs.ErrNotExist or fs.ErrPermission.
func statError(msg string) error {
	switch {
	case strings.Contains(msg, "No such file or directory"), strings.Contains(msg, "Not a directory"):
		return &kindError{msg: msg, kind: fs.ErrNotExist}
	case strings.Contains(msg, "Permission denied"):
		return &kindError{msg: msg, kind: fs.ErrPermission}
	}
	return &kindError{msg: msg}
}

type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// statFromHost converts a transport's FileInfo.
func statFromHost(fi host.FileInfo) statInfo {
	si := statInfo{owner: fi.Owner, group: fi.Group, size: fi.Size, perm: uint32(fi.Mode.Perm())}
	if fi.Mode&fs.ModeSetuid != 0 {
		si.perm |= 0o4000
	}
	if fi.Mode&fs.ModeSetgid != 0 {
		si.perm |= 0o2000
	}
	if fi.Mode&fs.ModeSticky != 0 {
		si.perm |= 0o1000
	}
	switch {
	case fi.Mode.IsDir():
		si.kind = "directory"
	case fi.Mode.IsRegular():
		si.kind = "regular file"
	default:
		si.kind = "other"
	}
	return si
}
