package spec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Spec is a loaded, validated spec: every cluster it describes, and the
// source it was read from (a saved plan embeds Sources and Dir and re-loads
// them with LoadSource).
type Spec struct {
	// Files are the spec files in the order they were read (sorted by path
	// for a directory), as named in diagnostics.
	Files []string
	// Sources holds the bytes of each file, in the order of Files.
	Sources []Source
	// Dir is the absolute directory against which relative file names, and
	// relative paths given to file(), were resolved.
	Dir string
	// Hash is the hex sha256 over the sources, sorted by name, for saved
	// plans: two specs with the same Hash read the same text.
	Hash string
	// Clusters in file order. Nil when the spec has errors.
	Clusters []*Cluster

	files  map[string]*hcl.File // parsed, for diagnostic snippets
	redact []hcl.Range          // literal secrets to mask in snippets
}

// Source is one spec file's name and text.
type Source struct {
	Name  string
	Bytes []byte
}

// Cluster is one `cluster "NAME"` block: a primary and its standbys.
type Cluster struct {
	Name            string
	PostgresVersion int
	Replication     Replication
	Primary         *Node
	// Standbys in file order.
	Standbys []*Node
	Pos      Pos
}

// Cluster returns the cluster called name, or nil.
func (s *Spec) Cluster(name string) *Cluster {
	for _, c := range s.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Nodes returns the primary followed by the standbys in file order.
func (c *Cluster) Nodes() []*Node {
	nodes := make([]*Node, 0, 1+len(c.Standbys))
	if c.Primary != nil {
		nodes = append(nodes, c.Primary)
	}
	return append(nodes, c.Standbys...)
}

// Node returns the node called name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes() {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// MinWALSenders is the least max_wal_senders every node of the cluster
// needs: one sender per standby, plus the two that pg_basebackup -Xs holds
// while it builds a standby.
func (c *Cluster) MinWALSenders() int { return len(c.Standbys) + 2 }

// MinReplicationSlots is the least max_replication_slots the primary needs:
// one physical slot per standby when slots are on, else none.
func (c *Cluster) MinReplicationSlots() int {
	if !c.Replication.Slots {
		return 0
	}
	return len(c.Standbys)
}

// Replication is the `replication` block: how standbys authenticate to the
// primary and how they stream.
type Replication struct {
	User     string
	Password Secret
	// AuthMethod is the pg_hba method pgrepl writes for each standby:
	// "scram-sha-256" (default), "md5" or "trust".
	AuthMethod string
	// Slots: one physical replication slot per standby (default true).
	Slots bool
	// Synchronous names the standbys that become synchronous standbys, in
	// priority order (synchronous_standby_names). Empty: all asynchronous.
	Synchronous []string
	// Checkpoint is pg_basebackup's --checkpoint: "fast" (default) or
	// "spread".
	Checkpoint string
	Pos        Pos
}

// Role says whether a node is the primary or a standby.
type Role string

// The roles a node can have.
const (
	Primary Role = "primary"
	Standby Role = "standby"
)

// Node is one `primary` or `standby` block with the cluster's `defaults`
// applied and every default filled in.
type Node struct {
	Name string
	Role Role
	// Host is where standbys (and SSH) reach this node.
	Host string
	Port int // default 5432
	// DataDir is the data directory (absolute).
	DataDir string
	// ConfigDir holds postgresql.conf and pg_hba.conf; default DataDir.
	ConfigDir string
	// BinDir holds pg_ctl, pg_basebackup, …; default
	// /usr/lib/postgresql/<version>/bin.
	BinDir string
	// OSUser owns the data directory and runs the server; default postgres.
	OSUser string
	// Control is how the server is started and stopped: "pg_ctl" (default),
	// "pg_ctlcluster" or "systemd".
	Control string
	// Service is the systemd unit (control = "systemd") or the Debian
	// cluster as "VERSION/NAME" (control = "pg_ctlcluster"); empty for
	// pg_ctl.
	Service string
	// AdminDSN is how pgrepl connects to this node as a superuser, as the
	// node sees it (a libpq conninfo string or URL). It may hold a password,
	// so it is a Secret. Default: "host=<first unix_socket_directories
	// entry, else /var/run/postgresql> port=<Port> user=<OSUser>
	// dbname=postgres".
	AdminDSN Secret
	// Settings are the user's GUCs, defaults merged in, sorted by name.
	Settings []Setting
	// HBA are the user's own pg_hba.conf rules, in order.
	HBA []HBARule
	// SSH says how to reach the node; nil means this machine.
	SSH *SSH
	// Slot is a standby's physical replication slot on the primary; empty
	// when replication.slots is false and for the primary.
	Slot string
	// SourceAddress is the address the primary sees a standby connect
	// from (default Host); pgrepl's pg_hba rule for the standby names it.
	SourceAddress string
	// Passfile is a standby's libpq password file (mode 0600, owned by
	// OSUser) that primary_conninfo and pg_basebackup read the replication
	// password from; default DefaultPassfile(DataDir).
	Passfile string
	Pos      Pos
}

// Setting returns the node's setting called name (lowercase), if the spec
// gives one.
func (n *Node) Setting(name string) (Setting, bool) {
	name = strings.ToLower(name)
	for _, s := range n.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Local reports whether the node is this machine (no ssh block).
func (n *Node) Local() bool { return n.SSH == nil }

// Setting is one GUC from a node's (or the defaults') `settings` map.
type Setting struct {
	// Name is lowercase, as PostgreSQL matches names.
	Name string
	// Value is the string PostgreSQL would read from postgresql.conf:
	// numbers as written, booleans as on/off, units kept, lists joined
	// with ", ".
	Value string
	// Pos is where the value was written: the node's settings, or the
	// cluster's defaults.
	Pos Pos
}

// HBARule is one of the user's own pg_hba.conf lines.
type HBARule struct {
	// Type is local, host, hostssl, hostnossl, hostgssenc or hostnogssenc.
	Type      string
	Databases []string
	Users     []string
	// Address is empty for local rules; else as written: a CIDR, an
	// address (then Netmask is set), a host name, or all, samehost,
	// samenet.
	Address string
	Netmask string
	Method  string
	// Options are the name=value options after the method, as written.
	Options []string
	// Line is the rule as written in the spec, spaces trimmed.
	Line string
	Pos  Pos
}

// SSH is a node's `ssh` block: the node is reached over SSH at its Host.
type SSH struct {
	// User is the SSH login; empty means ~/.ssh/config or the local user.
	User string
	// Port is the SSH port; 0 means ~/.ssh/config's Port, else 22.
	Port int
	// IdentityFile is a private key; empty means the SSH agent and the
	// usual ~/.ssh/id_* files. Relative paths are resolved against the
	// spec file's directory; a leading ~ is kept for the transport.
	IdentityFile string
	// KnownHostsFile is where host keys are checked; empty means
	// ~/.ssh/config's UserKnownHostsFile, else ~/.ssh/known_hosts.
	KnownHostsFile string
	// Become is how the SSH user acts as the node's OSUser: "sudo" or
	// "none". Default: "none" when User is the OSUser, else "sudo".
	Become string
}

// Pos is a place in a spec file. Lines and columns count from 1.
type Pos struct {
	File   string
	Line   int
	Column int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }
