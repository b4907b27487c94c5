// Package verify proves that replication works, with the runbook's own
// checks (DESIGN §6): for each standby, the primary's pg_stat_replication
// shows it streaming under its node name, it is in recovery, it refuses a
// write, and it replays the primary's current WAL position within a timeout.
// With a write probe, a row written on the primary is read back on every
// standby.
//
// It talks to servers only through the connect functions it is given, so
// apply and status decide how (local socket, SSH tunnel) and with what
// credentials.
package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Connect opens an administrative connection to one node.
type Connect func(ctx context.Context) (*pgx.Conn, error)

// Node is one server to check.
type Node struct {
	Name    string
	Connect Connect
}

// Target is one cluster: its primary and the standbys that must stream from it.
type Target struct {
	Cluster  string
	Primary  Node
	Standbys []Node
}

// Options tune the checks.
type Options struct {
	// Timeout bounds the wait for streaming and for replay, per standby.
	Timeout time.Duration
	// WriteProbe writes a row on the primary and reads it back on each standby.
	WriteProbe bool
	// Poll is the interval between polls; default 100ms.
	Poll time.Duration
}

// Check names, as the text and JSON reports show them.
const (
	CheckStreaming  = "streaming"
	CheckInRecovery = "in_recovery"
	CheckReadOnly   = "read_only"
	CheckReplay     = "replay"
	CheckWriteProbe = "write_probe"
)

// Check is the outcome of one check on one standby.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Standby is the report of one standby.
type Standby struct {
	Node       string  `json:"node"`
	OK         bool    `json:"ok"`
	State      string  `json:"state,omitempty"`      // pg_stat_replication.state
	SyncState  string  `json:"sync_state,omitempty"` // async, sync, potential, quorum
	LagBytes   int64   `json:"lag_bytes"`
	LagSeconds float64 `json:"lag_seconds"`
	Checks     []Check `json:"checks"`
}

// Report is the verification of one cluster.
type Report struct {
	Cluster  string    `json:"cluster"`
	Primary  string    `json:"primary"`
	OK       bool      `json:"ok"`
	Standbys []Standby `json:"standbys"`
}

// Failed returns "node: check" for every failed check, in report order.
func (r *Report) Failed() []string {
	var out []string
	for _, s := range r.Standbys {
		for _, c := range s.Checks {
			if !c.OK {
				out = append(out, s.Node+": "+c.Name)
			}
		}
	}
	return out
}

// Run checks every standby of t. An error means the primary could not be
// checked at all; a standby that fails a check is reported, not an error.
func Run(ctx context.Context, t Target, opts Options) (*Report, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	primary, err := t.Primary.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify %s: connect to primary %s: %w", t.Cluster, t.Primary.Name, err)
	}
	defer primary.Close(context.WithoutCancel(ctx))

	var inRecovery bool
	if err := primary.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return nil, fmt.Errorf("verify %s: primary %s: %w", t.Cluster, t.Primary.Name, err)
	}
	if inRecovery {
		return nil, fmt.Errorf("verify %s: primary %s is in recovery: it is a standby, not a primary", t.Cluster, t.Primary.Name)
	}

	r := &Report{Cluster: t.Cluster, Primary: t.Primary.Name, OK: true}
	var probe *writeProbe
	if opts.WriteProbe {
		probe, err = startProbe(ctx, primary)
		if err != nil {
			return nil, fmt.Errorf("verify %s: write probe on primary %s: %w", t.Cluster, t.Primary.Name, err)
		}
	}
	for _, sb := range t.Standbys {
		s := checkStandby(ctx, primary, sb, probe, opts)
		r.OK = r.OK && s.OK
		r.Standbys = append(r.Standbys, s)
	}
	if probe != nil {
		if err := probe.drop(context.WithoutCancel(ctx), primary); err != nil {
			return r, fmt.Errorf("verify %s: remove the write probe table on primary %s: %w", t.Cluster, t.Primary.Name, err)
		}
	}
	return r, nil
}

func checkStandby(ctx context.Context, primary *pgx.Conn, sb Node, probe *writeProbe, opts Options) Standby {
	s := Standby{Node: sb.Name, OK: true}
	add := func(name string, ok bool, format string, args ...any) {
		s.Checks = append(s.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		s.OK = s.OK && ok
	}
	deadline := time.Now().Add(opts.Timeout)

	// Streaming, as the primary sees it. Right after a start the walsender
	// passes through startup and catchup, so wait for it.
	var state, sync string
	var lagSecs float64
	found := false
	for {
		err := primary.QueryRow(ctx, `SELECT state, sync_state, coalesce(extract(epoch FROM replay_lag), 0)::float8
			FROM pg_stat_replication WHERE application_name = $1 ORDER BY state = 'streaming' DESC LIMIT 1`, sb.Name).
			Scan(&state, &sync, &lagSecs)
		found = err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			add(CheckStreaming, false, "query pg_stat_replication: %v", err)
			break
		}
		if (found && state == "streaming") || time.Now().After(deadline) || ctx.Err() != nil {
			switch {
			case !found:
				add(CheckStreaming, false, "no pg_stat_replication row with application_name %q on the primary", sb.Name)
			case state != "streaming":
				add(CheckStreaming, false, "pg_stat_replication state is %q, not streaming", state)
			default:
				add(CheckStreaming, true, "pg_stat_replication: streaming (%s)", sync)
			}
			break
		}
		sleep(ctx, opts.Poll)
	}
	s.State, s.SyncState, s.LagSeconds = state, sync, lagSecs

	conn, err := sb.Connect(ctx)
	if err != nil {
		add(CheckInRecovery, false, "connect: %v", err)
		return s
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var rec bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
		add(CheckInRecovery, false, "query: %v", err)
	} else {
		add(CheckInRecovery, rec, "pg_is_in_recovery() = %v", rec)
	}

	ok, detail := refusesWrite(ctx, conn)
	add(CheckReadOnly, ok, "%s", detail)

	// Replay: the standby reaches the primary's current position.
	var target string
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
		add(CheckReplay, false, "read the primary's WAL position: %v", err)
	} else {
		var replayed bool
		var lag int64
		for {
			err = conn.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false),
				coalesce(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::int8`, target).Scan(&replayed, &lag)
			if err != nil || replayed || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			sleep(ctx, opts.Poll)
		}
		s.LagBytes = max(lag, 0)
		switch {
		case err != nil:
			add(CheckReplay, false, "query: %v", err)
		case replayed:
			add(CheckReplay, true, "replayed the primary's %s", target)
		default:
			add(CheckReplay, false, "did not replay the primary's %s within %s (%d bytes behind)", target, opts.Timeout, lag)
		}
	}

	if probe != nil {
		ok, detail := probe.readBack(ctx, conn, deadline, opts.Poll)
		add(CheckWriteProbe, ok, "%s", detail)
	}
	return s
}

// refusesWrite tries a write inside a transaction that is always rolled
// back, and expects PostgreSQL's read-only refusal (SQLSTATE 25006).
func refusesWrite(ctx context.Context, conn *pgx.Conn) (bool, string) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Sprintf("begin: %v", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	_, err = tx.Exec(ctx, "CREATE TABLE pgrepl_write_check (x int)")
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return false, "a write succeeded: the server is not read-only"
	case errors.As(err, &pe) && pe.Code == "25006":
		return true, "write refused: " + pe.Message
	default:
		return false, fmt.Sprintf("write failed for another reason: %v", err)
	}
}

// writeProbe is the table probeTable on the primary holding one row with a
// random token.
type writeProbe struct {
	token string
}

const probeTable = "pgrepl_write_probe"

func startProbe(ctx context.Context, primary *pgx.Conn) (*writeProbe, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	p := &writeProbe{token: hex.EncodeToString(b)}
	// A table left by an interrupted run is ours to replace.
	stmts := []string{
		"DROP TABLE IF EXISTS " + probeTable,
		"CREATE TABLE " + probeTable + " (token text NOT NULL)",
	}
	for _, q := range stmts {
		if _, err := primary.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := primary.Exec(ctx, "INSERT INTO "+probeTable+" VALUES ($1)", p.token); err != nil {
		return nil, fmt.Errorf("insert the probe row: %w", err)
	}
	return p, nil
}

func (p *writeProbe) readBack(ctx context.Context, conn *pgx.Conn, deadline time.Time, poll time.Duration) (bool, string) {
	var lastErr error
	for {
		var token string
		err := conn.QueryRow(ctx, "SELECT token FROM "+probeTable).Scan(&token)
		if err == nil && token == p.token {
			return true, "read back the row written on the primary"
		}
		lastErr = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		sleep(ctx, poll)
	}
	msg := "the row written on the primary did not arrive"
	if lastErr != nil && !strings.Contains(lastErr.Error(), "does not exist") {
		msg += ": " + lastErr.Error()
	}
	return false, msg
}

func (p *writeProbe) drop(ctx context.Context, primary *pgx.Conn) error {
	_, err := primary.Exec(ctx, "DROP TABLE IF EXISTS "+probeTable)
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
