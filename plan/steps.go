package plan

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// rebuildMargin is how much more free space than the primary's database
// size a standby's file system needs for a rebuild (×1.1): the copy also
// holds the WAL streamed during the backup. The old data directory is
// moved aside (renamed) in the same file system, so it keeps its space.
const rebuildMarginNum, rebuildMarginDen = 11, 10

// roleChanges creates or alters the replication role on the primary.
func (cp *clusterPlanner) roleChanges() []Change {
	c, p := cp.c, cp.primary
	r := p.st.Server.Role
	user := c.Replication.User
	pwRef := ""
	if needsPassword(c) {
		pwRef = c.Replication.Password.Ref()
	}
	var names []string
	for _, sb := range c.Standbys {
		names = append(names, sb.Name)
	}
	who := "standbys connect"
	if len(names) == 1 {
		who = "standby " + names[0] + " connects"
	} else if len(names) > 1 {
		who = "standbys " + joinNames(names) + " connect"
	}
	if r == nil || !r.Exists {
		ch := cp.newChange(p.sn, CreateRole, fmt.Sprintf("%s as %s, which does not exist", who, user))
		ch.Role = &RoleChange{Name: user, Attributes: []string{"LOGIN", "REPLICATION"}, Password: pwRef}
		return []Change{ch}
	}
	var attrs, why []string
	if !r.Login {
		attrs = append(attrs, "LOGIN")
	}
	if !r.Replication && !r.Superuser {
		attrs = append(attrs, "REPLICATION")
	}
	if len(attrs) > 0 {
		why = append(why, fmt.Sprintf("%s lacks %s", user, strings.Join(attrs, " and ")))
	}
	if r.Expired {
		attrs = append(attrs, AttrNoExpiry)
		why = append(why, fmt.Sprintf("the password of %s has expired (rolvaliduntil is past), so no login works", user))
	}
	pw := ""
	if pwRef != "" {
		switch r.Password {
		case state.PasswordNone:
			why, pw = append(why, fmt.Sprintf("%s has no password", user)), pwRef
		case state.PasswordDiffers:
			why, pw = append(why, fmt.Sprintf("the password stored for %s is not the spec's (its SCRAM verifier does not match)", user)), pwRef
		case state.PasswordMD5:
			why, pw = append(why, fmt.Sprintf("the password of %s is stored as an md5 hash, which pgrepl cannot check; it stores a SCRAM verifier (%s authentication accepts one)", user, c.Replication.AuthMethod)), pwRef
		}
	}
	if len(why) == 0 {
		return nil
	}
	ch := cp.newChange(p.sn, AlterRole, fmt.Sprintf("%s as %s: %s", who, user, strings.Join(why, "; ")))
	ch.Role = &RoleChange{Name: user, Attributes: attrs, Password: pw}
	return []Change{ch}
}

// slotChanges creates each standby's physical slot on the primary and drops
// the slots of standbys that are gone (or whose slot was renamed).
func (cp *clusterPlanner) slotChanges() (create, drop []Change) {
	c, p := cp.c, cp.primary
	find := func(name string) *state.Slot {
		for i := range p.st.Server.Slots {
			if p.st.Server.Slots[i].Name == name {
				return &p.st.Server.Slots[i]
			}
		}
		return nil
	}
	inUse := map[string]bool{}
	for _, sb := range c.Standbys {
		if sb.Slot == "" {
			continue
		}
		inUse[sb.Slot] = true
		if !cp.primaryCovers(sb) {
			continue
		}
		s := find(sb.Slot)
		if s == nil {
			ch := cp.newChange(p.sn, CreateSlot, fmt.Sprintf("%s streams through it, so that %s keeps the WAL %s has not received yet; it exists before %s starts", sb.Name, p.sn.Name, sb.Name, sb.Name))
			ch.Slot = &SlotChange{Name: sb.Slot, Type: "physical"}
			create = append(create, ch)
			continue
		}
		if s.Type != "physical" {
			cp.problem(p.sn, "the slot %s for %s exists but is a %s slot; drop it (SELECT pg_drop_replication_slot('%s')) or give %s another slot name", sb.Slot, sb.Name, s.Type, sb.Slot, sb.Name)
		}
	}
	for _, rs := range cp.removedSlots {
		s := find(rs.name)
		if s == nil || inUse[rs.name] {
			continue
		}
		reason := fmt.Sprintf("%s; an unused slot keeps WAL until %s's disk fills, and it holds %s of WAL now", rs.reason, p.sn.Name, pretty.Bytes(s.RetainedBytes))
		if s.Active {
			reason += "; a standby still streams from it: apply ends that connection first, and that standby can no longer catch up"
		}
		ch := cp.newChange(p.sn, DropSlot, reason)
		ch.Slot = &SlotChange{Name: s.Name, Type: s.Type, RetainedBytes: s.RetainedBytes, Active: s.Active}
		ch.Destructive = true
		if wait := cp.commitsWaitWithout(rs.node); s.Active && wait != "" {
			ch.Downtime = true
			ch.DowntimeReason = fmt.Sprintf("commits on %s wait once %s's walsender ends, until synchronous_standby_names changes or another standby it accepts streams: %s", p.sn.Name, rs.node, wait)
		}
		drop = append(drop, ch)
	}
	return create, drop
}

// verifyChanges checks each standby in scope, last.
func (cp *clusterPlanner) verifyChanges() []Change {
	c, p := cp.c, cp.primary
	var out []Change
	for _, sb := range c.Standbys {
		if !cp.primaryCovers(sb) {
			continue
		}
		ch := cp.newChange(sb, Verify, fmt.Sprintf("%s streams from %s: pg_stat_replication shows application_name %s streaming, %s is in recovery and refuses writes, and it replays %s's current WAL position", sb.Name, p.sn.Name, sb.Name, sb.Name, p.sn.Name))
		ch.Verify = &VerifyStep{Primary: p.sn.Name, ApplicationName: sb.Name, Slot: sb.Slot, Synchronous: slices.Contains(c.Replication.Synchronous, sb.Name)}
		out = append(out, ch)
	}
	return out
}

// loadStandby checks a standby's preconditions, decides whether it is
// rebuilt, and (when it is not) reads its files.
func (cp *clusterPlanner) loadStandby(sb *spec.Node) *node {
	p := cp.primary
	st := cp.sc.Node(sb.Name)
	if st == nil {
		cp.problem(sb, "the state holds no observation of this standby; observe again")
		return nil
	}
	if !st.Reachable {
		cp.problem(sb, "the standby cannot be reached%s. Check that the host is up and that pgrepl can log in (ssh), or leave it out with --target.", because(st.Error))
		return nil
	}
	n := &node{sn: sb, st: st, version: cp.c.PostgresVersion}
	dataDir := st.DataDir.Path
	if dataDir == "" {
		dataDir = sb.DataDir
	}
	if st.MachineID != "" && st.MachineID == p.st.MachineID && path.Clean(dataDir) == path.Clean(p.st.DataDir.Path) {
		cp.problem(sb, "its data directory %s is the primary's (same machine, same path); a rebuild would move the primary's data aside. Give the standby its own data_dir.", dataDir)
		return nil
	}
	n.rebuild, n.rebuildWhy = cp.classify(n)
	before := len(cp.problems)
	cp.checkVersions(sb, st, !n.rebuild)
	if n.rebuild {
		cp.checkRebuild(n)
		n.stopFirst = st.Server.Up || st.DataDir.PostmasterPID
	}
	if len(cp.problems) > before {
		return nil
	}
	if n.rebuild {
		return n
	}
	n.up = st.Server.Up
	if !cp.loadFiles(n) {
		return nil
	}
	return n
}

// classify decides whether a standby is a healthy replica of the primary
// (kept, reconfigured at most) or must be rebuilt, and says why.
func (cp *clusterPlanner) classify(n *node) (bool, string) {
	sb, st, p := n.sn, n.st, cp.primary
	d := st.DataDir
	switch {
	case cp.sel.replace[sb]:
		return true, fmt.Sprintf("--replace %s asks for a rebuild", sb.Name)
	case !d.Exists:
		return true, fmt.Sprintf("%s's data directory %s does not exist", sb.Name, sb.DataDir)
	case d.Empty:
		return true, fmt.Sprintf("%s's data directory %s is empty", sb.Name, sb.DataDir)
	case d.PGVersion == "":
		return true, fmt.Sprintf("%s's data directory %s holds no PostgreSQL cluster (no PG_VERSION)", sb.Name, sb.DataDir)
	case d.SystemIdentifier == "":
		return true, fmt.Sprintf("%s's data directory %s has no readable control file (pg_controldata gave no system identifier)", sb.Name, sb.DataDir)
	case d.SystemIdentifier != p.st.DataDir.SystemIdentifier:
		return true, fmt.Sprintf("%s's data directory belongs to another cluster (system identifier %s ≠ %s's %s)", sb.Name, d.SystemIdentifier, p.sn.Name, p.st.DataDir.SystemIdentifier)
	case st.Server.Up && !st.Server.InRecovery:
		return true, fmt.Sprintf("%s runs as a stand-alone server, not in recovery: it was promoted, or never was a standby of %s", sb.Name, p.sn.Name)
	case !st.Server.Up && !d.StandbySignal:
		return true, fmt.Sprintf("%s's data directory has no standby.signal: started, it would run as a stand-alone server, not a standby of %s", sb.Name, p.sn.Name)
	}
	return false, ""
}

// checkRebuild checks what a rebuild needs: room for the copy, a passfile
// outside the data directory, and config files where pg_basebackup puts
// them.
func (cp *clusterPlanner) checkRebuild(n *node) {
	sb, st, p := n.sn, n.st, cp.primary
	size := p.st.Server.DatabaseSize
	need := uint64(size) * rebuildMarginNum / rebuildMarginDen
	if size > 0 && st.DataDir.FreeBytes < need {
		cp.problem(sb, "rebuilding it needs about %s free for a copy of %s (its databases hold %s, plus 10%% for WAL), but the file system of %s has %s free. The current data directory is moved aside, not deleted, so it keeps its space. Free some space first.",
			pretty.Bytes(int64(need)), p.sn.Name, pretty.Bytes(size), sb.DataDir, pretty.Bytes(int64(st.DataDir.FreeBytes)))
	}
	if needsPassword(cp.c) && under(sb.Passfile, sb.DataDir) {
		cp.problem(sb, "its passfile %s is inside its data directory, which pg_basebackup needs empty (and a rebuild moves aside). Put it elsewhere (the default is beside the data directory).", sb.Passfile)
	}
	pConf, pHBA := p.configFile, p.hbaFile
	for _, f := range []struct{ what, standby, primary string }{
		{"postgresql.conf", path.Join(sb.ConfigDir, "postgresql.conf"), pConf},
		{"pg_hba.conf", path.Join(sb.ConfigDir, "pg_hba.conf"), pHBA},
	} {
		if under(f.standby, sb.DataDir) && !under(f.primary, p.sn.DataDir) {
			cp.problem(sb, "%s reads its %s from its data directory (%s), but %s keeps its own outside its data directory (%s), so pg_basebackup would leave %s without one. Set %s's config_dir to a directory that holds its config files, or keep %s's in its data directory.",
				sb.Name, f.what, f.standby, p.sn.Name, f.primary, sb.Name, sb.Name, p.sn.Name)
		}
	}
}

// standbyChanges plans one standby: its passfile, then a rebuild or its
// config, then what makes it run with them.
func (cp *clusterPlanner) standbyChanges(sb *node) []Change {
	var out []Change
	out = append(out, cp.passfileChange(sb)...)
	if sb.rebuild {
		if sb.stopFirst {
			why := fmt.Sprintf("%s runs; it stops before its data directory is moved aside", sb.sn.Name)
			if !sb.st.Server.Up {
				why = fmt.Sprintf("%s's data directory has a postmaster.pid, so its server may run; it stops before its data directory is moved aside", sb.sn.Name)
			}
			stop := cp.newChange(sb.sn, Stop, why)
			if wait := cp.commitsWaitWithout(sb.sn.Name); wait != "" {
				stop.Downtime = true
				stop.DowntimeReason = fmt.Sprintf("commits on %s wait from this stop until %s streams again after its rebuild: %s", cp.primary.sn.Name, sb.sn.Name, wait)
			}
			out = append(out, stop)
		}
		bb, ok := cp.basebackup(sb)
		if !ok {
			return nil
		}
		out = append(out, bb)
	}
	out = append(out, cp.applyWants(sb, cp.standbyWants(sb))...)
	out = append(out, cp.hbaChanges(sb, false)...)
	switch {
	case sb.rebuild:
		out = append(out, cp.newChange(sb.sn, Start, fmt.Sprintf("%s starts as a standby of %s (standby.signal from pg_basebackup -R)", sb.sn.Name, cp.primary.sn.Name)))
	case !sb.up:
		out = append(out, cp.newChange(sb.sn, Start, fmt.Sprintf("%s is a replica of %s (same system identifier, standby.signal) but its server is not running", sb.sn.Name, cp.primary.sn.Name)))
	default:
		out = append(out, cp.restartOrReload(sb)...)
	}
	return out
}

// passfileChange writes the standby's password file when it is missing,
// does not hold the spec's password, or others can read it.
func (cp *clusterPlanner) passfileChange(sb *node) []Change {
	c, p := cp.c, cp.primary
	if !needsPassword(c) {
		return nil
	}
	pf := sb.st.Passfile
	exists := pf != nil && pf.Exists && pf.Path == sb.sn.Passfile
	var why []string
	rewrite := false
	switch {
	case !exists:
		why = append(why, fmt.Sprintf("%s's primary_conninfo and pg_basebackup read the replication password from it; it does not exist", sb.sn.Name))
		rewrite = true
	case !pf.Matches:
		why = append(why, fmt.Sprintf("it holds no entry for %s (%s:%d) and %s with the spec's password", p.sn.Name, p.sn.Host, p.sn.Port, c.Replication.User))
		rewrite = true
	}
	if exists && pf.Mode != "0600" {
		why = append(why, fmt.Sprintf("its mode is %s; libpq ignores a password file others can read, and pgrepl writes it 0600", pf.Mode))
	}
	if exists && pf.Owner != sb.sn.OSUser {
		why = append(why, fmt.Sprintf("it is owned by %s, not %s, who runs the server", orNone(pf.Owner), sb.sn.OSUser))
	}
	if len(why) == 0 {
		return nil
	}
	ch := cp.newChange(sb.sn, EditFile, strings.Join(why, "; "))
	ch.Path = sb.sn.Passfile
	ch.File = &FileEdit{Kind: KindPassfile, Create: !exists, Owner: sb.sn.OSUser, Mode: "0600", OnlyAttributes: !rewrite}
	ch.Passfile = &PassfileEntry{Host: p.sn.Host, Port: p.sn.Port, Database: "replication", User: c.Replication.User, Password: c.Replication.Password.Ref()}
	line := passfileLine(c, spec.Redacted)
	switch {
	case !exists:
		ch.Diff = fmt.Sprintf("--- /dev/null\n+++ %s\n@@ -0,0 +1 @@\n+%s\n", sb.sn.Passfile, line)
	case rewrite:
		ch.Diff = fmt.Sprintf("--- %s\n+++ %s\n@@ -1 +1 @@\n-(current content not shown: it holds a password)\n+%s\n", sb.sn.Passfile, sb.sn.Passfile, line)
	}
	return []Change{ch}
}

// basebackup plans a standby's rebuild and makes the files pg_basebackup
// leaves the standby's files: for those in its data directory, the
// primary's (as the plan leaves them), and postgresql.auto.conf with the
// lines -R appends.
func (cp *clusterPlanner) basebackup(sb *node) (Change, bool) {
	c, p := cp.c, cp.primary
	v := newVFS()
	obs := observedVFS(sb.st)
	for _, name := range obs.order {
		if !under(name, sb.sn.DataDir) {
			v.put(obs.files[name])
		}
	}
	for _, name := range p.fs.order {
		pf := p.fs.files[name]
		if !pf.exists || !under(name, p.sn.DataDir) {
			continue
		}
		to := path.Join(sb.sn.DataDir, strings.TrimPrefix(name, path.Clean(p.sn.DataDir)+"/"))
		v.put(&vfile{path: to, role: pf.role, exists: true, content: pf.content,
			owner: sb.sn.OSUser, group: pf.group, mode: pf.mode, copiedFrom: name, afterBasebackup: true})
	}
	recovery := []RecoverySetting{{Name: "primary_conninfo", Value: basebackupConninfo(c, sb.sn)}}
	if sb.sn.Slot != "" {
		recovery = append(recovery, RecoverySetting{Name: "primary_slot_name", Value: sb.sn.Slot})
	}
	autoPath := path.Join(sb.sn.DataDir, "postgresql.auto.conf")
	auto := v.get(autoPath)
	if auto == nil || !auto.exists {
		mode := "0600"
		if auto != nil && auto.mode != "" {
			mode = auto.mode
		}
		auto = &vfile{path: autoPath, role: state.RoleAuto, exists: true, owner: sb.sn.OSUser, mode: mode, afterBasebackup: true}
		v.put(auto)
	}
	auto.role = state.RoleAuto
	auto.afterBasebackup = true
	auto.content = append([]byte(nil), auto.content...) // not the primary's
	for _, r := range recovery {
		auto.content = append(auto.content, fmt.Sprintf("%s = '%s'\n", r.Name, autoConfQuoter.Replace(r.Value))...)
	}
	sb.fs = v
	if !cp.loadFiles(sb) {
		return Change{}, false
	}

	bb := &BasebackupStep{Source: p.sn.Name, SourceHost: p.sn.Host, SourcePort: p.sn.Port, User: c.Replication.User,
		Slot: sb.sn.Slot, DataDir: sb.sn.DataDir, Checkpoint: c.Replication.Checkpoint, RecoveryConf: recovery}
	if needsPassword(c) {
		bb.Passfile = sb.sn.Passfile
	}
	if sb.st.DataDir.Exists && !sb.st.DataDir.Empty {
		bb.MovedAside = path.Clean(sb.sn.DataDir) + ".pgrepl-<timestamp>"
	}
	bb.Command = []string{path.Join(sb.sn.BinDir, "pg_basebackup"), "-d", primaryConninfo(c, sb.sn), "-D", sb.sn.DataDir, "-Fp", "-Xs", "-R", "-P"}
	if sb.sn.Slot != "" {
		bb.Command = append(bb.Command, "-S", sb.sn.Slot)
	}
	bb.Command = append(bb.Command, "--checkpoint="+c.Replication.Checkpoint)
	read := map[string]bool{sb.hbaFile: true}
	for _, f := range sb.conf.Files() {
		read[f.Path()] = true
	}
	for _, name := range v.order {
		f := v.files[name]
		if f.copiedFrom == "" {
			continue
		}
		if read[name] {
			bb.Copies = append(bb.Copies, FileCopy{From: f.copiedFrom, To: name})
		} else {
			bb.NotUsed = append(bb.NotUsed, name)
		}
	}
	reason := sb.rebuildWhy
	ch := cp.newChange(sb.sn, Basebackup, reason)
	ch.Basebackup = bb
	ch.Destructive = bb.MovedAside != ""
	return ch, true
}
