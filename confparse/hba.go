package confparse

// The pg_hba.conf half of confparse. ParseHBA reads a file the way the
// server's hba.c does (tokenize_auth_file, next_token, parse_hba_line,
// parse_hba_auth_opt) for a Linux build with OpenSSL, GSSAPI, OpenLDAP and
// PAM, and keeps every byte so that edits touch only the lines they name.
// The differential tests hold it to PostgreSQL 15's pg_hba_file_rules and
// reload log; other versions follow the source, version by version.
//
// What cannot be known offline, and what pgrepl assumes:
//   - the server's ssl setting: HBAOptions.SSL, off by default as in
//     PostgreSQL;
//   - host names in radiusservers resolve (the server looks them up);
//   - an interface name after '%' in a link-local address exists;
//   - db_user_namespace is off (it refuses md5 lines in 12-16 when on);
//   - a "/regex" name (16+) that Go's RE2 cannot compile is left unchecked
//     unless both engines reject it, and Match then answers "maybe".

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// HBAOptions say which PostgreSQL reads a pg_hba.conf.
type HBAOptions struct {
	// Version is the PostgreSQL major version, 12 to 17. It decides line
	// continuations (14+), include directives and regular expressions (16+),
	// the clientcert values and some messages.
	Version int
	// Reader reads "@file" lists and included files. When nil they are
	// errors, as an unreadable file is to PostgreSQL.
	Reader HBAReader
	// SSL says the server runs with ssl = on. PostgreSQL's default is off,
	// and then it loads a hostssl line but reports in pg_hba_file_rules that
	// it cannot match.
	SSL bool
}

// HBAToken is one name of a database or user list, as PostgreSQL keeps it:
// the text with quotes removed, and whether it began with a quote. A quoted
// "all" is a database named all, not the keyword.
type HBAToken struct {
	Value  string
	Quoted bool
}

// IsKeyword reports whether the token is the unquoted keyword k.
func (t HBAToken) IsKeyword(k string) bool { return !t.Quoted && t.Value == k }

// HBAOption is one name=value authentication option as written.
type HBAOption struct {
	Name, Value string
}

// HBAAddrKind says what the address column of a rule holds.
type HBAAddrKind int

// The kinds of address column.
const (
	HBAAddrNone     HBAAddrKind = iota // a local rule has no address
	HBAAddrAll                         // all
	HBAAddrSameHost                    // samehost
	HBAAddrSameNet                     // samenet
	HBAAddrIP                          // an address with a CIDR length or a netmask column
	HBAAddrHostname                    // a host name, or a .suffix
)

// keyword is how the address column writes all, samehost and samenet; ""
// for the other kinds.
func (k HBAAddrKind) keyword() string {
	switch k {
	case HBAAddrAll:
		return "all"
	case HBAAddrSameHost:
		return "samehost"
	case HBAAddrSameNet:
		return "samenet"
	}
	return ""
}

// HBAAddress is the address of a host rule.
type HBAAddress struct {
	Kind HBAAddrKind
	// Addr and Mask are set for HBAAddrIP. Addr is the address as written
	// (not masked; its zone kept); Mask comes from the CIDR length or the
	// netmask column and need not be contiguous there.
	Addr, Mask netip.Addr
	// Prefix is Addr (without zone) and the length of Mask when Mask is
	// contiguous, else the zero Prefix.
	Prefix netip.Prefix
	// Hostname is set for HBAAddrHostname.
	Hostname string
	// Text is the address token as written, quotes removed; NetmaskText the
	// separate netmask column, if any.
	Text, NetmaskText string
}

// HBARule is one rule PostgreSQL loads from pg_hba.conf.
type HBARule struct {
	File string // the file it is in: the parsed file or one it includes
	Line int    // its line number (the first line of a continued line)
	// Type is local, host, hostssl, hostnossl, hostgssenc or hostnogssenc.
	Type      string
	Databases []HBAToken
	Users     []HBAToken
	Address   HBAAddress
	// Method is the authentication method as PostgreSQL uses it: "ident"
	// on a local line is "peer".
	Method  string
	Options []HBAOption // in the order written
	// Comment is the text after an unquoted '#' on the line, trimmed.
	Comment string
	// Warning is what PostgreSQL says of a rule it loads but that can never
	// match (hostssl with ssl off), or of a value it ignores.
	Warning string
}

// HBAError is a problem PostgreSQL reports in a pg_hba.conf, in its words.
type HBAError struct {
	File string
	Line int // 0 for the file as a whole
	Msg  string
}

func (e *HBAError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (line %d of configuration file \"%s\")", e.Msg, e.Line, e.File)
}

// HBAErrors are all the problems that make PostgreSQL refuse a pg_hba.conf.
type HBAErrors []*HBAError

func (es HBAErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.As find each *HBAError.
func (es HBAErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// HBAFile is a parsed pg_hba.conf that keeps every byte of its source.
type HBAFile struct {
	path    string
	opts    HBAOptions
	lines   []hbaPhys
	recs    []hbaRecord
	errs    HBAErrors
	warns   []*HBAError
	log     []*HBAError               // errors and warnings in the order the server logs them
	regexps map[string]*regexp.Regexp // compiled "/regex" names; nil when Go cannot compile one

	// logical holds the logical lines of lines, and logicalNext the number
	// of a line after them, while logicalOK; see logicalLines.
	logical     []hbaLogical
	logicalNext int
	logicalOK   bool
}

// logicalLines returns the file's logical lines, and the number a line
// after them would get. Whatever changes f.lines calls setLines.
func (f *HBAFile) logicalLines() ([]hbaLogical, int) {
	if !f.logicalOK {
		f.logical, f.logicalNext = hbaLogicalLinesNext(f.lines, f.opts.Version)
		f.logicalOK = true
	}
	return f.logical, f.logicalNext
}

// setLines makes lines the file's physical lines.
func (f *HBAFile) setLines(lines []hbaPhys) {
	f.lines, f.logical, f.logicalOK = lines, nil, false
}

// hbaRecord is one tokenized line and what PostgreSQL makes of it.
type hbaRecord struct {
	tok    hbaTokLine
	parsed *hbaParsed // nil when the line is an error or a directive
	// viewErr is the error column of pg_hba_file_rules, "" for null (may
	// be set on a parsed line: hostssl with ssl off).
	viewErr   string
	directive bool // a successful include directive: no rule of its own
}

// ParseHBA parses src, the content of the pg_hba.conf at path, as the
// PostgreSQL of opts.Version would. It returns the file even when PostgreSQL
// would refuse it (editing a broken file is still possible); the error is
// then HBAErrors, one *HBAError per problem, in PostgreSQL's words. Only
// bad options give a nil file.
func ParseHBA(path string, src []byte, opts HBAOptions) (*HBAFile, error) {
	if opts.Version < 12 || opts.Version > 17 {
		return nil, fmt.Errorf("pg_hba.conf %s: PostgreSQL version %d is not supported (12 to 17)", path, opts.Version)
	}
	f := &HBAFile{path: path, opts: opts, lines: hbaSplitLines(src)}
	f.parse()
	if len(f.errs) > 0 {
		return f, f.errs
	}
	return f, nil
}

func (f *HBAFile) parse() {
	t := &hbaTokenizer{version: f.opts.Version, reader: f.opts.Reader}
	toks := t.tokenizeFile(f.path, f.lines, 0, true, make([]hbaTokLine, 0, len(f.lines)))
	f.recs = make([]hbaRecord, 0, len(toks))
	f.errs, f.warns, f.log, f.regexps = nil, nil, nil, nil
	logErr := func(file string, line int, msg string) {
		e := &HBAError{File: file, Line: line, Msg: msg}
		f.errs = append(f.errs, e)
		f.log = append(f.log, e)
	}
	logWarn := func(file string, line int, msg string) {
		e := &HBAError{File: file, Line: line, Msg: msg}
		f.warns = append(f.warns, e)
		f.log = append(f.log, e)
	}
	// PostgreSQL tokenizes the whole file (and what it includes) first, then
	// parses line by line; its messages come in that order.
	for _, tl := range toks {
		for _, w := range tl.warnings {
			logWarn(tl.file, tl.lineNo, w)
		}
		if tl.err != "" {
			logErr(tl.file, tl.lineNo, tl.errLog)
		}
	}
	loaded := 0
	for _, tl := range toks {
		r := hbaRecord{tok: tl}
		switch {
		case tl.err != "":
			r.viewErr = tl.err
		case tl.include != "":
			r.directive = true
		default:
			p := &hbaLineParser{tl: &r.tok, version: f.opts.Version, ssl: f.opts.SSL, regexps: &f.regexps}
			r.parsed = p.parse()
			r.viewErr = p.viewErr
			for _, m := range p.msgs {
				if m.fatal {
					logErr(tl.file, tl.lineNo, m.text)
				} else {
					logWarn(tl.file, tl.lineNo, m.text)
				}
			}
			if r.parsed != nil {
				loaded++
			}
		}
		f.recs = append(f.recs, r)
	}
	if len(f.errs) == 0 && loaded == 0 {
		logErr(f.path, 0, "configuration file \""+f.path+"\" contains no entries")
	}
}

// Path is the path the file was parsed as.
func (f *HBAFile) Path() string { return f.path }

// Options are the options the file was parsed with.
func (f *HBAFile) Options() HBAOptions { return f.opts }

// Bytes returns the file's content: the source byte for byte, with any edits.
func (f *HBAFile) Bytes() []byte {
	n := 0
	for _, l := range f.lines {
		n += len(l.text) + len(l.eol)
	}
	b := make([]byte, 0, n)
	for _, l := range f.lines {
		b = append(b, l.text...)
		b = append(b, l.eol...)
	}
	return b
}

// Err returns the problems that make PostgreSQL refuse the file, or nil.
func (f *HBAFile) Err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return f.errs
}

// Warnings returns what PostgreSQL logs about the file without refusing it:
// hostssl lines with ssl off, ignored values, skipped missing includes.
func (f *HBAFile) Warnings() []*HBAError { return append([]*HBAError(nil), f.warns...) }

// NumLines is the number of physical lines of the file.
func (f *HBAFile) NumLines() int { return len(f.lines) }

// Line returns physical line n (1-based) without its line end.
func (f *HBAFile) Line(n int) string {
	if n < 1 || n > len(f.lines) {
		return ""
	}
	return strings.TrimRight(f.lines[n-1].text, "\r")
}

// Rules returns the rules PostgreSQL loads, in the order it checks them;
// with include directives (16+) the rules of included files are in place.
// Lines PostgreSQL refuses are left out (see Err).
func (f *HBAFile) Rules() []HBARule {
	n := 0
	for i := range f.recs {
		if f.recs[i].parsed != nil {
			n++
		}
	}
	out := make([]HBARule, 0, n)
	for i := range f.recs {
		if r, ok := f.recs[i].ruleValue(); ok {
			out = append(out, r)
		}
	}
	return out
}

func (r *hbaRecord) rule() *HBARule {
	out, ok := r.ruleValue()
	if !ok {
		return nil
	}
	return &out
}

// ruleValue is rule without a pointer to keep.
func (r *hbaRecord) ruleValue() (HBARule, bool) {
	p := r.parsed
	if p == nil {
		return HBARule{}, false
	}
	return HBARule{
		File:      r.tok.file,
		Line:      r.tok.lineNo,
		Type:      p.conntype,
		Databases: append([]HBAToken(nil), p.databases...),
		Users:     append([]HBAToken(nil), p.roles...),
		Address:   p.address,
		Method:    p.method,
		Options:   append([]HBAOption(nil), p.options...),
		Comment:   r.tok.comment,
		Warning:   strings.Join(p.warnings, "; "),
	}, true
}
