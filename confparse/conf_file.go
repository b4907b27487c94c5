package confparse

import (
	"bytes"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"sync/atomic"
)

// AutoConfName is the file ALTER SYSTEM writes in the data directory, read
// after postgresql.conf.
const AutoConfName = "postgresql.auto.conf"

// File is one configuration file in postgresql.conf syntax, parsed without
// losing a byte: Bytes returns exactly what was parsed, and edits rewrite
// only the lines they name.
//
// A File keeps its bytes in one slice and a small record of offsets per
// physical line, so parsing costs a constant number of allocations per file.
type File struct {
	path  string
	src   []byte
	lines []confLine
	err   *SyntaxError
	// sharedLines: lines is shared with a copy (see File.clone).
	sharedLines bool
	// shared: src may be seen outside f (Bytes gave it out, or a copy of
	// f holds it), so an edit must write its result elsewhere. An edit of
	// bytes no one has seen writes over them.
	shared atomic.Bool
	// recs are the records PostgreSQL reads, up to the first syntax error
	// (recsInvalid), while recsOK; see records.
	recs        []confRecord
	recsInvalid bool
	recsOK      bool
}

// confRecord is a record line as a Config's evaluation reads it.
type confRecord struct {
	line        int
	name, value string
	dir         Directive
}

// records returns the records of f in order as PostgreSQL reads them, up
// to its first syntax error, and whether there is one. Every evaluation of
// a Config reads them, so they are kept until f's lines change (see
// changed); never changed in place, they may be shared with copies of f.
func (f *File) records() ([]confRecord, bool) {
	if f.recsOK {
		return f.recs, f.recsInvalid
	}
	n := 0
	for i := range f.lines {
		if f.lines[i].kind == lineRecord {
			n++
		}
	}
	recs := make([]confRecord, 0, n)
	invalid := false
	for i := range f.lines {
		l := &f.lines[i]
		if l.kind == lineInvalid {
			invalid = true
			break
		}
		if l.kind != lineRecord {
			continue
		}
		name := string(f.lineName(i))
		recs = append(recs, confRecord{line: i + 1, name: name, value: tokenValue(l.valTok, f.src[l.valStart:l.valEnd]), dir: directiveOf(name)})
	}
	f.recs, f.recsInvalid, f.recsOK = recs, invalid, true
	return recs, invalid
}

// changed forgets what was derived from f's lines.
func (f *File) changed() {
	f.recs, f.recsInvalid, f.recsOK = nil, false, false
}

// lineChanged brings the records up to date for line i, now l (a valid
// line, for the file has no syntax error): when it was and stays a record
// of the same name, only its value changes, in a copy of the records (they
// may be shared); else they are found again when next needed.
func (f *File) lineChanged(i int, l confLine) {
	if !f.recsOK || f.recsInvalid || i >= len(f.lines) || f.lines[i].kind != lineRecord || l.kind != lineRecord {
		f.changed()
		return
	}
	k, found := slices.BinarySearchFunc(f.recs, i+1, func(r confRecord, line int) int { return r.line - line })
	if !found || string(f.src[l.nameStart:l.nameEnd]) != f.recs[k].name {
		f.changed()
		return
	}
	recs := slices.Clone(f.recs)
	recs[k].value = tokenValue(l.valTok, f.src[l.valStart:l.valEnd])
	f.recs = recs
}

// lineKind classifies a physical line.
type lineKind uint8

const (
	lineBlank   lineKind = iota // nothing, blanks, or a comment
	lineRecord                  // name [=] value [comment]
	lineInvalid                 // a syntax error
)

// confLine is one physical line: offsets into File.src.
type confLine struct {
	start, end         int32 // the line without its '\n' (a '\r' before it stays inside)
	nameStart, nameEnd int32 // lineRecord: the name token
	valStart, valEnd   int32 // lineRecord: the value token
	kind               lineKind
	valTok             confTok // lineRecord: the value token's kind
	nl                 bool    // the line ends with '\n'
}

// SyntaxError is a line PostgreSQL rejects. Its Error text is PostgreSQL's
// own message.
type SyntaxError struct {
	File string // the file's path
	// Line is the line number PostgreSQL reports, which is also the
	// sourceline of the error row in pg_file_settings. It equals Physical
	// except for one PostgreSQL quirk: an error at the end of a last line
	// that has no final newline is reported one line early.
	Line     int
	Physical int    // the physical line (1-based) that holds the error
	Token    string // the token PostgreSQL names ("near token …"); "" when EndOfLine
	// EndOfLine is set when the line ended where a name, value or "=" was
	// still expected ("near end of line").
	EndOfLine bool
}

func (e *SyntaxError) Error() string {
	if e.EndOfLine {
		return fmt.Sprintf("syntax error in file \"%s\" line %d, near end of line", cString(e.File), e.Line)
	}
	return fmt.Sprintf("syntax error in file \"%s\" line %d, near token \"%s\"", cString(e.File), e.Line, cString(e.Token))
}

// cString is s as C code prints it: up to its first NUL byte.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// ParseConf parses src, the contents of the file at path, in postgresql.conf
// syntax. It returns the File even when the syntax is wrong (Bytes still
// returns src), together with the first *SyntaxError, which is also kept as
// File.Err. It never fails otherwise, except for a file of 2 GiB or more.
func ParseConf(path string, src []byte) (*File, error) {
	if len(src) >= math.MaxInt32 {
		return nil, fmt.Errorf("configuration file %q is too large (%d bytes)", path, len(src))
	}
	f := &File{path: path}
	f.parse(bytes.Clone(src))
	if f.err != nil {
		return f, f.err
	}
	return f, nil
}

// parse (re)builds the line records of f from src, which f then owns.
func (f *File) parse(src []byte) {
	f.changed()
	f.src = src
	f.err = nil
	n := bytes.Count(src, []byte{'\n'})
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	if cap(f.lines) >= n && !f.sharedLines {
		f.lines = f.lines[:0]
	} else {
		f.lines, f.sharedLines = make([]confLine, 0, n), false
	}
	for start := 0; start < len(src); {
		end, next, nl := len(src), len(src), false
		if i := bytes.IndexByte(src[start:], '\n'); i >= 0 {
			end, next, nl = start+i, start+i+1, true
		}
		l := confLine{start: int32(start), end: int32(end), nl: nl}
		f.parseLine(&l, len(f.lines)+1)
		f.lines = append(f.lines, l)
		start = next
	}
}

// parseLine classifies one line as ParseConfigFp does with its tokens.
func (f *File) parseLine(l *confLine, num int) {
	line := f.src[l.start:l.end]
	k, s, e := confScan(line, 0)
	if k == tokEOL {
		l.kind = lineBlank
		return
	}
	if !isNameTok(k) {
		f.syntaxError(l, num, k, line[s:e])
		return
	}
	l.nameStart, l.nameEnd = l.start+int32(s), l.start+int32(e)
	k, s, e = confScan(line, e)
	if k == tokEquals {
		k, s, e = confScan(line, e)
	}
	if !isValueTok(k) {
		f.syntaxError(l, num, k, line[s:e])
		return
	}
	l.valStart, l.valEnd, l.valTok = l.start+int32(s), l.start+int32(e), k
	if k, s, e = confScan(line, e); k != tokEOL {
		f.syntaxError(l, num, k, line[s:e])
		return
	}
	l.kind = lineRecord
}

// syntaxError marks l invalid and records the file's first error in
// PostgreSQL's terms.
func (f *File) syntaxError(l *confLine, num int, k confTok, tok []byte) {
	l.kind = lineInvalid
	if f.err != nil {
		return
	}
	e := &SyntaxError{File: f.path, Line: num, Physical: num}
	if k == tokEOL {
		e.EndOfLine = true
		// PostgreSQL counts a line when it reads its '\n': at the end of
		// a file without one, the count has not moved on, and "line
		// ConfigFileLineno - 1" names the line before.
		if !l.nl {
			e.Line = num - 1
		}
	} else {
		e.Token = string(tok)
	}
	f.err = e
}

// Path is the file's path as given to ParseConf (or as Load resolved it).
func (f *File) Path() string { return f.path }

// Bytes returns the file's contents. The caller must not modify them;
// later edits leave them as they are.
func (f *File) Bytes() []byte {
	f.shared.Store(true)
	return f.src
}

// NumLines returns the number of physical lines (a last line without a
// final newline counts; an empty file has none).
func (f *File) NumLines() int { return len(f.lines) }

// Err returns the file's first syntax error, or nil when PostgreSQL accepts
// its syntax.
func (f *File) Err() error {
	if f.err == nil {
		return nil
	}
	return f.err
}

// IsAutoConf reports whether f is a postgresql.auto.conf, which ALTER SYSTEM
// owns and rewrites whole.
func (f *File) IsAutoConf() bool { return path.Base(f.path) == AutoConfName }

// Directive tells an include directive from an ordinary setting.
type Directive uint8

const (
	DirectiveNone            Directive = iota // an ordinary setting
	DirectiveInclude                          // include 'file': must exist
	DirectiveIncludeIfExists                  // include_if_exists 'file': skipped when missing
	DirectiveIncludeDir                       // include_dir 'dir': its *.conf files in name order
)

func (d Directive) String() string {
	switch d {
	case DirectiveInclude:
		return "include"
	case DirectiveIncludeIfExists:
		return "include_if_exists"
	case DirectiveIncludeDir:
		return "include_dir"
	}
	return ""
}

// directiveOf returns the directive a record name stands for. PostgreSQL
// compares these names ignoring ASCII case.
func directiveOf(name string) Directive {
	switch {
	case nameEqual(name, "include"):
		return DirectiveInclude
	case nameEqual(name, "include_if_exists"):
		return DirectiveIncludeIfExists
	case nameEqual(name, "include_dir"):
		return DirectiveIncludeDir
	}
	return DirectiveNone
}

// nameEqual compares setting names as guc_name_compare does: ASCII letters
// without regard to case, every other byte exactly.
func nameEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// Setting is one "name = value" record of a file.
type Setting struct {
	Line      int       // physical line, 1-based
	Name      string    // as written; PostgreSQL keeps its case
	Raw       string    // the value token as written, quotes included
	Value     string    // the value as PostgreSQL stores it (unquoted, unescaped)
	Directive Directive // include, include_if_exists or include_dir; else DirectiveNone
}

// Settings returns the file's records in order, include directives among
// them. Lines after a syntax error are included when they are valid, but
// PostgreSQL reads a file only up to its first error (see Load).
func (f *File) Settings() []Setting {
	var out []Setting
	for i := range f.lines {
		if f.lines[i].kind == lineRecord {
			out = append(out, f.setting(i))
		}
	}
	return out
}

// setting builds the Setting of the record line with index i.
func (f *File) setting(i int) Setting {
	l := &f.lines[i]
	name := string(f.src[l.nameStart:l.nameEnd])
	raw := f.src[l.valStart:l.valEnd]
	return Setting{
		Line:      i + 1,
		Name:      name,
		Raw:       string(raw),
		Value:     tokenValue(l.valTok, raw),
		Directive: directiveOf(name),
	}
}

// lineName returns the name token of record line i without allocating.
func (f *File) lineName(i int) []byte {
	l := &f.lines[i]
	return f.src[l.nameStart:l.nameEnd]
}

// lineText returns line i (0-based) without its '\n'.
func (f *File) lineText(i int) []byte {
	l := &f.lines[i]
	return f.src[l.start:l.end]
}
