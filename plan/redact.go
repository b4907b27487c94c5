package plan

import (
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/spec"
)

// Passwords never reach a plan. pgrepl itself writes none into a config
// file (primary_conninfo names a passfile), but a file may already hold one
// (primary_conninfo = '… password=…'), and diffs show such lines as context
// or as removed lines. Every line of every diff of a config file, and every
// old value shown, goes through these functions.

// redactValue redacts a setting's value when it may hold a password.
func redactValue(v string) string {
	if !mayHoldPassword(v) {
		return v
	}
	return redactConninfo(v)
}

func mayHoldPassword(s string) bool {
	return containsPassword(s) || strings.Contains(s, "://")
}

// containsPassword reports whether s holds "password" in any case, as
// strings.Contains(strings.ToLower(s), "password") does (no other rune
// lowercases to one of its letters) without making a copy of every line.
func containsPassword(s string) bool { return indexPassword(s) >= 0 }

// indexPassword is the index in s of the first "password" in any case, or
// -1. It is an index into s itself, unlike one into strings.ToLower(s):
// lowercasing changes the length of some runes (Ⱥ, 2 bytes, gives ⱥ, 3).
func indexPassword(s string) int {
	const word = "password"
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 != 'p' {
			continue
		}
		j := 1
		for j < len(word) && s[i+j]|0x20 == word[j] {
			j++
		}
		if j == len(word) {
			return i
		}
	}
	return -1
}

// redactConfLine redacts a line of postgresql.conf syntax: the value of a
// setting holding a connection string with a password gets the password
// replaced; any other line that mentions a password keeps only what comes
// before it.
func redactConfLine(line string) string {
	if !mayHoldPassword(line) {
		return line
	}
	f, err := confparse.ParseConf("line", []byte(line+"\n"))
	if err == nil && f.Err() == nil {
		if ss := f.Settings(); len(ss) == 1 && ss[0].Directive == confparse.DirectiveNone {
			s := ss[0]
			at := strings.Index(line, s.Raw)
			red := redactValue(s.Value)
			if at >= 0 {
				if red == s.Value {
					return line
				}
				return line[:at] + confparse.QuoteValue(red) + line[at+len(s.Raw):]
			}
		}
	}
	i := indexPassword(line)
	if i < 0 {
		i = strings.Index(line, "://")
	}
	return line[:i] + spec.Redacted
}
