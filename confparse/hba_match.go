package confparse

import (
	"net/netip"
	"strings"
)

// HBAConn is a connection attempt, for Match: what check_hba looks at, and
// what pgrepl knows offline about the roles and hosts involved.
type HBAConn struct {
	// Type is "local" for a Unix-domain socket; anything else ("host") is
	// TCP, with SSL and GSSEnc saying how it is encrypted.
	Type   string
	SSL    bool
	GSSEnc bool
	// Database is the database asked for (ignored when Replication is set).
	Database string
	User     string
	// Addr is the client's address as the server sees it (TCP only). An
	// IPv4 client is an IPv4 address: a v4-mapped IPv6 address only matches
	// IPv6 rules, as on the server.
	Addr netip.Addr
	// Replication marks a physical replication connection (a walsender
	// without a database, as a standby opens): it matches only rules with the
	// keyword replication in the database column, and "all" does not match
	// it. A logical replication connection names its database and is an
	// ordinary connection here.
	Replication bool

	// MemberOf answers whether user is a member (directly or not) of role,
	// for "+role" users and samerole databases, as the server's
	// is_member_of_role_nosuper does: a role is a member of itself,
	// superuser gives no membership, and a role that does not exist is a
	// member of nothing. known is false when it cannot tell. Nil means
	// nothing is known, except that a role is a member of itself (taking
	// the user to exist).
	MemberOf func(user, role string) (member, known bool)
	// HostAddrs are the server host's interface addresses with their
	// netmasks, for samehost and samenet. Nil means unknown.
	HostAddrs []netip.Prefix
	// Hostname returns the client's host name as the server would find it
	// (reverse lookup, confirmed by a forward lookup); ok false means there
	// is none, and host-name rules do not match. Nil means unknown.
	Hostname func(addr netip.Addr) (name string, ok bool)
}

// HBAMatchResult is the outcome of MatchAll.
type HBAMatchResult struct {
	// Rule is the first rule certain to match, nil when none is (the server
	// then rejects the connection).
	Rule *HBARule
	// Maybe are the rules before Rule that might match, depending on what
	// HBAConn does not tell (role membership, host names, host addresses, a
	// regular expression Go cannot evaluate). If one does, it decides.
	Maybe []*HBARule
}

// Match returns the rule the server would pick for c: the first rule that
// matches. ok is true when that is certain. When an earlier rule might match
// (see HBAMatchResult.Maybe), Match returns that rule with ok false; when no
// rule matches, it returns nil, false.
//
// Match looks at the rules the file loads (Rules). A file with errors is
// refused by the server as a whole, which keeps its previous rules or does
// not start; Match does not model that.
func (f *HBAFile) Match(c HBAConn) (rule *HBARule, ok bool) {
	res := f.MatchAll(c)
	if len(res.Maybe) > 0 {
		return res.Maybe[0], false
	}
	return res.Rule, res.Rule != nil
}

// MatchAll returns the first rule certain to match c and the rules before it
// that might.
func (f *HBAFile) MatchAll(c HBAConn) HBAMatchResult {
	var res HBAMatchResult
	for i := range f.recs {
		p := f.recs[i].parsed
		if p == nil {
			continue
		}
		switch f.matchRule(p, &c) {
		case hbaYes:
			res.Rule = f.recs[i].rule()
			return res
		case hbaMaybe:
			res.Maybe = append(res.Maybe, f.recs[i].rule())
		}
	}
	return res
}

// hbaTri is a three-valued answer.
type hbaTri int

const (
	hbaNo hbaTri = iota
	hbaMaybe
	hbaYes
)

// and combines conditions that must all hold.
func (a hbaTri) and(b hbaTri) hbaTri {
	if b < a {
		return b
	}
	return a
}

// or combines alternatives.
func (a hbaTri) or(b hbaTri) hbaTri {
	if b > a {
		return b
	}
	return a
}

func hbaBool(b bool) hbaTri {
	if b {
		return hbaYes
	}
	return hbaNo
}

func (f *HBAFile) matchRule(p *hbaParsed, c *HBAConn) hbaTri {
	local := c.Type == "local"
	if (p.conntype == "local") != local {
		return hbaNo
	}
	res := hbaYes
	if !local {
		switch p.conntype {
		case "hostssl":
			if !c.SSL {
				return hbaNo
			}
		case "hostnossl":
			if c.SSL {
				return hbaNo
			}
		case "hostgssenc":
			if !c.GSSEnc {
				return hbaNo
			}
		case "hostnogssenc":
			if c.GSSEnc {
				return hbaNo
			}
		}
		res = res.and(hbaMatchAddress(p.address, c))
		if res == hbaNo {
			return hbaNo
		}
	}
	res = res.and(f.matchDatabase(p.databases, c))
	if res == hbaNo {
		return hbaNo
	}
	return res.and(f.matchRole(p.roles, c))
}

func hbaMatchAddress(a HBAAddress, c *HBAConn) hbaTri {
	switch a.Kind {
	case HBAAddrAll:
		return hbaYes
	case HBAAddrIP:
		if !c.Addr.IsValid() {
			return hbaMaybe
		}
		return hbaBool(hbaInNet(c.Addr, a.Addr, a.Mask))
	case HBAAddrHostname:
		if c.Hostname == nil || !c.Addr.IsValid() {
			return hbaMaybe
		}
		name, ok := c.Hostname(c.Addr)
		if !ok {
			return hbaNo
		}
		return hbaBool(hbaHostnameMatch(a.Hostname, name))
	case HBAAddrSameHost, HBAAddrSameNet:
		if c.HostAddrs == nil || !c.Addr.IsValid() {
			return hbaMaybe
		}
		for _, p := range c.HostAddrs {
			if !p.IsValid() {
				continue
			}
			mask := hbaMaskOf(p.Bits(), p.Addr().Is4())
			if a.Kind == HBAAddrSameHost {
				mask = hbaMaskOf(p.Addr().BitLen(), p.Addr().Is4())
			}
			if hbaInNet(c.Addr, p.Addr(), mask) {
				return hbaYes
			}
		}
		return hbaNo
	}
	return hbaNo
}

// hbaInNet is check_ip: same address family, and equal under the mask.
func hbaInNet(client, addr, mask netip.Addr) bool {
	if client.Is4() != addr.Is4() || !mask.IsValid() {
		return false
	}
	cb, ab, mb := client.AsSlice(), addr.AsSlice(), mask.AsSlice()
	if len(mb) != len(ab) {
		return false
	}
	for i := range cb {
		if (cb[i]^ab[i])&mb[i] != 0 {
			return false
		}
	}
	return true
}

// hbaHostnameMatch is hostname_match: case-insensitive, and a leading dot
// matches any name ending so.
func hbaHostnameMatch(pattern, name string) bool {
	if strings.HasPrefix(pattern, ".") {
		return len(name) >= len(pattern) && strings.EqualFold(pattern, name[len(name)-len(pattern):])
	}
	return strings.EqualFold(pattern, name)
}

func (c *HBAConn) member(user, role string) hbaTri {
	if c.MemberOf != nil {
		if member, known := c.MemberOf(user, role); known {
			return hbaBool(member)
		}
		return hbaMaybe
	}
	if user == role {
		return hbaYes // a role is a member of itself (if it exists)
	}
	return hbaMaybe
}

// regexpMatch matches s against a "/regex" token (16+).
func (f *HBAFile) regexpMatch(t HBAToken, s string) (hbaTri, bool) {
	if f.opts.Version < 16 || !strings.HasPrefix(t.Value, "/") {
		return hbaNo, false
	}
	re := f.regexps[t.Value[1:]]
	if re == nil {
		return hbaMaybe, true
	}
	return hbaBool(re.MatchString(s)), true
}

// matchDatabase is check_db.
func (f *HBAFile) matchDatabase(toks []HBAToken, c *HBAConn) hbaTri {
	res := hbaNo
	for _, t := range toks {
		if c.Replication {
			if t.IsKeyword("replication") {
				return hbaYes
			}
			continue
		}
		switch {
		case t.IsKeyword("all"):
			return hbaYes
		case t.IsKeyword("sameuser"):
			res = res.or(hbaBool(c.Database == c.User))
		case t.IsKeyword("samegroup"), t.IsKeyword("samerole"):
			res = res.or(c.member(c.User, c.Database))
		case t.IsKeyword("replication"):
			continue
		default:
			if m, ok := f.regexpMatch(t, c.Database); ok {
				res = res.or(m)
			} else {
				res = res.or(hbaBool(t.Value == c.Database))
			}
		}
		if res == hbaYes {
			return hbaYes
		}
	}
	return res
}

// matchRole is check_role.
func (f *HBAFile) matchRole(toks []HBAToken, c *HBAConn) hbaTri {
	res := hbaNo
	for _, t := range toks {
		switch {
		case !t.Quoted && strings.HasPrefix(t.Value, "+"):
			res = res.or(c.member(c.User, t.Value[1:]))
		case t.IsKeyword("all"):
			return hbaYes
		default:
			if m, ok := f.regexpMatch(t, c.User); ok {
				res = res.or(m)
			} else {
				res = res.or(hbaBool(t.Value == c.User))
			}
		}
		if res == hbaYes {
			return hbaYes
		}
	}
	return res
}
