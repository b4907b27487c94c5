package plan

import (
	"strings"

	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/spec"
)

// parseConninfo parses a connection string as libpq does; a value the
// observer redacted ("password=(sensitive value)") reads as one value.
func parseConninfo(s string) ([]libpq.Pair, bool) {
	return libpq.ParseConninfo(strings.ReplaceAll(s, "="+spec.Redacted, "='"+spec.Redacted+"'"))
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
func conninfoMap(pairs []libpq.Pair) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.Key] = p.Value
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
		v, ok := mh[p.Key]
		switch {
		case !ok:
			out = append(out, p.Key+" is missing")
		case v != p.Value:
			out = append(out, p.Key+" is "+libpq.QuoteValue(v)+", not "+libpq.QuoteValue(p.Value))
		}
	}
	seen := map[string]bool{}
	for _, p := range ph {
		if _, ok := mw[p.Key]; ok || seen[p.Key] {
			continue
		}
		seen[p.Key] = true
		if p.Key == "password" {
			out = append(out, "it holds a password (pgrepl keeps it in the passfile)")
			continue
		}
		out = append(out, p.Key+"="+libpq.QuoteValue(p.Value)+" is extra")
	}
	return strings.Join(out, "; ")
}

// redactConninfo replaces the value of every password keyword in a
// connection string with "(sensitive value)". A string that does not parse
// but mentions a password is redacted whole.
func redactConninfo(s string) string {
	pairs, ok := parseConninfo(s)
	if !ok {
		if containsPassword(s) || strings.Contains(s, "@") {
			return spec.Redacted
		}
		return s
	}
	changed := false
	for i := range pairs {
		if pairs[i].Key == "password" {
			pairs[i].Value = spec.Redacted
			changed = true
		}
	}
	if !changed {
		return s
	}
	return libpq.FormatConninfo(pairs)
}
