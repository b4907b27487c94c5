package confparse

import (
	"bytes"
	"fmt"
	"strings"
)

// tokenValue is the value PostgreSQL stores for a value token: the token
// itself, or for a quoted string what DeescapeQuotedString makes of it.
func tokenValue(k confTok, tok []byte) string {
	if k != tokString {
		return string(tok)
	}
	return deescape(tok)
}

// deescape strips the quotes of a quoted-string token and collapses ” and
// the backslash escapes \b \f \n \r \t, \ooo (one to three octal digits, the
// value truncated to a byte) and \x → x, exactly as PostgreSQL's
// DeescapeQuotedString does on a C string. C semantics matter at a NUL byte:
// PostgreSQL sees the token only up to a raw NUL and then still drops the
// last character it copied (taking it for the closing quote), and a value
// that comes to hold a NUL (\0, \400) ends there.
func deescape(tok []byte) string {
	if i := bytes.IndexByte(tok, 0); i >= 0 {
		tok = tok[:i]
	}
	if len(tok) == 0 {
		return ""
	}
	s := tok[1:] // skip the opening quote; the closing one is copied, then dropped
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			switch e := at(i); e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v, k := 0, 0
				for ; k < 3 && at(i+k) >= '0' && at(i+k) <= '7'; k++ {
					v = v<<3 + int(at(i+k)-'0')
				}
				i += k - 1
				out = append(out, byte(v))
			default:
				out = append(out, e)
			}
		case c == '\'' && at(i+1) == '\'':
			i++
			out = append(out, '\'')
		default:
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	if i := bytes.IndexByte(out, 0); i >= 0 {
		out = out[:i]
	}
	return string(out)
}

// singleToken lexes s and reports the kind of its only token, or false
// when s is not exactly one token (no blanks, no comment).
func singleToken(s string) (confTok, bool) {
	if strings.IndexByte(s, '\n') >= 0 {
		return tokEOL, false // no token spans lines
	}
	b := []byte(s)
	k, start, end := confScan(b, 0)
	if start != 0 || end != len(b) || k == tokEOL {
		return k, false
	}
	return k, true
}

// QuoteValue returns the token to write in postgresql.conf for the value s:
// s itself when PostgreSQL reads it back unchanged without quotes (a number
// such as 128 or 0.5, a number with a unit such as 128MB, a simple word such
// as replica or on, or a word with - . _ : / inside such as en_US.UTF-8),
// else s single-quoted, with ' doubled and \, newline and carriage return
// escaped. A value stops at a NUL byte, as in PostgreSQL.
func QuoteValue(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if k, ok := singleToken(s); ok && k != tokString && isValueTok(k) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// quoteAlterSystem quotes s as ALTER SYSTEM writes it into
// postgresql.auto.conf: always single-quoted, with ' and \ doubled
// (escape_single_quotes_ascii).
func quoteAlterSystem(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte(s[i])
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// UnquoteValue returns the value PostgreSQL stores for the value token tok
// (as written in a file: 128MB, replica, 'a b'), or an error when tok is not
// exactly one token that PostgreSQL accepts as a value.
func UnquoteValue(tok string) (string, error) {
	k, ok := singleToken(tok)
	if !ok || !isValueTok(k) {
		return "", fmt.Errorf("%q is not a single configuration value token (quote it, e.g. with QuoteValue)", tok)
	}
	return tokenValue(k, []byte(tok)), nil
}
