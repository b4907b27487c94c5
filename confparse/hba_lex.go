package confparse

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"strings"
)

// This file follows PostgreSQL's tokenize_auth_file, next_field_expand and
// next_token (src/backend/libpq/hba.c): how a pg_hba.conf becomes lines of
// fields of tokens, with "@file" lists and, from 16, include directives.

// hbaPhys is one physical line of a file: its text without the '\n' (a '\r'
// before it stays in text) and its end, "\n" or "" for a last line without one.
type hbaPhys struct {
	text string
	eol  string
}

func hbaSplitLines(src []byte) []hbaPhys {
	lines := make([]hbaPhys, 0, bytes.Count(src, []byte{'\n'})+1)
	s := string(src)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, hbaPhys{text: s})
			break
		}
		lines = append(lines, hbaPhys{text: s[:i], eol: "\n"})
		s = s[i+1:]
	}
	return lines
}

// hbaLogical is one line as PostgreSQL's tokenizer sees it: continuation
// lines joined (14+), line ends stripped, content cut at a NUL byte.
type hbaLogical struct {
	content     string
	lineNo      int // the number PostgreSQL reports
	first, last int // physical lines (0-based) it was read from
	tooLong     bool
}

// Limits of the fixed buffers of PostgreSQL 12-15 (MAX_LINE until 13,
// MAX_TOKEN until 15).
const (
	hbaMaxLine  = 20480
	hbaMaxToken = 10240
)

func hbaLogicalLines(lines []hbaPhys, version int) []hbaLogical {
	out, _ := hbaLogicalLinesNext(lines, version)
	return out
}

// hbaLogicalLinesNext is hbaLogicalLines, and the number a line after
// them would get.
func hbaLogicalLinesNext(lines []hbaPhys, version int) ([]hbaLogical, int) {
	if version <= 13 {
		return hbaLogicalLinesFgets(lines)
	}
	out := make([]hbaLogical, 0, len(lines))
	phys, lineNo := 0, 1
	for phys < len(lines) {
		// Fast path: a line without NUL bytes or a final backslash is its
		// own text.
		if t := lines[phys].text; strings.IndexByte(t, 0) < 0 {
			if c := strings.TrimRight(t, "\r"); !strings.HasSuffix(c, "\\") {
				out = append(out, hbaLogical{content: c, lineNo: lineNo, first: phys, last: phys})
				phys++
				lineNo++
				continue
			}
		}
		first := phys
		var buf []byte
		lastBackslash, continuations := 0, 0
		for phys < len(lines) {
			// pg_get_line_append: read up to a newline; a NUL byte hides the
			// rest of its physical line, newline included, so the next
			// physical line is read into the same line.
			orig := len(buf)
			gotNewline := false
			for phys < len(lines) {
				t := lines[phys].text + lines[phys].eol
				phys++
				if k := strings.IndexByte(t, 0); k >= 0 {
					buf = append(buf, t[:k]...)
					continue
				}
				buf = append(buf, t...)
				gotNewline = lines[phys-1].eol != ""
				break
			}
			if !gotNewline && len(buf) == orig {
				break
			}
			for len(buf) > 0 && (buf[len(buf)-1] == '\n' || buf[len(buf)-1] == '\r') {
				buf = buf[:len(buf)-1]
			}
			if len(buf) > lastBackslash && buf[len(buf)-1] == '\\' {
				buf = buf[:len(buf)-1]
				lastBackslash = len(buf)
				continuations++
				continue
			}
			break
		}
		out = append(out, hbaLogical{content: string(buf), lineNo: lineNo, first: first, last: phys - 1})
		lineNo += continuations + 1
	}
	return out, lineNo
}

// hbaLogicalLinesFgets reads lines the way PostgreSQL 12 and 13 do, with
// fgets into a buffer of hbaMaxLine bytes: a longer line is an error, and
// what did not fit is read as the next line.
func hbaLogicalLinesFgets(lines []hbaPhys) ([]hbaLogical, int) {
	out := make([]hbaLogical, 0, len(lines))
	lineNo := 1
	for phys := 0; phys < len(lines); phys++ {
		if t := lines[phys].text; len(t)+len(lines[phys].eol) < hbaMaxLine-1 && strings.IndexByte(t, 0) < 0 {
			out = append(out, hbaLogical{content: strings.TrimRight(t, "\r"), lineNo: lineNo, first: phys, last: phys})
			lineNo++
			continue
		}
		t := lines[phys].text + lines[phys].eol
		for len(t) > 0 {
			chunk := t
			if len(chunk) > hbaMaxLine-1 {
				chunk = chunk[:hbaMaxLine-1]
			}
			t = t[len(chunk):]
			if k := strings.IndexByte(chunk, 0); k >= 0 {
				chunk = chunk[:k]
			}
			tooLong := len(chunk) == hbaMaxLine-1
			for len(chunk) > 0 && (chunk[len(chunk)-1] == '\n' || chunk[len(chunk)-1] == '\r') {
				chunk = chunk[:len(chunk)-1]
			}
			out = append(out, hbaLogical{content: chunk, lineNo: lineNo, first: phys, last: phys, tooLong: tooLong})
			lineNo++
		}
	}
	return out, lineNo
}

func hbaIsBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// hbaScanner walks one logical line the way next_token does.
type hbaScanner struct {
	s        string
	i        int // index of the next byte to read; may pass len(s) by one
	maxToken int // 0: no limit
	hash     int // index of the '#' starting a comment, or -1
	start    int // index where the last token began
}

func (z *hbaScanner) get() byte {
	i := z.i
	z.i++
	if i < len(z.s) {
		return z.s[i]
	}
	return 0
}

// next returns the next token of the line. ok is false at the end of the
// line; tooLong reports a token over PostgreSQL's limit (the rest of the line
// is then dropped) with the part read so far in tok.
func (z *hbaScanner) next() (tok string, ok, initialQuote, comma, tooLong bool) {
	c := z.get()
	for c != 0 && (hbaIsBlank(c) || c == ',') {
		c = z.get()
	}
	z.start = z.i - 1
	if c == 0 {
		z.i--
		return "", false, false, false, false
	}
	// Fast path: a token without quotes is a plain substring.
	end := z.start
	for end < len(z.s) {
		d := z.s[end]
		if hbaIsBlank(d) || d == ',' || d == '#' || d == '"' || d == 0 {
			break
		}
		end++
	}
	if n := end - z.start; n > 0 && (end == len(z.s) || z.s[end] != '"') && (z.maxToken == 0 || n < z.maxToken-1) {
		tok = z.s[z.start:end]
		z.i = end
		if end < len(z.s) {
			switch z.s[end] {
			case ',':
				comma = true
			case '#':
				z.hash = end
				z.i = len(z.s)
			case 0:
				z.i = len(z.s)
			}
		}
		return tok, true, false, comma, false
	}
	var buf []byte
	inQuote, wasQuote, sawQuote := false, false, false
	for c != 0 && (!hbaIsBlank(c) || inQuote) {
		if c == '#' && !inQuote {
			z.hash = z.i - 1
			z.i = len(z.s) + 1
			c = 0
			break
		}
		if z.maxToken > 0 && len(buf) >= z.maxToken-1 {
			z.i = len(z.s)
			return string(buf), false, initialQuote, false, true
		}
		if c == ',' && !inQuote {
			comma = true
			break
		}
		if c != '"' || wasQuote {
			buf = append(buf, c)
		}
		if inQuote && c == '"' {
			wasQuote = !wasQuote
		} else {
			wasQuote = false
		}
		if c == '"' {
			inQuote = !inQuote
			sawQuote = true
			if len(buf) == 0 {
				initialQuote = true
			}
		}
		c = z.get()
	}
	z.i-- // un-eat the byte after the token
	return string(buf), sawQuote || len(buf) > 0, initialQuote, comma, false
}

func (z *hbaScanner) atEnd() bool { return z.i >= len(z.s) }

// hbaTokLine is one non-empty line of a file (or of a file it includes),
// tokenized: PostgreSQL's TokenizedAuthLine plus what an editor needs.
type hbaTokLine struct {
	file        string
	top         bool // in the file being parsed, not an included one
	lineNo      int
	first, last int // physical lines in file
	raw         string
	fields      [][]HBAToken
	comment     string
	err         string // err_msg: shown in pg_hba_file_rules' error column
	errLog      string // what the server logs for err (may differ, may lack context)
	warnings    []string
	include     string // "include", "include_if_exists", "include_dir" when a directive (16+)
	fieldStarts []int  // where each field begins in raw
	topFirst    int    // first physical line, in the parsed file, of the line that brought this one in
	topLast     int
}

// hbaTokenizer tokenizes a file and whatever it includes.
type hbaTokenizer struct {
	version int
	reader  HBAReader
}

var errHBANoReader = errors.New("no file reader given")

// hbaAbsPath resolves name against the directory of the file that names it,
// as PostgreSQL does for @file and include directives.
func hbaAbsPath(name, from string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return path.Join(path.Dir(from), name)
}

func (t *hbaTokenizer) readFile(p string, depth int) ([]byte, string, error) {
	if depth > maxDepth {
		msg := "could not open file \"" + p + "\": maximum nesting depth exceeded"
		return nil, msg, errors.New(msg)
	}
	var b []byte
	err := errHBANoReader
	if t.reader != nil {
		b, err = t.reader.ReadFile(p)
	}
	if err != nil {
		return nil, "could not open file \"" + p + "\": " + strerror(err), err
	}
	return b, "", nil
}

// tokenizeFile appends the lines of file (content lines) to out.
func (t *hbaTokenizer) tokenizeFile(file string, lines []hbaPhys, depth int, top bool, out []hbaTokLine) []hbaTokLine {
	for _, ll := range hbaLogicalLines(lines, t.version) {
		tl := hbaTokLine{file: file, top: top, lineNo: ll.lineNo, first: ll.first, last: ll.last, raw: ll.content,
			topFirst: ll.first, topLast: ll.last}
		if ll.tooLong {
			tl.err = "authentication file line too long"
			tl.errLog = tl.err
			out = append(out, tl)
			continue
		}
		if rest := strings.TrimLeft(ll.content, " \t\r,"); rest == "" || rest[0] == '#' {
			continue // blank or comment: nothing for the server
		}
		z := &hbaScanner{s: ll.content, hash: -1}
		if t.version <= 15 {
			z.maxToken = hbaMaxToken
		}
		// The tokens of all fields share one array; each field is a
		// capacity-limited window on it.
		toks := make([]HBAToken, 0, 8)
		tl.fields = make([][]HBAToken, 0, 6)
		tl.fieldStarts = make([]int, 0, 6)
		for !z.atEnd() && tl.err == "" {
			start, from := -1, len(toks)
			toks = t.nextField(file, z, depth, &tl, &start, toks)
			if len(toks) > from {
				tl.fields = append(tl.fields, toks[from:len(toks):len(toks)])
				tl.fieldStarts = append(tl.fieldStarts, start)
			}
		}
		if z.hash >= 0 {
			tl.comment = strings.TrimSpace(ll.content[z.hash+1:])
		}
		if len(tl.fields) == 0 && tl.err == "" {
			continue
		}
		if tl.err == "" && len(tl.fields) == 2 && t.version >= 16 {
			first, second := tl.fields[0][0].Value, tl.fields[1][0].Value
			switch first {
			case "include", "include_if_exists", "include_dir":
				// The directive line is kept (an editor needs it) ahead of
				// the lines it brings in; when it fails it becomes an error
				// line after whatever it did include, as in PostgreSQL.
				tl.include = first
				at := len(out)
				out = append(out, tl)
				var ok bool
				out, ok = t.includeDirective(&tl, second, depth, out)
				for i := at + 1; i < len(out); i++ {
					out[i].topFirst, out[i].topLast = tl.topFirst, tl.topLast
				}
				if ok {
					out[at] = tl
				} else {
					out = append(out[:at], out[at+1:]...)
					out = append(out, tl)
				}
				continue
			}
		}
		out = append(out, tl)
	}
	return out
}

// includeDirective processes include, include_if_exists or include_dir. It
// returns false when the directive failed (tl.err set).
func (t *hbaTokenizer) includeDirective(tl *hbaTokLine, target string, depth int, out []hbaTokLine) ([]hbaTokLine, bool) {
	switch tl.include {
	case "include", "include_if_exists":
		p := hbaAbsPath(target, tl.file)
		b, msg, err := t.readFile(p, depth+1)
		if err != nil {
			if tl.include == "include_if_exists" && errors.Is(err, fs.ErrNotExist) {
				tl.warnings = append(tl.warnings, "skipping missing authentication file \""+p+"\"")
				return out, true
			}
			tl.err, tl.errLog = msg, msg
			return out, false
		}
		return t.tokenizeFile(p, hbaSplitLines(b), depth+1, false, out), true
	default: // include_dir
		if confIsBlank(target) {
			tl.err = "empty configuration directory name"
			tl.errLog = "empty configuration directory name: \"" + target + "\""
			return out, false
		}
		dir := hbaAbsPath(target, tl.file)
		var names []string
		err := errHBANoReader
		if t.reader != nil {
			names, err = t.reader.ReadDir(dir)
		}
		if err != nil {
			tl.err = "could not open directory \"" + dir + "\""
			tl.errLog = "could not open configuration directory \"" + dir + "\": " + strerror(err)
			return out, false
		}
		var errs []string
		for _, n := range includeDirFiles(names) {
			p := path.Join(dir, n)
			b, msg, err := t.readFile(p, depth+1)
			if err != nil {
				errs = append(errs, msg)
				continue
			}
			out = t.tokenizeFile(p, hbaSplitLines(b), depth+1, false, out)
		}
		if len(errs) > 0 {
			tl.err = strings.Join(errs, "\n")
			tl.errLog = tl.err
			return out, false
		}
		return out, true
	}
}

// nextField reads one field: a comma-separated list of tokens, with "@file"
// references replaced by the tokens of the file.
func (t *hbaTokenizer) nextField(file string, z *hbaScanner, depth int, tl *hbaTokLine, start *int, tokens []HBAToken) []HBAToken {
	for {
		tok, ok, initialQuote, comma, tooLong := z.next()
		if *start < 0 {
			*start = z.start
		}
		if tooLong {
			tl.err = "authentication file token too long"
			tl.errLog = "authentication file token too long, skipping: \"" + tok + "\""
			break
		}
		if !ok {
			break
		}
		if !initialQuote && len(tok) > 1 && tok[0] == '@' {
			tokens = t.expandFile(tokens, file, tok[1:], depth+1, tl)
		} else {
			tokens = append(tokens, HBAToken{Value: tok, Quoted: initialQuote})
		}
		if !comma || tl.err != "" {
			break
		}
	}
	return tokens
}

// expandFile appends the tokens of an "@file" to tokens.
func (t *hbaTokenizer) expandFile(tokens []HBAToken, outer, name string, depth int, tl *hbaTokLine) []HBAToken {
	p := hbaAbsPath(name, outer)
	b, msg, err := t.readFile(p, depth)
	if err != nil {
		if t.version <= 15 && depth <= maxDepth {
			msg = "could not open secondary authentication file \"@" + name + "\" as \"" + p + "\": " + strerror(err)
		}
		tl.err, tl.errLog = msg, msg
		return tokens
	}
	for _, inc := range t.tokenizeFile(p, hbaSplitLines(b), depth, false, nil) {
		if inc.err != "" {
			tl.err, tl.errLog = inc.err, inc.errLog
			break
		}
		if inc.include != "" {
			continue // the directive line itself is not part of the list
		}
		for _, f := range inc.fields {
			tokens = append(tokens, f...)
		}
	}
	return tokens
}
