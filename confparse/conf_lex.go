package confparse

// The lexer follows the flex rules of PostgreSQL's guc-file.l (unchanged
// from PostgreSQL 9.x through 17): flex takes the longest match at each
// position and, between matches of equal length, the rule listed first. Its
// tokens never span a newline, so each physical line is lexed on its own.

// confTok is a token kind of guc-file.l.
type confTok uint8

const (
	tokEOL         confTok = iota // end of line content, or a comment up to it
	tokID                         // {LETTER}{LETTER_OR_DIGIT}*
	tokQualifiedID                // {ID}"."{ID}
	tokString                     // '...' with '' and backslash escapes
	tokUnquoted                   // {LETTER}({LETTER_OR_DIGIT}|[-._:/])*
	tokInteger                    // {SIGN}?({DIGIT}+|0x{HEXDIGIT}+){UNIT_LETTER}*
	tokReal                       // {SIGN}?{DIGIT}*"."{DIGIT}*{EXPONENT}?
	tokEquals                     // =
	tokError                      // any other single byte
)

// isValueTok reports whether PostgreSQL accepts a token of kind k as a
// setting's value. A qualified identifier (a.b) is not one of them: flex
// prefers that rule to UNQUOTED_STRING for the same text, and
// ParseConfigFp then rejects it, so "log_filename = server.log" is a syntax
// error.
func isValueTok(k confTok) bool {
	switch k {
	case tokID, tokString, tokUnquoted, tokInteger, tokReal:
		return true
	}
	return false
}

// isNameTok reports whether a token of kind k may start a record.
func isNameTok(k confTok) bool { return k == tokID || k == tokQualifiedID }

// Character classes of guc-file.l, as bits of confClass.
const (
	clLetter   = 1 << iota // [A-Za-z_\200-\377]
	clDigit                // [0-9]
	clHex                  // [0-9a-fA-F]
	clUnit                 // [a-zA-Z]
	clUnquoted             // LETTER_OR_DIGIT or one of -._:/
	clSpace                // [ \t\r]
)

var confClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isAlpha := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		isDigit := b >= '0' && b <= '9'
		if isAlpha || b == '_' || b >= 0x80 {
			t[c] |= clLetter | clUnquoted
		}
		if isDigit {
			t[c] |= clDigit | clHex | clUnquoted
		}
		if b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			t[c] |= clHex
		}
		if isAlpha {
			t[c] |= clUnit
		}
		switch b {
		case '-', '.', ':', '/':
			t[c] |= clUnquoted
		case ' ', '\t', '\r':
			t[c] |= clSpace
		}
	}
	return t
}()

// run returns the end of the run of bytes of class cl in s starting at i.
func confRun(s []byte, i int, cl uint8) int {
	for i < len(s) && confClass[s[i]]&cl != 0 {
		i++
	}
	return i
}

// confScan returns the next token of line (the content of one physical
// line, without its '\n') at or after position p: its kind and its byte
// range. Whitespace is skipped; a comment, or the end of the line, is
// tokEOL with start == end == len(line) for the end, or start at '#'.
func confScan(line []byte, p int) (k confTok, start, end int) {
	for p < len(line) && confClass[line[p]]&clSpace != 0 {
		p++
	}
	if p >= len(line) {
		return tokEOL, len(line), len(line)
	}
	c := line[p]
	switch {
	case c == '#':
		return tokEOL, p, len(line)
	case confClass[c]&clLetter != 0:
		idEnd := confRun(line, p+1, clLetter|clDigit)
		uqEnd := confRun(line, p+1, clUnquoted)
		qidEnd := -1
		if idEnd+1 < len(line) && line[idEnd] == '.' && confClass[line[idEnd+1]]&clLetter != 0 {
			qidEnd = confRun(line, idEnd+2, clLetter|clDigit)
		}
		// Longest match; on a tie, ID before QUALIFIED_ID before
		// UNQUOTED_STRING (the order of the rules).
		switch {
		case uqEnd > idEnd && uqEnd > qidEnd:
			return tokUnquoted, p, uqEnd
		case qidEnd > 0:
			return tokQualifiedID, p, qidEnd
		default:
			return tokID, p, idEnd
		}
	case c == '\'':
		if e := scanString(line, p); e > 0 {
			return tokString, p, e
		}
		return tokError, p, p + 1
	case c == '=':
		return tokEquals, p, p + 1
	case c == '+' || c == '-' || c == '.' || confClass[c]&clDigit != 0:
		ie, re := scanInteger(line, p), scanReal(line, p)
		switch {
		case ie < 0 && re < 0:
			return tokError, p, p + 1
		case re > ie:
			return tokReal, p, re
		default:
			return tokInteger, p, ie
		}
	}
	return tokError, p, p + 1
}

// scanString matches \'([^'\\\n]|\\.|\'\')*\' at line[p] == '\” and
// returns the end of the longest match, or -1. It runs the small DFA of the
// pattern and remembers the last accepting position, as flex does: in
// 'a” x the longest match is 'a', not a string that never closes.
func scanString(line []byte, p int) int {
	const (
		inside = iota // after the opening quote or a complete element
		escape        // after a backslash
		quote         // after a quote that may close the string
	)
	state, last := inside, -1
	for i := p + 1; i < len(line); i++ {
		c := line[i]
		switch state {
		case inside:
			switch c {
			case '\\':
				state = escape
			case '\'':
				state, last = quote, i+1
			}
		case escape:
			state = inside // '\n' cannot occur inside a line
		case quote:
			if c != '\'' {
				return last
			}
			state = inside // a doubled quote
		}
	}
	return last
}

// scanInteger matches INTEGER at line[p] and returns its end, or -1.
func scanInteger(line []byte, p int) int {
	s := p
	if s < len(line) && (line[s] == '+' || line[s] == '-') {
		s++
	}
	if s >= len(line) || confClass[line[s]]&clDigit == 0 {
		return -1
	}
	end := confRun(line, confRun(line, s, clDigit), clUnit)
	if line[s] == '0' && s+2 < len(line) && line[s+1] == 'x' && confClass[line[s+2]]&clHex != 0 {
		if hexEnd := confRun(line, confRun(line, s+2, clHex), clUnit); hexEnd > end {
			end = hexEnd
		}
	}
	return end
}

// scanReal matches REAL at line[p] and returns its end, or -1.
func scanReal(line []byte, p int) int {
	s := p
	if s < len(line) && (line[s] == '+' || line[s] == '-') {
		s++
	}
	s = confRun(line, s, clDigit)
	if s >= len(line) || line[s] != '.' {
		return -1
	}
	s = confRun(line, s+1, clDigit)
	// An exponent counts only when complete: 1.5e is REAL 1.5, then ID e.
	if s < len(line) && (line[s] == 'e' || line[s] == 'E') {
		e := s + 1
		if e < len(line) && (line[e] == '+' || line[e] == '-') {
			e++
		}
		if de := confRun(line, e, clDigit); de > e {
			s = de
		}
	}
	return s
}
