package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartQueryStop(t *testing.T) {
	s := Start(t, Options{Host: "127.0.0.2"})
	var v string
	if err := s.Conn(t).QueryRow(context.Background(), "SHOW server_version_num").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "15") {
		t.Errorf("server_version_num = %s, want 15xxxx", v)
	}
	if got := s.Psql(t, "SHOW listen_addresses"); got != "127.0.0.2" {
		t.Errorf("listen_addresses = %q, want 127.0.0.2", got)
	}
	st, err := os.Stat(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", st.Mode().Perm())
	}
	s.Stop(t)
	if s.Running() {
		t.Fatal("server still answers after Stop")
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid after stop: %v", err)
	}
}

func TestStandbyStreams(t *testing.T) {
	p := Start(t, Options{Host: "127.0.0.2"})
	s := StartStandby(t, p, "127.0.0.3", "pg2")
	if got := s.Psql(t, "SELECT pg_is_in_recovery()"); got != "t" {
		t.Fatalf("standby pg_is_in_recovery() = %q", got)
	}
	p.Exec(t, "CREATE TABLE seen (x int); INSERT INTO seen VALUES (42)")
	lsn := p.Psql(t, "SELECT pg_current_wal_lsn()")
	deadline := time.Now().Add(30 * time.Second)
	for s.Psql(t, "SELECT pg_last_wal_replay_lsn() >= '"+lsn+"'::pg_lsn") != "t" {
		if time.Now().After(deadline) {
			t.Fatal("standby did not replay the primary's write within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.Psql(t, "SELECT x FROM seen"); got != "42" {
		t.Errorf("standby sees %q, want 42", got)
	}
	if got := p.Psql(t, "SELECT application_name || ' ' || state FROM pg_stat_replication"); got != "pg2 streaming" {
		t.Errorf("pg_stat_replication = %q", got)
	}
}

func TestSystemIDTellsClustersApart(t *testing.T) {
	a := Init(t, Options{Host: "127.0.0.2"})
	b := Init(t, Options{Host: "127.0.0.3"})
	ida, idb := SystemID(t, a.DataDir), SystemID(t, b.DataDir)
	if ida == "" || ida == idb {
		t.Errorf("system identifiers %q and %q", ida, idb)
	}
}
