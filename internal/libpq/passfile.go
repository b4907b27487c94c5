package libpq

import (
	"bytes"
	"strings"
)

// passfileEscaper escapes a field of a password file.
var passfileEscaper = strings.NewReplacer(`\`, `\\`, `:`, `\:`)

// EscapePassfileField escapes ':' and '\' in one field of a password file.
func EscapePassfileField(s string) string { return passfileEscaper.Replace(s) }

// PassfileLine formats one entry, "hostname:port:database:username:password",
// every field escaped.
func PassfileLine(host, port, database, user, password string) string {
	return strings.Join([]string{EscapePassfileField(host), EscapePassfileField(port),
		EscapePassfileField(database), EscapePassfileField(user), EscapePassfileField(password)}, ":")
}

// PassfileKey is the first four fields of an entry, unescaped, or ok false
// for comments and lines with fewer fields: what identifies the entry that a
// new line for the same host, port, database and user replaces.
func PassfileKey(line string) (key [4]string, ok bool) {
	if strings.HasPrefix(line, "#") {
		return key, false
	}
	var fields []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == ':' && len(fields) < 4:
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(fields) < 4 {
		return key, false
	}
	copy(key[:], fields)
	return key, true
}

// PassfileMatches reports whether libpq, reading the password file content
// for a connection to host:port as user to database dbname, would take
// password from it. It follows libpq's passwordFromFile: one entry a line,
// "hostname:port:database:username:password"; a line starting with '#' is a
// comment; trailing CR and LF are dropped; in each of the first four fields
// "*" matches anything, "\" escapes the next character (":" and "\"
// notably); the first entry that matches wins, whatever its password.
func PassfileMatches(content []byte, host, port, dbname, user, password string) bool {
	for _, line := range bytes.Split(content, []byte("\n")) {
		if len(line) > 0 && line[0] == '#' {
			continue
		}
		t := strings.TrimRight(string(line), "\r\n")
		if t == "" {
			continue
		}
		ok := false
		for _, tok := range []string{host, port, dbname, user} {
			if t, ok = passfileField(t, tok); !ok {
				break
			}
		}
		if ok {
			return passfilePassword(t) == password
		}
	}
	return false
}

// passfileField matches the field at the start of buf against tok and
// returns the rest of the line after the field's ':' (libpq's
// pwdfMatchesString).
func passfileField(buf, tok string) (string, bool) {
	if strings.HasPrefix(buf, "*:") {
		return buf[2:], true
	}
	i, j := 0, 0
	escaped := false
	for i < len(buf) {
		if buf[i] == '\\' && !escaped {
			i++
			escaped = true
			if i == len(buf) {
				return "", false
			}
		}
		if buf[i] == ':' && j == len(tok) && !escaped {
			return buf[i+1:], true
		}
		escaped = false
		if j == len(tok) || buf[i] != tok[j] {
			return "", false
		}
		i++
		j++
	}
	return "", false
}

// passfilePassword de-escapes the password field: up to the first
// unescaped ':' or the end of the line.
func passfilePassword(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && s[i] != ':'; i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
