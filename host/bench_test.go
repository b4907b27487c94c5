package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgrepl/pgrepl/internal/sshtest"
)

// The cost of one operation over the real sshd (logged in as postgres, as
// root the login shell's rc files dominate) and locally through runuser.

func benchSSHConfig(b *testing.B) SSHConfig {
	return sshConfig(sshtest.Start(b, sshtest.Options{}), "postgres")
}

func benchSSH(b *testing.B) *SSH {
	tr, err := DialSSH(context.Background(), benchSSHConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Close() })
	return tr
}

// BenchmarkSSHConnectRun is what a host's observation waits for before
// its probe runs: a new connection and its first command (the first
// session is the one sshd answers before it turns off Nagle's algorithm).
func BenchmarkSSHConnectRun(b *testing.B) {
	cfg := benchSSHConfig(b)
	ctx := context.Background()
	for b.Loop() {
		tr, err := DialSSH(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := tr.Run(ctx, Cmd{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
			b.Fatal(err, res.ExitCode)
		}
		tr.Close()
	}
}

func BenchmarkSSHRun(b *testing.B) {
	tr := benchSSH(b)
	ctx := context.Background()
	for b.Loop() {
		if res, err := tr.Run(ctx, Cmd{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
			b.Fatal(err, res.ExitCode)
		}
	}
}

func BenchmarkSSHReadFile(b *testing.B) {
	tr := benchSSH(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := tr.ReadFile(ctx, "/etc/passwd"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSSHWriteFileAtomic(b *testing.B) {
	tr := benchSSH(b)
	dir, err := os.MkdirTemp("", "pgrepl-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 32<<10)
	ctx := context.Background()
	for b.Loop() {
		if err := tr.WriteFileAtomic(ctx, filepath.Join(dir, "postgresql.conf"), data, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocalReadFileAsPostgres(b *testing.B) {
	requireRoot(b)
	l, err := NewLocal(LocalConfig{OSUser: "postgres"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := l.ReadFile(ctx, "/etc/passwd"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalRunAsPostgres: a command as another user through runuser,
// and as a light one.
func BenchmarkLocalRunAsPostgres(b *testing.B) {
	requireRoot(b)
	l, err := NewLocal(LocalConfig{OSUser: "postgres"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, light := range []bool{false, true} {
		name := "runuser"
		if light {
			name = "light"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if res, err := l.Run(ctx, Cmd{Argv: []string{"true"}, As: "postgres", Light: light}); err != nil || res.ExitCode != 0 {
					b.Fatal(err, res.ExitCode)
				}
			}
		})
	}
}
