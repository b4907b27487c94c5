package observe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/host"
)

// probeScript gathers, in one command run as the OS user on one host, what
// that host says of all the nodes observed there: its machine id, the
// version of each bin directory's server binaries, each data directory
// (stat, listing, PG_VERSION, pg_controldata) and the free space where it
// lives, and the config files and passfiles expected to be read. One
// command per host, and a handful of processes in it however many nodes
// share the host, keep observation to one round trip per host over SSH and
// cheap on a busy machine.
//
// Its arguments are data, never script text: $1 is a random boundary, then
// items, each a kind and a path:
//
//	v:BINDIR   the version of BINDIR's binaries: pg_controldata --version
//	           when BINDIR/postgres is executable (the same release as
//	           "postgres --version", at a tenth of its cost)
//	d:PATH     a data directory to examine and list
//	f:PATH     a file to examine and read
//	c:DATADIR  b:BINDIR   (a pair) PG_VERSION and pg_controldata of a data
//	           directory, and the free space of its file system
//
// Its output is a sequence of sections, each
//
//	\n--BOUNDARY TAG\n<output>\n--BOUNDARY rc STATUS\n
//
// so that any bytes, file contents included, pass unchanged: the boundary is
// 128 random bits that no file holds by chance. Lists in a section are
// NUL-separated. Error text never shares a section with file contents (a
// partly read passfile must not leak into a message).
//
// Sections: machine-id; "version K" for the K-th v: item; missing (for each
// d: or f: path that does not exist, "ENOENT PATH" or, when a directory on
// the way cannot be searched, "EACCES PATH"); stat (stat(1) records of the
// others); noread (regular files the user cannot read); cat (the readable
// regular f: files, concatenated in order, split by their sizes);
// unlistable (d: directories the user cannot list); list (pairs of listed
// directory and entry name); "pg_version K" and "controldata K" for the
// K-th c: item that has a PG_VERSION; df (one record per c: item, for its
// nearest existing directory).
const probeScript = `K=$1
shift
LC_ALL=C
export LC_ALL
cd / || exit 1
s() { printf '\n--%s %s\n' "$K" "$1"; }
e() { printf '\n--%s rc %d\n' "$K" "$1"; }
s machine-id
{ id=; read -r id </etc/machine-id || read -r id </var/lib/dbus/machine-id || [ -n "$id" ]; } 2>/dev/null
r=$?; printf '%s' "$id"; e $r
k=0
for a do
	case $a in v:*)
		s "version $k"
		b=${a#v:}
		if [ -x "$b/postgres" ]; then "$b/pg_controldata" --version 2>&1
		elif [ -e "$b/postgres" ]; then printf '%s: Permission denied' "$b/postgres"; false
		else printf '%s: No such file or directory' "$b/postgres"; false; fi
		e $?; k=$((k+1));;
	esac
done
s missing
for a do
	case $a in d:*|f:*)
		p=${a#??}
		if [ ! -e "$p" ]; then
			q=${p%/*}; [ -n "$q" ] || q=/
			while [ ! -e "$q" ]; do q=${q%/*}; [ -n "$q" ] || q=/; done
			if [ -d "$q" ] && [ ! -x "$q" ]; then printf 'EACCES %s\0' "$p"; else printf 'ENOENT %s\0' "$p"; fi
		fi;;
	esac
done
e 0
s stat
( n=$#
for a do case $a in d:*|f:*) p=${a#??}; [ -e "$p" ] && set -- "$@" "$p";; esac; done
shift $n
[ $# -eq 0 ] || exec stat -L --printf='%F\n%a\n%U\n%G\n%s\n%n\0' -- "$@" ) 2>/dev/null
e $?
s noread
for a do case $a in f:*) p=${a#f:}; [ -f "$p" ] && [ ! -r "$p" ] && printf '%s\0' "$p";; esac; done
e 0
s cat
( n=$#
for a do case $a in f:*) p=${a#f:}; [ -f "$p" ] && [ -r "$p" ] && set -- "$@" "$p";; esac; done
shift $n
[ $# -eq 0 ] || exec cat -- "$@" ) 2>/dev/null
e $?
s unlistable
for a do case $a in d:*) p=${a#d:}; [ -d "$p" ] && { [ -r "$p" ] && [ -x "$p" ] || printf '%s\0' "$p"; };; esac; done
e 0
s list
for a do
	case $a in d:*)
		p=${a#d:}
		if [ -d "$p" ] && [ -r "$p" ] && [ -x "$p" ]; then
			for f in "$p"/* "$p"/.[!.]* "$p"/..?*; do
				if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0%s\0' "$p" "${f##*/}"; fi
			done
		fi;;
	esac
done
e 0
k=0
for a do
	case $a in
	c:*) D=${a#c:};;
	b:*)
		if [ -f "$D/PG_VERSION" ]; then
			s "pg_version $k"
			{ v=; read -r v <"$D/PG_VERSION" || [ -n "$v" ]; } 2>&1 && printf '%s' "$v"; e $?
			s "controldata $k"; "${a#b:}/pg_controldata" -D "$D" 2>&1; e $?
		fi
		k=$((k+1));;
	esac
done
s df
( n=$#
for a do
	case $a in c:*)
		p=${a#c:}
		while [ ! -e "$p" ]; do p=${p%/*}; [ -n "$p" ] || p=/; done
		set -- "$@" "$p";;
	esac
done
shift $n
exec stat -f -L --printf='%a %S %n\0' -- "$@" ) 2>&1
e $?
`

// probeTarget is one node's part of a host's probe.
type probeTarget struct {
	dataDir, binDir string
	files           []string // config files to read, the passfile among them
}

// section is one section of the probe's output.
type section struct {
	out []byte
	rc  int
}

// hostFacts is what the probe found on one host, by path.
type hostFacts struct {
	machineID string
	// binVersion is the binaries' "--version" by bin directory; binErr
	// says why there is none.
	binVersion, binErr map[string]string
	// files holds the data directories and the files.
	files map[string]*fileFact
	// listing is the entries of each listed data directory.
	listing map[string][]string
	// pgVersion, controlData and controlErr are by data directory, for
	// those with a PG_VERSION; pgVersionErr says why it was unreadable.
	pgVersion, pgVersionErr, controlData, controlErr map[string]string
	// free is the free bytes near each data directory; freeErr why not.
	free    map[string]uint64
	freeErr error
}

// fileFact is what was found of one file or directory.
type fileFact struct {
	path    string
	info    statInfo
	statErr error // fs.ErrNotExist when the file is missing
	data    []byte
	readErr error
	// unlistable: a directory the user may not list.
	unlistable bool
}

// runProbe runs the probe for targets on tr as osUser.
func runProbe(ctx context.Context, tr host.Transport, osUser string, targets []probeTarget) (*hostFacts, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("probe boundary: %w", err)
	}
	k := hex.EncodeToString(b[:])

	var bins, dirs, files, pairs []string
	seen := map[string]bool{}
	once := func(key string) bool {
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}
	for _, t := range targets {
		if once("v:" + t.binDir) {
			bins = append(bins, t.binDir)
		}
		if once("d:" + t.dataDir) {
			dirs = append(dirs, t.dataDir)
			pairs = append(pairs, t.dataDir, t.binDir)
		}
		for _, f := range t.files {
			if once("f:" + f) {
				files = append(files, f)
			}
		}
	}
	argv := []string{"sh", "-c", probeScript, "pgrepl-observe", k}
	for _, p := range bins {
		argv = append(argv, "v:"+p)
	}
	for _, p := range dirs {
		argv = append(argv, "d:"+p)
	}
	for _, p := range files {
		argv = append(argv, "f:"+p)
	}
	for i := 0; i < len(pairs); i += 2 {
		argv = append(argv, "c:"+pairs[i], "b:"+pairs[i+1])
	}
	res, err := tr.Run(ctx, host.Cmd{Argv: argv, As: osUser, Light: true})
	if err != nil {
		// The step is this one; the script's text would only blur it.
		var oe *host.OpError
		if errors.As(err, &oe) && oe.Op == "run" {
			return nil, oe.Err
		}
		return nil, err
	}
	if res.ExitCode != 0 || res.Signal != "" {
		why := res.Status()
		if msg := strings.TrimSpace(string(res.Stderr)); msg != "" {
			why += ": " + msg
		}
		return nil, fmt.Errorf("the observation script (sh) failed: %s", why)
	}
	secs, err := parseProbe(res.Stdout, k)
	if err != nil {
		return nil, err
	}
	return secs.facts(bins, dirs, files)
}

// probeResult is the probe's output by tag.
type probeResult map[string]section

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

// records splits a NUL-separated list.
func (r probeResult) records(tag string) []string {
	var out []string
	for _, rec := range strings.Split(string(r[tag].out), "\x00") {
		if rec != "" {
			out = append(out, rec)
		}
	}
	return out
}

// facts turns the sections into facts by path. bins, dirs and files are the
// probe's items, in order.
func (r probeResult) facts(bins, dirs, files []string) (*hostFacts, error) {
	h := &hostFacts{
		binVersion: map[string]string{}, binErr: map[string]string{},
		files:     map[string]*fileFact{},
		listing:   map[string][]string{},
		pgVersion: map[string]string{}, pgVersionErr: map[string]string{},
		controlData: map[string]string{}, controlErr: map[string]string{},
		free: map[string]uint64{},
	}
	h.machineID, _ = r.text("machine-id")
	for i, b := range bins {
		tag := fmt.Sprintf("version %d", i)
		if v, ok := r.text(tag); ok {
			h.binVersion[b] = v
		} else {
			h.binErr[b] = r.failure(tag)
		}
	}
	fact := func(p string) *fileFact {
		f := h.files[p]
		if f == nil {
			f = &fileFact{path: p}
			h.files[p] = f
		}
		return f
	}
	for _, rec := range r.records("missing") {
		why, p, _ := strings.Cut(rec, " ")
		kind := fs.ErrNotExist
		msg := "No such file or directory"
		if why == "EACCES" {
			kind, msg = fs.ErrPermission, "Permission denied"
		}
		fact(p).statErr = &fs.PathError{Op: "stat", Path: p, Err: &kindError{msg: msg, kind: kind}}
	}
	for _, rec := range r.records("stat") {
		si, name, err := parseStatRecord(rec)
		if err != nil {
			return nil, err
		}
		fact(name).info = si
	}
	for _, p := range r.records("noread") {
		fact(p).readErr = &fs.PathError{Op: "open", Path: p, Err: &kindError{msg: "Permission denied", kind: fs.ErrPermission}}
	}
	// The readable regular files, in item order, make up the cat section.
	catted := r["cat"]
	var parts []*fileFact
	total := 0
	for _, p := range files {
		f := h.files[p]
		if f == nil || f.statErr != nil || !f.info.isRegular() || f.readErr != nil {
			continue
		}
		parts = append(parts, f)
		total += int(f.info.size)
	}
	if catted.rc == 0 && total == len(catted.out) {
		off := 0
		for _, f := range parts {
			f.data = catted.out[off : off+int(f.info.size) : off+int(f.info.size)]
			off += int(f.info.size)
		}
	}
	// Else a file changed between stat and cat: the recorder reads those
	// files again on their own.
	for _, p := range r.records("unlistable") {
		fact(p).unlistable = true
	}
	list := r.records("list")
	for i := 0; i+1 < len(list); i += 2 {
		h.listing[list[i]] = append(h.listing[list[i]], list[i+1])
	}
	for _, d := range dirs {
		if f := h.files[d]; f != nil && f.info.isDir() && !f.unlistable && h.listing[d] == nil {
			h.listing[d] = []string{} // listed, empty
		}
	}
	for i, d := range dirs {
		if s, ok := r[fmt.Sprintf("pg_version %d", i)]; ok {
			if s.rc == 0 {
				h.pgVersion[d] = strings.TrimSpace(string(s.out))
			} else {
				h.pgVersionErr[d] = r.failure(fmt.Sprintf("pg_version %d", i))
			}
			tag := fmt.Sprintf("controldata %d", i)
			if out, ok := r.text(tag); ok {
				h.controlData[d] = out
			} else {
				h.controlErr[d] = r.failure(tag)
			}
		}
	}
	if msg := r.failure("df"); msg != "" {
		h.freeErr = errors.New(msg)
	} else {
		recs := r.records("df")
		if len(recs) != len(dirs) {
			h.freeErr = fmt.Errorf("unexpected output of stat -f: %q", clip(r["df"].out))
		}
		for i := 0; i < len(recs) && i < len(dirs); i++ {
			var avail, bsize uint64
			f := strings.SplitN(recs[i], " ", 3)
			if _, err := fmt.Sscanf(recs[i], "%d %d", &avail, &bsize); err != nil || len(f) != 3 {
				h.freeErr = fmt.Errorf("unexpected output of stat -f: %q", recs[i])
				break
			}
			name := f[2]
			if d := dirs[i]; name != d && name != "/" && !strings.HasPrefix(d, name+"/") {
				h.freeErr = fmt.Errorf("stat -f measured %s for %s", name, d)
				break
			}
			h.free[dirs[i]] = avail * bsize
		}
	}
	return h, nil
}

// statInfo is what stat(1) said of a file.
type statInfo struct {
	kind  string // %F: "regular file", "directory", …; "" when not examined
	perm  uint32 // %a: permission and special bits
	owner string
	group string
	size  int64
}

func (si statInfo) isDir() bool     { return si.kind == "directory" }
func (si statInfo) isRegular() bool { return strings.HasPrefix(si.kind, "regular") }

// mode formats the permission bits as state.File.Mode holds them: "0600".
func (si statInfo) mode() string { return fmt.Sprintf("%04o", si.perm) }

// parseStatRecord parses one "%F\n%a\n%U\n%G\n%s\n%n" record.
func parseStatRecord(rec string) (statInfo, string, error) {
	f := strings.SplitN(rec, "\n", 6)
	if len(f) != 6 {
		return statInfo{}, "", fmt.Errorf("unexpected output of stat: %q", clip([]byte(rec)))
	}
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || !path.IsAbs(f[5]) {
		return statInfo{}, "", fmt.Errorf("unexpected output of stat: %q", clip([]byte(rec)))
	}
	return statInfo{kind: f[0], perm: uint32(perm), owner: f[2], group: f[3], size: size}, f[5], nil
}

type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// statFromHost converts a transport's FileInfo.
func statFromHost(fi host.FileInfo) statInfo {
	si := statInfo{owner: fi.Owner, group: fi.Group, size: fi.Size, perm: host.UnixPerm(fi.Mode)}
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
