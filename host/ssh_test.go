package host

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/sshtest"
)

// These tests talk to a real OpenSSH sshd (internal/sshtest) on 127.0.0.3,
// logging in as postgres (the OS user itself: nothing to switch) and as
// root (switching to postgres with become = "sudo", or runuser without).
// A non-root operator account with NOPASSWD sudo would run the very same
// "sudo -n -u postgres -- …" commands; the tests do not create OS accounts
// or sudoers rules on the machine they run on.

// sshConfig logs in to srv as user with the server's client key and
// known_hosts, and nothing from the machine's own ssh setup.
func sshConfig(srv *sshtest.Server, user string) SSHConfig {
	return SSHConfig{
		Host: srv.Host, Port: srv.Port, User: user,
		IdentityFile: srv.ClientKeyFile, KnownHostsFile: srv.KnownHostsFile,
		ConfigFile: "none", AgentSocket: "none", OSUser: "postgres",
	}
}

func dialSSHT(t *testing.T, cfg SSHConfig) *SSH {
	t.Helper()
	tr, err := DialSSH(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func whoami(t *testing.T, tr Transport, as string) string {
	t.Helper()
	res, err := tr.Run(testCtx(t), Cmd{Argv: []string{"id", "-un"}, As: as})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(res.Stdout))
}

func TestSSHLoginAsOSUser(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{})
	tr := dialSSHT(t, sshConfig(srv, "postgres"))
	if want := fmt.Sprintf("127.0.0.3 (ssh postgres@127.0.0.3:%d)", srv.Port); tr.Name() != want {
		t.Fatalf("Name() = %q, want %q", tr.Name(), want)
	}
	// Logged in as the OS user: no sudo, no runuser, nothing asked.
	if argv, err := tr.becomeArgv("postgres"); argv != nil || err != nil {
		t.Fatalf("acting as the login user goes through %q, %v", argv, err)
	}
	if tr.cmdFS.as != "" {
		t.Fatalf("file operations switch to %q", tr.cmdFS.as)
	}
	if got := whoami(t, tr, "postgres"); got != "postgres" {
		t.Fatalf("ran as %s", got)
	}
	t.Run("commands", func(t *testing.T) { testCommands(t, tr, "") })
	t.Run("files", func(t *testing.T) { testFileOps(t, tr, lookupOwner(t, "postgres")) })
	t.Run("cannot become root", func(t *testing.T) {
		requireSudo(t)
		_, err := tr.Run(testCtx(t), Cmd{Argv: []string{"id"}, As: "root"})
		if !errors.Is(err, ErrCannotBecome) || !strings.Contains(err.Error(), `become = "sudo"`) {
			t.Fatalf("acting as root without become: %v", err)
		}
		// With sudo, sudo -n refuses at once instead of prompting.
		cfg := sshConfig(srv, "postgres")
		cfg.Become = "sudo"
		sudo := dialSSHT(t, cfg)
		res, err := sudo.Run(testCtx(t), Cmd{Argv: []string{"id"}, As: "root"})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Err(); err == nil || !strings.Contains(err.Error(), "sudo") || !strings.Contains(err.Error(), "password") {
			t.Fatalf("sudo without rights: %v", err)
		}
	})
}

func TestSSHRootBecomeSudo(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requireSudo(t)
	srv := sshtest.Start(t, sshtest.Options{})
	cfg := sshConfig(srv, "root")
	cfg.Become = "sudo"
	tr := dialSSHT(t, cfg)
	if argv, _ := tr.becomeArgv("postgres"); strings.Join(argv, " ") != "sudo -n -u postgres --" {
		t.Fatalf("becomeArgv = %q", argv)
	}
	if got := whoami(t, tr, "postgres"); got != "postgres" {
		t.Fatalf("As postgres ran as %s", got)
	}
	if got := whoami(t, tr, ""); got != "root" {
		t.Fatalf("As \"\" ran as %s", got)
	}
	if tr.cmdFS.as != "postgres" {
		t.Fatalf("file operations act as %q", tr.cmdFS.as)
	}
	t.Run("commands", func(t *testing.T) { testCommands(t, tr, "postgres") })
	t.Run("files", func(t *testing.T) { testFileOps(t, tr, lookupOwner(t, "postgres")) })
	t.Run("reads what only postgres can", func(t *testing.T) {
		// A data directory: postgres 0700, files 0600. Over a root login
		// without sudo the read would succeed for the wrong reason; here
		// it goes through sudo -u postgres.
		dir := ownedDir(t, lookupOwner(t, "postgres"))
		pg := lookupOwner(t, "postgres")
		writeOwned(t, filepath.Join(dir, "PG_VERSION"), "15\n", 0o600, pg.uid, pg.gid)
		b, err := tr.ReadFile(testCtx(t), filepath.Join(dir, "PG_VERSION"))
		if err != nil || string(b) != "15\n" {
			t.Fatalf("ReadFile = %q, %v", b, err)
		}
	})
	t.Run("runuser without become", func(t *testing.T) {
		cfg := sshConfig(srv, "root")
		tr := dialSSHT(t, cfg)
		if argv, _ := tr.becomeArgv("postgres"); strings.Join(argv, " ") != "runuser -u postgres --" {
			t.Fatalf("becomeArgv = %q", argv)
		}
		if got := whoami(t, tr, "postgres"); got != "postgres" {
			t.Fatalf("As postgres ran as %s", got)
		}
	})
}

// TestSSHDialPostgres runs pgx queries through the SSH connection, to a
// server's unix socket and to its TCP port, both as seen from the host.
func TestSSHDialPostgres(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{})
	pg := pgtest.Start(t, pgtest.Options{Host: "127.0.0.3"})
	pg.Exec(t, "ALTER ROLE postgres PASSWORD 'host-test-only'")
	tr := dialSSHT(t, sshConfig(srv, "postgres"))
	queryThrough(t, tr, pg.DSN("postgres"))
	queryThrough(t, tr, "host=127.0.0.3 port="+strconv.Itoa(pg.Port)+" user=postgres password=host-test-only dbname=postgres sslmode=disable")

	_, err := tr.DialContext(testCtx(t), "unix", "/nonexistent/.s.PGSQL.5432")
	if err == nil || !strings.Contains(err.Error(), "dial unix /nonexistent/.s.PGSQL.5432 on "+tr.Name()) {
		t.Fatalf("dial of a missing socket: %v", err)
	}
	if _, err := tr.DialContext(testCtx(t), "udp", "127.0.0.1:53"); err == nil {
		t.Fatal("udp accepted")
	}
}

// TestSSHPoolReuse: one connection per login serves every operation of
// every transport for that host, concurrently.
func TestSSHPoolReuse(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requireSudo(t)
	srv := sshtest.Start(t, sshtest.Options{})
	pool := NewPool()
	defer pool.Close()
	ctx := testCtx(t)
	dir := ownedDir(t, lookupOwner(t, "postgres"))

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := sshConfig(srv, "root")
			cfg.Become = "sudo"
			if i%2 == 1 {
				cfg.OSUser = "" // another node's view of the same host
			}
			tr, err := pool.SSH(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			path := filepath.Join(dir, fmt.Sprintf("f%d", i))
			if err := tr.WriteFileAtomic(ctx, path, []byte(path), WriteOptions{}); err != nil {
				errs <- err
				return
			}
			for j := 0; j < 2; j++ {
				if b, err := tr.ReadFile(ctx, path); err != nil || string(b) != path {
					errs <- fmt.Errorf("read %s: %q %v", path, b, err)
					return
				}
				if res, err := tr.Run(ctx, Cmd{Argv: []string{"true"}}); err != nil || res.Err() != nil {
					errs <- errors.Join(err, res.Err())
					return
				}
			}
			c, err := tr.DialContext(ctx, "tcp", srv.Addr())
			if err != nil {
				errs <- err
				return
			}
			// An SSH server greets first: the tunnel carries bytes.
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
				errs <- fmt.Errorf("through the tunnel: %q %v", line, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 1 for the pool; each DialContext above made sshd accept one more,
	// from the host itself.
	if got, want := srv.AwaitConnections(1+12), 1+12; got != want {
		t.Logf("sshd's log:\n%s", srv.Log())
		t.Fatalf("sshd accepted %d connections, want %d", got, want)
	}
	// Another login user is another connection.
	tr, err := pool.SSH(ctx, sshConfig(srv, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if got := whoami(t, tr, ""); got != "postgres" {
		t.Fatal(got)
	}
	if got := srv.AwaitConnections(14); got != 14 {
		t.Fatalf("sshd accepted %d connections, want 14", got)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if got := whoami(t, tr, ""); got != "postgres" {
		t.Fatal("Close of a pooled transport closed the shared connection")
	}
	pool.Close()
	if _, err := tr.Run(ctx, Cmd{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Run after Pool.Close: %v", err)
	}
}

func TestSSHHostKeys(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{RSAHostKey: true})
	hostname := knownhosts.Normalize(srv.Addr())
	otherPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ssh.NewPublicKey(otherPub)

	dial := func(t *testing.T, knownHosts string) error {
		t.Helper()
		cfg := sshConfig(srv, "root")
		cfg.KnownHostsFile = knownHosts
		tr, err := DialSSH(testCtx(t), cfg)
		if err == nil {
			tr.Close()
		}
		return err
	}
	khFile := func(t *testing.T, lines ...string) string {
		t.Helper()
		f := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	fp := ssh.FingerprintSHA256(srv.HostKey)

	for _, tc := range []struct {
		name  string
		file  func(t *testing.T) string
		wants []string
	}{
		{"unknown host", func(t *testing.T) string {
			return khFile(t, knownhosts.Line([]string{"[127.0.0.9]:22"}, srv.HostKey))
		}, []string{"unknown host key for " + hostname, fp, "add this line to", knownhosts.Line([]string{hostname}, srv.HostKey)}},
		{"no known_hosts file", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "absent")
		}, []string{"unknown host key", fp, "absent:\n" + knownhosts.Line([]string{hostname}, srv.HostKey)}},
		{"changed key", func(t *testing.T) string {
			return khFile(t, "# first line", knownhosts.Line([]string{hostname}, other))
		}, []string{"host key for " + hostname + " CHANGED", "man-in-the-middle", fp, ssh.FingerprintSHA256(other), "known_hosts:2"}},
		{"revoked key", func(t *testing.T) string {
			return khFile(t, knownhosts.Line([]string{hostname}, srv.HostKey), "@revoked * "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(srv.HostKey))))
		}, []string{"revoked", fp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dial(t, tc.file(t))
			var hke *HostKeyError
			if !errors.As(err, &hke) {
				t.Fatalf("got %v, want a *HostKeyError", err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), srv.Host) {
				t.Errorf("error does not name the host: %v", err)
			}
		})
	}
	t.Run("known by its RSA key only", func(t *testing.T) {
		// The server also has an ed25519 key, which x/crypto would prefer;
		// known_hosts decides the algorithm asked for.
		if err := dial(t, khFile(t, knownhosts.Line([]string{hostname}, srv.RSAHostKey))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("printed line works", func(t *testing.T) {
		err := dial(t, filepath.Join(t.TempDir(), "absent"))
		var hke *HostKeyError
		if !errors.As(err, &hke) {
			t.Fatal(err)
		}
		if err := dial(t, khFile(t, hke.Line())); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSSHAuth(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{})
	dir := t.TempDir()
	_, encKey, _ := ed25519.GenerateKey(rand.Reader)
	encFile := filepath.Join(dir, "id_encrypted")
	encPub := sshtest.WritePrivateKey(t, encFile, encKey, "correct horse")
	srv.Authorize(t, "root", encPub)
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	strangerFile := filepath.Join(dir, "id_stranger")
	strangerPub := sshtest.WritePrivateKey(t, strangerFile, strangerKey, "")

	try := func(t *testing.T, mod func(*SSHConfig)) error {
		t.Helper()
		cfg := sshConfig(srv, "root")
		mod(&cfg)
		tr, err := DialSSH(testCtx(t), cfg)
		if err != nil {
			return err
		}
		defer tr.Close()
		if got := whoami(t, tr, ""); got != "root" {
			t.Fatalf("logged in as %s", got)
		}
		return nil
	}
	wantErr := func(t *testing.T, err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatal("login succeeded")
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not contain %q:\n%v", w, err)
			}
		}
	}

	t.Run("key not authorized", func(t *testing.T) {
		err := try(t, func(c *SSHConfig) { c.IdentityFile = strangerFile })
		wantErr(t, err, "refused the login", ssh.FingerprintSHA256(strangerPub), "root@127.0.0.3")
	})
	t.Run("missing identity file", func(t *testing.T) {
		err := try(t, func(c *SSHConfig) { c.IdentityFile = filepath.Join(dir, "absent") })
		wantErr(t, err, "identity file "+filepath.Join(dir, "absent"))
	})
	t.Run("passphrase-protected, no agent", func(t *testing.T) {
		err := try(t, func(c *SSHConfig) { c.IdentityFile = encFile })
		wantErr(t, err, encFile+" is passphrase-protected", "no ssh-agent", "ssh-add "+encFile)
	})
	sock, ag := sshtest.StartAgent(t)
	t.Run("passphrase-protected, agent lacks it", func(t *testing.T) {
		err := try(t, func(c *SSHConfig) { c.IdentityFile = encFile; c.AgentSocket = sock })
		wantErr(t, err, "passphrase-protected", "ssh-agent does not hold it")
	})
	t.Run("passphrase-protected, answered by the agent", func(t *testing.T) {
		if err := ag.Add(agent.AddedKey{PrivateKey: encKey}); err != nil {
			t.Fatal(err)
		}
		if err := try(t, func(c *SSHConfig) { c.IdentityFile = encFile; c.AgentSocket = sock }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("agent only", func(t *testing.T) {
		// The agent holds the authorized key; no identity file named.
		if err := try(t, func(c *SSHConfig) { c.IdentityFile = ""; c.AgentSocket = sock }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSSHConfigFile: a Host alias in ssh_config supplies HostName, Port,
// User, IdentityFile and UserKnownHostsFile; explicit settings win.
func TestSSHConfigFile(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{})
	conf := filepath.Join(t.TempDir(), "config")
	text := fmt.Sprintf(`# pgrepl test
Host pg-standby
    HostName %s
    Port %d
    User postgres
    IdentityFile %s
    UserKnownHostsFile %s

Host *
    User nobody
`, srv.Host, srv.Port, srv.ClientKeyFile, srv.KnownHostsFile)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := SSHConfig{Host: "pg-standby", ConfigFile: conf, AgentSocket: "none"}
	tr := dialSSHT(t, cfg)
	if want := fmt.Sprintf("pg-standby (ssh postgres@%s:%d)", srv.Host, srv.Port); tr.Name() != want {
		t.Fatalf("Name() = %q, want %q", tr.Name(), want)
	}
	if got := whoami(t, tr, ""); got != "postgres" {
		t.Fatalf("logged in as %s", got)
	}
	cfg.User = "root"
	if got := whoami(t, dialSSHT(t, cfg), ""); got != "root" {
		t.Fatalf("explicit User: logged in as %s", got)
	}
}

// TestSSHConnectionDropped kills sshd while a command runs: the command,
// and every operation after it, fail naming the host and the step.
func TestSSHConnectionDropped(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{})
	tr := dialSSHT(t, sshConfig(srv, "root"))
	ctx := testCtx(t)

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := tr.Run(ctx, Cmd{Argv: []string{"sh", "-c", "echo started; exec sleep 61"}, Stdout: pw})
		pw.Close()
		done <- err
	}()
	if line, err := bufio.NewReader(pr).ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("command did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	srv.Kill(t)
	err := <-done
	if !errors.Is(err, ErrConnLost) {
		t.Fatalf("Run across a dropped connection: %v, want ErrConnLost", err)
	}
	for _, w := range []string{tr.Name(), "sleep 61"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %q: %v", w, err)
		}
	}
	_, err = tr.ReadFile(ctx, "/etc/hostname")
	if !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "read /etc/hostname as postgres on "+tr.Name()) {
		t.Fatalf("ReadFile after the drop: %v", err)
	}
	_, err = tr.DialContext(ctx, "unix", "/run/x.sock")
	if !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "dial unix /run/x.sock on "+tr.Name()) {
		t.Fatalf("DialContext after the drop: %v", err)
	}
}

// TestSSHKeepAlive freezes sshd: the TCP connection stays up but nothing
// answers, so only keepalives can tell. The pool then connects anew.
func TestSSHKeepAlive(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	srv := sshtest.Start(t, sshtest.Options{})
	pool := NewPool()
	defer pool.Close()
	ctx := testCtx(t)
	cfg := sshConfig(srv, "root")
	cfg.KeepAlive = 200 * time.Millisecond
	tr, err := pool.SSH(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := whoami(t, tr, ""); got != "root" {
		t.Fatal(got)
	}
	srv.Freeze(t)
	_, err = tr.Run(ctx, Cmd{Argv: []string{"cat", "/etc/hostname"}})
	srv.Thaw(t)
	if !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "keepalive") || !strings.Contains(err.Error(), tr.Name()) {
		t.Fatalf("Run on a frozen server: %v", err)
	}
	tr2, err := pool.SSH(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := whoami(t, tr2, ""); got != "root" {
		t.Fatal(got)
	}
	if got := srv.AwaitConnections(2); got != 2 {
		t.Fatalf("sshd accepted %d connections, want 2 (the lost one and its replacement)", got)
	}
	if _, err := tr.Run(ctx, Cmd{Argv: []string{"true"}}); !errors.Is(err, ErrConnLost) {
		t.Fatalf("the transport of the lost connection: %v", err)
	}
}

// TestSSHSessionsQueue runs more commands at once than sshd allows sessions
// on one connection: the extra ones wait for a free slot instead of failing,
// whether the limit is OpenSSH's default (10) or an admin's lower one.
func TestSSHSessionsQueue(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	for _, conf := range [][]string{nil, {"MaxSessions 2"}} {
		t.Run(fmt.Sprint(conf), func(t *testing.T) {
			testSessionsQueue(t, sshtest.Start(t, sshtest.Options{Config: conf}))
		})
	}
}

func testSessionsQueue(t *testing.T, srv *sshtest.Server) {
	tr := dialSSHT(t, sshConfig(srv, "root"))
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := tr.Run(ctx, Cmd{Argv: []string{"sleep", "0.2"}})
			errs <- errors.Join(err, res.Err())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
