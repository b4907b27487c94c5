package verify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgrepl/pgrepl/internal/pgtest"
)

func node(name string, s *pgtest.Server) Node {
	return Node{Name: name, Connect: func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.Connect(ctx, s.DSN("postgres"))
	}}
}

func checks(s Standby) map[string]bool {
	m := map[string]bool{}
	for _, c := range s.Checks {
		m[c.Name] = c.OK
	}
	return m
}

func TestHealthyPairPassesEveryCheck(t *testing.T) {
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	s := pgtest.StartStandby(t, p, "127.0.0.3", "pg2")
	r, err := Run(context.Background(), Target{Cluster: "demo", Primary: node("pg1", p), Standbys: []Node{node("pg2", s)}},
		Options{Timeout: 30 * time.Second, WriteProbe: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || len(r.Failed()) != 0 {
		t.Fatalf("healthy pair failed: %+v", r)
	}
	got := checks(r.Standbys[0])
	for _, name := range []string{CheckStreaming, CheckInRecovery, CheckReadOnly, CheckReplay, CheckWriteProbe} {
		if !got[name] {
			t.Errorf("check %s missing or failed: %+v", name, r.Standbys[0].Checks)
		}
	}
	if r.Standbys[0].State != "streaming" || r.Standbys[0].SyncState != "async" {
		t.Errorf("state %q sync %q", r.Standbys[0].State, r.Standbys[0].SyncState)
	}
	// The probe table is gone from the primary, checked with psql.
	if out := p.Psql(t, "SELECT count(*) FROM pg_class WHERE relname = 'pgrepl_write_probe'"); out != "0" {
		t.Errorf("write probe table left behind: %s", out)
	}
}

func TestStandAloneServerFails(t *testing.T) {
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	other := pgtest.Start(t, pgtest.Options{Host: "127.0.0.3"})
	r, err := Run(context.Background(), Target{Cluster: "demo", Primary: node("pg1", p), Standbys: []Node{node("pg2", other)}},
		Options{Timeout: 500 * time.Millisecond, WriteProbe: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK {
		t.Fatal("a stand-alone server passed as a standby")
	}
	got := checks(r.Standbys[0])
	for _, name := range []string{CheckStreaming, CheckInRecovery, CheckReadOnly, CheckWriteProbe} {
		if got[name] {
			t.Errorf("check %s passed on a stand-alone server", name)
		}
	}
	failed := strings.Join(r.Failed(), ", ")
	if !strings.Contains(failed, "pg2: streaming") || !strings.Contains(failed, "pg2: read_only") {
		t.Errorf("Failed() = %s", failed)
	}
	// The refused write was rolled back: the stand-alone server has no table.
	if out := other.Psql(t, "SELECT count(*) FROM pg_class WHERE relname = 'pgrepl_write_check'"); out != "0" {
		t.Errorf("the read-only check left a table on a writable server")
	}
}

func TestStandbyAsPrimaryIsAnError(t *testing.T) {
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	s := pgtest.StartStandby(t, p, "127.0.0.3", "pg2")
	_, err := Run(context.Background(), Target{Cluster: "demo", Primary: node("pg2", s)}, Options{})
	if err == nil || !strings.Contains(err.Error(), "is in recovery") {
		t.Fatalf("err = %v, want a primary-in-recovery error", err)
	}
}

func TestDownStandbyIsReportedNotAnError(t *testing.T) {
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	s := pgtest.StartStandby(t, p, "127.0.0.3", "pg2")
	s.Stop(t)
	r, err := Run(context.Background(), Target{Cluster: "demo", Primary: node("pg1", p), Standbys: []Node{node("pg2", s)}},
		Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || checks(r.Standbys[0])[CheckStreaming] {
		t.Fatalf("a stopped standby passed: %+v", r)
	}
}
