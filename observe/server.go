package observe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/ssh"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/scram"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// connectTimeout bounds a connection attempt when the admin_dsn sets no
// connect_timeout.
const connectTimeout = 10 * time.Second

// Connect opens a connection to node n's server, as its admin_dsn says and
// through the node's transport (so that a server listening only on the
// host's loopback or unix socket is reached too).
func Connect(ctx context.Context, pool *host.Pool, n *spec.Node) (*pgx.Conn, error) {
	tr, err := Transport(ctx, pool, n)
	if err != nil {
		return nil, err
	}
	return ConnectTransport(ctx, tr, n)
}

// ConnectTransport is Connect through a transport the caller has already.
func ConnectTransport(ctx context.Context, tr host.Transport, n *spec.Node) (*pgx.Conn, error) {
	cfg, err := connConfig(tr, n)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pgrepl"
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// connConfig parses the node's admin_dsn and routes it through tr.
func connConfig(tr host.Transport, n *spec.Node) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(n.AdminDSN.Reveal())
	if err != nil {
		// pgx's message quotes the DSN, and masking a password in a
		// string that does not parse is guesswork: say less.
		return nil, fmt.Errorf("admin_dsn of node %s is not a valid connection string (it is not shown, as it may hold a password)", n.Name)
	}
	host.RoutePG(&cfg.Config, tr)
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

// serverResult is what observeServer learnt: the State's part, and the
// paths the server reads its files from.
type serverResult struct {
	server                             state.Server
	dataDirectory, configFile, hbaFile string
}

// observeServer connects to the node's server and reads everything in one
// round trip. A server that is down is a fact; a server that refuses the
// admin login is an error.
func observeServer(ctx context.Context, tr host.Transport, c *spec.Cluster, n *spec.Node) (*serverResult, error) {
	res := &serverResult{}
	cfg, err := connConfig(tr, n)
	if err != nil {
		return nil, stepErr("connect to the server", err)
	}
	// No session settings of pgrepl's own (application_name,
	// statement_timeout): pg_settings would show them instead of the
	// server's. The node's deadline bounds the queries (pgx cancels them
	// when it passes). One simple-protocol round trip reads everything.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if ctx.Err() == nil && serverDown(err) {
			res.server.Error = err.Error()
			return res, nil
		}
		return nil, stepErr("connect to the server", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if err := queryServer(ctx, conn, c, n, res); err != nil {
		return nil, stepErr("query the server", err)
	}
	return res, nil
}

// serverDown reports whether a connection error means the server is not
// running (or not yet, or no longer, accepting connections), as opposed to
// one that runs and refuses pgrepl.
func serverDown(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// cannot_connect_now: starting up, shutting down, in crash
		// recovery, or a standby without hot_standby.
		return pgErr.Code == "57P03"
	}
	if errors.Is(err, host.ErrConnLost) {
		return false
	}
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		// sshd could not connect to the socket or port (as opposed to
		// forwarding being forbidden).
		return oce.Reason == ssh.ConnectionFailed
	}
	var oe *host.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
	}
	// No answer within the connect timeout.
	return errors.Is(err, context.DeadlineExceeded)
}

// The observation queries. Each is independent of the server's version (12
// and later): columns that came later are read through to_jsonb.
const (
	qSettings = `SELECT name, coalesce(setting, ''), coalesce(unit, ''), context, vartype, source,
  coalesce(sourcefile, ''), coalesce(sourceline, 0), pending_restart
FROM pg_catalog.pg_settings`

	qStatus = `SELECT pg_catalog.pg_is_in_recovery(),
  coalesce((CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
    ELSE pg_catalog.pg_current_wal_lsn() END)::text, ''),
  (SELECT coalesce(sum(pg_catalog.pg_database_size(oid)), 0)::bigint FROM pg_catalog.pg_database)`

	qRole = `SELECT rolreplication, rolcanlogin, rolsuper, coalesce(rolpassword, ''),
  coalesce(rolvaliduntil < pg_catalog.now(), false)
FROM pg_catalog.pg_authid WHERE rolname = $1`

	// The WAL position slots and standbys are measured against: the
	// primary's insert position, a standby's replay position.
	qCurrent = `WITH cur AS (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
  ELSE pg_catalog.pg_current_wal_lsn() END AS lsn) `

	qSlots = qCurrent + `SELECT s.slot_name::text, coalesce(s.slot_type, ''), s.active, coalesce(s.restart_lsn::text, ''),
  coalesce(pg_catalog.to_jsonb(s)->>'wal_status', ''),
  greatest(coalesce(pg_catalog.pg_wal_lsn_diff(cur.lsn, s.restart_lsn), 0), 0)::bigint
FROM pg_catalog.pg_replication_slots s, cur ORDER BY s.slot_name`

	qReplication = qCurrent + `SELECT coalesce(r.application_name, ''), coalesce(pg_catalog.host(r.client_addr), ''),
  coalesce(r.state, ''), coalesce(r.sync_state, ''), coalesce(r.sent_lsn::text, ''), coalesce(r.replay_lsn::text, ''),
  greatest(coalesce(pg_catalog.pg_wal_lsn_diff(cur.lsn, r.replay_lsn), 0), 0)::bigint,
  coalesce(extract(epoch FROM r.replay_lag), 0)::float8
FROM pg_catalog.pg_stat_replication r, cur ORDER BY 1, 2, r.pid`

	qWalReceiver = `SELECT coalesce(status, ''), coalesce(sender_host, ''), coalesce(sender_port, 0), coalesce(slot_name, '')
FROM pg_catalog.pg_stat_wal_receiver`
)

// queryServer reads the server's rows into res.
func queryServer(ctx context.Context, conn *pgx.Conn, c *spec.Cluster, n *spec.Node, res *serverResult) error {
	s := &res.server
	s.Up = true
	withRole := n.Role == spec.Primary && c.Replication.User != ""

	b := &pgx.Batch{}
	b.Queue(qSettings)
	b.Queue(qStatus)
	b.Queue(qSlots)
	b.Queue(qReplication)
	b.Queue(qWalReceiver)
	if withRole {
		b.Queue(qRole, c.Replication.User)
	}
	br := conn.SendBatch(ctx, b)
	defer br.Close()

	rows, _ := br.Query()
	settings, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (state.Setting, error) {
		var st state.Setting
		var line int32
		err := r.Scan(&st.Name, &st.Setting, &st.Unit, &st.Context, &st.VarType, &st.Source, &st.SourceFile, &line, &st.PendingRestart)
		st.SourceLine = int(line)
		return st, err
	})
	if err != nil {
		return fmt.Errorf("pg_settings: %w", err)
	}
	// Byte order, whatever the database's collation.
	sort.Slice(settings, func(i, j int) bool { return settings[i].Name < settings[j].Name })
	s.Settings = settings
	for _, st := range settings {
		switch st.Name {
		case "server_version_num":
			s.VersionNum, _ = strconv.Atoi(st.Setting)
		case "server_version":
			s.Version = st.Setting
		case "data_directory":
			res.dataDirectory = st.Setting
		case "config_file":
			res.configFile = st.Setting
		case "hba_file":
			res.hbaFile = st.Setting
		}
	}
	if res.dataDirectory == "" || res.configFile == "" || res.hbaFile == "" {
		return errors.New("pg_settings hides data_directory, config_file or hba_file: the admin_dsn user must be a superuser")
	}

	if err := br.QueryRow().Scan(&s.InRecovery, &s.CurrentLSN, &s.DatabaseSize); err != nil {
		return fmt.Errorf("recovery status: %w", err)
	}

	rows, _ = br.Query()
	s.Slots, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (state.Slot, error) {
		var sl state.Slot
		err := r.Scan(&sl.Name, &sl.Type, &sl.Active, &sl.RestartLSN, &sl.WalStatus, &sl.RetainedBytes)
		return sl, err
	})
	if err != nil {
		return fmt.Errorf("pg_replication_slots: %w", err)
	}

	rows, _ = br.Query()
	s.Replication, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (state.Replication, error) {
		var rp state.Replication
		err := r.Scan(&rp.ApplicationName, &rp.ClientAddr, &rp.State, &rp.SyncState, &rp.SentLSN, &rp.ReplayLSN, &rp.ReplayLagBytes, &rp.ReplayLagSecs)
		return rp, err
	})
	if err != nil {
		return fmt.Errorf("pg_stat_replication: %w", err)
	}

	rows, _ = br.Query()
	recv, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (state.WalReceiver, error) {
		var w state.WalReceiver
		var port int32
		err := r.Scan(&w.Status, &w.SenderHost, &port, &w.SlotName)
		w.SenderPort = int(port)
		return w, err
	})
	if err != nil {
		return fmt.Errorf("pg_stat_wal_receiver: %w", err)
	}
	// Byte order, whatever the database's collation.
	sort.SliceStable(s.Slots, func(i, j int) bool { return s.Slots[i].Name < s.Slots[j].Name })
	sort.SliceStable(s.Replication, func(i, j int) bool {
		a, b := s.Replication[i], s.Replication[j]
		if a.ApplicationName != b.ApplicationName {
			return a.ApplicationName < b.ApplicationName
		}
		return a.ClientAddr < b.ClientAddr
	})
	if len(recv) > 0 {
		s.WalReceiver = &recv[0]
	}

	if withRole {
		s.Role, err = readRole(br, c)
		if err != nil {
			return fmt.Errorf("pg_authid: %w", err)
		}
	}
	return br.Close()
}

// readRole reads the replication role's row and compares its stored
// password with the spec's; the verifier goes no further than this
// function.
func readRole(br pgx.BatchResults, c *spec.Cluster) (*state.Role, error) {
	role := &state.Role{Name: c.Replication.User, Password: state.PasswordNone}
	var stored string
	err := br.QueryRow().Scan(&role.Replication, &role.Login, &role.Superuser, &stored, &role.Expired)
	if errors.Is(err, pgx.ErrNoRows) {
		return role, nil
	}
	if err != nil {
		return nil, err
	}
	role.Exists = true
	role.Password = passwordState(stored, c.Replication.Password)
	return role, nil
}

// passwordState compares a stored password (pg_authid.rolpassword) with the
// spec's.
func passwordState(stored string, want spec.Secret) state.PasswordState {
	switch {
	case stored == "":
		return state.PasswordNone
	case strings.HasPrefix(stored, "md5") && len(stored) == 35:
		return state.PasswordMD5
	case !want.IsSet():
		return state.PasswordUnknown
	}
	ok, err := scram.Matches(stored, want.Reveal())
	if err == nil && ok {
		return state.PasswordMatches
	}
	// Another SCRAM verifier, or something that is no verifier at all:
	// either way not the spec's password.
	return state.PasswordDiffers
}
