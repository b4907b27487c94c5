package apply

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/internal/scram"
	"github.com/pgrepl/pgrepl/plan"
)

// withConn runs f on a fresh administrative connection to n.
func withConn(ctx context.Context, n *Node, f func(*pgx.Conn) error) error {
	conn, err := n.Connect(ctx)
	if err != nil {
		return fmt.Errorf("%s: connect: %w", n.Name(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return f(conn)
}

// HBAError lists the lines of a pg_hba.conf that PostgreSQL rejects.
type HBAError struct {
	Node, Path string
	Lines      []HBALineError
}

// HBALineError is one rejected pg_hba.conf line.
type HBALineError struct {
	Line  int
	Error string
}

func (e *HBAError) Error() string {
	var parts []string
	for _, l := range e.Lines {
		parts = append(parts, fmt.Sprintf("line %d: %s", l.Line, l.Error))
	}
	return fmt.Sprintf("%s: PostgreSQL rejects %s: %s", e.Node, e.Path, strings.Join(parts, "; "))
}

// CheckHBA asks the server (pg_hba_file_rules, which reads the file on disk
// as a reload would) whether its pg_hba.conf loads, and returns an
// *HBAError naming every bad line when it does not.
func CheckHBA(ctx context.Context, conn *pgx.Conn, node, path string) error {
	rows, err := conn.Query(ctx, `SELECT coalesce(line_number, 0), error FROM pg_hba_file_rules WHERE error IS NOT NULL ORDER BY line_number`)
	if err != nil {
		return fmt.Errorf("%s: query pg_hba_file_rules: %w", node, err)
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HBALineError, error) {
		var l HBALineError
		err := r.Scan(&l.Line, &l.Error)
		return l, err
	})
	if err != nil {
		return fmt.Errorf("%s: query pg_hba_file_rules: %w", node, err)
	}
	if len(lines) > 0 {
		return &HBAError{Node: node, Path: path, Lines: lines}
	}
	return nil
}

// notApplied is pg_file_settings.error for a changed setting that takes a
// restart: expected before a planned restart, not a failure of the reload.
const notApplied = "setting could not be applied"

// Reload makes the server re-read its config files (pg_reload_conf) and
// confirms it took them: pg_file_settings reports no error other than
// settings that wait for a restart, and each setting of want that can change
// without a restart shows its wanted value in pg_settings (the postmaster
// signals its backends asynchronously, so this is waited for, briefly).
// want maps lowercase names to values as written in a config file.
func Reload(ctx context.Context, conn *pgx.Conn, node string, want map[string]string, timeout time.Duration) error {
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("%s: pg_reload_conf(): %w", node, err)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	version, err := serverMajor(ctx, conn)
	if err != nil {
		return fmt.Errorf("%s: after reload: %w", node, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		pending, err := settingsPending(ctx, conn, version, want, false)
		if err != nil {
			return fmt.Errorf("%s: after reload: %w", node, err)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: after reload, %s not in effect within %s", node, strings.Join(pending, ", "), timeout)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	bad, err := fileSettingErrors(ctx, conn, version)
	if err != nil {
		return fmt.Errorf("%s: query pg_file_settings: %w", node, err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: the server reports errors in its config files after the reload: %s", node, strings.Join(bad, "; "))
	}
	return nil
}

// fileSettingErrors lists what pg_file_settings reports wrong in the config
// files ("file:line: name: error"). PostgreSQL says "setting could not be
// applied" both of a bad value and of a changed setting that takes a
// restart; the latter is expected before a planned restart, so it counts
// only when the value is one PostgreSQL would refuse.
func fileSettingErrors(ctx context.Context, conn *pgx.Conn, version int) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT coalesce(f.sourcefile, ''), coalesce(f.sourceline, 0), coalesce(f.name, ''),
			coalesce(f.setting, ''), f.error, coalesce(s.context, '')
		FROM pg_file_settings f LEFT JOIN pg_settings s ON s.name = f.name
		WHERE f.error IS NOT NULL ORDER BY f.seqno`)
	if err != nil {
		return nil, err
	}
	var bad []string
	for rows.Next() {
		var file, name, value, msg, context string
		var line int
		if err := rows.Scan(&file, &line, &name, &value, &msg, &context); err != nil {
			rows.Close()
			return nil, err
		}
		p, known := catalog.Lookup(version, name)
		if msg == notApplied && name != "" {
			verr := error(nil)
			if known {
				verr = p.Check(value)
			}
			switch {
			case verr != nil:
				msg = verr.Error()
			case catalog.Context(context).NeedsRestart():
				continue // waits for the restart
			case context == "":
				msg = fmt.Sprintf("unrecognized configuration parameter %q", name)
			default:
				msg = fmt.Sprintf("invalid value %q for parameter %q", value, name)
			}
		}
		where := file
		if line > 0 {
			where += ":" + strconv.Itoa(line)
		}
		bad = append(bad, where+": "+msg)
	}
	return bad, rows.Err()
}

// confirmSettings checks, after a restart, that pg_settings shows every
// value of want.
func confirmSettings(ctx context.Context, conn *pgx.Conn, node string, want map[string]string) error {
	if len(want) == 0 {
		return nil
	}
	version, err := serverMajor(ctx, conn)
	if err != nil {
		return fmt.Errorf("%s: after restart: %w", node, err)
	}
	pending, err := settingsPending(ctx, conn, version, want, true)
	if err != nil {
		return fmt.Errorf("%s: after restart: %w", node, err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%s: after restart, the server does not run with %s", node, strings.Join(pending, ", "))
	}
	return nil
}

// settingsPending lists the settings of want that pg_settings does not show
// as wanted ("name = setting (want value)"); those that need a restart
// count only when restarted is true. version is the server's major
// version, for the catalog.
func settingsPending(ctx context.Context, conn *pgx.Conn, version int, want map[string]string, restarted bool) ([]string, error) {
	if len(want) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	rows, err := conn.Query(ctx, `SELECT name, setting, context FROM pg_settings WHERE name = ANY($1) ORDER BY name`, names)
	if err != nil {
		return nil, err
	}
	type row struct{ name, setting, context string }
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.name, &x.setting, &x.context)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, r := range got {
		if catalog.Context(r.context).NeedsRestart() && !restarted {
			continue
		}
		w := want[r.name]
		if p, ok := catalog.Lookup(version, r.name); ok {
			if p.Equal(w, r.setting) {
				continue
			}
		} else if w == r.setting {
			continue
		}
		pending = append(pending, fmt.Sprintf("%s = %q (want %q)", r.name, r.setting, w))
	}
	return pending, nil
}

// serverMajor is the major version of conn's server (15), for the catalog.
func serverMajor(ctx context.Context, conn *pgx.Conn) (int, error) {
	var version int
	err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&version)
	return version, err
}

// RoleOptions shape SetRole.
type RoleOptions struct {
	// Create makes a new role; otherwise the existing one is altered.
	Create bool
	// Attributes are the role attributes to set: LOGIN, REPLICATION (nil
	// means both).
	Attributes []string
	// Password is the plaintext; "" leaves the password as it is (alter)
	// or sets none (create).
	Password string
	// Rand is the salt's source; nil is crypto/rand.
	Rand interface{ Read([]byte) (int, error) }
}

// SetRole creates or alters the replication role name with the attributes
// asked (LOGIN and REPLICATION by default) and, when a password is given, a
// SCRAM-SHA-256 verifier
// computed here, with the server's iteration count: the server never sees
// the plaintext. The session keeps the statement out of the server log.
func SetRole(ctx context.Context, conn *pgx.Conn, node, name string, opts RoleOptions) error {
	verb := "ALTER"
	if opts.Create {
		verb = "CREATE"
	}
	attrs := opts.Attributes
	if attrs == nil {
		attrs = []string{"LOGIN", "REPLICATION"}
	}
	if len(attrs) == 0 && opts.Password == "" && !opts.Create {
		return nil // nothing to alter
	}
	stmt := verb + " ROLE " + pgx.Identifier{name}.Sanitize()
	if len(attrs) > 0 || opts.Password != "" {
		stmt += " WITH"
	}
	for _, a := range attrs {
		if !roleAttributes[a] {
			return fmt.Errorf("%s: %s ROLE %s: unknown role attribute %q", node, verb, name, a)
		}
		stmt += " " + a
	}
	if opts.Password != "" {
		iter, err := scramIterations(ctx, conn)
		if err != nil {
			return fmt.Errorf("%s: %w", node, err)
		}
		v, err := scram.New(opts.Password, iter, opts.Rand)
		if err != nil {
			return fmt.Errorf("%s: %w", node, err)
		}
		// A verifier is base64, digits, '$' and ':': nothing to escape in
		// a string literal (utility statements take no parameters).
		stmt += " PASSWORD '" + v.String() + "'"
	}
	// Keep the statement out of the server log even when it fails
	// (log_min_error_statement) or is slow (log_min_duration_statement).
	for _, set := range []string{
		"SET log_statement = 'none'",
		"SET log_min_duration_statement = -1",
		"SET log_min_error_statement = 'panic'",
	} {
		if _, err := conn.Exec(ctx, set); err != nil {
			return fmt.Errorf("%s: %s: %w", node, set, err)
		}
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s: %s ROLE %s: %s (SQLSTATE %s)", node, verb, name, pe.Message, pe.Code)
		}
		return fmt.Errorf("%s: %s ROLE %s: %w", node, verb, name, err)
	}
	return nil
}

// roleAttributes are the attributes SetRole may set; the statement is built
// from them, so nothing else may pass.
var roleAttributes = map[string]bool{"LOGIN": true, "REPLICATION": true, plan.AttrNoExpiry: true}

// scramIterations is the server's scram_iterations (PostgreSQL 16 and
// later), else PostgreSQL's fixed 4096.
func scramIterations(ctx context.Context, conn *pgx.Conn) (int, error) {
	var s string
	err := conn.QueryRow(ctx, "SELECT coalesce(current_setting('scram_iterations', true), '')").Scan(&s)
	if err != nil {
		return 0, fmt.Errorf("read scram_iterations: %w", err)
	}
	if s == "" {
		return scram.DefaultIterations, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("scram_iterations is %q", s)
	}
	return n, nil
}

// CreateSlot creates the physical replication slot name, reserving WAL at
// once, so that a basebackup that follows is covered from its start.
func CreateSlot(ctx context.Context, conn *pgx.Conn, node, name string) error {
	if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot($1, true)", name); err != nil {
		return fmt.Errorf("%s: create replication slot %s: %w", node, name, err)
	}
	return nil
}

// DropSlot drops the replication slot name. A slot in use belongs to a
// standby that streams through it: with disconnect (the plan saw that standby
// connected and says it ends that connection) its walsender is terminated
// first, else an active slot is refused, since the plan saw it idle.
func DropSlot(ctx context.Context, conn *pgx.Conn, node, name string, disconnect bool) error {
	// A walreceiver retries after wal_retrieve_retry_interval (5s by
	// default), so one termination normally wins; a few tries cover a race.
	for attempt := 0; ; attempt++ {
		var active bool
		var pid *int32
		err := conn.QueryRow(ctx, "SELECT active, active_pid FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&active, &pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: drop replication slot %s: there is no such slot", node, name)
		}
		if err != nil {
			return fmt.Errorf("%s: drop replication slot %s: %w", node, name, err)
		}
		if !active {
			break
		}
		who := ""
		if pid != nil {
			who = fmt.Sprintf(" by process %d", *pid)
		}
		if !disconnect {
			return fmt.Errorf("%s: replication slot %s is in use%s, though it was idle when the plan was made; a standby streams through it: stop that standby or repoint it, then plan again", node, name, who)
		}
		if attempt == 5 {
			return fmt.Errorf("%s: replication slot %s is still in use%s after ending its connection %d times: the standby reconnects; stop it first", node, name, who, attempt)
		}
		if pid != nil {
			if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend($1, 10000)", *pid); err != nil {
				return fmt.Errorf("%s: end the connection of process %d on slot %s: %w", node, *pid, name, err)
			}
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	// The slot can turn active between the check and the drop; PostgreSQL
	// then refuses the drop itself, which is the right answer.
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", name); err != nil {
		return fmt.Errorf("%s: drop replication slot %s: %w", node, name, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
