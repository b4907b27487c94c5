package confparse

import (
	"strconv"
	"strings"
)

// hbaLDAPURL is what PostgreSQL takes from an ldapurl option, parsed the way
// OpenLDAP's ldap_url_parse does (the server's own parser on Linux builds).
type hbaLDAPURL struct {
	scheme string
	host   *string
	port   int
	dn     *string
	attrs  []string
	scope  int
	filter *string
}

// OpenLDAP's LDAP_URL_ERR_* codes, which PostgreSQL passes to
// ldap_err2string as if they were LDAP result codes: the text a user sees is
// the result-code text of the same number.
var hbaLDAPURLErrText = map[int]string{
	1:  "Operations error",                      // LDAP_URL_ERR_MEM
	2:  "Protocol error",                        // LDAP_URL_ERR_PARAM
	3:  "Time limit exceeded",                   // LDAP_URL_ERR_BADSCHEME
	4:  "Size limit exceeded",                   // LDAP_URL_ERR_BADENCLOSURE
	5:  "Compare False",                         // LDAP_URL_ERR_BADURL
	6:  "Compare True",                          // LDAP_URL_ERR_BADHOST
	7:  "Authentication method not supported",   // LDAP_URL_ERR_BADATTRS
	8:  "Strong(er) authentication required",    // LDAP_URL_ERR_BADSCOPE
	9:  "Partial results and referral received", // LDAP_URL_ERR_BADFILTER
	10: "Referral",                              // LDAP_URL_ERR_BADEXTS
}

const (
	hbaURLErrBadScheme    = 3
	hbaURLErrBadEnclosure = 4
	hbaURLErrBadURL       = 5
	hbaURLErrBadScope     = 8
	hbaURLErrBadFilter    = 9
	hbaURLErrBadExts      = 10
)

func hbaHexUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || hbaHexValue(s[i+1]) < 0 || hbaHexValue(s[i+2]) < 0 {
			break
		}
		b.WriteByte(byte(hbaHexValue(s[i+1])<<4 | hbaHexValue(s[i+2])))
		i += 2
	}
	return b.String()
}

func hbaLDAPScope(s string) int {
	switch strings.ToLower(s) {
	case "base":
		return 0
	case "one", "onelevel":
		return 1
	case "sub", "subtree":
		return 2
	case "subord", "subordinate", "children":
		return 3
	}
	return -1
}

func hbaSplitNonEmpty(s, sep string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(sep, r) })
}

// hbaParseLDAPURL follows ldap_url_parse_ext with the "historic" flags of
// ldap_url_parse: default port filled in, empty host dropped, scope base
// unless given. It returns an LDAP_URL_ERR_* code on failure.
func hbaParseLDAPURL(in string) (*hbaLDAPURL, int) {
	p := in
	enclosed := false
	if strings.HasPrefix(p, "<") {
		enclosed = true
		p = p[1:]
	}
	if len(p) >= 4 && strings.EqualFold(p[:4], "URL:") {
		p = p[4:]
	}
	scheme := ""
	for _, s := range []string{"ldap", "ldaps", "ldapi"} {
		pre := s + "://"
		if len(p) >= len(pre) && strings.EqualFold(p[:len(pre)], pre) {
			scheme = s
			p = p[len(pre):]
			break
		}
	}
	if scheme == "" {
		return nil, hbaURLErrBadScheme
	}
	if enclosed {
		if !strings.HasSuffix(p, ">") {
			return nil, hbaURLErrBadEnclosure
		}
		p = p[:len(p)-1]
	}
	u := &hbaLDAPURL{scheme: scheme}
	hostport := p
	rest, hasRest := "", false
	novell, hasNovell := "", false
	if i := strings.IndexByte(p, '/'); i >= 0 {
		hostport, rest, hasRest = p[:i], p[i+1:], true
	} else if i := strings.IndexByte(p, '?'); i >= 0 {
		hostport, novell, hasNovell = p[:i], p[i+1:], true
	}
	isV6 := false
	var portPart string
	hasPort := false
	if scheme != "ldapi" {
		if strings.HasPrefix(hostport, "[") {
			r := strings.IndexByte(hostport, ']')
			if r < 0 {
				return nil, hbaURLErrBadURL
			}
			after := hostport[r+1:]
			if q := strings.IndexByte(after, ':'); q >= 0 {
				if q != 0 {
					return nil, hbaURLErrBadURL
				}
				portPart, hasPort = after[1:], true
			}
			hostport = hostport[:r]
			isV6 = true
		} else if q := strings.IndexByte(hostport, ':'); q >= 0 {
			hostport, portPart, hasPort = hostport[:q], hostport[q+1:], true
		}
		if hasPort {
			portPart = hbaHexUnescape(portPart)
			if portPart == "" {
				return nil, hbaURLErrBadURL
			}
			n, used := hbaStrtol(portPart)
			if used == 0 || used != len(portPart) {
				return nil, hbaURLErrBadURL
			}
			u.port = int(int32(n))
		}
		if u.port == 0 {
			u.port = 389
			if scheme == "ldaps" {
				u.port = 636
			}
		}
	}
	host := hbaHexUnescape(hostport)
	if isV6 {
		host = host[1:]
	}
	if host != "" {
		u.host = &host
	}
	if !hasRest && hasNovell && strings.HasPrefix(novell, "?") {
		dn := hbaHexUnescape(novell[1:])
		u.dn = &dn
	}
	if !hasRest {
		return u, 0
	}
	parts := strings.SplitN(rest, "?", 5)
	dn := hbaHexUnescape(parts[0])
	u.dn = &dn
	if len(parts) > 1 && parts[1] != "" {
		u.attrs = hbaSplitNonEmpty(hbaHexUnescape(parts[1]), ",")
		if u.attrs == nil {
			u.attrs = []string{}
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		u.scope = hbaLDAPScope(hbaHexUnescape(parts[2]))
		if u.scope < 0 {
			return nil, hbaURLErrBadScope
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		f := hbaHexUnescape(parts[3])
		if f == "" {
			return nil, hbaURLErrBadFilter
		}
		u.filter = &f
	}
	if len(parts) > 4 {
		if strings.Contains(parts[4], "?") {
			return nil, hbaURLErrBadURL
		}
		if len(hbaSplitNonEmpty(parts[4], ",")) == 0 {
			return nil, hbaURLErrBadExts
		}
	}
	return u, 0
}

// hbaStrtol reads a decimal long the way strtol(s, &end, 10) does: optional
// leading space and sign, digits, clamped to 64 bits. used is 0 when there
// are no digits.
func hbaStrtol(s string) (int64, int) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, 0
	}
	n, err := strconv.ParseInt(s[start:i], 10, 64)
	if err != nil {
		n = 1<<63 - 1
		if neg {
			return -1 << 63, i
		}
	}
	if neg {
		n = -n
	}
	return n, i
}

// hbaAtoi is C's atoi on glibc: strtol truncated to int.
func hbaAtoi(s string) int32 {
	n, _ := hbaStrtol(s)
	return int32(n)
}
