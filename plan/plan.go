// Package plan decides what pgrepl must change so that the observed State of
// a cluster's hosts matches its Spec. Make is a pure function: no I/O, no
// clock, no randomness, and no map iteration order in its output, so that the
// same (Spec, State) always gives the same Plan, byte for byte, and golden
// tests run from State snapshots with no server at all.
//
// A Plan is an ordered list of Changes, each with a node, an action (DESIGN
// §4: edit_file, create_role, alter_role, create_slot, drop_slot, reload,
// restart, stop, basebackup, start, verify), a human reason, and the detail
// apply needs to carry it out exactly. A Plan never holds a secret: the
// replication password appears only as its reference (env("…")), and
// passwords found in existing files are redacted from every diff.
package plan

import "github.com/pgrepl/pgrepl/spec"

// FormatVersion is the version of the plan's JSON layout.
const FormatVersion = "1"

// Action is what a Change does (DESIGN §4).
type Action string

// The actions, as DESIGN §4 names them.
const (
	EditFile   Action = "edit_file"
	CreateRole Action = "create_role"
	AlterRole  Action = "alter_role"
	CreateSlot Action = "create_slot"
	DropSlot   Action = "drop_slot"
	Reload     Action = "reload"
	Restart    Action = "restart"
	Stop       Action = "stop"
	Basebackup Action = "basebackup"
	Start      Action = "start"
	Verify     Action = "verify"
)

// Plan is the ordered list of changes that brings the hosts to the spec.
type Plan struct {
	FormatVersion string   `json:"format_version"`
	Changes       []Change `json:"changes"`
	Summary       Summary  `json:"summary"`
}

// Empty reports whether the plan changes nothing (verify steps alone never
// appear: a plan without changes has no steps at all).
func (p *Plan) Empty() bool { return p.Summary.Changes == 0 }

// Summary counts a plan's changes.
type Summary struct {
	// Changes is the number of steps other than verify.
	Changes int `json:"changes"`
	// Nodes is the number of nodes with at least one such step.
	Nodes    int `json:"nodes"`
	Restarts int `json:"restarts"`
	// Rebuilds is the number of standbys rebuilt with pg_basebackup.
	Rebuilds int `json:"rebuilds"`
	// Destructive is the number of steps marked destructive.
	Destructive int `json:"destructive"`
	// Downtime is true when a step stops a primary from taking writes.
	Downtime bool `json:"downtime"`
	// Actions counts the steps by action (verify included).
	Actions map[Action]int `json:"actions"`
}

// Change is one step of a plan.
type Change struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"`
	Host    string `json:"host"`
	// NodeRole is "primary" or "standby".
	NodeRole spec.Role `json:"node_role"`
	Action   Action    `json:"action"`
	// Reason says why, for people. It is not part of what makes two plans
	// equivalent (see Equivalent).
	Reason string `json:"reason"`
	// Destructive marks a step that cannot be undone by pgrepl: a data
	// directory moved aside for a rebuild, a slot dropped.
	Destructive bool `json:"destructive,omitempty"`
	// Downtime marks a step that stops the primary from taking writes: its
	// restart, or a synchronous standby's absence that makes its commits
	// wait. DowntimeReason says which, for people (like Reason, it does not
	// make two plans differ).
	Downtime       bool   `json:"downtime,omitempty"`
	DowntimeReason string `json:"downtime_reason,omitempty"`

	// Path and Diff are set for edit_file: the file and a unified diff of
	// it (3 lines of context, secrets redacted).
	Path string    `json:"path,omitempty"`
	Diff string    `json:"diff,omitempty"`
	File *FileEdit `json:"file,omitempty"`
	// Settings are the parameters an edit_file of a configuration file
	// changes, in the order they were edited.
	Settings []SettingChange `json:"settings,omitempty"`
	// HBA are the pg_hba.conf rules an edit_file adds, moves or removes.
	HBA []HBAChange `json:"hba,omitempty"`
	// Passfile is the entry an edit_file of a standby's password file
	// writes; the password itself is only named by its reference.
	Passfile *PassfileEntry `json:"passfile,omitempty"`

	// Role is set for create_role and alter_role.
	Role *RoleChange `json:"role,omitempty"`
	// Slot is set for create_slot and drop_slot.
	Slot *SlotChange `json:"slot,omitempty"`
	// Basebackup is set for basebackup.
	Basebackup *BasebackupStep `json:"basebackup,omitempty"`
	// Parameters are what makes a reload or restart necessary: parameter
	// names, "pg_hba.conf", in order.
	Parameters []string `json:"parameters,omitempty"`
	// Verify is set for verify.
	Verify *VerifyStep `json:"verify,omitempty"`

	// Content is the new content of the file for edit_file (nil for a
	// password file: apply writes it from the secret). It is never
	// serialized: a saved plan holds diffs only, and apply computes the
	// plan again before it executes it.
	Content []byte `json:"-"`
}

// FileKind says what a file edited by edit_file is.
type FileKind string

// The kinds of files pgrepl edits.
const (
	KindConfig   FileKind = "config"   // postgresql.conf
	KindInclude  FileKind = "include"  // a file postgresql.conf includes
	KindAuto     FileKind = "auto"     // postgresql.auto.conf
	KindHBA      FileKind = "hba"      // pg_hba.conf
	KindPassfile FileKind = "passfile" // a standby's libpq password file
)

// FileEdit is what apply needs to write a file in kind.
type FileEdit struct {
	Kind FileKind `json:"kind"`
	// Create is true when the file does not exist yet.
	Create bool `json:"create,omitempty"`
	// OldSHA256 is the sha256 of the content the edit was computed from;
	// apply refuses to write when the file no longer has it. Empty for a
	// new file, a password file (whose content is never read), and a file
	// that pg_basebackup writes first (AfterBasebackup).
	OldSHA256 string `json:"old_sha256,omitempty"`
	// NewSHA256 is the sha256 of the new content (empty for a password
	// file, and for an AfterBasebackup file, whose content apply computes
	// again).
	NewSHA256 string `json:"new_sha256,omitempty"`
	// Owner, Group and Mode are kept (or, for a new file, set).
	Owner string `json:"owner,omitempty"`
	Group string `json:"group,omitempty"`
	Mode  string `json:"mode,omitempty"`
	// AfterBasebackup is true when the file is the one pg_basebackup
	// leaves in a rebuilt standby's data directory: the diff is against
	// the primary's copy (and, for postgresql.auto.conf, the lines -R
	// appends). Apply computes the edit again on the real file.
	AfterBasebackup bool `json:"after_basebackup,omitempty"`
	// OnlyAttributes is set when only the owner or mode change, not the
	// content.
	OnlyAttributes bool `json:"only_attributes,omitempty"`
	// Redacted is set when the observed content had a password replaced
	// by "(sensitive value)" (the observer keeps secrets out of a State):
	// the diff is right, but Content is not the real file's; apply
	// computes the same edits again on the real file (OldSHA256, when set,
	// is the real file's hash).
	Redacted bool `json:"redacted,omitempty"`
}

// SettingChange is one parameter an edit sets.
type SettingChange struct {
	Name string `json:"name"`
	// Old is the value before (redacted), "" with OldSet false when
	// nothing set it.
	Old    string `json:"old,omitempty"`
	OldSet bool   `json:"old_set"`
	New    string `json:"new"`
	// File and Line are where the value is after the edit (the line that
	// wins).
	File string `json:"file"`
	Line int    `json:"line"`
	// Context is pg_settings.context (live, else the catalog's).
	Context string `json:"context"`
	// Restart is true when the change takes effect only at a restart.
	Restart bool   `json:"restart"`
	Reason  string `json:"reason"`
}

// HBAChange is one pg_hba.conf rule an edit adds, moves or removes.
type HBAChange struct {
	// Op is "add", "move" or "remove".
	Op string `json:"op"`
	// Rule is the rule's line, without its marker comment.
	Rule string `json:"rule"`
	// Line is where the rule is after the edit (add, move) or was before
	// it (remove).
	Line int `json:"line"`
	// OldLine is where a moved rule was.
	OldLine int    `json:"old_line,omitempty"`
	Reason  string `json:"reason"`
}

// PassfileEntry is the one line pgrepl writes in a standby's password file:
// host:port:replication:user:password. Password is the reference to the
// secret (env("…"), file("…")); apply reads the secret and writes it.
type PassfileEntry struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// AttrNoExpiry is the role attribute that lifts an expired password's
// validity limit.
const AttrNoExpiry = "VALID UNTIL 'infinity'"

// RoleChange is the replication role as create_role or alter_role leave it.
type RoleChange struct {
	Name string `json:"name"`
	// Attributes are the role attributes set (LOGIN, REPLICATION,
	// AttrNoExpiry).
	Attributes []string `json:"attributes,omitempty"`
	// Password is the reference to the secret whose SCRAM verifier apply
	// computes and stores; empty when the password does not change.
	Password string `json:"password,omitempty"`
}

// SlotChange is the replication slot created or dropped.
type SlotChange struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// RetainedBytes is the WAL a slot to drop holds back, and Active
	// whether a standby streams from it, as observed: both move on their
	// own, so Equivalent ignores them.
	RetainedBytes int64 `json:"retained_bytes,omitempty"`
	Active        bool  `json:"active,omitempty"`
}

// BasebackupStep is how a standby is rebuilt: its data directory moved
// aside (when it has one), then copied from the primary by pg_basebackup.
type BasebackupStep struct {
	Source     string `json:"source"`
	SourceHost string `json:"source_host"`
	SourcePort int    `json:"source_port"`
	User       string `json:"user"`
	Slot       string `json:"slot,omitempty"`
	DataDir    string `json:"data_dir"`
	// MovedAside is where the current data directory goes, with
	// "<timestamp>" for apply to fill in; empty when there is nothing to
	// keep (no directory, or an empty one).
	MovedAside string `json:"moved_aside,omitempty"`
	Passfile   string `json:"passfile,omitempty"`
	Checkpoint string `json:"checkpoint"`
	// Command is the pg_basebackup command line (it holds no secret: the
	// password comes from the passfile).
	Command []string `json:"command"`
	// Copies are the config files pg_basebackup copies from the primary's
	// data directory that the standby reads.
	Copies []FileCopy `json:"copies,omitempty"`
	// RecoveryConf are the settings -R appends to postgresql.auto.conf.
	RecoveryConf []RecoverySetting `json:"recovery_conf"`
	// NotUsed are files pg_basebackup copies that the standby does not
	// read (its configuration lives elsewhere).
	NotUsed []string `json:"not_used,omitempty"`
}

// FileCopy is a file pg_basebackup copies from the primary.
type FileCopy struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// RecoverySetting is one line pg_basebackup -R writes.
type RecoverySetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// VerifyStep is the runbook's check of one standby.
type VerifyStep struct {
	Primary         string `json:"primary"`
	ApplicationName string `json:"application_name"`
	Slot            string `json:"slot,omitempty"`
	Synchronous     bool   `json:"synchronous,omitempty"`
}
