package plan

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/state"
)

// Simulate returns the State that carrying out p on st would leave, as an
// observer would then see it: files with their new content, the role,
// slots, servers started and stopped, pg_settings as the files make them
// (postmaster parameters pending until a restart), a rebuilt standby's data
// directory as pg_basebackup leaves it. It is a model for tests (planning
// the simulated State must give no changes); it does no I/O. st is not
// modified.
func Simulate(p *Plan, st *state.State) (*state.State, error) {
	out, err := cloneState(st)
	if err != nil {
		return nil, err
	}
	for i := range p.Changes {
		ch := &p.Changes[i]
		c := out.Cluster(ch.Cluster)
		if c == nil {
			return nil, fmt.Errorf("simulate change %d: no cluster %s in the state", i+1, ch.Cluster)
		}
		n := c.Node(ch.Node)
		if n == nil {
			return nil, fmt.Errorf("simulate change %d: no node %s/%s in the state", i+1, ch.Cluster, ch.Node)
		}
		if err := simulateChange(c, n, ch); err != nil {
			return nil, fmt.Errorf("simulate change %d (%s %s on %s): %w", i+1, ch.Action, ch.Path, ch.Node, err)
		}
	}
	return out, nil
}

func cloneState(st *state.State) (*state.State, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("copy state: %w", err)
	}
	var out state.State
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy state: %w", err)
	}
	return &out, nil
}

func simulateChange(c *state.Cluster, n *state.Node, ch *Change) error {
	srv := &n.Server
	switch ch.Action {
	case CreateRole, AlterRole:
		r := srv.Role
		if r == nil || ch.Action == CreateRole {
			r = &state.Role{Name: ch.Role.Name, Password: state.PasswordNone}
			srv.Role = r
		}
		r.Exists = true
		for _, a := range ch.Role.Attributes {
			switch a {
			case "LOGIN":
				r.Login = true
			case "REPLICATION":
				r.Replication = true
			case AttrNoExpiry:
				r.Expired = false
			}
		}
		if ch.Role.Password != "" {
			r.Password = state.PasswordMatches
		} else if ch.Action == CreateRole {
			r.Password = state.PasswordUnknown
		}
	case EditFile:
		if ch.File != nil && ch.File.Kind == KindPassfile {
			n.Passfile = &state.Passfile{Path: ch.Path, Exists: true, Owner: ch.File.Owner, Mode: ch.File.Mode, Matches: true}
			return nil
		}
		f := n.File(ch.Path)
		if f == nil {
			f = &state.File{Path: ch.Path, Role: roleOfKind(ch.File)}
			n.Files = append(n.Files, f)
		}
		f.Exists = true
		f.Content = append(state.Content(nil), ch.Content...)
		f.SHA256 = state.Hash(ch.Content)
		if ch.File != nil {
			f.Owner, f.Group, f.Mode = ch.File.Owner, ch.File.Group, ch.File.Mode
		}
	case CreateSlot:
		srv.Slots = append(srv.Slots, state.Slot{Name: ch.Slot.Name, Type: ch.Slot.Type, WalStatus: "reserved"})
		sort.Slice(srv.Slots, func(i, j int) bool { return srv.Slots[i].Name < srv.Slots[j].Name })
	case DropSlot:
		var keep []state.Slot
		for _, s := range srv.Slots {
			if s.Name != ch.Slot.Name {
				keep = append(keep, s)
			}
		}
		srv.Slots = keep
	case Reload:
		return simulateSettings(n, false)
	case Restart, Start:
		srv.Up, srv.Error = true, ""
		srv.InRecovery = n.DataDir.StandbySignal
		n.DataDir.PostmasterPID = true
		return simulateSettings(n, true)
	case Stop:
		srv.Up, srv.InRecovery = false, false
		srv.Settings, srv.Replication, srv.WalReceiver = nil, nil, nil
		n.DataDir.PostmasterPID = false
	case Basebackup:
		return simulateBasebackup(c, n, ch.Basebackup)
	case Verify:
	default:
		return fmt.Errorf("unknown action %q", ch.Action)
	}
	return nil
}

func roleOfKind(f *FileEdit) state.FileRole {
	if f == nil {
		return state.RoleInclude
	}
	switch f.Kind {
	case KindConfig:
		return state.RoleConfig
	case KindAuto:
		return state.RoleAuto
	case KindHBA:
		return state.RoleHBA
	}
	return state.RoleInclude
}

// simulateBasebackup leaves n's data directory as pg_basebackup -R does:
// the primary's cluster, in standby mode, with the primary's config files
// that live in its data directory.
func simulateBasebackup(c *state.Cluster, n *state.Node, bb *BasebackupStep) error {
	p := c.Node(bb.Source)
	if p == nil {
		return fmt.Errorf("no source node %s", bb.Source)
	}
	d := &n.DataDir
	d.Path = bb.DataDir
	d.Exists, d.Empty = true, false
	d.PGVersion = p.DataDir.PGVersion
	d.SystemIdentifier = p.DataDir.SystemIdentifier
	d.Timeline = p.DataDir.Timeline
	d.StandbySignal, d.RecoverySignal, d.PostmasterPID = true, false, false
	d.ClusterState = "in archive recovery"
	if p.Server.VersionNum != 0 {
		n.Server.VersionNum, n.Server.Version = p.Server.VersionNum, p.Server.Version
	}
	// The old data directory's files are gone (moved aside); what the
	// standby reads from there now comes from the primary.
	var files []*state.File
	for _, f := range n.Files {
		if !under(f.Path, bb.DataDir) {
			files = append(files, f)
		}
	}
	autoPath := path.Join(bb.DataDir, "postgresql.auto.conf")
	var auto *state.File
	for _, cp := range bb.Copies {
		from := p.File(cp.From)
		if from == nil {
			return fmt.Errorf("the primary has no file %s to copy", cp.From)
		}
		f := &state.File{Path: cp.To, Role: from.Role, Exists: true, Content: append(state.Content(nil), from.Content...), Owner: n.DataDir.Owner, Group: from.Group, Mode: from.Mode}
		if f.Owner == "" {
			f.Owner = from.Owner
		}
		files = append(files, f)
		if cp.To == autoPath {
			auto = f
		}
	}
	if auto == nil {
		auto = &state.File{Path: autoPath, Role: state.RoleAuto, Exists: true, Owner: n.DataDir.Owner, Mode: "0600"}
		files = append(files, auto)
	}
	for _, r := range bb.RecoveryConf {
		auto.Content = append(auto.Content, fmt.Sprintf("%s = '%s'\n", r.Name, autoConfQuoter.Replace(r.Value))...)
	}
	for _, f := range files {
		if f.Exists {
			f.SHA256 = state.Hash(f.Content)
		}
	}
	n.Files = files
	return nil
}

// simulateSettings sets n's pg_settings from its config files: every
// parameter at a restart; at a reload those that do not need a restart
// (the others become pending_restart when their file value differs).
func simulateSettings(n *state.Node, restart bool) error {
	version := n.Server.VersionNum / 10000
	if version == 0 {
		version, _ = strconv.Atoi(n.DataDir.PGVersion)
	}
	configFile := n.ConfigFile
	if configFile == "" {
		for _, f := range n.Files {
			if f.Role == state.RoleConfig {
				configFile = f.Path
			}
		}
	}
	if configFile == "" {
		return fmt.Errorf("no config file for %s", n.Name)
	}
	conf, err := confparse.Load(observedVFS(n), configFile, n.DataDir.Path)
	if err != nil {
		return fmt.Errorf("load %s: %w", configFile, err)
	}
	rows := map[string]*state.Setting{}
	var names []string
	for i := range n.Server.Settings {
		r := n.Server.Settings[i]
		key := strings.ToLower(r.Name)
		rows[key] = &r
		names = append(names, key)
	}
	for _, e := range conf.Entries() {
		key := strings.ToLower(e.Name)
		if e.Error != "" || key == "" || rows[key] != nil {
			continue
		}
		r := &state.Setting{Name: key, Source: "default"}
		if p, ok := catalog.Lookup(version, key); ok {
			r.Name, r.Context, r.VarType, r.Unit = p.Name, string(p.Context), string(p.VarType), p.Unit
			if p.Unit == "" {
				r.Unit = ""
			}
		}
		rows[key] = r
		names = append(names, key)
	}
	sort.Strings(names)
	var out []state.Setting
	for _, key := range names {
		r := rows[key]
		value, source, file, line := "", "default", "", 0
		if e, ok := conf.Lookup(key); ok {
			value, source, file, line = e.Setting, "configuration file", e.SourceFile, e.SourceLine
		} else if d, ok := builtinDefaults[key]; ok {
			value = d
		} else {
			out = append(out, *r)
			continue
		}
		if p, ok := catalog.Lookup(version, key); ok {
			if v, err := p.Normalize(value); err == nil {
				value = v
			}
		}
		if restart || !needsRestart(r.Context) {
			r.Setting, r.Source, r.SourceFile, r.SourceLine, r.PendingRestart = value, source, file, line, false
		} else if !equalValue(version, key, r.Setting, value) {
			r.PendingRestart = true
		}
		out = append(out, *r)
	}
	n.Server.Settings = out
	return nil
}
