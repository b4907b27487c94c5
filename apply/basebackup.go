package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/internal/pretty"
)

// BasebackupOptions shape Basebackup.
type BasebackupOptions struct {
	// PrimaryHost and PrimaryPort are where the standby reaches the
	// primary.
	PrimaryHost string
	PrimaryPort int
	// User is the replication role.
	User string
	// Passfile is the standby's password file for User (written before).
	Passfile string
	// Slot is the primary's replication slot for the standby; "" for none.
	Slot string
	// Checkpoint is "fast" (default) or "spread".
	Checkpoint string
	// NeedBytes is the free space the new data directory needs (the
	// primary's size with a margin); 0 skips the check.
	NeedBytes uint64
	// Stamp names the moved-aside directories.
	Stamp string
	// Progress, when set, receives pg_basebackup's progress reports.
	Progress func(Progress)
	// Command, when set, is the pg_basebackup argv the plan shows; it is
	// run as it is (after checks: it writes the data directory, asks for
	// progress, holds no password). Otherwise Basebackup builds it.
	Command []string
}

// Progress is one progress report of pg_basebackup -P.
type Progress struct {
	DoneKB, TotalKB int64
	Percent         int
}

// BasebackupResult says where things are after a basebackup, also after
// one that failed.
type BasebackupResult struct {
	// MovedAside is where the previous data directory went; "" when there
	// was none (or it was empty).
	MovedAside string
	// FailedDir is where the partial new data directory of a failed
	// pg_basebackup went; "" if it succeeded or none was left.
	FailedDir string
}

// BasebackupError is a failed basebackup: what failed and where the data is.
type BasebackupError struct {
	Node   string
	Err    error
	Stderr string // pg_basebackup's own messages, progress lines left out
	Result BasebackupResult
	// Note says what could not be tidied up, if anything.
	Note string
}

func (e *BasebackupError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: basebackup: %v", e.Node, e.Err)
	if e.Stderr != "" && !strings.Contains(e.Err.Error(), e.Stderr) {
		fmt.Fprintf(&b, "\npg_basebackup said:\n%s", indent(e.Stderr, "  "))
	}
	if e.Result.MovedAside != "" {
		fmt.Fprintf(&b, "\nthe previous data directory is intact at %s", e.Result.MovedAside)
	}
	if e.Result.FailedDir != "" {
		fmt.Fprintf(&b, "\nthe partial copy was moved to %s", e.Result.FailedDir)
	}
	if e.Note != "" {
		fmt.Fprintf(&b, "\n%s", e.Note)
	}
	return b.String()
}

func (e *BasebackupError) Unwrap() error { return e.Err }

// Basebackup replaces the standby n's data directory with a copy of the
// primary's: it checks the free space, moves the present directory aside to
// <data_dir>.pgrepl-<stamp> (never deleting it), makes a new one (mode
// 0700, owned by the OS user) and runs, as the OS user,
//
//	pg_basebackup -d "host=… port=… user=… passfile=… application_name=<node>"
//	  -D <data_dir> -Fp -Xs -R -P [-S <slot>] --checkpoint=fast|spread
//
// so the password is read from the passfile only. The server must be down.
// When pg_basebackup fails (or is killed), its partial directory is moved
// aside to <data_dir>.pgrepl-<stamp>-failed, so the next plan sees no data
// directory and plans the rebuild again.
func Basebackup(ctx context.Context, n *Node, opts BasebackupOptions) (BasebackupResult, error) {
	var r BasebackupResult
	s := n.Spec
	dataDir := path.Clean(s.DataDir)
	fail := func(err error) (BasebackupResult, error) {
		return r, &BasebackupError{Node: n.Name(), Err: err, Result: r}
	}
	if opts.Stamp == "" {
		opts.Stamp = Stamp(time.Now())
	}
	argv, err := basebackupArgv(s.BinDir, dataDir, n.Name(), opts)
	if err != nil {
		return fail(err)
	}
	if r.MovedAside, err = prepareDataDir(ctx, n, dataDir, opts); err != nil {
		return fail(err)
	}

	pw := &progressWriter{report: opts.Progress}
	res, err := n.Transport.Run(ctx, host.Cmd{Argv: argv, As: s.OSUser, Stderr: pw})
	pw.flush()
	if err == nil {
		err = res.Err()
	}
	if err == nil {
		return r, dropCopiedSocketLocks(ctx, n, dataDir)
	}
	be := &BasebackupError{Node: n.Name(), Err: err, Stderr: pw.messages(), Result: r}
	var ee *host.ExitError
	if errors.As(err, &ee) {
		be.Err = fmt.Errorf("pg_basebackup failed (%s)", ee.Status())
	}
	// Move the partial copy aside, even when ctx ended (an interrupt).
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	failed := dataDir + ".pgrepl-" + opts.Stamp + "-failed"
	if names, rerr := n.Transport.ReadDir(tctx, dataDir); rerr == nil && len(names) == 0 {
		// Nothing was copied: an empty directory holds no data.
		if err := n.Transport.Remove(tctx, dataDir); err != nil {
			be.Note = fmt.Sprintf("the empty new %s is left: %v", dataDir, err)
		}
	} else if err := n.Transport.Rename(tctx, dataDir, failed); err == nil {
		be.Result.FailedDir = failed
	} else if !errors.Is(err, fs.ErrNotExist) {
		be.Note = fmt.Sprintf("the partial new data directory is left at %s: %v", dataDir, err)
	}
	return be.Result, be
}

// basebackupArgv is the pg_basebackup command: the plan's, checked, or
//
//	pg_basebackup -d "host=… port=… user=… application_name=<node> passfile=…"
//	  -D <data_dir> -Fp -Xs -R -P [-S <slot>] --checkpoint=fast|spread
func basebackupArgv(binDir, dataDir, node string, opts BasebackupOptions) ([]string, error) {
	if len(opts.Command) > 0 {
		argv := append([]string(nil), opts.Command...)
		if path.Base(argv[0]) != "pg_basebackup" {
			return nil, fmt.Errorf("the plan's command %q is not pg_basebackup", argv[0])
		}
		target, progress := "", false
		for i, a := range argv {
			if strings.Contains(strings.ToLower(a), "password=") {
				return nil, fmt.Errorf("the plan's pg_basebackup command holds a password; refusing to put it on a command line")
			}
			switch {
			case (a == "-D" || a == "--pgdata") && i+1 < len(argv):
				target = argv[i+1]
			case strings.HasPrefix(a, "--pgdata="):
				target = strings.TrimPrefix(a, "--pgdata=")
			case a == "-P" || a == "--progress":
				progress = true
			}
		}
		if path.Clean(target) != dataDir {
			return nil, fmt.Errorf("the plan's pg_basebackup command writes %q, not the data directory %s", target, dataDir)
		}
		if !progress {
			argv = append(argv, "-P")
		}
		return argv, nil
	}
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=%s",
		libpq.QuoteValue(opts.PrimaryHost), opts.PrimaryPort, libpq.QuoteValue(opts.User), libpq.QuoteValue(node))
	if opts.Passfile != "" {
		conninfo += " passfile=" + libpq.QuoteValue(opts.Passfile)
	}
	checkpoint := opts.Checkpoint
	if checkpoint == "" {
		checkpoint = "fast"
	}
	argv := []string{path.Join(binDir, "pg_basebackup"), "-d", conninfo, "-D", dataDir, "-Fp", "-Xs", "-R", "-P"}
	if opts.Slot != "" {
		argv = append(argv, "-S", opts.Slot)
	}
	return append(argv, "--checkpoint="+checkpoint), nil
}

// prepareScript readies the data directory "$1" for pg_basebackup in one
// command: the server must be down (no postmaster.pid), the passfile "$2"
// must exist (when named), the file system must have "$3" bytes free; then
// a directory with data is moved aside to "$4" (renamed: never copied, never
// deleted; an existing "$4" is refused), an empty one is removed, and a new
// one is made with mode 0700. It prints "moved" when it moved one aside.
// Exit statuses 10-14 say which check failed.
const prepareScript = `dd=$1
if [ -e "$dd/postmaster.pid" ]; then echo "$dd/postmaster.pid exists: the server must be stopped first" >&2; exit 10; fi
if [ -n "$2" ] && [ ! -e "$2" ]; then echo "passfile $2: No such file or directory" >&2; exit 11; fi
state=missing
if [ -e "$dd" ] || [ -L "$dd" ]; then
	if [ ! -d "$dd" ]; then echo "$dd is not a directory" >&2; exit 12; fi
	if [ -z "$(ls -A -- "$dd")" ]; then state=empty; else state=full; fi
fi
if [ "$3" -gt 0 ]; then
	p=$dd
	while [ ! -e "$p" ]; do p=${p%/*}; p=${p:-/}; done
	free=$(df -P -B1 -- "$p" | awk 'NR == 2 { print $4 }')
	if [ -z "$free" ]; then echo "df $p gave no free space" >&2; exit 1; fi
	if [ "$free" -lt "$3" ]; then printf '%s\n' "$free"; exit 13; fi
fi
case $state in
empty) rmdir -- "$dd" || exit 1 ;;
full)
	if [ -e "$4" ] || [ -L "$4" ]; then echo "$4: File exists" >&2; exit 14; fi
	mv -T -- "$dd" "$4" || exit 1
	echo moved ;;
esac
mkdir -m 0700 -- "$dd" || exit 1
`

// prepareDataDir runs prepareScript and returns where the data directory
// went, if it was moved aside.
func prepareDataDir(ctx context.Context, n *Node, dataDir string, opts BasebackupOptions) (string, error) {
	aside := dataDir + ".pgrepl-" + opts.Stamp
	res, err := n.Transport.Run(ctx, host.Cmd{
		Argv: []string{"sh", "-c", prepareScript, "pgrepl-prepare", dataDir, opts.Passfile, strconv.FormatUint(opts.NeedBytes, 10), aside},
		As:   n.Spec.OSUser,
	})
	if err != nil {
		return "", err
	}
	out := strings.TrimSpace(string(res.Stdout))
	switch res.ExitCode {
	case 0:
		if out == "moved" {
			return aside, nil
		}
		return "", nil
	case 13:
		free, _ := strconv.ParseUint(out, 10, 64)
		return "", fmt.Errorf("not enough free space for the new data directory beside %s: %s free, %s needed (the primary's size and 10%%); the present data directory is kept, so free space elsewhere", dataDir, pretty.Bytes(int64(free)), pretty.Bytes(int64(opts.NeedBytes)))
	case 10, 11, 12, 14:
		return "", errors.New(strings.TrimSpace(string(res.Stderr)))
	}
	return "", fmt.Errorf("prepare %s for pg_basebackup: %w", dataDir, res.Err())
}

// socketLockRE matches the lock file of a unix socket PostgreSQL makes in
// its socket directory.
var socketLockRE = regexp.MustCompile(`^\.s\.PGSQL\.[0-9]+\.lock$`)

// dropCopiedSocketLocks removes the socket lock files pg_basebackup copied
// from the primary's data directory (when its unix_socket_directories is
// its data directory): no server has run in the new directory yet, so they
// name the primary's postmaster, and a standby with the same port and socket
// directory would refuse to start ("lock file … already exists").
func dropCopiedSocketLocks(ctx context.Context, n *Node, dataDir string) error {
	names, err := n.Transport.ReadDir(ctx, dataDir)
	if err != nil {
		return fmt.Errorf("read the new %s: %w", dataDir, err)
	}
	for _, name := range names {
		if socketLockRE.MatchString(name) {
			if err := n.Transport.Remove(ctx, path.Join(dataDir, name)); err != nil {
				return fmt.Errorf("remove the primary's socket lock file copied into %s: %w", dataDir, err)
			}
		}
	}
	return nil
}

// progressRE matches pg_basebackup -P's reports: "12345/67890 kB (18%), 0/1
// tablespace" (with -v, a file name follows).
var progressRE = regexp.MustCompile(`^\s*(\d+)/(\d+) kB \((\d+)%\)`)

// progressWriter takes pg_basebackup's stderr, which separates progress
// reports by '\r' on a terminal and '\n' otherwise: progress goes to report,
// other lines are kept for the error message.
type progressWriter struct {
	report func(Progress)
	mu     sync.Mutex
	line   []byte
	msgs   []string
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range b {
		if c == '\r' || c == '\n' {
			w.endLine()
			continue
		}
		w.line = append(w.line, c)
	}
	return len(b), nil
}

func (w *progressWriter) endLine() {
	line := string(w.line)
	w.line = w.line[:0]
	if strings.TrimSpace(line) == "" {
		return
	}
	if m := progressRE.FindStringSubmatch(line); m != nil {
		done, _ := strconv.ParseInt(m[1], 10, 64)
		total, _ := strconv.ParseInt(m[2], 10, 64)
		pct, _ := strconv.Atoi(m[3])
		if w.report != nil {
			w.report(Progress{DoneKB: done, TotalKB: total, Percent: pct})
		}
		return
	}
	w.msgs = append(w.msgs, line)
	if len(w.msgs) > 40 {
		w.msgs = w.msgs[len(w.msgs)-40:]
	}
}

func (w *progressWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLine()
}

// messages are the last lines pg_basebackup wrote that are not progress.
func (w *progressWriter) messages() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}
