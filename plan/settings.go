package plan

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// want is the value a node should have for one parameter. For a derived
// parameter whose current value is acceptable (max_wal_senders already
// high enough), value is that current value: nothing is edited, but a
// server still running with another value is reloaded or restarted.
type want struct {
	name   string
	value  string
	reason string
	// late: set after the standbys (synchronous_standby_names naming a
	// standby that does not stream yet).
	late bool
}

// fileValue returns what a node's config files give for name: the winning
// line's value (set), else the built-in default or the running server's
// default (known), else nothing (unknown: set it to be sure).
func (cp *clusterPlanner) fileValue(n *node, name string) (value string, set, known bool) {
	if e, ok := n.conf.Lookup(name); ok {
		return e.Setting, true, true
	}
	if d, ok := builtinDefaults[name]; ok {
		return d, false, true
	}
	if row := n.row(name); n.up && row != nil && row.Source == "default" {
		return row.Setting, false, true
	}
	return "", false, false
}

func (cp *clusterPlanner) fileInt(n *node, name string) int64 {
	v, _, known := cp.fileValue(n, name)
	if !known {
		return 0
	}
	i, _ := intValue(n.version, name, v)
	return i
}

// userSettings turns a node's spec settings into wants, and says which
// names the user set.
func userSettings(n *node) ([]want, map[string]bool) {
	var ws []want
	user := map[string]bool{}
	for _, s := range n.sn.Settings {
		ws = append(ws, want{name: s.Name, value: s.Value, reason: fmt.Sprintf("set in the spec (%s)", s.Pos)})
		user[s.Name] = true
	}
	return ws, user
}

// primaryWants are the primary's settings: the spec's, and what its
// standbys need.
func (cp *clusterPlanner) primaryWants() []want {
	p, c := cp.primary, cp.c
	ws, user := userSettings(p)
	standbys := pretty.Count(len(c.Standbys), "standby", "standbys")

	if !user["wal_level"] {
		cur, _, _ := cp.fileValue(p, "wal_level")
		w := want{name: "wal_level", value: cur}
		if prm, ok := catalog.Lookup(p.version, "wal_level"); ok && prm.EnumIndex(cur) < prm.EnumIndex("replica") {
			w.value = "replica"
			w.reason = fmt.Sprintf("standbys need WAL at replica level or higher; %s cannot stream WAL", displayValue(cur))
		}
		ws = append(ws, w)
	}
	if !user["max_wal_senders"] {
		ws = append(ws, cp.atLeast(p, "max_wal_senders", int64(c.MinWALSenders()),
			fmt.Sprintf("required by %s: one WAL sender each, plus 2 that pg_basebackup -Xs holds while it builds a standby", standbys)))
	}
	if !user["max_replication_slots"] && c.Replication.Slots {
		ws = append(ws, cp.atLeast(p, "max_replication_slots", int64(c.MinReplicationSlots()),
			fmt.Sprintf("one replication slot per standby: %s", standbys)))
	}
	if !user["listen_addresses"] {
		cur, _, _ := cp.fileValue(p, "listen_addresses")
		w := want{name: "listen_addresses", value: cur}
		if !listenCovers(cur, p.sn.Host) {
			w.value = strings.Join(append(splitList(cur), p.sn.Host), ", ")
			w.reason = fmt.Sprintf("standbys connect to %s at %s, which listen_addresses = %s does not cover", p.sn.Name, p.sn.Host, displayValue(cur))
		}
		ws = append(ws, w)
	}
	if !user["port"] {
		ws = append(ws, cp.portWant(p))
	}
	ws = append(ws, cp.synchronousWant())
	sortWants(ws)
	return ws
}

// atLeast wants name to be at least min, keeping a higher current value.
func (cp *clusterPlanner) atLeast(n *node, name string, min int64, reason string) want {
	cur, _, _ := cp.fileValue(n, name)
	w := want{name: name, value: cur}
	if i, ok := intValue(n.version, name, cur); !ok || i < min {
		w.value = strconv.FormatInt(min, 10)
		w.reason = reason
	}
	return w
}

// portWant keeps the node's port at the spec's.
func (cp *clusterPlanner) portWant(n *node) want {
	cur, _, _ := cp.fileValue(n, "port")
	w := want{name: "port", value: cur}
	if i, ok := intValue(n.version, "port", cur); !ok || i != int64(n.sn.Port) {
		w.value = strconv.Itoa(n.sn.Port)
		w.reason = fmt.Sprintf("the spec gives %s port %d", n.sn.Name, n.sn.Port)
	}
	return w
}

// synchronousWant derives synchronous_standby_names from
// replication.synchronous. It is set late, after the standbys, when one
// of the standbys it names does not stream yet: commits on the primary
// would wait for it meanwhile.
func (cp *clusterPlanner) synchronousWant() want {
	c, p := cp.c, cp.primary
	cur, _, _ := cp.fileValue(p, "synchronous_standby_names")
	w := want{name: "synchronous_standby_names", value: cur}
	names := c.Replication.Synchronous
	if len(names) == 0 {
		known := func(name string) bool {
			if n := c.Node(name); n != nil && n.Role == spec.Standby {
				return true
			}
			for _, m := range managedMarkers(p.hba, c.Name) {
				if m.node == name {
					return true
				}
			}
			return false
		}
		if cur != "" && pgreplSynchronous(cur, known) {
			w.value = ""
			w.reason = "replication.synchronous is empty: commits no longer wait for a standby (pgrepl had written this value)"
		}
		return w
	}
	v := synchronousNames(names)
	if cur == v {
		return w
	}
	w.value = v
	if len(names) == 1 {
		w.reason = fmt.Sprintf("replication.synchronous: a commit on %s waits until %s has it", p.sn.Name, names[0])
	} else {
		w.reason = fmt.Sprintf("replication.synchronous: a commit on %s waits until %s has it (or, while it is away, the next of %s)", p.sn.Name, names[0], joinNames(names[1:]))
	}
	for _, name := range names {
		if !cp.streamsNow(name) {
			w.late = true
			w.reason += fmt.Sprintf("; set after the standbys, as %s does not stream yet", name)
			break
		}
	}
	return w
}

// streamsNow reports whether standby name is a running healthy replica
// that the plan does not rebuild or start.
func (cp *clusterPlanner) streamsNow(name string) bool {
	for i, sb := range cp.c.Standbys {
		if sb.Name != name {
			continue
		}
		if n := cp.standbys[i]; n != nil {
			return n.up && !n.rebuild
		}
		st := cp.sc.Node(name)
		return st != nil && st.Server.Up && st.Server.InRecovery && st.DataDir.SystemIdentifier == cp.primary.st.DataDir.SystemIdentifier
	}
	return false
}

// computePrimaryFinal records the primary's shared-memory parameters: the
// values it will have after the plan, and those it runs with now.
func (cp *clusterPlanner) computePrimaryFinal(ws []want) {
	p := cp.primary
	cp.primaryFinal = map[string]int64{}
	cp.primaryRunning = map[string]int64{}
	for _, name := range sharedMemoryParams {
		final := cp.fileInt(p, name)
		for _, w := range ws {
			if w.name == name {
				if i, ok := intValue(p.version, name, w.value); ok {
					final = i
				}
			}
		}
		cp.primaryFinal[name] = final
		cp.primaryRunning[name] = final
		if row := p.row(name); row != nil {
			if i, ok := intValue(p.version, name, row.Setting); ok {
				cp.primaryRunning[name] = i
			}
		}
	}
	// A standby out of the plan's scope cannot be raised first.
	for i, sb := range cp.c.Standbys {
		if cp.standbys[i] != nil {
			continue
		}
		st := cp.sc.Node(sb.Name)
		if st == nil || !st.Server.Up {
			continue
		}
		for _, name := range sharedMemoryParams {
			final := cp.primaryFinal[name]
			if cp.primaryRunning[name] >= final {
				continue
			}
			if row := st.Server.Setting(name); row != nil {
				if v, ok := intValue(cp.c.PostgresVersion, name, row.Setting); ok && v < final {
					cp.problem(sb, "%s raises %s to %d, and %s runs with %d: it must be raised first or it stops replaying. Add --target %s.", cp.primary.sn.Name, name, final, sb.Name, v, sb.Name)
				}
			}
		}
	}
}

// raiseBeforePrimary plans the shared-memory raises a running standby
// needs before the primary's restart raises them there: when raising,
// standbys first.
func (cp *clusterPlanner) raiseBeforePrimary(sb *node) []Change {
	var ws []want
	for _, name := range sharedMemoryParams {
		final := cp.primaryFinal[name]
		if cp.primaryRunning[name] >= final {
			continue
		}
		running := cp.fileInt(sb, name)
		if row := sb.row(name); row != nil {
			if v, ok := intValue(sb.version, name, row.Setting); ok {
				running = v
			}
		}
		if running >= final {
			continue
		}
		w := want{name: name, value: strconv.FormatInt(max(cp.fileInt(sb, name), final), 10),
			reason: fmt.Sprintf("%s raises it to %d; a standby with less stops replaying, so %s goes first", cp.primary.sn.Name, final, sb.sn.Name)}
		if u, ok := sb.sn.Setting(name); ok {
			// The spec's value (checked against the primary's with the
			// standby's other settings).
			w.value = u.Value
			w.reason = fmt.Sprintf("set in the spec (%s); %s raises it to %d, and a standby with less stops replaying, so %s goes first", u.Pos, cp.primary.sn.Name, final, sb.sn.Name)
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return nil
	}
	out := cp.applyWants(sb, ws)
	out = append(out, cp.restartOrReload(sb)...)
	return out
}

// standbyWants are a standby's settings: the spec's, the connection to its
// primary, and what replaying the primary's WAL needs.
func (cp *clusterPlanner) standbyWants(sb *node) []want {
	c, p := cp.c, cp.primary
	ws, user := userSettings(sb)

	if !user["hot_standby"] {
		cur, _, _ := cp.fileValue(sb, "hot_standby")
		w := want{name: "hot_standby", value: cur}
		if !equalValue(sb.version, "hot_standby", cur, "on") {
			w.value = "on"
			w.reason = "pgrepl checks a standby by querying it, which needs hot_standby = on"
		}
		ws = append(ws, w)
	}

	conninfo := primaryConninfo(c, sb.sn)
	cur, set, _ := cp.fileValue(sb, "primary_conninfo")
	w := want{name: "primary_conninfo", value: conninfo}
	switch {
	case sb.rebuild:
		w.reason = fmt.Sprintf("%s streams from %s (%s:%d) as %s with application_name %s%s; pgrepl's own line replaces the one pg_basebackup -R writes",
			sb.sn.Name, p.sn.Name, p.sn.Host, p.sn.Port, c.Replication.User, sb.sn.Name, passfileNote(c, sb.sn))
	case !set || cur == "":
		w.reason = fmt.Sprintf("%s has no primary_conninfo; it streams from %s (%s:%d) as %s with application_name %s%s",
			sb.sn.Name, p.sn.Name, p.sn.Host, p.sn.Port, c.Replication.User, sb.sn.Name, passfileNote(c, sb.sn))
	default:
		w.reason = fmt.Sprintf("%s must stream from %s (%s:%d) as %s with application_name %s%s: %s",
			sb.sn.Name, p.sn.Name, p.sn.Host, p.sn.Port, c.Replication.User, sb.sn.Name, passfileNote(c, sb.sn), conninfoDiff(cur, conninfo))
	}
	ws = append(ws, w)

	curSlot, _, _ := cp.fileValue(sb, "primary_slot_name")
	ws1 := want{name: "primary_slot_name", value: sb.sn.Slot}
	switch {
	case sb.sn.Slot != "":
		ws1.reason = fmt.Sprintf("%s streams through its slot %s on %s", sb.sn.Name, sb.sn.Slot, p.sn.Name)
		if curSlot != "" && curSlot != sb.sn.Slot {
			ws1.reason += fmt.Sprintf(", not %s", curSlot)
		}
	default:
		ws1.reason = "replication.slots is false"
	}
	ws = append(ws, ws1)

	for _, name := range sharedMemoryParams {
		final := cp.primaryFinal[name]
		if u, ok := sb.sn.Setting(name); ok {
			if v, ok := intValue(sb.version, name, u.Value); ok && v < final {
				cp.problem(sb.sn, "the spec sets %s = %s (%s), below %s's %d; a standby with less than its primary refuses to start. Raise it to at least %d.", name, u.Value, u.Pos, p.sn.Name, final, final)
			}
			continue
		}
		cur := cp.fileInt(sb, name)
		w := want{name: name, value: strconv.FormatInt(max(cur, final), 10)}
		if cur < final {
			w.reason = fmt.Sprintf("%s has %s = %d; a standby with less refuses to start", p.sn.Name, name, final)
		} else {
			v, _, _ := cp.fileValue(sb, name)
			w.value = v
		}
		ws = append(ws, w)
	}

	if !user["listen_addresses"] {
		ws = append(ws, cp.standbyListen(sb))
	}
	if !user["port"] {
		ws = append(ws, cp.portWant(sb))
	}
	sortWants(ws)
	return ws
}

func passfileNote(c *spec.Cluster, sb *spec.Node) string {
	if !needsPassword(c) {
		return ""
	}
	return ", the password from " + sb.Passfile
}

// standbyListen keeps a standby listening on its own host: pg_basebackup
// copies the primary's listen_addresses where config lives in the data
// directory, and the primary's address is not the standby's.
func (cp *clusterPlanner) standbyListen(sb *node) want {
	p := cp.primary
	cur, _, _ := cp.fileValue(sb, "listen_addresses")
	w := want{name: "listen_addresses", value: cur}
	var keep []string
	dropped := false
	for _, e := range splitList(cur) {
		if p.sn.Host != sb.sn.Host && strings.EqualFold(e, p.sn.Host) {
			dropped = true
			continue
		}
		keep = append(keep, e)
	}
	covers := listenCovers(strings.Join(keep, ","), sb.sn.Host)
	if !covers {
		keep = append(keep, sb.sn.Host)
	}
	if !dropped && covers {
		return w
	}
	w.value = strings.Join(keep, ", ")
	switch {
	case dropped:
		w.reason = fmt.Sprintf("%s listens on its own address %s; %s is %s's", sb.sn.Name, sb.sn.Host, p.sn.Host, p.sn.Name)
	default:
		w.reason = fmt.Sprintf("%s listens on its own address %s, which listen_addresses = %s does not cover", sb.sn.Name, sb.sn.Host, displayValue(cur))
	}
	return w
}

func sortWants(ws []want) {
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].name < ws[j].name })
}

// applyWants edits a node's config files so that each want holds where it
// wins, and returns one edit_file change per file edited. It notes on the
// node what the edits need: a reload or a restart.
func (cp *clusterPlanner) applyWants(n *node, ws []want) []Change {
	var done []SettingChange
	for _, w := range ws {
		cur, set, known := cp.fileValue(n, w.name)
		row := n.liveSetting(w.name)
		ctx := paramContext(n.version, n.observedSetting(w.name), w.name)
		if row != nil && (row.Source == "command line" || row.Source == "environment variable") && !equalValue(n.version, w.name, row.Setting, w.value) {
			cp.problem(n.sn, "%s is set on the server's %s to %s, which overrides the config files; pgrepl cannot change it there. Remove it from there, or set it to %s.", w.name, row.Source, displayValue(row.Setting), displayValue(w.value))
			continue
		}
		if known && equalValue(n.version, w.name, cur, w.value) {
			if row != nil && !equalValue(n.version, w.name, liveValue(row), w.value) && (row.Source == "configuration file" || row.Source == "default" || row.PendingRestart) {
				why := fmt.Sprintf("%s = %s is in the config files, but the server still runs with %s", w.name, displayValue(w.value), displayValue(liveValue(row)))
				if row.PendingRestart || needsRestart(ctx) {
					n.needRestart(w.name, why+" (pending restart)")
				} else {
					n.needReload(w.name)
				}
			}
			continue
		}
		if w.reason == "" {
			w.reason = "pgrepl's value"
		}
		file, line, err := n.conf.SetWinning(w.name, confparse.QuoteValue(w.value))
		if err != nil {
			cp.problem(n.sn, "cannot set %s = %s: %v", w.name, displayValue(w.value), err)
			continue
		}
		sc := SettingChange{Name: w.name, OldSet: set, New: redactValue(w.value), File: file, Line: line,
			Context: ctx, Restart: needsRestart(ctx), Reason: w.reason}
		if known {
			sc.Old = redactValue(cur)
		}
		done = append(done, sc)
		if sc.Restart {
			n.needRestart(w.name, "")
		} else {
			n.needReload(w.name)
		}
	}
	// Where each value ended up, once every edit is made.
	for i := range done {
		if e, ok := n.conf.Lookup(done[i].Name); ok {
			done[i].File, done[i].Line = e.SourceFile, e.SourceLine
		}
	}
	return cp.confFileChanges(n, done)
}

// liveValue is a pg_settings row's value: integers in the parameter's base
// unit (pg_settings.unit), which is the catalog's, so that it compares with
// a file's "128MB" through the catalog.
func liveValue(row *state.Setting) string { return row.Setting }

// confFileChanges turns the config files the node's Config edited into
// edit_file changes, in the order PostgreSQL reads them, and makes the
// edited content the node's files.
func (cp *clusterPlanner) confFileChanges(n *node, settings []SettingChange) []Change {
	var out []Change
	for _, f := range n.conf.Files() {
		vf := n.fs.get(f.Path())
		if vf == nil {
			vf = &vfile{path: f.Path(), role: state.RoleInclude}
			n.fs.put(vf)
		}
		if vf.exists && bytes.Equal(f.Bytes(), vf.content) {
			continue
		}
		var mine []SettingChange
		var reasons []string
		for _, s := range settings {
			if s.File == f.Path() {
				mine = append(mine, s)
				reasons = append(reasons, settingSummary(s))
			}
		}
		// Kept without a copy: confparse gives every edit new bytes and
		// never changes returned ones (nor does the planner).
		ch := cp.fileChange(n, vf, f.Bytes(), strings.Join(reasons, "; "))
		ch.Settings = mine
		out = append(out, ch)
	}
	return out
}

// settingSummary is one setting's part of an edit's reason.
func settingSummary(s SettingChange) string {
	old := "not set"
	if s.OldSet {
		old = "was " + displayValue(s.Old)
	} else if s.Old != "" {
		old = "default " + displayValue(s.Old)
	}
	return fmt.Sprintf("%s = %s (%s): %s", s.Name, displayValue(s.New), old, s.Reason)
}

// fileChange is an edit_file change writing content to f, and makes
// content f's content for the rest of the plan.
func (cp *clusterPlanner) fileChange(n *node, f *vfile, content []byte, reason string) Change {
	ch := cp.newChange(n.sn, EditFile, reason)
	ch.Path = f.path
	oldName, old := f.path, []byte(nil)
	if f.exists {
		old = f.content
	} else {
		oldName = "/dev/null"
	}
	ch.Diff = unifiedDiff(oldName, f.path, old, content, redactConfLine)
	ch.File = &FileEdit{Kind: fileKind(f), Create: !f.exists,
		Owner: f.owner, Group: f.group, Mode: f.mode, AfterBasebackup: f.copiedFrom != "" || f.afterBasebackup}
	if !ch.File.AfterBasebackup {
		ch.File.NewSHA256 = state.Hash(content)
	}
	if !ch.File.AfterBasebackup && f.exists {
		switch {
		case f.redacted:
		case f.sha == "":
			ch.File.OldSHA256 = state.Hash(f.content)
		default:
			// The observed hash is the real file's, even when the
			// observer replaced a password in the content (then the new
			// content is not the real file's either).
			ch.File.OldSHA256 = f.sha
			f.redacted = bytes.Contains(f.content, []byte(spec.Redacted))
		}
		ch.File.Redacted = f.redacted
	}
	if !f.exists && ch.File.Owner == "" {
		ch.File.Owner, ch.File.Mode = n.sn.OSUser, "0600"
	}
	ch.Content = content
	f.content, f.exists = content, true
	f.sha = ch.File.NewSHA256
	n.edited = true
	return ch
}

func fileKind(f *vfile) FileKind {
	switch f.role {
	case state.RoleConfig:
		return KindConfig
	case state.RoleAuto:
		return KindAuto
	case state.RoleHBA:
		return KindHBA
	}
	return KindInclude
}

// restartOrReload plans what makes a running node's edits take effect.
func (cp *clusterPlanner) restartOrReload(n *node) []Change {
	defer func() {
		n.restartParams, n.restartWhy, n.reloadParams = nil, nil, nil
	}()
	if n.rebuild || !n.up {
		return nil
	}
	if len(n.restartParams) > 0 {
		reason := fmt.Sprintf("%s take%s effect only at a restart", joinNames(n.restartParams), sIf(len(n.restartParams) == 1))
		if len(n.restartWhy) > 0 {
			reason += ": " + strings.Join(n.restartWhy, "; ")
		}
		params := append(append([]string(nil), n.restartParams...), n.reloadParams...)
		ch := cp.newChange(n.sn, Restart, reason)
		ch.Parameters = params
		if n.sn.Role == spec.Primary {
			ch.Downtime = true
			ch.DowntimeReason = fmt.Sprintf("restarts the primary %s; it takes no writes until it is back, and its standbys reconnect", n.sn.Name)
		} else if why := cp.commitsWaitWithout(n.sn.Name); why != "" {
			ch.Downtime = true
			ch.DowntimeReason = fmt.Sprintf("commits on %s wait while %s restarts: %s", cp.primary.sn.Name, n.sn.Name, why)
		}
		n.restarted = true
		return []Change{ch}
	}
	if len(n.reloadParams) > 0 {
		ch := cp.newChange(n.sn, Reload, fmt.Sprintf("the server reads %s again at a reload", joinNames(n.reloadParams)))
		ch.Parameters = append([]string(nil), n.reloadParams...)
		if n.reloaded == nil {
			n.reloaded = map[string]bool{}
		}
		for _, p := range n.reloadParams {
			n.reloaded[p] = true
		}
		return []Change{ch}
	}
	return nil
}

func sIf(one bool) string {
	if one {
		return "s"
	}
	return ""
}
