package host

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPidWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		pid    int
		out    string
	}{
		{"marker then output", []string{"pgrepl-pid 4242\nreal error\n"}, 4242, "real error\n"},
		{"split writes", []string{"pgrepl-", "pid 17", "\nab", "c\n"}, 17, "abc\n"},
		{"marker only", []string{"pgrepl-pid 9\n"}, 9, ""},
		{"no marker", []string{"bash: warning\nmore\n"}, 0, "bash: warning\nmore\n"},
		{"garbled marker", []string{"pgrepl-pid x1\n"}, 0, "pgrepl-pid x1\n"},
		{"long line without newline", []string{strings.Repeat("z", 100)}, 0, strings.Repeat("z", 100)},
		{"short output without newline", []string{"oops"}, 0, "oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &pidWriter{w: &out}
			for _, w := range tt.writes {
				if n, err := p.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			p.flush()
			if p.PID() != tt.pid || out.String() != tt.out {
				t.Fatalf("pid %d, out %q; want %d, %q", p.PID(), out.String(), tt.pid, tt.out)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	fi, err := parseStat("postgresql.conf", "1234\n81a0\npostgres\nssl-cert\n101\n103\n1700000000\n")
	if err != nil {
		t.Fatal(err)
	}
	want := FileInfo{Name: "postgresql.conf", Size: 1234, Mode: 0o640, ModTime: time.Unix(1700000000, 0),
		Owner: "postgres", Group: "ssl-cert", UID: 101, GID: 103}
	if fi != want {
		t.Fatalf("got %+v\nwant %+v", fi, want)
	}
	fi, err = parseStat("x", "4096\n41c0\nUNKNOWN\nUNKNOWN\n5000\n5001\n1\n")
	if err != nil || fi.Mode != fs.ModeDir|0o700 || fi.Owner != "5000" || fi.Group != "5001" {
		t.Fatalf("got %+v %v", fi, err)
	}
	for _, bad := range []string{"", "1\n2\n", "x\n81a0\nu\ng\n1\n1\n1\n", "1\n81a0\nu\ng\n1\n1\n1\nextra\n"} {
		if _, err := parseStat("x", bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestUnixMode(t *testing.T) {
	// The st_mode of real files against what os.Stat says of them.
	for _, tc := range []struct {
		raw  uint32
		want fs.FileMode
	}{
		{0o100644, 0o644},
		{0o040700, fs.ModeDir | 0o700},
		{0o120777, fs.ModeSymlink | 0o777},
		{0o140777, fs.ModeSocket | 0o777},
		{0o010600, fs.ModeNamedPipe | 0o600},
		{0o020666, fs.ModeDevice | fs.ModeCharDevice | 0o666},
		{0o060660, fs.ModeDevice | 0o660},
		{0o104755, fs.ModeSetuid | 0o755},
		{0o042775, fs.ModeDir | fs.ModeSetgid | 0o775},
		{0o041777, fs.ModeDir | fs.ModeSticky | 0o777},
	} {
		if got := unixMode(tc.raw); got != tc.want {
			t.Errorf("unixMode(%o) = %v, want %v", tc.raw, got, tc.want)
		}
	}
	if got := octalMode(fs.ModeSetgid | 0o750); got != "2750" {
		t.Errorf("octalMode = %s", got)
	}
	if got := octalMode(0o600); got != "0600" {
		t.Errorf("octalMode = %s", got)
	}
}

func TestCommandFailure(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		kind   error
	}{
		{"cat: /x: No such file or directory\n", fs.ErrNotExist},
		{"cat: /x: Permission denied\n", fs.ErrPermission},
		{"chown: changing ownership of '/x': Operation not permitted\n", fs.ErrPermission},
		{"rename: /b: File exists\n", fs.ErrExist},
		{"sudo: a password is required\n", nil},
	} {
		err := commandFailure(Result{ExitCode: 1, Stderr: []byte(tc.stderr)})
		if tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("%q: not %v", tc.stderr, tc.kind)
		}
		for _, k := range []error{fs.ErrNotExist, fs.ErrPermission, fs.ErrExist} {
			if k != tc.kind && errors.Is(err, k) {
				t.Errorf("%q: classified %v", tc.stderr, k)
			}
		}
		if err.Error() != strings.TrimSpace(tc.stderr) {
			t.Errorf("message %q", err)
		}
	}
	if err := commandFailure(Result{ExitCode: 2}); err.Error() != "exit status 2" {
		t.Errorf("empty stderr: %v", err)
	}
}

func TestPathChain(t *testing.T) {
	if got := strings.Join(pathChain("/srv/pg//data/"), " "); got != "/srv /srv/pg /srv/pg/data" {
		t.Fatalf("pathChain = %s", got)
	}
	if got := pathChain("/"); len(got) != 0 {
		t.Fatalf("pathChain(/) = %q", got)
	}
}

func TestCommandArgv(t *testing.T) {
	become := func(as string) ([]string, error) {
		if as == "" {
			return nil, nil
		}
		return []string{"sudo", "-n", "-u", as, "--"}, nil
	}
	argv, err := commandArgv(Cmd{Argv: []string{"pg_ctl", "start"}, As: "postgres", Env: []string{"PGDATA=/d", "LC_ALL=C"}}, become)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(argv, " "); got != "sudo -n -u postgres -- env PGDATA=/d LC_ALL=C pg_ctl start" {
		t.Fatalf("argv = %s", got)
	}
	for _, bad := range []Cmd{
		{},
		{Argv: []string{""}},
		{Argv: []string{"echo", "a\x00b"}},
		{Argv: []string{"x"}, Env: []string{"=v"}},
		{Argv: []string{"x"}, Env: []string{"A B=v"}},
		{Argv: []string{"A=b"}, Env: []string{"X=1"}},
	} {
		if _, err := commandArgv(bad, become); err == nil {
			t.Errorf("commandArgv(%q) accepted", bad.Argv)
		}
	}
}

func TestResolveSSH(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	err := os.WriteFile(conf, []byte(`
Host db1
    HostName 10.0.0.5
    User ops
    Port 2222
    IdentityFile ~/.ssh/db1_%r_%h
    IdentityFile /keys/second
    UserKnownHostsFile /kh/one /kh/two
    ConnectTimeout 7
    ServerAliveInterval 11

Host *.example
    HostName %h.internal

Host *
    User everyone
    IdentityFile /keys/all
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	home := os.Getenv("HOME")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}

	tg, err := resolveSSH(SSHConfig{Host: "db1", ConfigFile: conf, AgentSocket: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if tg.key() != "ops@10.0.0.5:2222" || tg.name() != "db1 (ssh ops@10.0.0.5:2222)" {
		t.Errorf("key %s name %s", tg.key(), tg.name())
	}
	wantIDs := []string{filepath.Join(home, ".ssh/db1_ops_10.0.0.5"), "/keys/second", "/keys/all"}
	if strings.Join(tg.identities, " ") != strings.Join(wantIDs, " ") || tg.onlyExplicit {
		t.Errorf("identities %q (only %v), want %q", tg.identities, tg.onlyExplicit, wantIDs)
	}
	if strings.Join(tg.knownHosts, " ") != "/kh/one /kh/two /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2" {
		t.Errorf("known hosts %q", tg.knownHosts)
	}
	if tg.timeout != 7*time.Second || tg.keepAlive != 11*time.Second || tg.agentSocket != "" {
		t.Errorf("timeout %v keepalive %v agent %q", tg.timeout, tg.keepAlive, tg.agentSocket)
	}

	// The spec's values win over ssh_config.
	tg, err = resolveSSH(SSHConfig{Host: "db1", User: "root", Port: 22, IdentityFile: "~/id", KnownHostsFile: "/kh/mine",
		ConnectTimeout: time.Second, KeepAlive: -1, ConfigFile: conf, AgentSocket: "/run/agent.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if tg.key() != "root@10.0.0.5:22" || strings.Join(tg.identities, " ") != filepath.Join(home, "id") || !tg.onlyExplicit ||
		strings.Join(tg.knownHosts, " ") != "/kh/mine" || tg.timeout != time.Second || tg.keepAlive != -1 || tg.agentSocket != "/run/agent.sock" {
		t.Errorf("explicit settings lost: %+v", tg)
	}

	if tg, err := resolveSSH(SSHConfig{Host: "h", Become: "none", ConfigFile: "none"}); err != nil || tg.become != "" {
		t.Errorf(`become = "none": %q %v`, tg.become, err)
	}

	// %h in HostName; Host * supplies User.
	tg, err = resolveSSH(SSHConfig{Host: "pg.example", ConfigFile: conf, AgentSocket: "none"})
	if err != nil || tg.key() != "everyone@pg.example.internal:22" {
		t.Errorf("pattern host: %s %v", tg.key(), err)
	}

	// No ssh_config: OpenSSH's defaults.
	tg, err = resolveSSH(SSHConfig{Host: "10.1.1.1", ConfigFile: "none", AgentSocket: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if tg.key() != me.Username+"@10.1.1.1:22" || len(tg.identities) != 0 || tg.timeout != defaultConnectTimeout || tg.keepAlive != defaultKeepAlive ||
		tg.knownHosts[0] != filepath.Join(home, ".ssh/known_hosts") {
		t.Errorf("defaults: %+v", tg)
	}

	for _, bad := range []SSHConfig{
		{},
		{Host: "h", Become: "su", ConfigFile: "none"},
		{Host: "h", OSUser: "-oops", ConfigFile: "none"},
		{Host: "h", ConfigFile: filepath.Join(dir, "absent")},
	} {
		if _, err := resolveSSH(bad); err == nil {
			t.Errorf("resolveSSH(%+v) accepted", bad)
		}
	}
	proxy := filepath.Join(dir, "proxy")
	if err := os.WriteFile(proxy, []byte("Host bastioned\n  ProxyJump jump.example\nHost agent\n  IdentityAgent /run/a.sock\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveSSH(SSHConfig{Host: "bastioned", ConfigFile: proxy}); err == nil || !strings.Contains(err.Error(), "ProxyJump jump.example") {
		t.Errorf("ProxyJump: %v", err)
	}
	if tg, err := resolveSSH(SSHConfig{Host: "agent", ConfigFile: proxy}); err != nil || tg.agentSocket != "/run/a.sock" {
		t.Errorf("IdentityAgent: %q %v", tg.agentSocket, err)
	}
	badPort := filepath.Join(dir, "badport")
	if err := os.WriteFile(badPort, []byte("Host h\n  Port http\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveSSH(SSHConfig{Host: "h", ConfigFile: badPort}); err == nil || !strings.Contains(err.Error(), "Port") {
		t.Errorf("bad port: %v", err)
	}
}

func TestSSHTokens(t *testing.T) {
	tk := sshTokens{home: "/home/me", localUser: "me", alias: "db1", host: "10.0.0.5", user: "ops", port: 2222}
	for in, want := range map[string]string{
		"~":                   "/home/me",
		"~/.ssh/id":           "/home/me/.ssh/id",
		"%d/k_%u_%r@%h:%p_%n": "/home/me/k_me_ops@10.0.0.5:2222_db1",
		"100%%":               "100%",
		"%x%":                 "%x%",
		"/plain":              "/plain",
	} {
		if got := tk.expand(in); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDeadlineConn: deadlines work on a connection that has none of its own
// (an SSH channel), without losing data.
func TestDeadlineConn(t *testing.T) {
	a, b := net.Pipe()
	d := newDeadlineConn(noDeadlines{a})
	defer d.Close()

	if err := d.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := d.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v", err)
	}
	var ne net.Error
	if _, err := d.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("expired deadline: %v is not a timeout", err)
	}
	// A deadline moved while a Read waits applies to it.
	if err := d.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := d.Read(buf)
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := d.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the deadline moved: %v", err)
	}
	// Nothing lost: data written meanwhile arrives in order.
	if err := d.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.Write([]byte("hello, "))
		b.Write([]byte("world"))
		b.Close()
	}()
	all, err := io.ReadAll(d)
	if err != nil || string(all) != "hello, world" {
		t.Fatalf("ReadAll = %q, %v", all, err)
	}

	// Writes: an expired write deadline fails at once.
	a2, b2 := net.Pipe()
	d2 := newDeadlineConn(noDeadlines{a2})
	defer b2.Close()
	if err := d2.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline: %v", err)
	}
	// A write nobody reads outlives its deadline: timeout, connection closed.
	if err := d2.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocked Write: %v", err)
	}
	// Close ends a waiting Read.
	go func() {
		time.Sleep(20 * time.Millisecond)
		d2.Close()
	}()
	if err := d2.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Read(buf); err == nil {
		t.Fatal("Read on a closed connection succeeded")
	}
}

// noDeadlines is a connection whose deadlines fail, as an SSH channel's do.
type noDeadlines struct{ net.Conn }

func (noDeadlines) SetDeadline(time.Time) error      { return errors.New("not supported") }
func (noDeadlines) SetReadDeadline(time.Time) error  { return errors.New("not supported") }
func (noDeadlines) SetWriteDeadline(time.Time) error { return errors.New("not supported") }

// TestFindProgram: runuser is found in PATH, else in the sbin directories
// that a plain "su" leaves out of root's PATH.
func TestFindProgram(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "runuser-test")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "not-executable"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent")
	for _, c := range []struct{ name, want string }{
		{"runuser-test", prog},
		{"not-executable", "not-executable"},
		{"missing", "missing"},
	} {
		if got := findProgram(c.name, []string{"/nonexistent", dir}); got != c.want {
			t.Errorf("findProgram(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	t.Setenv("PATH", dir)
	if got := findProgram("runuser-test", nil); got != prog {
		t.Errorf("from PATH: %q", got)
	}
}
