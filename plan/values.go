package plan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// builtinDefaults are the built-in values (boot_val) of the parameters
// pgrepl derives, the same in PostgreSQL 12 to 17. They answer "what does
// the server use when no file sets it" when the server is down or not built
// yet, so that a file without a line for hot_standby is known to give on.
var builtinDefaults = map[string]string{
	"hot_standby":               "on",
	"listen_addresses":          "localhost",
	"max_connections":           "100",
	"max_locks_per_transaction": "64",
	"max_prepared_transactions": "0",
	"max_replication_slots":     "10",
	"max_wal_senders":           "10",
	"max_worker_processes":      "8",
	"port":                      "5432",
	"primary_conninfo":          "",
	"primary_slot_name":         "",
	"ssl":                       "off",
	"synchronous_standby_names": "",
	"wal_level":                 "replica",
}

// sharedMemoryParams must be at least as high on a standby as on its
// primary, or the standby refuses to start (or stops replaying when the
// primary raises one). In the order PostgreSQL's CheckRequiredParameterValues
// checks them.
var sharedMemoryParams = []string{
	"max_connections",
	"max_worker_processes",
	"max_wal_senders",
	"max_prepared_transactions",
	"max_locks_per_transaction",
}

// equalValue reports whether a and b mean the same value of parameter name
// in major version v: semantically for parameters the catalog knows (units,
// Boolean spellings, enum aliases), as connection strings for
// primary_conninfo, else as strings.
func equalValue(v int, name, a, b string) bool {
	if name == "primary_conninfo" {
		return sameConninfo(a, b)
	}
	if p, ok := catalog.Lookup(v, name); ok {
		return p.Equal(a, b)
	}
	return a == b
}

// intValue parses an integer parameter's value in its base unit.
func intValue(v int, name, val string) (int64, bool) {
	if p, ok := catalog.Lookup(v, name); ok && p.VarType == catalog.Integer {
		n, err := p.Int(val)
		return n, err == nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
	return n, err == nil
}

// paramContext returns the context of name on a node: pg_settings' when the
// server reports it, else the catalog's for version v; "" when neither
// knows it (a custom parameter of an extension not loaded).
func paramContext(v int, row *state.Setting, name string) string {
	if row != nil && row.Context != "" {
		return row.Context
	}
	if p, ok := catalog.Lookup(v, name); ok {
		return string(p.Context)
	}
	return ""
}

// needsRestart reports whether a change of a parameter with context ctx
// takes effect only at a restart. An unknown context is taken to need one:
// the safe side.
func needsRestart(ctx string) bool {
	return ctx == "" || catalog.Context(ctx).NeedsRestart()
}

// displayValue is a value as the plan shows it: quoted when empty or when
// it holds blanks, redacted when it may hold a password.
func displayValue(v string) string {
	v = redactValue(v)
	if v == "" || strings.ContainsAny(v, " \t,'") {
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return v
}

// listenCovers reports whether a listen_addresses value makes the server
// accept TCP connections at host.
func listenCovers(value, host string) bool {
	ip, ipErr := netip.ParseAddr(host)
	for _, e := range splitList(value) {
		switch {
		case e == "*":
			return true
		case e == "0.0.0.0" && ipErr == nil && ip.Is4():
			return true
		case e == "::" && ipErr == nil && ip.Is6():
			return true
		case strings.EqualFold(e, host):
			return true
		case strings.EqualFold(e, "localhost") && ipErr == nil && ip.IsLoopback() && (ip == netip.MustParseAddr("127.0.0.1") || ip == netip.IPv6Loopback()):
			return true
		}
		if a, err := netip.ParseAddr(e); err == nil && ipErr == nil && a == ip {
			return true
		}
	}
	return false
}

// splitList splits a comma-separated list setting, trimming blanks and
// double quotes, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		e = strings.Trim(strings.TrimSpace(e), `"`)
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// primaryConninfo is the connection string a standby streams with:
// host, port and user of the primary, application_name so that the
// primary's pg_stat_replication (and synchronous_standby_names) know it,
// and the passfile that holds the password, last.
func primaryConninfo(c *spec.Cluster, sb *spec.Node) string {
	pairs := []libpq.Pair{
		{Key: "host", Value: c.Primary.Host},
		{Key: "port", Value: strconv.Itoa(c.Primary.Port)},
		{Key: "user", Value: c.Replication.User},
		{Key: "application_name", Value: sb.Name},
	}
	if needsPassword(c) {
		pairs = append(pairs, libpq.Pair{Key: "passfile", Value: sb.Passfile})
	}
	return libpq.FormatConninfo(pairs)
}

// basebackupConninfo is what pg_basebackup -R writes for primary_conninfo
// when given primaryConninfo: libpq's PQconninfo in its keyword order, with
// the defaults PostgreSQL 15's libpq reports for a TCP connection. It is a
// model: apply computes the real edit on the file pg_basebackup writes.
func basebackupConninfo(c *spec.Cluster, sb *spec.Node) string {
	pairs := []libpq.Pair{{Key: "user", Value: c.Replication.User}}
	if needsPassword(c) {
		pairs = append(pairs, libpq.Pair{Key: "passfile", Value: sb.Passfile})
	}
	pairs = append(pairs,
		libpq.Pair{Key: "channel_binding", Value: "prefer"},
		libpq.Pair{Key: "host", Value: c.Primary.Host},
		libpq.Pair{Key: "port", Value: strconv.Itoa(c.Primary.Port)},
		libpq.Pair{Key: "application_name", Value: sb.Name},
		libpq.Pair{Key: "sslmode", Value: "prefer"},
		libpq.Pair{Key: "sslcompression", Value: "0"},
		libpq.Pair{Key: "sslsni", Value: "1"},
		libpq.Pair{Key: "ssl_min_protocol_version", Value: "TLSv1.2"},
		libpq.Pair{Key: "gssencmode", Value: "prefer"},
		libpq.Pair{Key: "krbsrvname", Value: "postgres"},
		libpq.Pair{Key: "target_session_attrs", Value: "any"},
	)
	return libpq.FormatConninfo(pairs)
}

// needsPassword reports whether standbys authenticate with a password.
func needsPassword(c *spec.Cluster) bool {
	return c.Replication.AuthMethod != "trust" && c.Replication.Password.IsSet()
}

// autoConfQuoter escapes a value inside single quotes as pg_basebackup -R
// writes it (escape_quotes: ' and \ doubled).
var autoConfQuoter = strings.NewReplacer(`'`, `''`, `\`, `\\`)

// passfileLine is the entry of a standby's password file, with the password
// shown as pw: host:port:replication:user:password, ':' and '\' escaped.
func passfileLine(c *spec.Cluster, pw string) string {
	esc := libpq.EscapePassfileField
	return fmt.Sprintf("%s:%d:replication:%s:%s", esc(c.Primary.Host), c.Primary.Port, esc(c.Replication.User), pw)
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
