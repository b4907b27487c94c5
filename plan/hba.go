package plan

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/spec"
)

// pgrepl marks the pg_hba.conf rules it writes with a trailing comment, so
// that it knows them again:
//
//	host replication replicator 127.0.0.3/32 scram-sha-256 # pgrepl: demo/pg2 slot=pg2
//	hostssl billing app 10.20.0.0/16 scram-sha-256 # pgrepl: billing/pg1 hba
//
// The first is a standby's replication rule on the primary (slot= names its
// slot, when slots are on); the second one of the spec's own hba rules of
// the node whose file holds it. A marked rule whose standby (or spec rule)
// is gone is removed, and the slot it names dropped. Rules without a
// marker are the user's and are never touched.
const markerPrefix = "pgrepl:"

type marker struct {
	cluster, node string
	slot          string
	user          bool // one of the spec's hba rules
}

func (m marker) String() string {
	s := markerPrefix + " " + m.cluster + "/" + m.node
	if m.user {
		return s + " hba"
	}
	if m.slot != "" {
		s += " slot=" + m.slot
	}
	return s
}

func parseMarker(comment string) (marker, bool) {
	rest, ok := strings.CutPrefix(comment, markerPrefix)
	if !ok {
		return marker{}, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return marker{}, false
	}
	cl, nd, ok := strings.Cut(fields[0], "/")
	if !ok || cl == "" || nd == "" {
		return marker{}, false
	}
	m := marker{cluster: cl, node: nd}
	for _, f := range fields[1:] {
		if f == "hba" {
			m.user = true
		} else if v, ok := strings.CutPrefix(f, "slot="); ok {
			m.slot = v
		}
	}
	return m, true
}

// managedMarkers returns the markers of the replication rules pgrepl wrote
// for cluster in f.
func managedMarkers(f *confparse.HBAFile, cluster string) []marker {
	var out []marker
	if f == nil {
		return nil
	}
	for _, r := range f.Rules() {
		if m, ok := parseMarker(r.Comment); ok && m.cluster == cluster && !m.user {
			out = append(out, m)
		}
	}
	return out
}

// sourceAddress is the address column of a standby's rule: an IP address
// as a /32 (/128) range, a CIDR range as given, or a host name; and the
// address its connections come from, for matching (invalid for a host
// name).
func sourceAddress(s string) (confparse.HBAAddress, netip.Addr) {
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.WithZone("")
		return confparse.HBAAddressFromPrefix(netip.PrefixFrom(ip, ip.BitLen())), ip
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return confparse.HBAAddressFromPrefix(p), p.Masked().Addr()
	}
	return confparse.HBAAddress{Kind: confparse.HBAAddrHostname, Hostname: s, Text: s}, netip.Addr{}
}

// replicationRule is pgrepl's rule for standby sb: host replication USER
// ADDRESS METHOD.
func replicationRule(c *spec.Cluster, sb *spec.Node) confparse.HBARule {
	addr, _ := sourceAddress(sb.SourceAddress)
	return confparse.HBARule{
		Type:      "host",
		Databases: []confparse.HBAToken{{Value: "replication"}},
		Users:     []confparse.HBAToken{confparse.HBANameToken(c.Replication.User)},
		Address:   addr,
		Method:    c.Replication.AuthMethod,
	}
}

// replicationConn is standby sb's replication connection as the primary
// sees it.
func replicationConn(c *spec.Cluster, sb *spec.Node, ssl bool) confparse.HBAConn {
	_, ip := sourceAddress(sb.SourceAddress)
	return confparse.HBAConn{Type: "host", SSL: ssl, Database: "replication", Replication: true, User: c.Replication.User, Addr: ip}
}

// ruleConn is a connection a rule from the spec is meant for, to find the
// existing rule that would take it first: its first database and user (a
// keyword all stands for "postgres"), the network address of its address
// column (no address: every IP rule might match).
func ruleConn(r confparse.HBARule, ssl bool) confparse.HBAConn {
	c := confparse.HBAConn{Type: "host", SSL: ssl}
	switch r.Type {
	case "local":
		c.Type = "local"
	case "hostssl":
		c.SSL = true
	case "hostnossl":
		c.SSL = false
	case "hostgssenc":
		c.GSSEnc = true
	}
	c.User = "postgres"
	if len(r.Users) > 0 && !r.Users[0].IsKeyword("all") {
		c.User = strings.TrimPrefix(r.Users[0].Value, "+")
	}
	c.Database = "postgres"
	for i, t := range r.Databases {
		if t.IsKeyword("replication") {
			c.Replication = true
			break
		}
		if i == 0 {
			switch {
			case t.IsKeyword("all"):
			case t.IsKeyword("sameuser"), t.IsKeyword("samerole"), t.IsKeyword("samegroup"):
				c.Database = c.User
			default:
				c.Database = t.Value
			}
		}
	}
	if r.Address.Kind == confparse.HBAAddrIP {
		if r.Address.Prefix.IsValid() {
			c.Addr = r.Address.Prefix.Masked().Addr()
		} else {
			c.Addr = r.Address.Addr.WithZone("")
		}
	}
	return c
}

// ruleKey is what a rule means, to compare a file's rule with one pgrepl
// wants: the same columns, whatever the layout or the address's spelling.
func ruleKey(r confparse.HBARule) string {
	var b strings.Builder
	b.WriteString(r.Type)
	b.WriteByte('|')
	writeTokens(&b, r.Databases)
	b.WriteByte('|')
	writeTokens(&b, r.Users)
	b.WriteByte('|')
	a := r.Address
	switch a.Kind {
	case confparse.HBAAddrIP:
		b.WriteString(a.Addr.String() + "/" + a.Mask.String())
	case confparse.HBAAddrHostname:
		b.WriteString("host:" + strings.ToLower(a.Hostname))
	case confparse.HBAAddrAll:
		b.WriteString("all")
	case confparse.HBAAddrSameHost:
		b.WriteString("samehost")
	case confparse.HBAAddrSameNet:
		b.WriteString("samenet")
	}
	b.WriteByte('|')
	b.WriteString(r.Method)
	for _, o := range r.Options {
		b.WriteString("|" + o.Name + "=" + o.Value)
	}
	return b.String()
}

func writeTokens(b *strings.Builder, ts []confparse.HBAToken) {
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		if t.Quoted {
			b.WriteByte('"')
		}
		b.WriteString(t.Value)
		if t.Quoted {
			b.WriteByte('"')
		}
	}
}

// ruleText is a rule as one line with single blanks, for reasons.
func ruleText(r confparse.HBARule) string {
	var db, us strings.Builder
	writeTokens(&db, r.Databases)
	writeTokens(&us, r.Users)
	fields := []string{r.Type, db.String(), us.String()}
	if r.Type != "local" {
		a := r.Address
		switch {
		case a.Text != "":
			fields = append(fields, a.Text)
			if a.NetmaskText != "" {
				fields = append(fields, a.NetmaskText)
			}
		case a.Kind == confparse.HBAAddrHostname:
			fields = append(fields, a.Hostname)
		case a.Kind == confparse.HBAAddrIP && a.Prefix.IsValid():
			fields = append(fields, a.Prefix.String())
		}
	}
	fields = append(fields, r.Method)
	for _, o := range r.Options {
		fields = append(fields, o.Name+"="+o.Value)
	}
	return strings.Join(fields, " ")
}

// firstCandidate returns the index in f.Rules() of the first rule that
// matches conn or might (role membership, host names: taken as matching,
// the safe side), or -1.
func firstCandidate(f *confparse.HBAFile, rules []confparse.HBARule, conn confparse.HBAConn) int {
	res := f.MatchAll(conn)
	target := res.Rule
	if len(res.Maybe) > 0 {
		target = res.Maybe[0]
	}
	if target == nil {
		return -1
	}
	for i, r := range rules {
		if r.File == target.File && r.Line == target.Line {
			return i
		}
	}
	return -1
}

// lineEdits tracks lines inserted into and removed from a file, to tell a
// line of the edited file's original line number.
type lineEdits []lineEdit

// lineEdit is n lines inserted or removed at line at.
type lineEdit struct {
	at, n  int
	insert bool
}

// original maps line cur of the edited file to the original file's line,
// or 0 for an inserted line.
func (es lineEdits) original(cur int) int {
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		switch {
		case e.insert && cur >= e.at+e.n:
			cur -= e.n
		case e.insert && cur >= e.at:
			return 0
		case !e.insert && cur >= e.at:
			cur += e.n
		}
	}
	return cur
}

// hbaChanges edits a node's pg_hba.conf: on the primary, one replication
// rule per standby, each the first rule its connection meets; on every
// node, the spec's own rules. It returns the edit_file change, if any.
func (cp *clusterPlanner) hbaChanges(n *node, isPrimary bool) []Change {
	if !isPrimary {
		// A standby's file matters only for the spec's rules of it, and
		// those pgrepl wrote there before.
		mine := []byte(marker{cluster: cp.c.Name, node: n.sn.Name, user: true}.String())
		if len(n.sn.HBA) == 0 && !bytes.Contains(n.fs.get(n.hbaFile).content, mine) {
			return nil
		}
		if !cp.parseHBA(n) {
			return nil
		}
	}
	c, f := cp.c, n.hba
	before := f.Bytes()
	ssl := cp.sslOn(n)
	var hc []HBAChange
	var edits lineEdits
	// f.Rules() copies every rule: read it again only after an edit.
	rules := f.Rules()
	fail := func(err error) []Change {
		cp.problem(n.sn, "cannot edit %s: %v", f.Path(), err)
		return nil
	}
	remove := func(line int) error {
		lines := f.NumLines()
		if err := f.RemoveLine(line); err != nil {
			return err
		}
		edits = append(edits, lineEdit{line, lines - f.NumLines(), false})
		rules = f.Rules()
		return nil
	}
	insert := func(index int, r confparse.HBARule, m marker) error {
		if index < 0 {
			index = len(rules)
		}
		if err := f.InsertRule(index, r, m.String()); err != nil {
			return err
		}
		edits = append(edits, lineEdit{f.RuleLine(index), 1, true})
		rules = f.Rules()
		return nil
	}
	// placement describes where a rule goes: before the first rule that
	// would take its connection.
	placement := func(first int) string {
		if first < 0 {
			return "no rule matches that connection yet"
		}
		r := rules[first]
		return fmt.Sprintf("placed before line %d (%s), which would match it first", edits.original(r.Line), ruleText(r))
	}

	// The spec's own rules of this node.
	var userRules []confparse.HBARule
	for _, h := range n.sn.HBA {
		pf, err := confparse.ParseHBA("spec", []byte(h.Line+"\n"), confparse.HBAOptions{Version: n.version})
		if err != nil || len(pf.Rules()) != 1 {
			cp.problem(n.sn, "the hba rule %q (%s) does not read as one rule for PostgreSQL %d: %v", h.Line, h.Pos, n.version, err)
			continue
		}
		userRules = append(userRules, pf.Rules()[0])
	}
	userKeys := map[string]bool{}
	for _, r := range userRules {
		userKeys[ruleKey(r)] = true
	}
	cleanupAll := isPrimary && cp.sel.targeted(c.Primary)

	// 1. Remove marked rules that are no longer wanted.
	for {
		// Each pass starts again from the top, after a removal.
		seen := map[string]bool{}
		removed := false
		for _, r := range rules {
			m, ok := parseMarker(r.Comment)
			if !ok || m.cluster != c.Name || r.File != f.Path() {
				continue
			}
			var why string
			if m.user {
				if m.node != n.sn.Name {
					continue
				}
				k := ruleKey(r)
				if userKeys[k] && !seen["hba:"+k] {
					seen["hba:"+k] = true
					continue
				}
				why = fmt.Sprintf("no longer one of %s's hba rules in the spec", n.sn.Name)
				if userKeys[k] {
					why = "the same rule is already on an earlier line"
				}
			} else {
				if !isPrimary {
					continue
				}
				sb := c.Node(m.node)
				if sb != nil && sb.Role == spec.Standby && !cp.primaryCovers(sb) {
					continue
				}
				if sb == nil || sb.Role != spec.Standby {
					if !cleanupAll {
						continue
					}
					why = fmt.Sprintf("%s is no longer a standby in the spec", m.node)
					if m.slot != "" {
						cp.dropSlot(m.slot, m.node, why)
					}
				} else {
					want := replicationRule(c, sb)
					switch {
					case ruleKey(r) != ruleKey(want):
						why = fmt.Sprintf("%s's rule is now %s", sb.Name, ruleText(want))
					case m.slot != sb.Slot:
						why = fmt.Sprintf("%s's slot is now %s", sb.Name, orNone(sb.Slot))
					case seen["node:"+sb.Name]:
						why = fmt.Sprintf("a second rule for %s", sb.Name)
					default:
						seen["node:"+sb.Name] = true
						continue
					}
					if m.slot != "" && m.slot != sb.Slot {
						cp.dropSlot(m.slot, m.node, fmt.Sprintf("%s now uses %s", sb.Name, slotPhrase(sb.Slot)))
					}
				}
			}
			orig := edits.original(r.Line)
			if err := remove(r.Line); err != nil {
				return fail(err)
			}
			hc = append(hc, HBAChange{Op: "remove", Rule: ruleText(r), Line: orig, Reason: why})
			removed = true
			break
		}
		if !removed {
			break
		}
	}

	// 2. The spec's own rules, where missing.
	type placedRule struct {
		hc  int
		m   marker
		key string
	}
	var placed []placedRule
	for i, r := range userRules {
		present := false
		for _, have := range rules {
			if ruleKey(have) == ruleKey(r) {
				present = true
				break
			}
		}
		if present {
			continue
		}
		m := marker{cluster: c.Name, node: n.sn.Name, user: true}
		first := firstCandidate(f, rules, ruleConn(r, ssl))
		why := fmt.Sprintf("in the spec (%s); %s", n.sn.HBA[i].Pos, placement(first))
		if err := insert(first, r, m); err != nil {
			return fail(err)
		}
		hc = append(hc, HBAChange{Op: "add", Rule: ruleText(r), Reason: why})
		placed = append(placed, placedRule{len(hc) - 1, m, ruleKey(r)})
	}

	// 3. Each standby's replication rule, first for its connection.
	if isPrimary {
		for _, sb := range c.Standbys {
			if !cp.primaryCovers(sb) {
				continue
			}
			want := replicationRule(c, sb)
			m := marker{cluster: c.Name, node: sb.Name, slot: sb.Slot}
			conn := replicationConn(c, sb, ssl)
			cur := -1
			for i, r := range rules {
				if rm, ok := parseMarker(r.Comment); ok && !rm.user && rm.cluster == c.Name && rm.node == sb.Name && r.File == f.Path() {
					cur = i
					break
				}
			}
			first := firstCandidate(f, rules, conn)
			if cur >= 0 && (first == cur || first < 0) {
				continue
			}
			desc := fmt.Sprintf("%s connects for replication as %s from %s", sb.Name, c.Replication.User, sb.SourceAddress)
			if cur >= 0 {
				old := rules[cur]
				shadow := rules[first]
				why := fmt.Sprintf("%s; its rule on line %d is shadowed by line %d (%s), which matches that connection first", desc, edits.original(old.Line), edits.original(shadow.Line), ruleText(shadow))
				oldLine := edits.original(old.Line)
				if err := remove(old.Line); err != nil {
					return fail(err)
				}
				first = firstCandidate(f, rules, conn)
				if err := insert(first, want, m); err != nil {
					return fail(err)
				}
				hc = append(hc, HBAChange{Op: "move", Rule: ruleText(want), OldLine: oldLine, Reason: why})
			} else {
				why := desc + "; " + placement(first)
				if err := insert(first, want, m); err != nil {
					return fail(err)
				}
				hc = append(hc, HBAChange{Op: "add", Rule: ruleText(want), Reason: why})
			}
			placed = append(placed, placedRule{len(hc) - 1, m, ruleKey(want)})
		}
	}

	after := f.Bytes()
	if bytes.Equal(before, after) {
		return nil
	}
	// Where the added and moved rules are now.
	for _, r := range rules {
		m, ok := parseMarker(r.Comment)
		if !ok || r.File != f.Path() {
			continue
		}
		for _, pr := range placed {
			if pr.m == m && pr.key == ruleKey(r) {
				hc[pr.hc].Line = r.Line
			}
		}
	}
	reasons := make([]string, len(hc))
	for i, h := range hc {
		reasons[i] = fmt.Sprintf("%s %s: %s", h.Op, h.Rule, h.Reason)
	}
	vf := n.fs.get(f.Path())
	ch := cp.fileChange(n, vf, after, strings.Join(reasons, "; "))
	ch.HBA = hc
	n.needReload("pg_hba.conf")
	return []Change{ch}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func slotPhrase(slot string) string {
	if slot == "" {
		return "no slot"
	}
	return "slot " + slot
}

// dropSlot notes a slot named by a removed pg_hba.conf rule of node.
func (cp *clusterPlanner) dropSlot(name, node, why string) {
	if slices.ContainsFunc(cp.removedSlots, func(s removedSlot) bool { return s.name == name }) {
		return
	}
	cp.removedSlots = append(cp.removedSlots, removedSlot{name: name, node: node, reason: why})
}
