package host

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// SSHConfig says how to reach a host over SSH.
//
// Each setting is taken, first found wins, from this struct (the spec's ssh
// block), then from the ssh_config files for Host (HostName, User, Port,
// IdentityFile, UserKnownHostsFile, GlobalKnownHostsFile, IdentityAgent,
// ConnectTimeout, ServerAliveInterval),
// then from OpenSSH's defaults. Settings that would weaken the host key check
// (StrictHostKeyChecking no, …) are not read: an unknown or changed host key
// is always an error. ProxyJump and ProxyCommand are not supported, and are
// an error rather than ignored.
type SSHConfig struct {
	// Host is the name or address to connect to, and the alias looked up in
	// ssh_config ("Host db1" … "HostName 10.0.0.5").
	Host string
	// User is the login user; default ssh_config's User, else the local user.
	User string
	// Port is the SSH port; 0 means ssh_config's Port, else 22.
	Port int
	// IdentityFile is the private key to log in with. When set, it is the
	// only key offered (the agent signs with it when the file is
	// passphrase-protected). Otherwise ssh_config's IdentityFile keys are
	// offered, then the agent's keys, then ~/.ssh/id_ed25519, id_ecdsa and
	// id_rsa.
	IdentityFile string
	// KnownHostsFile is the known_hosts file checked; when set it is the only
	// one. Default: ssh_config's UserKnownHostsFile, else ~/.ssh/known_hosts,
	// plus /etc/ssh/ssh_known_hosts.
	KnownHostsFile string
	// Become is how commands and file operations switch to another user when
	// the login user is not the one wanted: "sudo" ("sudo -n": never
	// prompts), or "" / "none": no sudo, which only a root login can do
	// without (with runuser).
	Become string
	// OSUser is the user file operations act as (PostgreSQL's files' owner);
	// "" is the login user.
	OSUser string
	// ConnectTimeout bounds the TCP connection and SSH handshake; default
	// ssh_config's ConnectTimeout, else 15s.
	ConnectTimeout time.Duration
	// KeepAlive is the interval of keepalive requests; after three intervals
	// without an answer the connection counts as lost. Default ssh_config's
	// ServerAliveInterval, else 15s; negative turns keepalives off.
	KeepAlive time.Duration
	// ConfigFile is the ssh_config file to read; "" reads ~/.ssh/config and
	// /etc/ssh/ssh_config (either may be missing), "none" reads nothing.
	ConfigFile string
	// AgentSocket is the ssh-agent socket; "" is ssh_config's IdentityAgent,
	// else $SSH_AUTH_SOCK; "none" is no agent.
	AgentSocket string
}

// sshTarget is an SSHConfig resolved against ssh_config and defaults.
type sshTarget struct {
	alias        string
	hostName     string
	user         string
	port         int
	identities   []string // private key files, ~ and %-tokens expanded
	onlyExplicit bool     // identities came from SSHConfig.IdentityFile: offer nothing else
	knownHosts   []string
	timeout      time.Duration
	keepAlive    time.Duration
	agentSocket  string
	become       string
	osUser       string
}

// key identifies the connection: one per login user, host and port.
func (t sshTarget) key() string {
	return t.user + "@" + t.addr()
}

func (t sshTarget) addr() string { return net.JoinHostPort(t.hostName, strconv.Itoa(t.port)) }

// name is the Transport's Name: "db1 (ssh ops@10.0.0.5:22)".
func (t sshTarget) name() string { return t.alias + " (ssh " + t.key() + ")" }

const (
	defaultConnectTimeout = 15 * time.Second
	defaultKeepAlive      = 15 * time.Second
	keepAliveCountMax     = 3
)

// sshConfigFiles holds the parsed ssh_config files, most important first.
type sshConfigFiles struct {
	files []*ssh_config.Config
	names []string
}

func loadSSHConfig(path, home string) (*sshConfigFiles, error) {
	var paths []string
	mustExist := false
	switch path {
	case "none":
	case "":
		paths = []string{filepath.Join(home, ".ssh", "config"), "/etc/ssh/ssh_config"}
	default:
		paths = []string{path}
		mustExist = true
	}
	cf := &sshConfigFiles{}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) && !mustExist {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ssh config: %w", err)
		}
		c, err := ssh_config.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: %w", p, err)
		}
		cf.files = append(cf.files, c)
		cf.names = append(cf.names, p)
	}
	return cf, nil
}

// get returns the first value of key for alias, like ssh(1): the first
// obtained value wins.
func (cf *sshConfigFiles) get(alias, key string) (string, error) {
	for i, c := range cf.files {
		v, err := c.Get(alias, key)
		if err != nil {
			return "", fmt.Errorf("ssh config %s: %s: %w", cf.names[i], key, err)
		}
		if v != "" {
			return v, nil
		}
	}
	return "", nil
}

// getAll returns every value of key for alias (IdentityFile accumulates).
func (cf *sshConfigFiles) getAll(alias, key string) ([]string, error) {
	var all []string
	for i, c := range cf.files {
		v, err := c.GetAll(alias, key)
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: %s: %w", cf.names[i], key, err)
		}
		all = append(all, v...)
	}
	return all, nil
}

// resolveSSH applies ssh_config and defaults to cfg.
func resolveSSH(cfg SSHConfig) (sshTarget, error) {
	t := sshTarget{alias: cfg.Host, become: cfg.Become, osUser: cfg.OSUser}
	if cfg.Host == "" {
		return t, errors.New("ssh: no host given")
	}
	switch cfg.Become {
	case "sudo":
	case "", "none":
		t.become = ""
	default:
		return t, fmt.Errorf("ssh %s: become = %q is not supported (only \"sudo\")", cfg.Host, cfg.Become)
	}
	if cfg.OSUser != "" {
		if err := checkUser(cfg.OSUser); err != nil {
			return t, fmt.Errorf("ssh %s: os_user: %w", cfg.Host, err)
		}
	}
	local, err := user.Current()
	if err != nil {
		return t, fmt.Errorf("ssh %s: current user: %w", cfg.Host, err)
	}
	home := os.Getenv("HOME")
	if home == "" {
		home = local.HomeDir
	}
	sc, err := loadSSHConfig(cfg.ConfigFile, home)
	if err != nil {
		return t, err
	}
	get := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = sc.get(cfg.Host, key)
		return v
	}

	t.hostName = cfg.Host
	if v := get("HostName"); v != "" {
		t.hostName = strings.ReplaceAll(v, "%h", cfg.Host)
	}
	t.user = cfg.User
	if t.user == "" {
		t.user = get("User")
	}
	if t.user == "" {
		t.user = local.Username
	}
	t.port = cfg.Port
	if t.port == 0 {
		if v := get("Port"); v != "" {
			p, perr := strconv.Atoi(v)
			if perr != nil || p <= 0 || p > 65535 {
				return t, fmt.Errorf("ssh %s: ssh config: Port %q is not a port number", cfg.Host, v)
			}
			t.port = p
		}
	}
	if t.port == 0 {
		t.port = 22
	}
	t.timeout = cfg.ConnectTimeout
	if t.timeout == 0 {
		if v := get("ConnectTimeout"); v != "" {
			if s, perr := strconv.Atoi(v); perr == nil && s > 0 {
				t.timeout = time.Duration(s) * time.Second
			}
		}
	}
	if t.timeout <= 0 {
		t.timeout = defaultConnectTimeout
	}
	t.keepAlive = cfg.KeepAlive
	if t.keepAlive == 0 {
		if v := get("ServerAliveInterval"); v != "" {
			if s, perr := strconv.Atoi(v); perr == nil && s > 0 {
				t.keepAlive = time.Duration(s) * time.Second
			}
		}
	}
	if t.keepAlive == 0 {
		t.keepAlive = defaultKeepAlive
	}
	tokens := sshTokens{home: home, localUser: local.Username, alias: cfg.Host, host: t.hostName, user: t.user, port: t.port}

	if cfg.IdentityFile != "" {
		t.identities = []string{tokens.expand(cfg.IdentityFile)}
		t.onlyExplicit = true
	} else {
		var ids []string
		if err == nil {
			ids, err = sc.getAll(cfg.Host, "IdentityFile")
		}
		for _, id := range ids {
			t.identities = append(t.identities, tokens.expand(id))
		}
	}

	if cfg.KnownHostsFile != "" {
		t.knownHosts = []string{tokens.expand(cfg.KnownHostsFile)}
	} else {
		userFiles := strings.Fields(get("UserKnownHostsFile"))
		if len(userFiles) == 0 {
			userFiles = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
		}
		global := strings.Fields(get("GlobalKnownHostsFile"))
		if len(global) == 0 {
			global = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
		}
		for _, f := range append(userFiles, global...) {
			t.knownHosts = append(t.knownHosts, tokens.expand(f))
		}
	}

	agentSocket := cfg.AgentSocket
	if agentSocket == "" {
		agentSocket = get("IdentityAgent")
	}
	switch {
	case agentSocket == "none":
	case agentSocket == "", agentSocket == "SSH_AUTH_SOCK":
		t.agentSocket = os.Getenv("SSH_AUTH_SOCK")
	case strings.HasPrefix(agentSocket, "$"):
		t.agentSocket = os.Getenv(agentSocket[1:])
	default:
		t.agentSocket = tokens.expand(agentSocket)
	}
	// A hop pgrepl cannot make must not turn into a direct connection to
	// somewhere else.
	for _, k := range []string{"ProxyJump", "ProxyCommand"} {
		if v := get(k); v != "" && v != "none" {
			return t, fmt.Errorf("ssh %s: ssh config sets %s %s, which pgrepl does not support; reach the host directly", cfg.Host, k, v)
		}
	}
	if err != nil {
		return t, fmt.Errorf("ssh %s: %w", cfg.Host, err)
	}
	return t, nil
}

// sshTokens expands "~" and the %-tokens ssh_config allows in file names.
type sshTokens struct {
	home, localUser, alias, host, user string
	port                               int
}

func (tk sshTokens) expand(s string) string {
	if s == "~" {
		s = tk.home
	} else if strings.HasPrefix(s, "~/") {
		s = filepath.Join(tk.home, s[2:])
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(tk.home)
		case 'u':
			b.WriteString(tk.localUser)
		case 'h':
			b.WriteString(tk.host)
		case 'n':
			b.WriteString(tk.alias)
		case 'r':
			b.WriteString(tk.user)
		case 'p':
			b.WriteString(strconv.Itoa(tk.port))
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
