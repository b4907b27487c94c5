// Package shell quotes arguments for a POSIX shell, for the one command
// string an SSH server hands to the login shell, and for commands shown to
// people that they can paste.
package shell

import "strings"

// Quote quotes s for a POSIX shell (sh, dash, bash, ksh, zsh) so that
// the shell reads it back as exactly one word equal to s. Words made only of
// characters no shell treats specially are left bare for readability;
// anything else is wrapped in single quotes, inside which every byte is
// literal. A single quote in s closes the quoting, is escaped, and reopens
// it:
//
//	it's  →  'it'\''s'
//
// A NUL byte cannot be passed in an argument at all; callers reject it.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			b.WriteString(`'\''`)
		} else {
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// Join quotes each element of argv with Quote and joins them with
// spaces: the one command string an SSH server hands to the login shell.
func Join(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// isSafe reports whether s needs no quoting: letters, digits and
// "%+,-./:=@_". A leading "=" or "~" is special to some shells (zsh's =cmd,
// tilde expansion), so the first byte is held to a stricter set.
func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '%' || c == '+' || c == ',' || c == '-' || c == '.' || c == '/' || c == ':' || c == '@' || c == '_':
		case c == '=' && i > 0:
		default:
			return false
		}
	}
	return true
}
