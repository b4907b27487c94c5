package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
