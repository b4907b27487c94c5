package host

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshKeys is what a login may offer.
type sshKeys struct {
	signers []ssh.Signer
	desc    []string // one per signer, for the message when all are refused
	notes   []string // keys that were skipped, and why
	agent   net.Conn // open during the handshake; nil without an agent
}

func (k *sshKeys) close() {
	if k.agent != nil {
		k.agent.Close()
	}
}

func (k *sshKeys) add(s ssh.Signer, desc string) {
	pub := s.PublicKey().Marshal()
	for _, have := range k.signers {
		if bytes.Equal(have.PublicKey().Marshal(), pub) {
			return
		}
	}
	k.signers = append(k.signers, s)
	k.desc = append(k.desc, desc)
}

func keyDesc(pub ssh.PublicKey) string {
	return pub.Type() + " " + ssh.FingerprintSHA256(pub)
}

// loadKeys gathers the keys to offer, following ssh(1): explicitly named
// identity files first (signed by the agent when passphrase-protected), then
// the agent's keys, then the default identity files. A named identity file
// that cannot be used is an error before any connection is made.
func loadKeys(t sshTarget) (*sshKeys, error) {
	k := &sshKeys{}
	var agentSigners []ssh.Signer
	if t.agentSocket != "" {
		conn, err := net.DialTimeout("unix", t.agentSocket, 5*time.Second)
		if err != nil {
			k.notes = append(k.notes, fmt.Sprintf("ssh-agent at %s: %v", t.agentSocket, err))
		} else {
			k.agent = conn
			agentSigners, err = agent.NewClient(conn).Signers()
			if err != nil {
				k.notes = append(k.notes, fmt.Sprintf("ssh-agent at %s: %v", t.agentSocket, err))
			}
		}
	}
	fromAgent := func(pub ssh.PublicKey) ssh.Signer {
		for _, s := range agentSigners {
			if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
				return s
			}
		}
		return nil
	}
	useFile := func(path string, named bool) error {
		s, desc, err := identityFile(path, k.agent != nil, fromAgent)
		switch {
		case err == nil:
			k.add(s, desc)
		case named:
			return err
		case !errors.Is(err, fs.ErrNotExist):
			k.notes = append(k.notes, err.Error())
		}
		return nil
	}
	// A key named in the spec must work; keys from ssh_config that cannot
	// be used are skipped, as ssh(1) does, and named if the login fails.
	for _, f := range t.identities {
		if err := useFile(f, t.onlyExplicit); err != nil {
			k.close()
			return nil, err
		}
	}
	if !t.onlyExplicit {
		for _, s := range agentSigners {
			k.add(s, "agent key "+keyDesc(s.PublicKey()))
		}
		if len(t.identities) == 0 {
			home := os.Getenv("HOME")
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				_ = useFile(filepath.Join(home, ".ssh", n), false)
			}
		}
	}
	if len(k.signers) == 0 {
		k.close()
		msg := "no SSH key to log in with: give an identity file, or add a key to ssh-agent"
		if len(k.notes) > 0 {
			msg += " (" + strings.Join(k.notes, "; ") + ")"
		}
		return nil, errors.New(msg)
	}
	return k, nil
}

// identityFile loads a private key file, or finds the agent's signer for it
// when the file is passphrase-protected: pgrepl never asks for passphrases.
func identityFile(path string, haveAgent bool, fromAgent func(ssh.PublicKey) ssh.Signer) (ssh.Signer, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("identity file %s: %w", path, err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err == nil {
		return s, fmt.Sprintf("%s (%s)", path, keyDesc(s.PublicKey())), nil
	}
	var pme *ssh.PassphraseMissingError
	if !errors.As(err, &pme) {
		return nil, "", fmt.Errorf("identity file %s: %w", path, err)
	}
	pub := pme.PublicKey
	if pub == nil {
		// Older PEM formats keep the public half only in the .pub file.
		if pb, err := os.ReadFile(path + ".pub"); err == nil {
			pub, _, _, _, _ = ssh.ParseAuthorizedKey(pb)
		}
	}
	if pub != nil {
		if s := fromAgent(pub); s != nil {
			return s, fmt.Sprintf("%s via ssh-agent (%s)", path, keyDesc(pub)), nil
		}
	}
	why := "ssh-agent does not hold it"
	if !haveAgent {
		why = "no ssh-agent is reachable (SSH_AUTH_SOCK)"
	}
	return nil, "", fmt.Errorf("identity file %s is passphrase-protected and %s; add it with: ssh-add %s", path, why, path)
}
