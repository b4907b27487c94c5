package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/state"
)

// Backup is the previous version of a file that apply replaced, kept beside
// it.
type Backup struct {
	Node string // spec node name
	Path string // the file
	// Copy is <file>.pgrepl-<timestamp>, a copy of the previous version
	// with its owner, mode and times; "" when there was no previous file.
	// When that version held a password, the copy has it masked.
	Copy string
	// original is the previous version when Copy has a password masked:
	// what Restore puts back. It lives only as long as the apply.
	original []byte
}

// ChangedError refuses to write a file that is no longer what the plan saw.
type ChangedError struct {
	Node, Path string
	Want, Got  string // sha256; "" = no file
}

func (e *ChangedError) Error() string {
	switch {
	case e.Want == "" && e.Got != "":
		return fmt.Sprintf("%s: file %s was created since the plan; nothing written", e.Node, e.Path)
	case e.Want != "" && e.Got == "":
		return fmt.Sprintf("%s: file %s was removed since the plan; nothing written", e.Node, e.Path)
	}
	return fmt.Sprintf("%s: file %s changed since the plan (sha256 %s, the plan saw %s); nothing written", e.Node, e.Path, short(e.Got), short(e.Want))
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// EditFile replaces the file at path on n's host with content, provided it
// still has the sha256 wantSHA ("" = the plan saw no file there). The
// previous version is copied first to <path>.pgrepl-<stamp> (owner, mode and
// times kept; a name already taken gets a suffix -1, -2, …); the new one is
// written atomically, keeping the file's owner and mode (a new file gets
// mode).
//
// When the previous version holds a password, prev is its bytes and masked
// the same with the password masked: the copy gets masked instead, so that
// pgrepl leaves no new copy of a secret (the password moves to a passfile),
// and Restore puts prev back.
func EditFile(ctx context.Context, n *Node, path, wantSHA string, content []byte, mode fs.FileMode, stamp string, prev, masked []byte) (Backup, error) {
	b := Backup{Node: n.Name(), Path: path}
	if prev != nil {
		if got := state.Hash(prev); got != wantSHA {
			return b, &ChangedError{Node: n.Name(), Path: path, Want: wantSHA, Got: got}
		}
		b.original = prev
	}
	var err error
	if b.Copy, err = checkAndBackup(ctx, n, path, wantSHA, stamp, prev != nil); err != nil {
		return b, err
	}
	if prev != nil && b.Copy != "" {
		if err := n.Transport.WriteFileAtomic(ctx, b.Copy, masked, host.WriteOptions{}); err != nil {
			return b, fmt.Errorf("%s: keep the previous %s with its password masked: %w", n.Name(), path, err)
		}
	}
	if mode == 0 {
		mode = 0o600
	}
	if err := n.Transport.WriteFileAtomic(ctx, path, content, host.WriteOptions{Mode: mode}); err != nil {
		return b, fmt.Errorf("%s: %w", n.Name(), err)
	}
	return b, nil
}

// backupScript checks that "$1" has the sha256 "$2" ("" = that there is no
// such file; else exit 4 with the hash it has on stdout), then copies it to
// "$3", or "$3-1", "$3-2", … when taken, keeping mode, owner (as far as the
// user may) and times, and prints the copy's name; with "$4" = 1 only its
// attributes, into an empty file that pgrepl then fills. One command, so
// that an edit costs two round trips to the host: this, and the write.
const backupScript = `if [ -e "$1" ]; then
	got=$(sha256sum < "$1") || exit 1
	got=${got%% *}
else
	got=
fi
if [ "$got" != "$2" ]; then printf '%s\n' "$got"; exit 4; fi
[ -z "$got" ] && exit 0
dst=$3
i=0
while [ -e "$dst" ] || [ -L "$dst" ]; do
	i=$((i + 1))
	if [ "$i" -gt 99 ]; then echo "100 backups named $3* exist already" >&2; exit 1; fi
	dst=$3-$i
done
if [ "$4" = 1 ]; then
	cp -p --attributes-only -- "$1" "$dst" || exit 1
else
	cp -p -- "$1" "$dst" || exit 1
fi
printf '%s\n' "$dst"
`

// checkAndBackup refuses a file that changed since the plan and keeps a
// copy of it beside it (of its attributes only, when attributesOnly); it
// returns the copy's name ("" for no file).
func checkAndBackup(ctx context.Context, n *Node, path, wantSHA, stamp string, attributesOnly bool) (string, error) {
	only := "0"
	if attributesOnly {
		only = "1"
	}
	res, err := n.Transport.Run(ctx, host.Cmd{
		Argv: []string{"sh", "-c", backupScript, "pgrepl-backup", path, wantSHA, path + ".pgrepl-" + stamp, only},
		As:   n.Spec.OSUser,
	})
	if err != nil {
		return "", fmt.Errorf("%s: keep the previous %s: %w", n.Name(), path, err)
	}
	out := strings.TrimSpace(string(res.Stdout))
	switch res.ExitCode {
	case 0:
		return out, nil
	case 4:
		return "", &ChangedError{Node: n.Name(), Path: path, Want: wantSHA, Got: out}
	}
	return "", fmt.Errorf("%s: keep the previous %s: %w", n.Name(), path, res.Err())
}

// Restore puts the previous version of b's file back (atomically, keeping
// the current file's owner and mode). A file that did not exist before is
// moved aside to <path>.pgrepl-<stamp>-undone rather than removed.
func (b Backup) Restore(ctx context.Context, n *Node, stamp string) error {
	if b.Copy == "" {
		if err := n.Transport.Rename(ctx, b.Path, b.Path+".pgrepl-"+stamp+"-undone"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: undo the new %s: %w", n.Name(), b.Path, err)
		}
		return nil
	}
	old := b.original
	if old == nil {
		var err error
		if old, err = n.Transport.ReadFile(ctx, b.Copy); err != nil {
			return fmt.Errorf("%s: put back %s: %w", n.Name(), b.Path, err)
		}
	}
	if err := n.Transport.WriteFileAtomic(ctx, b.Path, old, host.WriteOptions{}); err != nil {
		return fmt.Errorf("%s: put back %s from %s: %w", n.Name(), b.Path, b.Copy, err)
	}
	return nil
}

// PassfileEntry is one line of a libpq password file.
type PassfileEntry struct {
	Host, Port, Database, User string
	Password                   string
}

// line formats e as libpq reads it.
func (e PassfileEntry) line() string {
	return libpq.PassfileLine(e.Host, e.Port, e.Database, e.User, e.Password)
}

// WritePassfile makes the passfile at path on n's host hold e: lines for
// the same host, port, database and user are replaced by e, and e comes
// first, since libpq uses the first line that matches; other lines are
// kept. The file is written atomically with mode 0600 whatever it had, as
// the node's OS user. Its content never appears in an error.
func WritePassfile(ctx context.Context, n *Node, path string, e PassfileEntry) error {
	old, err := n.Transport.ReadFile(ctx, path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: read passfile %s: %w", n.Name(), path, err)
	}
	want := [4]string{e.Host, e.Port, e.Database, e.User}
	var b strings.Builder
	b.WriteString(e.line())
	b.WriteByte('\n')
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if line == "" {
			continue
		}
		if k, ok := libpq.PassfileKey(strings.TrimRight(line, "\r\n")); ok && k == want {
			continue
		}
		b.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			b.WriteByte('\n')
		}
	}
	if err := n.Transport.WriteFileAtomic(ctx, path, []byte(b.String()), host.WriteOptions{Mode: 0o600, EnforceMode: true}); err != nil {
		return fmt.Errorf("%s: write passfile %s: %w", n.Name(), path, redactErr(err, e.Password))
	}
	fi, err := n.Transport.Stat(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: passfile %s: %w", n.Name(), path, err)
	}
	if fi.Mode.Perm() != 0o600 {
		return fmt.Errorf("%s: passfile %s has mode %04o, not 0600", n.Name(), path, fi.Mode.Perm())
	}
	if n.Spec.OSUser != "" && fi.Owner != n.Spec.OSUser {
		return fmt.Errorf("%s: passfile %s belongs to %s, not to %s, who must read it; change its owner", n.Name(), path, fi.Owner, n.Spec.OSUser)
	}
	return nil
}

// redactErr keeps a secret out of an error message, should a command ever
// echo it.
func redactErr(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "(sensitive value)"))
}
