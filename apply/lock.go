package apply

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/spec"
)

// LockPath is where the lock of cluster lives on the primary's host: beside
// the primary's data directory, in the directory that holds it (writable by
// the OS user, kept across restarts and reboots, and outside the data
// directory, which pg_basebackup would copy).
func LockPath(primaryDataDir, cluster string) string {
	return path.Join(path.Dir(path.Clean(primaryDataDir)), ".pgrepl-"+lockName(cluster)+".lock")
}

// lockName keeps a cluster name usable in a file name.
func lockName(cluster string) string {
	var b strings.Builder
	for _, r := range cluster {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// LockInfo is what a lock file says of its holder.
type LockInfo struct {
	Who   string    // user@machine of the pgrepl that holds it
	PID   int       // its process id on that machine
	Since time.Time // when it took the lock
	Token string    // random; tells this holder from a later one
}

func (li LockInfo) encode() []byte {
	return fmt.Appendf(nil, "who: %s\npid: %d\nsince: %s\ntoken: %s\n",
		li.Who, li.PID, li.Since.UTC().Format(time.RFC3339), li.Token)
}

func decodeLockInfo(b []byte) LockInfo {
	var li LockInfo
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch k {
		case "who":
			li.Who = v
		case "pid":
			li.PID, _ = strconv.Atoi(v)
		case "since":
			li.Since, _ = time.Parse(time.RFC3339, v)
		case "token":
			li.Token = v
		}
	}
	return li
}

// LockedError is the refusal of a lock that another apply holds.
type LockedError struct {
	Cluster string
	Path    string
	Host    string // transport name of the primary's host
	Holder  LockInfo
	// Note adds what is known of the holder ("no such process on this
	// machine"), if anything.
	Note string
}

func (e *LockedError) Error() string {
	who := e.Holder.Who
	if who == "" {
		who = "an unknown holder"
	}
	since := "an unknown time"
	if !e.Holder.Since.IsZero() {
		since = e.Holder.Since.UTC().Format(time.RFC3339)
	}
	pid := ""
	if e.Holder.PID > 0 {
		pid = fmt.Sprintf(" (pid %d)", e.Holder.PID)
	}
	msg := fmt.Sprintf("cluster %s is locked by %s%s since %s: another pgrepl apply is running", e.Cluster, who, pid, since)
	if e.Note != "" {
		msg += " (" + e.Note + ")"
	}
	return msg + fmt.Sprintf("; if it is not, remove %s on %s", e.Path, e.Host)
}

// LockOptions shape Lock.
type LockOptions struct {
	// Wait is how long to wait for a lock that is held; 0 refuses at once.
	Wait time.Duration
	// Poll is the interval between attempts while waiting; default 1s.
	Poll time.Duration
	// Waiting, when set, is called once when the lock is found held and
	// Lock is about to wait.
	Waiting func(*LockedError)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Held is a lock this process holds.
type Held struct {
	Path string
	Info LockInfo
	tr   host.Transport
	as   string
}

// lockScript takes the lock "$1" with the content on stdin: written to a
// temporary file first, then hard-linked to the lock's name, which fails
// when the name exists. So the lock is taken or not in one step, and a
// lock file is never seen half written. Exit status 3: the lock is held,
// and its content is on stdout.
const lockScript = `set -e
lock=$1
dir=${lock%/*}
tmp=$(mktemp -- "$dir/.pgrepl-lock.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
if ln -- "$tmp" "$lock" 2>/dev/null; then exit 0; fi
if [ -e "$lock" ]; then cat -- "$lock" || true; exit 3; fi
ln -- "$tmp" "$lock"
`

// Lock takes the cluster's lock at lockPath on tr's host, acting as the OS
// user as. A lock that another holder has is refused with a *LockedError,
// after waiting up to opts.Wait for it to be released.
func Lock(ctx context.Context, tr host.Transport, as, cluster, lockPath string, opts LockOptions) (*Held, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	tok := make([]byte, 12)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("lock cluster %s: %w", cluster, err)
	}
	info := LockInfo{Who: whoAmI(), PID: os.Getpid(), Since: opts.Now().UTC().Truncate(time.Second), Token: hex.EncodeToString(tok)}
	deadline := opts.Now().Add(opts.Wait)
	told := false
	for {
		res, err := tr.Run(ctx, host.Cmd{
			Argv:  []string{"sh", "-c", lockScript, "pgrepl-lock", lockPath},
			As:    as,
			Stdin: bytes.NewReader(info.encode()),
		})
		if err != nil {
			return nil, fmt.Errorf("lock cluster %s: %w", cluster, err)
		}
		switch res.ExitCode {
		case 0:
			return &Held{Path: lockPath, Info: info, tr: tr, as: as}, nil
		case 3:
		default:
			return nil, fmt.Errorf("lock cluster %s: create %s: %w", cluster, lockPath, res.Err())
		}
		le := &LockedError{Cluster: cluster, Path: lockPath, Host: tr.Name(), Holder: decodeLockInfo(res.Stdout)}
		le.Note = holderNote(le.Holder)
		if !opts.Now().Before(deadline) {
			return nil, le
		}
		if !told && opts.Waiting != nil {
			opts.Waiting(le)
			told = true
		}
		t := time.NewTimer(opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the lock of cluster %s: %w", cluster, ctx.Err())
		case <-t.C:
		}
	}
}

// holderNote says that a holder on this very machine is gone, which makes
// the lock surely stale. Elsewhere nothing can be known.
func holderNote(li LockInfo) string {
	if li.Who != whoAmI() || li.PID <= 0 {
		return ""
	}
	if err := syscall.Kill(li.PID, 0); errors.Is(err, syscall.ESRCH) {
		return fmt.Sprintf("pid %d is not running on this machine", li.PID)
	}
	return ""
}

// releaseScript removes the lock "$1" if it still holds the token "$2";
// exit 5 when it is gone, 6 (with its content on stdout) when another
// holder has it now.
const releaseScript = `if [ ! -e "$1" ]; then exit 5; fi
tok=$(sed -n 's/^token: //p' "$1") || exit 1
if [ "$tok" != "$2" ]; then cat -- "$1"; exit 6; fi
exec rm -f -- "$1"
`

// Release removes the lock, if it is still this holder's. It works after
// ctx has ended: an apply that was interrupted still releases its lock.
func (h *Held) Release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res, err := h.tr.Run(ctx, host.Cmd{Argv: []string{"sh", "-c", releaseScript, "pgrepl-unlock", h.Path, h.Info.Token}, As: h.as})
	if err != nil {
		return fmt.Errorf("release lock %s: %w", h.Path, err)
	}
	switch res.ExitCode {
	case 0:
		return nil
	case 5:
		return fmt.Errorf("release lock %s on %s: someone removed it while this apply held it", h.Path, h.tr.Name())
	case 6:
		got := decodeLockInfo(res.Stdout)
		return fmt.Errorf("release lock %s on %s: it is now held by %s (pid %d), not by this apply; left in place", h.Path, h.tr.Name(), got.Who, got.PID)
	}
	return fmt.Errorf("release lock %s: %w", h.Path, res.Err())
}

// whoAmI is user@machine of this process.
func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	machine, err := os.Hostname()
	if err != nil || machine == "" {
		machine = "unknown"
	}
	return name + "@" + machine
}

// Locks are the locks of the clusters an apply changes.
type Locks struct {
	held []*Held
}

// LockClusters takes the lock of each named cluster of sp (in order) on its
// primary's host, as the primary's OS user. When one is refused, those
// taken are released again.
func LockClusters(ctx context.Context, sp *spec.Spec, clusters []string, transport func(context.Context, *spec.Node) (host.Transport, error), opts LockOptions) (*Locks, error) {
	l := &Locks{}
	for _, name := range clusters {
		c := sp.Cluster(name)
		if c == nil || c.Primary == nil {
			_ = l.Release(ctx)
			return nil, fmt.Errorf("lock cluster %s: the spec has no such cluster with a primary", name)
		}
		p := c.Primary
		tr, err := transport(ctx, p)
		if err != nil {
			_ = l.Release(ctx)
			return nil, fmt.Errorf("lock cluster %s on its primary %s: %w", name, p.Name, err)
		}
		h, err := Lock(ctx, tr, p.OSUser, name, LockPath(p.DataDir, name), opts)
		if err != nil {
			_ = l.Release(ctx)
			return nil, err
		}
		l.held = append(l.held, h)
	}
	return l, nil
}

// Release releases every lock, the last taken first.
func (l *Locks) Release(ctx context.Context) error {
	if l == nil {
		return nil
	}
	var errs []error
	for i := len(l.held) - 1; i >= 0; i-- {
		errs = append(errs, l.held[i].Release(ctx))
	}
	l.held = nil
	return errors.Join(errs...)
}
