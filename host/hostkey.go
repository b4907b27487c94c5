package host

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host key that known_hosts does not vouch for. pgrepl
// never accepts such a key by itself; the message says what to check and the
// exact line to add.
type HostKeyError struct {
	Host    string        // the address as known_hosts names it: "[10.0.0.5]:2222"
	Key     ssh.PublicKey // the key the server offered
	Files   []string      // the known_hosts files consulted
	Known   []knownhosts.KnownKey
	Revoked bool
}

// Unknown reports whether the host has no key at all in known_hosts (as
// opposed to a different one).
func (e *HostKeyError) Unknown() bool { return len(e.Known) == 0 && !e.Revoked }

// Line is the known_hosts line that trusts Key for Host.
func (e *HostKeyError) Line() string { return knownhosts.Line([]string{e.Host}, e.Key) }

func (e *HostKeyError) Error() string {
	offered := keyDesc(e.Key)
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key %s of %s is marked @revoked in %s", offered, e.Host, e.Known[0].Filename)
	case e.Unknown():
		file := "~/.ssh/known_hosts"
		if len(e.Files) > 0 {
			file = e.Files[0]
		}
		return fmt.Sprintf("unknown host key for %s: %s; if that is the host's key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), "+
			"add this line to %s:\n%s", e.Host, offered, keyFileType(e.Key), file, e.Line())
	default:
		var want []string
		for _, k := range e.Known {
			want = append(want, fmt.Sprintf("%s (%s:%d)", keyDesc(k.Key), k.Filename, k.Line))
		}
		return fmt.Sprintf("host key for %s CHANGED (possible man-in-the-middle): the host offers %s, known_hosts expects %s; "+
			"if the change is legitimate, replace the old line with:\n%s", e.Host, offered, strings.Join(want, ", "), e.Line())
	}
}

// keyFileType is the part of /etc/ssh/ssh_host_*_key naming a key type.
func keyFileType(k ssh.PublicKey) string {
	switch t := k.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ecdsa"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	default:
		return "*"
	}
}

// hostKeyCheck checks host keys against the known_hosts files that exist
// among files. None existing means every host is unknown.
type hostKeyCheck struct {
	files []string // all the files consulted, existing or not, for messages
	kh    ssh.HostKeyCallback
}

func newHostKeyCheck(files []string) (*hostKeyCheck, error) {
	var existing []string
	for _, f := range files {
		_, err := os.Stat(f)
		switch {
		case err == nil:
			existing = append(existing, f)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	c := &hostKeyCheck{files: files}
	if len(existing) == 0 {
		c.kh = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
		return c, nil
	}
	kh, err := knownhosts.New(existing...)
	if err != nil {
		return nil, err
	}
	c.kh = kh
	return c, nil
}

func (c *hostKeyCheck) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := c.kh(hostname, remote, key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return &HostKeyError{Host: knownhosts.Normalize(hostname), Key: key, Files: c.files, Known: []knownhosts.KnownKey{re.Revoked}, Revoked: true}
	case errors.As(err, &ke):
		return &HostKeyError{Host: knownhosts.Normalize(hostname), Key: key, Files: c.files, Known: ke.Want}
	default:
		return err
	}
}

// unknownHostAlgorithms is the preference for a host known_hosts has no
// key of, as ssh(1)'s: the error then shows the key an operator most likely
// compares with (ed25519), not whichever x/crypto happens to prefer.
var unknownHostAlgorithms = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA,
}

// algorithms lists the host key algorithms of the keys known_hosts holds
// for hostname, so that the server is asked for a key that can be checked
// (a server with ed25519 and RSA keys, known by its RSA key, must not be
// allowed to present its ed25519 key and look "changed").
func (c *hostKeyCheck) algorithms(hostname string, remote net.Addr) []string {
	// A key no host has: the check fails and lists the known keys.
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return unknownHostAlgorithms
	}
	var ke *knownhosts.KeyError
	if !errors.As(c.kh(hostname, remote, probe), &ke) || len(ke.Want) == 0 {
		return unknownHostAlgorithms
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		names := []string{k.Key.Type()}
		if k.Key.Type() == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}
