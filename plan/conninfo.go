package plan

import (
	"strings"

	"github.com/pgrepl/pgrepl/spec"
)

// conninfoPair is one keyword=value of a libpq connection string.
type conninfoPair struct{ key, value string }

// parseConninfo parses a libpq keyword/value connection string as
// conninfo_parse does: pairs separated by white space, "=" with optional
// blanks around it, values single-quoted (with \' and \\) or bare (with \
// escaping the next character). ok is false for a URI or a string libpq
// would refuse.
func parseConninfo(s string) (pairs []conninfoPair, ok bool) {
	if strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://") {
		return nil, false
	}
	// A value the observer redacted reads as one value.
	s = strings.ReplaceAll(s, "="+spec.Redacted, "='"+spec.Redacted+"'")
	i, n := 0, len(s)
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
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
			return nil, false
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
				return nil, false
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
		pairs = append(pairs, conninfoPair{key, v.String()})
	}
}

// quoteConninfoValue writes a value for a connection string: bare when it
// is a plain token, else single-quoted with \ and ' escaped.
func quoteConninfoValue(v string) string {
	plain := v != ""
	for i := 0; i < len(v) && plain; i++ {
		switch c := v[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\'' || c == '\\' || c == '=':
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

// formatConninfo writes pairs as a connection string.
func formatConninfo(pairs []conninfoPair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.key + "=" + quoteConninfoValue(p.value)
	}
	return strings.Join(parts, " ")
}

// sameConninfo reports whether two connection strings hold the same
// keywords with the same values, in any order. A string that does not parse
// equals only itself.
func sameConninfo(a, b string) bool {
	pa, okA := parseConninfo(a)
	pb, okB := parseConninfo(b)
	if !okA || !okB {
		return a == b
	}
	ma, mb := conninfoMap(pa), conninfoMap(pb)
	if len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		if w, ok := mb[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// conninfoMap keeps the last value of each keyword, as libpq does.
func conninfoMap(pairs []conninfoPair) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.key] = p.value
	}
	return m
}

// conninfoDiff describes how have differs from want, keyword by keyword, in
// want's order and then have's extra keywords: "host is 10.0.0.9, not
// 127.0.0.2; application_name is missing; password is set". Values of
// password are never shown.
func conninfoDiff(have, want string) string {
	ph, ok := parseConninfo(have)
	if !ok {
		return "it is not a keyword=value connection string"
	}
	pw, _ := parseConninfo(want)
	mh, mw := conninfoMap(ph), conninfoMap(pw)
	var out []string
	for _, p := range pw {
		v, ok := mh[p.key]
		switch {
		case !ok:
			out = append(out, p.key+" is missing")
		case v != p.value:
			out = append(out, p.key+" is "+quoteConninfoValue(v)+", not "+quoteConninfoValue(p.value))
		}
	}
	seen := map[string]bool{}
	for _, p := range ph {
		if _, ok := mw[p.key]; ok || seen[p.key] {
			continue
		}
		seen[p.key] = true
		if p.key == "password" {
			out = append(out, "it holds a password (pgrepl keeps it in the passfile)")
			continue
		}
		out = append(out, p.key+"="+quoteConninfoValue(p.value)+" is extra")
	}
	return strings.Join(out, "; ")
}

// redactConninfo replaces the value of every password keyword in a
// connection string with "(sensitive value)". A string that does not parse
// but mentions a password is redacted whole.
func redactConninfo(s string) string {
	pairs, ok := parseConninfo(s)
	if !ok {
		if strings.Contains(strings.ToLower(s), "password") || strings.Contains(s, "@") {
			return spec.Redacted
		}
		return s
	}
	changed := false
	for i := range pairs {
		if pairs[i].key == "password" {
			pairs[i].value = spec.Redacted
			changed = true
		}
	}
	if !changed {
		return s
	}
	return formatConninfo(pairs)
}
