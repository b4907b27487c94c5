package confparse

import (
	"errors"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// This file follows PostgreSQL's parse_hba_line and parse_hba_auth_opt
// (src/backend/libpq/hba.c), check by check and in the same order, for a
// Linux build like the PGDG and Debian ones: OpenSSL, GSSAPI, LDAP
// (OpenLDAP), PAM; no BSD authentication, no SSPI.

// hbaParsed is PostgreSQL's HbaLine: a line it loads.
type hbaParsed struct {
	conntype  string
	databases []HBAToken
	roles     []HBAToken
	address   HBAAddress
	method    string
	options   []HBAOption
	warnings  []string

	// what the authentication options set, for pg_hba_file_rules
	usermap      *string
	clientcert   int // 0 off, 1 verify-ca, 2 verify-full
	pamservice   *string
	includeRealm bool
	krbRealm     *string

	ldapserver, ldapscheme, ldapbasedn, ldapbinddn, ldapbindpasswd *string
	ldapsearchattribute, ldapsearchfilter, ldapprefix, ldapsuffix  *string
	ldapport                                                       int
	ldaptls                                                        bool
	ldapscope                                                      int

	radiusServers, radiusSecrets, radiusPorts, radiusIdentifiers     []string
	radiusServersS, radiusSecretsS, radiusPortsS, radiusIdentifiersS *string
}

type hbaLineParser struct {
	tl      *hbaTokLine
	version int
	ssl     bool
	regexps *map[string]*regexp.Regexp

	viewErr string   // err_msg; "" for null
	msgs    []hbaMsg // what the server logs about the line, in order
}

type hbaMsg struct {
	text  string
	fatal bool // the line is refused
}

func (p *hbaLineParser) warn(msg string) { p.msgs = append(p.msgs, hbaMsg{text: msg}) }

// fail refuses the line with msg, shown in the view and the log.
func (p *hbaLineParser) fail(msg string) *hbaParsed {
	p.viewErr = msg
	p.msgs = append(p.msgs, hbaMsg{text: msg, fatal: true})
	return nil
}

// failLogOnly refuses the line but, like PostgreSQL, leaves the view's
// error column as it was (usually null).
func (p *hbaLineParser) failLogOnly(msg string) *hbaParsed {
	p.msgs = append(p.msgs, hbaMsg{text: msg, fatal: true})
	return nil
}

func hbaQuote(s string) string { return "\"" + s + "\"" }

func (p *hbaLineParser) parse() *hbaParsed {
	fields := p.tl.fields
	h := &hbaParsed{}

	// Connection type.
	if len(fields[0]) > 1 {
		return p.fail("multiple values specified for connection type")
	}
	switch t := fields[0][0].Value; t {
	case "local", "host", "hostnossl", "hostgssenc", "hostnogssenc":
		h.conntype = t
	case "hostssl":
		h.conntype = t
		if !p.ssl {
			msg := "hostssl record cannot match because SSL is disabled"
			p.viewErr = msg
			p.warn(msg)
			h.warnings = append(h.warnings, msg)
		}
	default:
		return p.fail("invalid connection type " + hbaQuote(t))
	}

	// Databases and roles.
	if len(fields) < 2 {
		return p.fail("end-of-line before database specification")
	}
	h.databases = fields[1]
	if !p.compileRegexps(h.databases) {
		return nil
	}
	if len(fields) < 3 {
		return p.fail("end-of-line before role specification")
	}
	h.roles = fields[2]
	if !p.compileRegexps(h.roles) {
		return nil
	}
	next := 3

	// Address.
	if h.conntype != "local" {
		if len(fields) <= next {
			return p.fail("end-of-line before IP address specification")
		}
		if len(fields[next]) > 1 {
			return p.fail("multiple values specified for host address")
		}
		tok := fields[next][0]
		next++
		var mtok *HBAToken
		if !tok.IsKeyword("all") && !tok.IsKeyword("samehost") && !tok.IsKeyword("samenet") && !strings.Contains(tok.Value, "/") {
			if _, ok := hbaNumericHost(tok.Value); ok {
				// An address without a CIDR length: the netmask is the
				// next column.
				if len(fields) <= next {
					return p.fail("end-of-line before netmask specification")
				}
				if len(fields[next]) > 1 {
					return p.fail("multiple values specified for netmask")
				}
				mtok = &fields[next][0]
				next++
			}
		}
		addr, msg := hbaParseAddress(tok, mtok)
		if msg != "" {
			return p.fail(msg)
		}
		h.address = addr
	}

	// Authentication method.
	if len(fields) <= next {
		return p.fail("end-of-line before authentication method")
	}
	if len(fields[next]) > 1 {
		return p.fail("multiple values specified for authentication type")
	}
	m := fields[next][0].Value
	next++
	switch m {
	case "trust", "ident", "peer", "password", "gss", "reject", "md5", "scram-sha-256", "pam", "ldap", "cert", "radius":
		h.method = m
	case "sspi", "bsd":
		return p.fail("invalid authentication method " + hbaQuote(m) + ": not supported by this build")
	default:
		return p.fail("invalid authentication method " + hbaQuote(m))
	}
	if h.conntype == "local" && h.method == "ident" {
		h.method = "peer"
	}
	if h.conntype == "local" && h.method == "gss" {
		return p.fail("gssapi authentication is not supported on local sockets")
	}
	if h.conntype != "local" && h.method == "peer" {
		return p.fail("peer authentication is only supported on local sockets")
	}
	if h.conntype != "hostssl" && h.method == "cert" {
		return p.fail("cert authentication is only supported on hostssl connections")
	}
	if h.method == "gss" {
		h.includeRealm = true
	}

	// Options.
	for _, field := range fields[next:] {
		for _, tok := range field {
			name, val, ok := strings.Cut(tok.Value, "=")
			if !ok {
				return p.fail("authentication option not in name=value format: " + tok.Value)
			}
			h.options = append(h.options, HBAOption{Name: name, Value: val})
			if !p.option(h, name, val) {
				return nil
			}
		}
	}

	// Arguments a method needs. ldapserver is not required: OpenLDAP builds
	// can find the server through DNS SRV records.
	if h.method == "ldap" {
		if h.ldapprefix != nil || h.ldapsuffix != nil {
			if h.ldapbasedn != nil || h.ldapbinddn != nil || h.ldapbindpasswd != nil ||
				h.ldapsearchattribute != nil || h.ldapsearchfilter != nil {
				return p.fail("cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter, or ldapurl together with ldapprefix")
			}
		} else if h.ldapbasedn == nil {
			return p.fail(`authentication method "ldap" requires argument "ldapbasedn", "ldapprefix", or "ldapsuffix" to be set`)
		}
		if h.ldapsearchattribute != nil && h.ldapsearchfilter != nil {
			return p.fail("cannot use ldapsearchattribute together with ldapsearchfilter")
		}
	}
	if h.method == "radius" {
		if h.radiusServers == nil {
			return p.fail(`authentication method "radius" requires argument "radiusservers" to be set`)
		}
		if h.radiusSecrets == nil {
			return p.fail(`authentication method "radius" requires argument "radiussecrets" to be set`)
		}
		servers := len(h.radiusServers)
		for _, l := range []struct {
			what   string
			n      int
			zeroOK bool
		}{
			{"secrets", len(h.radiusSecrets), false},
			{"ports", len(h.radiusPorts), true},
			{"identifiers", len(h.radiusIdentifiers), true},
		} {
			if l.n == 1 || l.n == servers || (l.zeroOK && l.n == 0) {
				continue
			}
			msg := "the number of RADIUS " + l.what + " (" + strconv.Itoa(l.n) +
				") must be 1 or the same as the number of RADIUS servers (" + strconv.Itoa(servers) + ")"
			if p.version <= 13 {
				return p.failLogOnly(msg)
			}
			return p.fail(msg)
		}
	}
	if h.method == "cert" {
		h.clientcert = 2
	}
	return h
}

// hbaParseAddress reads the address column (and the netmask column, for
// an address without a CIDR length) as parse_hba_line does. msg is the
// server's complaint, if any.
func hbaParseAddress(tok HBAToken, mask *HBAToken) (HBAAddress, string) {
	a := HBAAddress{Text: tok.Value}
	switch {
	case tok.IsKeyword("all"):
		a.Kind = HBAAddrAll
		return a, ""
	case tok.IsKeyword("samehost"):
		a.Kind = HBAAddrSameHost
		return a, ""
	case tok.IsKeyword("samenet"):
		a.Kind = HBAAddrSameNet
		return a, ""
	}
	str, cidr, hasCIDR := strings.Cut(tok.Value, "/")
	addr, ok := hbaNumericHost(str)
	if !ok {
		if hasCIDR {
			return a, "specifying both host name and CIDR mask is invalid: " + hbaQuote(tok.Value)
		}
		a.Kind, a.Hostname = HBAAddrHostname, str
		return a, ""
	}
	a.Kind, a.Addr = HBAAddrIP, addr
	if hasCIDR {
		m, ok := hbaCIDRMask(cidr, addr.Is4())
		if !ok {
			return a, "invalid CIDR mask in address " + hbaQuote(tok.Value)
		}
		a.Mask = m
	} else {
		if mask == nil {
			return a, "end-of-line before netmask specification"
		}
		a.NetmaskText = mask.Value
		m, ok := hbaNumericHost(mask.Value)
		if !ok {
			return a, "invalid IP mask " + hbaQuote(mask.Value) + ": Name or service not known"
		}
		if m.Is4() != addr.Is4() {
			return a, "IP address and mask do not match"
		}
		a.Mask = m.WithZone("")
	}
	if n := hbaMaskBits(a.Mask); n >= 0 {
		a.Prefix = netip.PrefixFrom(addr.WithZone(""), n)
	}
	return a, ""
}

// compileRegexps handles names starting with a slash, regular expressions
// from PostgreSQL 16 (quoted or not, as the server checks only the slash).
// Go's RE2 is not PostgreSQL's ARE: a pattern Go cannot compile is refused
// only for faults both engines agree on; otherwise it is kept unchecked and
// matching treats it as unknown.
func (p *hbaLineParser) compileRegexps(toks []HBAToken) bool {
	if p.version < 16 {
		return true
	}
	for _, t := range toks {
		if !strings.HasPrefix(t.Value, "/") {
			continue
		}
		pat := t.Value[1:]
		if *p.regexps == nil {
			*p.regexps = map[string]*regexp.Regexp{}
		}
		re, err := regexp.Compile(pat)
		if err == nil {
			(*p.regexps)[pat] = re
			continue
		}
		(*p.regexps)[pat] = nil
		var se *syntax.Error
		if errors.As(err, &se) {
			if msg, ok := hbaAREErrors[se.Code]; ok {
				p.fail("invalid regular expression " + hbaQuote(pat) + ": " + msg)
				return false
			}
		}
	}
	return true
}

// Faults that PostgreSQL's regex engine refuses too, with its words.
var hbaAREErrors = map[syntax.ErrorCode]string{
	syntax.ErrMissingParen:          "parentheses () not balanced",
	syntax.ErrUnexpectedParen:       "parentheses () not balanced",
	syntax.ErrMissingBracket:        "brackets [] not balanced",
	syntax.ErrTrailingBackslash:     "invalid escape \\ sequence",
	syntax.ErrMissingRepeatArgument: "quantifier operand invalid",
	syntax.ErrInvalidCharRange:      "invalid character range",
}

// option is parse_hba_auth_opt: it records one name=value option or refuses
// the line.
func (p *hbaLineParser) option(h *hbaParsed, name, val string) bool {
	// PostgreSQL resets the LDAP scope before every option, so an ldapurl's
	// scope survives only if it is the last option.
	h.ldapscope = 2

	invalid := func(methods string) bool {
		p.fail("authentication option " + hbaQuote(name) + " is only valid for authentication methods " + methods)
		return false
	}
	require := func(method string) bool {
		if h.method != method {
			return invalid(method)
		}
		return true
	}
	str := func(dst **string) bool {
		v := val
		*dst = &v
		return true
	}

	switch name {
	case "map":
		switch h.method {
		case "ident", "peer", "gss", "sspi", "cert":
		default:
			return invalid("ident, peer, gssapi, sspi, and cert")
		}
		return str(&h.usermap)
	case "clientcert":
		if h.conntype != "hostssl" {
			p.fail(`clientcert can only be configured for "hostssl" rows`)
			return false
		}
		return p.clientcert(h, val)
	case "clientname":
		if p.version < 14 {
			break
		}
		if h.conntype != "hostssl" {
			p.fail(`clientname can only be configured for "hostssl" rows`)
			return false
		}
		if val != "CN" && val != "DN" {
			p.failLogOnly("invalid value for clientname: " + hbaQuote(val))
			return false
		}
		return true
	case "pamservice":
		return require("pam") && str(&h.pamservice)
	case "pam_use_hostname":
		return require("pam")
	case "ldapurl":
		if !require("ldap") {
			return false
		}
		u, code := hbaParseLDAPURL(val)
		if code != 0 {
			p.fail("could not parse LDAP URL " + hbaQuote(val) + ": " + hbaLDAPURLErrText[code])
			return false
		}
		if u.scheme != "ldap" && u.scheme != "ldaps" {
			p.fail("unsupported LDAP URL scheme: " + u.scheme)
			return false
		}
		scheme := u.scheme
		h.ldapscheme = &scheme
		if u.host != nil {
			h.ldapserver = u.host
		}
		h.ldapport = u.port
		if u.dn != nil {
			h.ldapbasedn = u.dn
		}
		if len(u.attrs) > 0 {
			a := u.attrs[0]
			h.ldapsearchattribute = &a
		}
		h.ldapscope = u.scope
		if u.filter != nil {
			h.ldapsearchfilter = u.filter
		}
		return true
	case "ldaptls":
		if !require("ldap") {
			return false
		}
		h.ldaptls = val == "1"
		return true
	case "ldapscheme":
		if !require("ldap") {
			return false
		}
		if val != "ldap" && val != "ldaps" {
			msg := "invalid ldapscheme value: " + hbaQuote(val)
			p.warn(msg)
			h.warnings = append(h.warnings, msg)
		}
		return str(&h.ldapscheme)
	case "ldapserver":
		return require("ldap") && str(&h.ldapserver)
	case "ldapport":
		if !require("ldap") {
			return false
		}
		h.ldapport = int(hbaAtoi(val))
		if h.ldapport == 0 {
			p.fail("invalid LDAP port number: " + hbaQuote(val))
			return false
		}
		return true
	case "ldapbinddn":
		return require("ldap") && str(&h.ldapbinddn)
	case "ldapbindpasswd":
		return require("ldap") && str(&h.ldapbindpasswd)
	case "ldapsearchattribute":
		return require("ldap") && str(&h.ldapsearchattribute)
	case "ldapsearchfilter":
		return require("ldap") && str(&h.ldapsearchfilter)
	case "ldapbasedn":
		return require("ldap") && str(&h.ldapbasedn)
	case "ldapprefix":
		return require("ldap") && str(&h.ldapprefix)
	case "ldapsuffix":
		return require("ldap") && str(&h.ldapsuffix)
	case "krb_realm":
		if h.method != "gss" && h.method != "sspi" {
			return invalid("gssapi and sspi")
		}
		return str(&h.krbRealm)
	case "include_realm":
		if h.method != "gss" && h.method != "sspi" {
			return invalid("gssapi and sspi")
		}
		h.includeRealm = val == "1"
		return true
	case "compat_realm", "upn_username":
		if h.method != "sspi" {
			return invalid("sspi")
		}
		return true
	case "radiusservers":
		if !require("radius") {
			return false
		}
		list, ok := hbaSplitGUCList(val)
		if !ok {
			p.failLogOnly("could not parse RADIUS server list " + hbaQuote(val))
			return false
		}
		// The server resolves each name here; offline every name is taken
		// to resolve.
		h.radiusServers = list
		return str(&h.radiusServersS)
	case "radiusports":
		if !require("radius") {
			return false
		}
		list, ok := hbaSplitGUCList(val)
		if !ok {
			p.viewErr = "invalid RADIUS port number: " + hbaQuote(val)
			p.failLogOnly("could not parse RADIUS port list " + hbaQuote(val))
			return false
		}
		for _, port := range list {
			if hbaAtoi(port) == 0 {
				p.failLogOnly("invalid RADIUS port number: " + hbaQuote(val))
				return false
			}
		}
		h.radiusPorts = list
		return str(&h.radiusPortsS)
	case "radiussecrets":
		if !require("radius") {
			return false
		}
		list, ok := hbaSplitGUCList(val)
		if !ok {
			p.failLogOnly("could not parse RADIUS secret list " + hbaQuote(val))
			return false
		}
		h.radiusSecrets = list
		return str(&h.radiusSecretsS)
	case "radiusidentifiers":
		if !require("radius") {
			return false
		}
		list, ok := hbaSplitGUCList(val)
		if !ok {
			p.failLogOnly("could not parse RADIUS identifiers list " + hbaQuote(val))
			return false
		}
		h.radiusIdentifiers = list
		return str(&h.radiusIdentifiersS)
	}
	p.fail("unrecognized authentication option name: " + hbaQuote(name))
	return false
}

func (p *hbaLineParser) clientcert(h *hbaParsed, val string) bool {
	switch {
	case val == "verify-full":
		h.clientcert = 2
		return true
	case val == "verify-ca" || (p.version <= 13 && val == "1"):
		if h.method == "cert" && p.version >= 14 {
			p.viewErr = `clientcert can only be set to "verify-full" when using "cert" authentication`
			p.failLogOnly(`clientcert only accepts "verify-full" when using "cert" authentication`)
			return false
		}
		h.clientcert = 1
		return true
	case p.version == 13 && (val == "0" || val == "no-verify"):
		if h.method == "cert" {
			p.fail(`clientcert cannot be set to "no-verify" when using "cert" authentication`)
			return false
		}
		h.clientcert = 0
		return true
	case p.version == 12 && val == "0":
		if h.method == "cert" {
			p.failLogOnly(`clientcert can not be set to 0 when using "cert" authentication`)
			return false
		}
		h.clientcert = 0
		return true
	}
	p.failLogOnly("invalid value for clientcert: " + hbaQuote(val))
	return false
}

// hbaSplitGUCList is SplitGUCList with a comma: a list of names, each
// possibly double-quoted, with whitespace around them.
func hbaSplitGUCList(s string) ([]string, bool) {
	isSpace := func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
	}
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	var list []string // nil for an empty list, as PostgreSQL's NIL
	if i == len(s) {
		return nil, true
	}
	for {
		var name string
		if s[i] == '"' {
			var b strings.Builder
			i++
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, false
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			name = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !isSpace(s[i]) {
				i++
			}
			if i == start {
				return nil, false
			}
			name = s[start:i]
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		list = append(list, name)
		if i == len(s) {
			return list, true
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			// PostgreSQL then reads an empty unquoted name: refused.
			return nil, false
		}
	}
}
