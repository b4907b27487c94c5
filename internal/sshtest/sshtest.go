// Package sshtest runs a real OpenSSH sshd on a loopback address for tests.
//
// The server gets a throw-away host key, a known_hosts file that trusts it,
// and one client key authorized for every login the test asks for (root and
// postgres by default). It runs with UsePAM yes, as on a real Debian host:
// the postgres account is locked, and without PAM sshd refuses locked
// accounts. t.Cleanup kills the server and every connection it serves.
//
// Starting sshd needs root (it switches to the login user). Without sshd, or
// without root, a test is skipped, unless PGREPL_REQUIRE_INTEGRATION is set
// (as .ci/run does), in which case it fails.
package sshtest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// SSHD is OpenSSH's server binary.
const SSHD = "/usr/sbin/sshd"

// Require skips t when sshd is missing or the tests do not run as root, or
// fails it when pgtest.RequireEnv is set.
func Require(t testing.TB) {
	t.Helper()
	why := ""
	if _, err := os.Stat(SSHD); err != nil {
		why = fmt.Sprintf("OpenSSH server missing (apt-get install openssh-server): %v", err)
	} else if os.Geteuid() != 0 {
		why = "running sshd for other logins needs root"
	}
	if why != "" {
		pgtest.Missing(t, why)
	}
}

// Options shape a server.
type Options struct {
	// Host is the loopback address to listen on; default 127.0.0.3.
	Host string
	// Users may log in with the client key; default root and postgres.
	Users []string
	// Config holds extra sshd_config lines.
	Config []string
	// RSAHostKey gives the server an RSA host key besides its ed25519 one.
	RSAHostKey bool
}

// Server is a running sshd.
type Server struct {
	Host string
	Port int
	Dir  string // holds keys, config and authorized_keys; removed at cleanup

	HostKey        ssh.PublicKey // ed25519
	RSAHostKey     ssh.PublicKey // with Options.RSAHostKey
	KnownHostsFile string        // trusts HostKey for [Host]:Port
	ClientKeyFile  string        // unencrypted OpenSSH private key, authorized for Users
	ClientKey      ssh.Signer

	cmd  *exec.Cmd
	log  *syncBuffer
	exit chan struct{} // closed when sshd exited
}

// Start starts sshd; t.Cleanup stops it.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	if opts.Host == "" {
		opts.Host = "127.0.0.3"
	}
	if len(opts.Users) == 0 {
		opts.Users = []string{"root", "postgres"}
	}
	// The privilege separation directory; Debian's service makes it at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	dir, err := os.MkdirTemp("", "sshtest-")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// sshd reads authorized_keys as the login user.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Host: opts.Host, Dir: dir}

	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKeyFiles := []string{filepath.Join(dir, "ssh_host_ed25519_key")}
	s.HostKey = WritePrivateKey(t, hostKeyFiles[0], edKey, "")
	if opts.RSAHostKey {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		hostKeyFiles = append(hostKeyFiles, filepath.Join(dir, "ssh_host_rsa_key"))
		s.RSAHostKey = WritePrivateKey(t, hostKeyFiles[1], rsaKey, "")
	}
	s.ClientKeyFile = filepath.Join(dir, "client_ed25519")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.ClientKey, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	WritePrivateKey(t, s.ClientKeyFile, priv, "")
	if err := os.MkdirAll(filepath.Join(dir, "authorized_keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range opts.Users {
		s.Authorize(t, u, s.ClientKey.PublicKey())
	}

	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		s.Port = pgtest.FreePort(t, s.Host)
		conf := []string{
			fmt.Sprintf("ListenAddress %s:%d", s.Host, s.Port),
			"PidFile none",
			"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys", "%u"),
			// The test's directory lives under /tmp, which is world-writable.
			"StrictModes no",
			"UsePAM yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PubkeyAuthentication yes",
			"PermitRootLogin prohibit-password",
			"AllowTcpForwarding yes",
			"AllowStreamLocalForwarding yes",
			"UseDNS no",
			"PrintMotd no",
			"LogLevel VERBOSE",
			// bash sources ~/.bashrc for commands from sshd only in a
			// top-level shell; SHLVL=1 makes it the second level. Root's
			// .bashrc on a developer machine (pyenv, cargo, …) can cost a
			// good part of a second per command, and nothing tested
			// depends on it.
			"SetEnv SHLVL=1",
		}
		for _, f := range hostKeyFiles {
			conf = append(conf, "HostKey "+f)
		}
		conf = append(conf, opts.Config...)
		confFile := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(confFile, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.start(confFile); err != nil {
			lastErr = err.Error()
			if strings.Contains(lastErr, "Address already in use") {
				continue
			}
			t.Fatalf("sshtest: %v", err)
		}
		t.Cleanup(s.stop)
		line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.HostKey)
		s.KnownHostsFile = filepath.Join(dir, "known_hosts")
		if err := os.WriteFile(s.KnownHostsFile, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatalf("sshtest: no free port for sshd: %s", lastErr)
	return nil
}

func (s *Server) start(confFile string) error {
	s.log = &syncBuffer{}
	s.exit = make(chan struct{})
	s.cmd = exec.Command(SSHD, "-D", "-e", "-f", confFile)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exit)
	}()
	deadline := time.After(15 * time.Second)
	for {
		if strings.Contains(s.log.String(), "Server listening on") {
			return nil
		}
		select {
		case <-s.exit:
			return fmt.Errorf("sshd exited: %s", s.log.String())
		case <-deadline:
			s.stop()
			return fmt.Errorf("sshd did not start listening: %s", s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop kills sshd and every process it started.
func (s *Server) stop() {
	s.signalAll(syscall.SIGKILL)
	<-s.exit
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Authorize lets user log in with pub.
func (s *Server) Authorize(t testing.TB, user string, pub ssh.PublicKey) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.Dir, "authorized_keys", user), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(ssh.MarshalAuthorizedKey(pub))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Log is what sshd logged so far.
func (s *Server) Log() string { return s.log.String() }

// Connections counts the TCP connections sshd accepted, from its log.
func (s *Server) Connections() int { return strings.Count(s.log.String(), "Connection from ") }

// AwaitConnections is Connections once it reaches want, or after 10
// seconds. sshd's log reaches this process through a pipe, so a connection
// the client already used may not be counted yet when Connections runs.
func (s *Server) AwaitConnections(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := s.Connections()
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill kills sshd and every connection it serves, as a crashed or rebooted
// host would: clients see their connection drop.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.stop()
}

// Freeze stops (SIGSTOP) sshd and the processes serving its connections:
// the connections stay open but nothing answers, as behind a dead network.
// Thaw undoes it; cleanup kills them in any case.
func (s *Server) Freeze(t testing.TB) {
	t.Helper()
	s.signalAll(syscall.SIGSTOP)
}

// Thaw resumes a frozen server.
func (s *Server) Thaw(t testing.TB) {
	t.Helper()
	s.signalAll(syscall.SIGCONT)
}

// signalAll signals sshd and its descendants (the per-connection processes
// start sessions of their own, so a process group would not reach them).
func (s *Server) signalAll(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exit:
		return // its pid may belong to another process by now
	default:
	}
	for _, pid := range descendants(s.cmd.Process.Pid) {
		_ = syscall.Kill(pid, sig)
	}
	_ = s.cmd.Process.Signal(sig)
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// WritePrivateKey writes key (ed25519.PrivateKey, *rsa.PrivateKey, …) to
// path in OpenSSH's format, mode 0600, encrypted with passphrase unless it is
// empty, and the public half to path.pub; it returns the public key.
func WritePrivateKey(t testing.TB, path string, key crypto.Signer, passphrase string) ssh.PublicKey {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "sshtest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "sshtest", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return pub
}

// StartAgent runs OpenSSH's ssh-agent on a socket of its own and returns
// the socket's path and a client to add keys with; cleanup stops it.
func StartAgent(t testing.TB) (string, agent.ExtendedAgent) {
	t.Helper()
	bin, err := exec.LookPath("ssh-agent")
	if err != nil {
		pgtest.Missing(t, fmt.Sprintf("ssh-agent missing (apt-get install openssh-client): %v", err))
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command(bin, "-D", "-a", sock)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return sock, agent.NewClient(c)
		}
		if time.Now().After(deadline) || !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("ssh-agent did not start: %v\n%s", err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
