package catalog

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgrepl/pgrepl/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite pg15.tsv from a live PostgreSQL 15 server")

const settingsQuery = `SELECT name, vartype, coalesce(unit, ''), context,
	coalesce(array_to_string(enumvals, ','), ''), coalesce(min_val, ''), coalesce(max_val, '')
	FROM pg_settings ORDER BY name`

// TestMatchesLiveServer holds the embedded PostgreSQL 15 catalog against a
// running server's pg_settings; -update regenerates it from that server.
//
// Against the minor release the catalog was made from, the two must be
// equal. Debian ships each new minor release, and a minor release may add a
// parameter (15.20 added two): against another one, every parameter of the
// catalog must be the server's, as the server has it, and the server's
// extra parameters are only logged, so that CI does not break when the
// package moves on. Rerun with -update to take them in.
func TestMatchesLiveServer(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	conn := s.Conn(t)
	var version string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version')").Scan(&version); err != nil {
		t.Fatal(err)
	}
	version, _, _ = strings.Cut(version, " ") // "15.20 (Debian 15.20-0+deb12u1)"
	rows, err := conn.Query(context.Background(), settingsQuery)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s %s\n", tsvHeaderPrefix, version, tsvHeaderSuffix)
	for rows.Next() {
		var f [7]string
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]); err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(f[:], "\t") + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("pg15.tsv", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	live, err := parseTSV(b.String())
	if err != nil {
		t.Fatal(err)
	}
	made := catalogRelease(t)
	same := made == version
	if !same {
		t.Logf("the catalog is from PostgreSQL %s, the server is %s: comparing the catalog's parameters only", made, version)
	}
	for key, lp := range live {
		cp, ok := Lookup(15, key)
		if !ok {
			if same {
				t.Errorf("live parameter %s missing from the catalog", lp.Name)
			} else {
				t.Logf("PostgreSQL %s has %s, which the catalog (%s) does not; go test ./catalog -run TestMatchesLiveServer -update takes it in", version, lp.Name, made)
			}
			continue
		}
		if !same && (key == "server_version_num") {
			continue // its range is the release itself
		}
		if cp.Name != lp.Name || cp.VarType != lp.VarType || cp.Unit != lp.Unit || cp.Context != lp.Context ||
			strings.Join(cp.EnumVals, ",") != strings.Join(lp.EnumVals, ",") || cp.Min != lp.Min || cp.Max != lp.Max {
			t.Errorf("%s: catalog %+v, live %+v", key, cp, lp)
		}
	}
	for _, name := range Names(15) {
		if _, ok := live[strings.ToLower(name)]; !ok {
			t.Errorf("catalog parameter %s is not in PostgreSQL %s's pg_settings", name, version)
		}
	}
	if n := len(Names(15)); same && n != len(live) {
		t.Errorf("catalog has %d parameters for 15, the live server %d", n, len(live))
	}
}

// The first line of pg15.tsv, around the release it was made from.
const (
	tsvHeaderPrefix = "# PostgreSQL "
	tsvHeaderSuffix = "pg_settings (name, vartype, unit, context, enumvals, min_val, max_val), written by 'go test ./catalog -run TestMatchesLiveServer -update' from a live server; do not edit."
)

// catalogRelease is the minor release pg15.tsv was made from, from its
// first line.
func catalogRelease(t *testing.T) string {
	t.Helper()
	first, _, _ := strings.Cut(pg15TSV, "\n")
	rest, ok := strings.CutPrefix(first, tsvHeaderPrefix)
	release, _, _ := strings.Cut(rest, " ")
	if !ok || !strings.HasPrefix(release, "15.") {
		t.Fatalf("pg15.tsv's first line %q names no PostgreSQL 15 release", first)
	}
	return release
}

// TestNormalizeAgainstServer checks Normalize, and the wording of its
// errors, against what PostgreSQL 15 does with the same value: SET it, then
// read pg_settings.setting.
func TestNormalizeAgainstServer(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	conn := s.Conn(t)
	ctx := context.Background()
	cases := []struct{ name, value string }{
		{"work_mem", "4MB"}, {"work_mem", "1.5MB"}, {"work_mem", "4096"}, {"work_mem", "0x1000"},
		{"work_mem", "010000"}, {"work_mem", "1GB"}, {"work_mem", "2047B"}, {"work_mem", "1.5 MB"},
		{"work_mem", "4mb"}, {"work_mem", "lots"}, {"work_mem", "12"}, {"work_mem", "1e4"},
		{"work_mem", "99999999999"}, {"work_mem", "3TB"},
		{"temp_buffers", "128MB"}, {"temp_buffers", "8193kB"}, {"temp_buffers", "8192"},
		{"effective_cache_size", "4GB"}, {"effective_cache_size", "0.5GB"},
		{"statement_timeout", "5min"}, {"statement_timeout", "1.5s"}, {"statement_timeout", "1500us"},
		{"statement_timeout", "2h"}, {"statement_timeout", "1d"}, {"statement_timeout", "10 s"},
		{"statement_timeout", "-1"}, {"statement_timeout", "5 mins"},
		{"vacuum_cost_delay", "2ms"}, {"vacuum_cost_delay", "0.5"}, {"vacuum_cost_delay", "1500us"}, {"vacuum_cost_delay", "1s"},
		{"random_page_cost", "1.1"}, {"random_page_cost", "4"}, {"random_page_cost", "1e3"}, {"random_page_cost", "-1"},
		{"random_page_cost", "abc"}, {"random_page_cost", "nan"},
		{"cursor_tuple_fraction", "0.25"}, {"cursor_tuple_fraction", "2"},
		{"enable_seqscan", "off"}, {"enable_seqscan", "TRUE"}, {"enable_seqscan", "ye"}, {"enable_seqscan", "of"},
		{"enable_seqscan", "o"}, {"enable_seqscan", "1"}, {"enable_seqscan", "0"}, {"enable_seqscan", "10"}, {"enable_seqscan", "t"},
		{"synchronous_commit", "remote_apply"}, {"synchronous_commit", "TRUE"}, {"synchronous_commit", "no"},
		{"synchronous_commit", "maybe"}, {"synchronous_commit", "Local"},
		{"client_min_messages", "debug"}, {"client_min_messages", "info"}, {"client_min_messages", "WARNING"},
		{"constraint_exclusion", "yes"}, {"compute_query_id", "1"}, {"backslash_quote", "false"},
		{"wal_compression", "on"}, {"wal_compression", "true"}, {"wal_compression", "off"}, {"wal_compression", "0"},
		{"default_transaction_isolation", "Repeatable Read"},
		{"search_path", `"$user", public`}, {"application_name", "Mixed Case"},
		{"lock_timeout", "1"}, {"idle_in_transaction_session_timeout", "3 d"},
		{"extra_float_digits", "3"}, {"extra_float_digits", "4"},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			p, ok := Lookup(15, c.name)
			if !ok {
				t.Fatalf("%s not in catalog", c.name)
			}
			got, gotErr := p.Normalize(c.value)
			// set_config takes the value as a string, exactly as a config
			// file line would hand it to the GUC machinery.
			_, err := conn.Exec(ctx, "SELECT set_config($1, $2, false)", c.name, c.value)
			if err != nil {
				var pe *pgconn.PgError
				if !errors.As(err, &pe) {
					t.Fatal(err)
				}
				var ve *ValueError
				if !errors.As(gotErr, &ve) {
					t.Fatalf("PostgreSQL refused %q (%s) but Normalize gave %q, %v", c.value, pe.Message, got, gotErr)
				}
				if ve.Msg != pe.Message || ve.Hint != pe.Hint {
					t.Errorf("error\n got: %s / hint %q\nwant: %s / hint %q", ve.Msg, ve.Hint, pe.Message, pe.Hint)
				}
				return
			}
			var want string
			if err := conn.QueryRow(ctx, "SELECT setting FROM pg_settings WHERE name = $1", c.name).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if gotErr != nil || got != want {
				t.Errorf("Normalize(%q) = %q, %v; PostgreSQL shows %q", c.value, got, gotErr, want)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	cases := []struct {
		version int
		name    string
		present bool
		context Context
		vartype VarType
	}{
		{12, "wal_keep_segments", true, Sighup, Integer},
		{13, "wal_keep_segments", false, "", ""},
		{12, "wal_keep_size", false, "", ""},
		{13, "wal_keep_size", true, Sighup, Integer},
		{12, "primary_conninfo", true, Postmaster, String},
		{13, "primary_conninfo", true, Sighup, String},
		{17, "primary_slot_name", true, Sighup, String},
		{14, "wal_compression", true, Superuser, Bool},
		{15, "wal_compression", true, Superuser, Enum},
		{15, "promote_trigger_file", true, Sighup, String},
		{16, "promote_trigger_file", false, "", ""},
		{16, "reserved_connections", true, Postmaster, Integer},
		{15, "reserved_connections", false, "", ""},
		{17, "summarize_wal", true, Sighup, Bool},
		{16, "db_user_namespace", true, Sighup, Bool},
		{17, "db_user_namespace", false, "", ""},
		{14, "stats_temp_directory", true, Sighup, String},
		{15, "stats_temp_directory", false, "", ""},
		{15, "MAX_WAL_SENDERS", true, Postmaster, Integer},
		{15, "datestyle", true, User, String},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%s", c.version, c.name), func(t *testing.T) {
			p, ok := Lookup(c.version, c.name)
			if ok != c.present {
				t.Fatalf("Lookup(%d, %q) present = %v, want %v", c.version, c.name, ok, c.present)
			}
			if ok && (p.Context != c.context || p.VarType != c.vartype) {
				t.Errorf("Lookup(%d, %q) = %s %s, want %s %s", c.version, c.name, p.Context, p.VarType, c.context, c.vartype)
			}
		})
	}
	if Supported(11) || !Supported(12) || !Supported(17) || Supported(18) {
		t.Error("Supported must be exactly 12..17")
	}
	if _, ok := Lookup(11, "work_mem"); ok {
		t.Error("Lookup of an unsupported version must fail")
	}
}

func TestPasswordEncryptionAliasesBefore14(t *testing.T) {
	p13, _ := Lookup(13, "password_encryption")
	if got, err := p13.Normalize("on"); err != nil || got != "md5" {
		t.Errorf("13: Normalize(on) = %q, %v; want md5", got, err)
	}
	p14, _ := Lookup(14, "password_encryption")
	if _, err := p14.Normalize("on"); err == nil {
		t.Error("14 refuses password_encryption = on")
	}
}

func TestSuggest(t *testing.T) {
	cases := map[string]string{
		"max_wal_sender":     "max_wal_senders",
		"wal_levle":          "wal_level",
		"shared_bufers":      "shared_buffers",
		"hot_standy":         "hot_standby",
		"completely_unknown": "",
		"x":                  "",
	}
	for in, want := range cases {
		if got := Suggest(15, in); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsCustom(t *testing.T) {
	for name, want := range map[string]bool{"pgaudit.log": true, "a.b.c": true, "work_mem": false, ".x": false, "x.": false} {
		if IsCustom(name) != want {
			t.Errorf("IsCustom(%q) = %v", name, !want)
		}
	}
}

func TestEnumIndexOrdersWalLevel(t *testing.T) {
	p, _ := Lookup(15, "wal_level")
	if !(p.EnumIndex("minimal") < p.EnumIndex("replica") && p.EnumIndex("replica") < p.EnumIndex("logical")) {
		t.Errorf("wal_level order: %v", p.EnumVals)
	}
	if p.EnumIndex("hot_standby") != p.EnumIndex("replica") || p.EnumIndex("bogus") != -1 {
		t.Error("EnumIndex must resolve aliases and refuse unknown values")
	}
}
