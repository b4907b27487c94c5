// Package libpq reads and writes what libpq reads: keyword/value
// connection strings (conninfo_parse) and password files
// (passwordFromFile). The planner, observation, apply and the spec all speak
// these formats; this is the one place that knows them.
package libpq

import (
	"net/url"
	"strings"
)

// Pair is one keyword=value of a connection string.
type Pair struct{ Key, Value string }

// IsURI reports whether s is a postgresql:// or postgres:// URI rather than a
// keyword/value string.
func IsURI(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://")
}

// ParseConninfo parses a keyword/value connection string as libpq's
// conninfo_parse does: pairs separated by white space, "=" with optional
// blanks around it, values single-quoted (with \' and \\) or bare (with \
// escaping the next character). ok is false for a URI or a string libpq
// would refuse; pairs then holds what was read before the fault, a value cut
// short by a missing closing quote included, so that callers looking for
// secrets still see them.
func ParseConninfo(s string) (pairs []Pair, ok bool) {
	if IsURI(s) {
		return nil, false
	}
	i, n := 0, len(s)
	for {
		for i < n && isSpace(s[i]) {
			i++
		}
		if i >= n {
			return pairs, true
		}
		start := i
		for i < n && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		for i < n && isSpace(s[i]) {
			i++
		}
		if i >= n || s[i] != '=' || key == "" {
			return pairs, false
		}
		i++
		for i < n && isSpace(s[i]) {
			i++
		}
		var v strings.Builder
		if i < n && s[i] == '\'' {
			i++
			closed := false
			for i < n {
				c := s[i]
				if c == '\\' && i+1 < n {
					v.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '\'' {
					i++
					closed = true
					break
				}
				v.WriteByte(c)
				i++
			}
			if !closed {
				return append(pairs, Pair{key, v.String()}), false
			}
		} else {
			for i < n && !isSpace(s[i]) {
				if s[i] == '\\' && i+1 < n {
					v.WriteByte(s[i+1])
					i += 2
					continue
				}
				v.WriteByte(s[i])
				i++
			}
		}
		pairs = append(pairs, Pair{key, v.String()})
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// QuoteValue writes a value for a connection string: bare when it is a
// plain token, else single-quoted with \ and ' escaped.
func QuoteValue(v string) string {
	plain := v != ""
	for i := 0; i < len(v) && plain; i++ {
		if c := v[i]; isSpace(c) || c == '\'' || c == '\\' || c == '=' {
			plain = false
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		if v[i] == '\'' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// FormatConninfo writes pairs as a connection string.
func FormatConninfo(pairs []Pair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.Key + "=" + QuoteValue(p.Value)
	}
	return strings.Join(parts, " ")
}

// Passwords returns the passwords in a connection string: the password
// keyword of a keyword/value string (as far as it parses), or the password of
// a URI, in its user info or its query.
func Passwords(s string) []string {
	var out []string
	if IsURI(s) {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil
		}
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		}
		for k, vs := range u.Query() {
			if k == "password" {
				out = append(out, vs...)
			}
		}
		return out
	}
	pairs, _ := ParseConninfo(s)
	for _, p := range pairs {
		if p.Key == "password" {
			out = append(out, p.Value)
		}
	}
	return out
}

// HasPassword reports whether a connection string or URI holds a password;
// one that parses as neither is taken to hold one when it mentions one.
func HasPassword(s string) bool {
	if len(Passwords(s)) > 0 {
		return true
	}
	if _, ok := ParseConninfo(s); ok {
		return false
	}
	if IsURI(s) {
		if _, err := url.Parse(strings.TrimSpace(s)); err == nil {
			return false
		}
	}
	return strings.Contains(strings.ToLower(s), "password")
}
