// Package state is what pgrepl observed of a cluster's hosts: plain data that
// serializes to JSON, so that the planner is a pure function of (spec, state)
// and its tests run from snapshots in testdata/ with no server at all.
//
// A State never holds a secret: the replication password and its stored
// verifier stay with the observer, which records only whether they match.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// FormatVersion is the version of the JSON layout.
const FormatVersion = "1"

// State is the observation of every node of every cluster in a spec.
type State struct {
	FormatVersion string     `json:"format_version"`
	Clusters      []*Cluster `json:"clusters"`
}

// Cluster holds the nodes of one spec cluster, primary first, then the
// standbys in spec order.
type Cluster struct {
	Name  string  `json:"name"`
	Nodes []*Node `json:"nodes"`
}

// Cluster returns the cluster called name, or nil.
func (s *State) Cluster(name string) *Cluster {
	for _, c := range s.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Node returns the node called name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Node is what was seen of one spec node.
type Node struct {
	Name string `json:"name"`
	Host string `json:"host"`
	// Reachable is false when the host could not be reached at all
	// (connection refused, timeout); Error says why. An unknown host key or
	// a refused login is an error of the observation, not an unreachable
	// node.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// MachineID is the host's /etc/machine-id, so that two spec nodes
	// that are really one machine are recognised.
	MachineID string `json:"machine_id,omitempty"`
	// BinVersion is the major version of the server binaries in the
	// node's bin_dir (its pg_controldata --version, when a postgres binary
	// is there), 0 when unknown.
	BinVersion int `json:"bin_version,omitempty"`

	DataDir DataDir `json:"data_dir"`

	// ConfigFile and HBAFile are the paths PostgreSQL reads: those the
	// server reports when it is up, else derived from the spec's config_dir.
	ConfigFile string `json:"config_file"`
	HBAFile    string `json:"hba_file"`
	// Files are every config file read: postgresql.conf, its includes in
	// reading order, postgresql.auto.conf, pg_hba.conf.
	Files []*File `json:"files"`

	Server Server `json:"server"`

	// Passfile describes the standby's password file for the replication
	// connection (never its content).
	Passfile *Passfile `json:"passfile,omitempty"`
}

// File returns the observed file at path, or nil.
func (n *Node) File(path string) *File {
	for _, f := range n.Files {
		if f.Path == path {
			return f
		}
	}
	return nil
}

// FileRole says why a file was read.
type FileRole string

// The roles of config files.
const (
	RoleConfig  FileRole = "config"  // the main postgresql.conf
	RoleInclude FileRole = "include" // read through include, include_if_exists or include_dir
	RoleAuto    FileRole = "auto"    // postgresql.auto.conf
	RoleHBA     FileRole = "hba"     // pg_hba.conf
)

// File is one config file: its bytes and the facts apply needs to replace it
// in kind.
type File struct {
	Path    string   `json:"path"`
	Role    FileRole `json:"role"`
	Exists  bool     `json:"exists"`
	SHA256  string   `json:"sha256,omitempty"`
	Owner   string   `json:"owner,omitempty"`
	Group   string   `json:"group,omitempty"`
	Mode    string   `json:"mode,omitempty"` // octal, "0600"
	Content Content  `json:"content,omitempty"`
	// Redacted is true when a password found in the file (in a
	// primary_conninfo, or the spec's replication password anywhere) was
	// replaced in Content by "(sensitive value)". SHA256 is still that of
	// the real bytes; such a Content must never be written back: re-read
	// the file on the host and edit that.
	Redacted bool `json:"redacted,omitempty"`
}

// Content is a file's bytes. It serializes as a JSON string when the bytes
// are valid UTF-8 (config files are text, and snapshots in testdata/ stay
// readable and diffable), else as {"base64": "…"}.
type Content []byte

// MarshalJSON implements json.Marshaler.
func (c Content) MarshalJSON() ([]byte, error) {
	if utf8.Valid(c) {
		return json.Marshal(string(c))
	}
	return json.Marshal(struct {
		Base64 []byte `json:"base64"`
	}{c})
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Content) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = Content(s)
		return nil
	}
	var v struct {
		Base64 []byte `json:"base64"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("file content: want a string or {\"base64\": …}: %w", err)
	}
	*c = v.Base64
	return nil
}

// Hash returns the hex sha256 of b, as File.SHA256 holds it.
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// DataDir is what the filesystem says of a node's data directory; it is read
// whether or not the server runs (pg_controldata works on a stopped cluster).
type DataDir struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Empty  bool   `json:"empty"`
	Owner  string `json:"owner,omitempty"`
	Mode   string `json:"mode,omitempty"`
	// PGVersion is the content of PG_VERSION ("15"), "" when absent.
	PGVersion      string `json:"pg_version,omitempty"`
	StandbySignal  bool   `json:"standby_signal"`
	RecoverySignal bool   `json:"recovery_signal"`
	PostmasterPID  bool   `json:"postmaster_pid"`
	// SystemIdentifier is pg_controldata's "Database system identifier", a
	// uint64 kept as a string so that JSON readers do not round it.
	SystemIdentifier string `json:"system_identifier,omitempty"`
	Timeline         int    `json:"timeline,omitempty"`
	// ClusterState is pg_controldata's "Database cluster state" ("in
	// production", "in archive recovery", "shut down", …).
	ClusterState string `json:"cluster_state,omitempty"`
	// ControlDataError is why pg_controldata failed on a data directory
	// that has a PG_VERSION (a half-copied or damaged cluster): then
	// SystemIdentifier, Timeline and ClusterState are unknown.
	ControlDataError string `json:"control_data_error,omitempty"`
	// FreeBytes is the free space of the filesystem holding the data
	// directory (or its nearest existing parent).
	FreeBytes uint64 `json:"free_bytes"`
}

// Server is what a live server answered through pgx. Up is false when the
// server is down or refuses connections; Error says why.
type Server struct {
	Up    bool   `json:"up"`
	Error string `json:"error,omitempty"`

	VersionNum int    `json:"version_num,omitempty"` // server_version_num: 150018
	Version    string `json:"version,omitempty"`     // server_version: "15.18 (Debian 15.18-0+deb12u1)"
	InRecovery bool   `json:"in_recovery"`

	// Settings are pg_settings rows, sorted by name.
	Settings []Setting `json:"settings,omitempty"`

	// Role is the replication role named in the spec (primary only).
	Role *Role `json:"role,omitempty"`
	// Slots are pg_replication_slots rows, sorted by name.
	Slots []Slot `json:"slots,omitempty"`
	// Replication are pg_stat_replication rows, sorted by application_name.
	Replication []Replication `json:"replication,omitempty"`
	// WalReceiver is the pg_stat_wal_receiver row of a standby, if any.
	WalReceiver *WalReceiver `json:"wal_receiver,omitempty"`

	// CurrentLSN is pg_current_wal_lsn() on a primary,
	// pg_last_wal_replay_lsn() on a standby.
	CurrentLSN string `json:"current_lsn,omitempty"`
	// DatabaseSize is the sum of pg_database_size over all databases.
	DatabaseSize int64 `json:"database_size,omitempty"`
}

// Setting returns the pg_settings row for name (case-insensitive), or nil.
func (s *Server) Setting(name string) *Setting {
	for i := range s.Settings {
		if strings.EqualFold(s.Settings[i].Name, name) {
			return &s.Settings[i]
		}
	}
	return nil
}

// Setting is one pg_settings row.
type Setting struct {
	Name           string `json:"name"`
	Setting        string `json:"setting"`
	Unit           string `json:"unit,omitempty"`
	Context        string `json:"context"`
	VarType        string `json:"vartype"`
	Source         string `json:"source"`
	SourceFile     string `json:"sourcefile,omitempty"`
	SourceLine     int    `json:"sourceline,omitempty"`
	PendingRestart bool   `json:"pending_restart"`
}

// PasswordState is how the role's stored password relates to the spec's.
type PasswordState string

// Password states. The observer compares by recomputing the stored SCRAM
// verifier from the spec's password with its salt and iteration count, so
// neither the plaintext nor the verifier ever reaches a State.
const (
	PasswordNone    PasswordState = "none"    // no password stored
	PasswordMatches PasswordState = "matches" // a SCRAM verifier of the spec's password
	PasswordDiffers PasswordState = "differs" // a SCRAM verifier of another password
	PasswordMD5     PasswordState = "md5"     // an md5 hash (cannot be compared without the plaintext's hash; pgrepl replaces it when scram is wanted)
	PasswordUnknown PasswordState = "unknown" // the spec has no password to compare with
)

// Role is the replication role as pg_authid shows it.
type Role struct {
	Name        string        `json:"name"`
	Exists      bool          `json:"exists"`
	Replication bool          `json:"replication"`
	Login       bool          `json:"login"`
	Superuser   bool          `json:"superuser"`
	Password    PasswordState `json:"password"`
	// Expired is true when rolvaliduntil is in the past (by the server's
	// clock): logins then fail whatever the password.
	Expired bool `json:"expired,omitempty"`
}

// Slot is one pg_replication_slots row.
type Slot struct {
	Name       string `json:"name"`
	Type       string `json:"type"` // physical | logical
	Active     bool   `json:"active"`
	RestartLSN string `json:"restart_lsn,omitempty"`
	WalStatus  string `json:"wal_status,omitempty"`
	// RetainedBytes is how much WAL the slot holds back:
	// pg_current_wal_lsn() - restart_lsn.
	RetainedBytes int64 `json:"retained_bytes"`
}

// Replication is one pg_stat_replication row.
type Replication struct {
	ApplicationName string  `json:"application_name"`
	ClientAddr      string  `json:"client_addr,omitempty"`
	State           string  `json:"state"`
	SyncState       string  `json:"sync_state"`
	SentLSN         string  `json:"sent_lsn,omitempty"`
	ReplayLSN       string  `json:"replay_lsn,omitempty"`
	ReplayLagBytes  int64   `json:"replay_lag_bytes"`
	ReplayLagSecs   float64 `json:"replay_lag_seconds"`
}

// WalReceiver is the pg_stat_wal_receiver row of a standby.
type WalReceiver struct {
	Status     string `json:"status"`
	SenderHost string `json:"sender_host,omitempty"`
	SenderPort int    `json:"sender_port,omitempty"`
	SlotName   string `json:"slot_name,omitempty"`
}

// Passfile is what the observer found of a standby's libpq password file.
type Passfile struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Owner  string `json:"owner,omitempty"`
	Mode   string `json:"mode,omitempty"`
	// Matches is true when the file holds an entry for the primary and the
	// replication user whose password is the spec's.
	Matches bool `json:"matches"`
}
