package spec

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var (
	hbaTypes   = []string{"host", "hostgssenc", "hostnogssenc", "hostnossl", "hostssl", "local"}
	hbaMethods = []string{"bsd", "cert", "gss", "ident", "ldap", "md5", "pam", "password", "peer", "radius", "reject", "scram-sha-256", "sspi", "trust"}
)

// decodeHBA decodes a node's hba list: each element is one pg_hba.conf line.
func (l *loader) decodeHBA(ctx *hcl.EvalContext, a *hclsyntax.Attribute) field[[]HBARule] {
	lines, rngs, f := l.strings(ctx, a)
	out := field[[]HBARule]{set: f.set, bad: f.bad, rng: f.rng}
	for i, line := range lines {
		r, err := parseHBA(line)
		if err != "" {
			l.errorf(rngs[i], "Invalid hba rule", "%s A rule is one pg_hba.conf line: TYPE DATABASE USER [ADDRESS] METHOD [OPTIONS], such as \"hostssl all app 10.0.0.0/8 scram-sha-256\".", err)
			out.bad = true
			continue
		}
		r.Pos = pos(rngs[i])
		l.hbaWarnings(r, rngs[i])
		out.v = append(out.v, r)
	}
	return out
}

// hbaField is one whitespace-separated field of a pg_hba.conf line, split
// into its comma-separated items, each as written (quotes kept).
type hbaField []string

// splitHBA splits a line as PostgreSQL's hba.c tokenizes it: fields at
// whitespace, items at commas (whitespace after a comma continues the field),
// both only outside double quotes.
func splitHBA(line string) ([]hbaField, string) {
	var fields []hbaField
	var cur hbaField
	var tok strings.Builder
	inQuote, inField, afterComma := false, false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			inField, afterComma = true, false
			tok.WriteByte(c)
		case inQuote:
			tok.WriteByte(c)
		case c == '#':
			return nil, "The rule holds a comment (#), which a rule in the spec cannot."
		case c == '\n' || c == '\r':
			return nil, "The rule holds a line break; write one rule per list element."
		case c == ' ' || c == '\t':
			if inField && !afterComma {
				fields = append(fields, append(cur, tok.String()))
				cur, inField = nil, false
				tok.Reset()
			}
		case c == ',':
			cur = append(cur, tok.String())
			tok.Reset()
			inField, afterComma = true, true
		default:
			tok.WriteByte(c)
			inField, afterComma = true, false
		}
	}
	if inQuote {
		return nil, "The rule has an unterminated quote."
	}
	if inField {
		fields = append(fields, append(cur, tok.String()))
	}
	return fields, ""
}

// parseHBA parses one pg_hba.conf line. The error, if any, is a sentence.
func parseHBA(line string) (HBARule, string) {
	r := HBARule{Line: strings.TrimSpace(line)}
	fields, err := splitHBA(r.Line)
	if err != "" {
		return r, err
	}
	single := func(f hbaField, what string) (string, string) {
		if len(f) != 1 || f[0] == "" {
			return "", fmt.Sprintf("The %s field takes one value; it is %q.", what, strings.Join(f, ","))
		}
		return f[0], ""
	}
	if len(fields) == 0 {
		return r, "The rule is empty."
	}
	if r.Type, err = single(fields[0], "type"); err != "" {
		return r, err
	}
	if !slices.Contains(hbaTypes, r.Type) {
		return r, fmt.Sprintf("%q is not a connection type; use one of %s.", r.Type, strings.Join(hbaTypes, ", "))
	}
	rest := fields[1:]
	if len(rest) < 2 {
		return r, "The rule ends before its database and user fields."
	}
	for _, item := range rest[0] {
		if item == "" {
			return r, "The database field has an empty item."
		}
	}
	for _, item := range rest[1] {
		if item == "" {
			return r, "The user field has an empty item."
		}
	}
	r.Databases, r.Users = rest[0], rest[1]
	rest = rest[2:]
	if r.Type != "local" {
		if len(rest) == 0 {
			return r, "The rule ends before its address."
		}
		if r.Address, err = single(rest[0], "address"); err != "" {
			return r, err
		}
		rest = rest[1:]
		switch {
		case strings.Contains(r.Address, "/"):
			if _, e := netip.ParsePrefix(r.Address); e != nil {
				return r, fmt.Sprintf("%q is not a valid CIDR address.", r.Address)
			}
		case isIP(r.Address):
			if len(rest) == 0 {
				return r, fmt.Sprintf("The address %s needs a netmask after it (or write it as a CIDR range).", r.Address)
			}
			if r.Netmask, err = single(rest[0], "netmask"); err != "" {
				return r, err
			}
			if !isIP(r.Netmask) {
				return r, fmt.Sprintf("%q is not a valid netmask.", r.Netmask)
			}
			rest = rest[1:]
		case r.Address == "all" || r.Address == "samehost" || r.Address == "samenet":
		case validHost(strings.TrimPrefix(r.Address, ".")):
		default:
			return r, fmt.Sprintf("%q is not an address, a CIDR range, a host name, all, samehost or samenet.", r.Address)
		}
	}
	if len(rest) == 0 {
		return r, "The rule ends before its authentication method."
	}
	if r.Method, err = single(rest[0], "method"); err != "" {
		return r, err
	}
	if !slices.Contains(hbaMethods, r.Method) {
		return r, fmt.Sprintf("%q is not an authentication method; use one of %s.", r.Method, strings.Join(hbaMethods, ", "))
	}
	for _, f := range rest[1:] {
		opt := strings.Join(f, ",")
		if i := strings.IndexByte(opt, '='); i <= 0 {
			return r, fmt.Sprintf("The option %q is not name=value.", opt)
		}
		r.Options = append(r.Options, opt)
	}
	return r, ""
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// hbaWarnings warns about user rules that open replication wider than needed.
func (l *loader) hbaWarnings(r HBARule, rng hcl.Range) {
	if !slices.Contains(r.Databases, "replication") {
		return
	}
	switch r.Method {
	case "trust":
		l.warnf(rng, "Trust authentication for replication", "This rule lets anyone who can reach the node from %s stream the whole database without a password.", anyAddr(r))
	case "md5":
		l.warnf(rng, "md5 authentication", "md5 sends a password hash that can be replayed, and PostgreSQL deprecates it; every version pgrepl supports (12 to 17) has scram-sha-256. Use scram-sha-256.")
	}
	if r.Type != "local" && openToAll(r) {
		l.warnf(rng, "Replication open to any address", "This rule accepts replication connections from any address; name the standbys' addresses (pgrepl adds a rule for each standby itself).")
	}
}

func anyAddr(r HBARule) string {
	if r.Type == "local" {
		return "this machine's Unix socket"
	}
	if r.Netmask != "" {
		return r.Address + " " + r.Netmask
	}
	return r.Address
}

// openToAll reports whether a rule's address matches every client.
func openToAll(r HBARule) bool {
	if r.Address == "all" {
		return true
	}
	if p, err := netip.ParsePrefix(r.Address); err == nil {
		return p.Bits() == 0
	}
	if m, err := netip.ParseAddr(r.Netmask); err == nil {
		return m.IsUnspecified()
	}
	return false
}
