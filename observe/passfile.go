package observe

import (
	"bytes"
	"strings"
)

// passfileMatches reports whether libpq, reading the password file content
// for a connection to host:port as user to database dbname, would take
// password from it. It follows libpq's passwordFromFile: one entry a line,
// "hostname:port:database:username:password"; a line starting with '#' is a
// comment; trailing CR and LF are dropped; in each of the first four fields
// "*" matches anything, "\" escapes the next character (":" and "\"
// notably); the first entry that matches wins, whatever its password.
func passfileMatches(content []byte, host, port, dbname, user, password string) bool {
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
