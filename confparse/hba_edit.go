package confparse

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Edits change whole lines and leave every other byte as it was. After each
// edit the file is parsed again; an edit that would leave a line PostgreSQL
// refuses is undone and returned as an error.

// HBANameToken returns the token that names exactly the database or role
// name: quoted when the name is a keyword (all, sameuser, samerole,
// samegroup, replication) or starts with '+', '@' or '/', where unquoted it
// would mean something else.
func HBANameToken(name string) HBAToken {
	switch name {
	case "all", "sameuser", "samerole", "samegroup", "replication":
		return HBAToken{Value: name, Quoted: true}
	}
	if strings.HasPrefix(name, "+") || strings.HasPrefix(name, "@") || strings.HasPrefix(name, "/") {
		return HBAToken{Value: name, Quoted: true}
	}
	return HBAToken{Value: name}
}

// HBAAddressFromPrefix returns the address column for a CIDR prefix.
func HBAAddressFromPrefix(p netip.Prefix) HBAAddress {
	return HBAAddress{
		Kind:   HBAAddrIP,
		Addr:   p.Addr(),
		Mask:   hbaMaskOf(p.Bits(), p.Addr().Is4()),
		Prefix: p,
		Text:   hbaFormatAddr(p.Addr()) + "/" + strconv.Itoa(p.Bits()),
	}
}

// hbaNeedsQuotes reports whether s cannot be written as one unquoted token.
func hbaNeedsQuotes(s string) bool {
	return s == "" || strings.ContainsAny(s, " \t\r,\"#") || strings.HasSuffix(s, "\\")
}

func hbaQuoteToken(s string) string {
	return "\"" + strings.ReplaceAll(s, "\"", "\"\"") + "\""
}

func hbaFormatName(t HBAToken) string {
	if t.Quoted || hbaNeedsQuotes(t.Value) {
		return hbaQuoteToken(t.Value)
	}
	return t.Value
}

func hbaFormatList(ts []HBAToken) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = hbaFormatName(t)
	}
	return strings.Join(s, ",")
}

// hbaRuleFields returns the columns of r as text: type, database, user,
// then the address (one or two columns) for host rules, the method and the
// options. addrCols is the number of address columns.
func hbaRuleFields(r HBARule) (fields []string, addrCols int) {
	fields = []string{r.Type, hbaFormatList(r.Databases), hbaFormatList(r.Users)}
	if r.Type != "local" {
		a := r.Address
		switch {
		case a.NetmaskText != "":
			fields = append(fields, a.Text, a.NetmaskText)
		case a.Text != "":
			t := a.Text
			if a.Kind == HBAAddrHostname && (t == "all" || t == "samehost" || t == "samenet") || hbaNeedsQuotes(t) {
				t = hbaQuoteToken(t)
			}
			fields = append(fields, t)
		default:
			switch a.Kind {
			case HBAAddrAll, HBAAddrSameHost, HBAAddrSameNet:
				fields = append(fields, a.Kind.keyword())
			case HBAAddrHostname:
				fields = append(fields, a.Hostname)
			case HBAAddrIP:
				if a.Prefix.IsValid() {
					fields = append(fields, hbaFormatAddr(a.Prefix.Addr())+"/"+strconv.Itoa(a.Prefix.Bits()))
				} else {
					fields = append(fields, hbaFormatAddr(a.Addr), hbaFormatAddr(a.Mask))
				}
			default:
				fields = append(fields, "")
			}
		}
		addrCols = len(fields) - 3
	}
	fields = append(fields, r.Method)
	for _, o := range r.Options {
		v := o.Value
		if v != "" && hbaNeedsQuotes(v) {
			v = hbaQuoteToken(v)
		}
		fields = append(fields, o.Name+"="+v)
	}
	return fields, addrCols
}

// hbaGrid is where the columns of a rule line start: type, database, user,
// address, method (visual columns, tabs at 8), and whether to pad with tabs.
type hbaGrid struct {
	db, user, addr, method int
	tabs                   bool
}

// The layout of initdb's pg_hba.conf.
var hbaDefaultGrid = hbaGrid{db: 8, user: 24, addr: 40, method: 64}

// FormatHBARule writes r as a pg_hba.conf line in the layout of initdb's
// file, quoting names that need it. It has no trailing comment and no line
// end.
func FormatHBARule(r HBARule) string {
	return hbaDefaultGrid.format(r, "")
}

func hbaVisualWidth(s string) int {
	w := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\t' {
			w = (w/8 + 1) * 8
		} else {
			w++
		}
	}
	return w
}

func (g hbaGrid) format(r HBARule, comment string) string {
	fields, addrCols := hbaRuleFields(r)
	var b strings.Builder
	pad := func(col int) {
		w := hbaVisualWidth(b.String())
		if col <= w {
			if g.tabs {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
			return
		}
		if g.tabs {
			for w < col {
				b.WriteByte('\t')
				w = (w/8 + 1) * 8
			}
			return
		}
		b.WriteString(strings.Repeat(" ", col-w))
	}
	b.WriteString(fields[0])
	cols := []int{g.db, g.user}
	if r.Type != "local" {
		cols = append(cols, g.addr)
		for i := 1; i < addrCols; i++ {
			cols = append(cols, 0) // the netmask column: one separator
		}
	}
	cols = append(cols, g.method)
	for i, f := range fields[1:] {
		col := 0
		if i < len(cols) {
			col = cols[i]
		}
		pad(col)
		b.WriteString(f)
	}
	if comment != "" {
		b.WriteString("  # ")
		b.WriteString(comment)
	}
	return b.String()
}

var hbaHeaderRe = regexp.MustCompile(`^#\s*TYPE\s+DATABASE\s+USER\s+ADDRESS\s+METHOD`)

// gridAt finds the layout of the rule lines near physical line index pos:
// the nearest one-line rules of this file (a local one and a host one), else
// a "# TYPE DATABASE USER ADDRESS METHOD" header, else initdb's layout.
func (f *HBAFile) gridAt(pos int) hbaGrid {
	type ref struct {
		dist int
		rec  *hbaRecord
	}
	var local, host *ref
	for i := range f.recs {
		r := &f.recs[i]
		if r.parsed == nil || !r.tok.top || r.tok.first != r.tok.last || len(r.tok.fieldStarts) != len(r.tok.fields) {
			continue
		}
		d := pos - r.tok.first
		if d <= 0 {
			d = -d*2 + 1 // prefer lines above
		} else {
			d *= 2
		}
		cand := &ref{d, r}
		if r.parsed.conntype == "local" {
			if local == nil || d < local.dist {
				local = cand
			}
		} else if host == nil || d < host.dist {
			host = cand
		}
	}
	g := hbaDefaultGrid
	found := false
	col := func(r *hbaRecord, field int) int {
		return hbaVisualWidth(r.tok.raw[:r.tok.fieldStarts[field]])
	}
	tabs := func(r *hbaRecord) bool {
		s := r.tok.raw
		between := ""
		for i := 1; i < len(r.tok.fieldStarts); i++ {
			prev := r.tok.fieldStarts[i-1]
			end := prev
			for end < len(s) && !hbaIsBlank(s[end]) {
				end++
			}
			if end < r.tok.fieldStarts[i] {
				between += s[end:r.tok.fieldStarts[i]]
			}
		}
		return between != "" && strings.Trim(between, "\t") == ""
	}
	if host != nil {
		r := host.rec
		g.db, g.user, g.addr = col(r, 1), col(r, 2), col(r, 3)
		m := 4
		if r.parsed.address.NetmaskText != "" {
			m = 5
		}
		g.method = col(r, m)
		g.tabs = tabs(r)
		found = true
	}
	if local != nil && (host == nil || local.dist < host.dist) {
		r := local.rec
		g.db, g.user, g.method = col(r, 1), col(r, 2), col(r, 3)
		g.tabs = tabs(r)
		if host == nil {
			// Place the address halfway, as initdb's file does.
			g.addr = g.user + (g.method-g.user)/2
			if g.addr <= g.user {
				g.addr = 0
			}
		}
		found = true
	}
	if !found {
		for _, l := range f.lines {
			t := strings.TrimRight(l.text, "\r")
			if loc := hbaHeaderRe.FindStringIndex(t); loc != nil {
				for _, w := range []struct {
					word string
					dst  *int
				}{{"DATABASE", &g.db}, {"USER", &g.user}, {"ADDRESS", &g.addr}, {"METHOD", &g.method}} {
					*w.dst = hbaVisualWidth(t[:strings.Index(t, w.word)])
				}
				break
			}
		}
	}
	return g
}

// eol returns the line end the file uses: "\r\n" when its first ended line
// ends so, else "\n".
func (f *HBAFile) crlf() bool {
	for _, l := range f.lines {
		if l.eol != "" {
			return strings.HasSuffix(l.text, "\r")
		}
	}
	return false
}

// boundaries returns, for each physical line index, whether a logical line
// (a continued line taken whole) starts there; index len(lines) is the end.
func (f *HBAFile) boundaries() []bool {
	b := make([]bool, len(f.lines)+1)
	lls, _ := f.logicalLines()
	for _, ll := range lls {
		b[ll.first] = true
	}
	b[len(f.lines)] = true
	if n := len(f.lines); n > 0 && f.opts.Version >= 14 {
		// A last line ending in a backslash would take in what follows.
		last := strings.TrimRight(f.lines[n-1].text, "\r")
		if f.lines[n-1].eol == "" && strings.HasSuffix(last, "\\") {
			b[n] = false
		}
	}
	return b
}

// Insert puts text in as a new line so that it becomes line number line
// (1-based; NumLines()+1 appends). text is one line without its end; it
// gets the file's line end (CRLF or LF), and a file without a final newline
// keeps having none. Insert refuses to split a continued line and undoes an
// insertion that brings a problem the file did not have.
func (f *HBAFile) Insert(line int, text string) error {
	if line < 1 || line > len(f.lines)+1 {
		return fmt.Errorf("insert into %s: line %d is outside 1..%d", f.path, line, len(f.lines)+1)
	}
	if strings.ContainsAny(text, "\n\r\x00") {
		return fmt.Errorf("insert into %s: the new line holds a line break or NUL byte: %q", f.path, text)
	}
	if f.opts.Version >= 14 && strings.HasSuffix(text, "\\") {
		return fmt.Errorf("insert into %s: the new line ends with a backslash, which would continue it onto line %d", f.path, line+1)
	}
	pos := line - 1
	if !f.boundaries()[pos] {
		return fmt.Errorf("insert into %s: line %d is inside a continued line", f.path, line)
	}
	crlf := f.crlf()
	nl := hbaPhys{text: text, eol: "\n"}
	if crlf {
		nl.text += "\r"
	}
	if pos < len(f.lines) || pos == 0 || f.lines[pos-1].eol != "" {
		// Most often, only the new line needs parsing. Its number is
		// that of the logical line that starts where it goes, or follows
		// the last one.
		lls, lineNo := f.logicalLines()
		for _, ll := range lls {
			if ll.first == pos {
				lineNo = ll.lineNo
				break
			}
		}
		at := len(lls)
		for k, ll := range lls {
			if ll.first >= pos {
				at = k
				break
			}
		}
		next := f.logicalNext
		f.setLines(slices.Insert(f.lines, pos, nl))
		if f.insertParsed(pos, lineNo) {
			// The logical lines too: the new one, and those after it one
			// line down.
			for k := at; k < len(lls); k++ {
				lls[k].first++
				lls[k].last++
				lls[k].lineNo++
			}
			content := strings.TrimRight(nl.text, "\r")
			f.logical = slices.Insert(lls, at, hbaLogical{content: content, lineNo: lineNo, first: pos, last: pos})
			f.logicalNext, f.logicalOK = next+1, true
			return nil
		}
		f.setLines(slices.Delete(f.lines, pos, pos+1))
	}
	old := append([]hbaPhys(nil), f.lines...)
	lines := make([]hbaPhys, 0, len(f.lines)+1)
	lines = append(lines, f.lines[:pos]...)
	lines = append(lines, nl)
	lines = append(lines, f.lines[pos:]...)
	if pos == len(f.lines) && pos > 0 && f.lines[pos-1].eol == "" {
		// Appending to a file without a final newline: the old last line
		// gets one, the new last line goes without.
		prev := lines[pos-1]
		prev.eol = "\n"
		if crlf {
			prev.text += "\r"
		}
		lines[pos-1] = prev
		lines[pos] = hbaPhys{text: text}
	}
	return f.replaceLines(old, lines, fmt.Sprintf("insert into %s at line %d", f.path, line))
}

// insertParsed parses line pos of f, just inserted at a logical line's
// start (so that no line around it reads differently) with number lineNo,
// alone: the other
// lines tokenize and parse as they did, only one line further down when
// they come after it. It reports false, changing nothing but the regular
// expressions compiled, when the file must be parsed whole instead: it has
// problems or warnings already (their order in the log would need the
// whole file), or the new line is anything but a rule PostgreSQL loads
// without a word (a comment, a directive, a line with a problem or a
// warning, or one that reads as more than one line).
func (f *HBAFile) insertParsed(pos, lineNo int) bool {
	if len(f.log) > 0 || len(f.errs) > 0 {
		return false
	}
	t := &hbaTokenizer{version: f.opts.Version, reader: f.opts.Reader}
	toks := t.tokenizeFile(f.path, f.lines[pos:pos+1], 0, true, nil)
	if len(toks) != 1 {
		return false
	}
	tl := toks[0]
	if tl.err != "" || len(tl.warnings) > 0 || tl.include != "" || tl.first != 0 || tl.last != 0 {
		return false
	}
	tl.lineNo, tl.first, tl.last, tl.topFirst, tl.topLast = lineNo, pos, pos, pos, pos
	rec := hbaRecord{tok: tl}
	p := &hbaLineParser{tl: &rec.tok, version: f.opts.Version, ssl: f.opts.SSL, regexps: &f.regexps}
	if rec.parsed = p.parse(); rec.parsed == nil || len(p.msgs) > 0 || p.viewErr != "" {
		return false
	}
	at := len(f.recs)
	for i := range f.recs {
		if f.recs[i].tok.topFirst >= pos {
			at = i
			break
		}
	}
	for i := at; i < len(f.recs); i++ {
		r := &f.recs[i].tok
		r.topFirst++
		r.topLast++
		if r.top {
			r.first++
			r.last++
			r.lineNo++
		}
	}
	f.recs = slices.Insert(f.recs, at, rec)
	return true
}

// replaceLines installs lines and parses again; when that brings a problem
// the file did not have (line numbers aside), it puts the old lines back and
// returns the problem.
func (f *HBAFile) replaceLines(old, lines []hbaPhys, what string) error {
	seen := map[string]int{}
	for _, e := range f.errs {
		seen[e.File+"\x00"+e.Msg]++
	}
	f.setLines(lines)
	f.parse()
	for _, e := range f.errs {
		k := e.File + "\x00" + e.Msg
		if seen[k] > 0 {
			seen[k]--
			continue
		}
		f.setLines(old)
		f.parse()
		return fmt.Errorf("%s: PostgreSQL would refuse the result: %w", what, e)
	}
	return nil
}

// commentBlockStart returns where the comment lines directly above physical
// line pos begin (no blank line between): they describe that line, so a new
// line goes above them.
func (f *HBAFile) commentBlockStart(pos int) int {
	starts := f.boundaries()
	for pos > 0 && starts[pos-1] {
		t := strings.TrimLeft(strings.TrimRight(f.lines[pos-1].text, "\r"), " \t")
		if !strings.HasPrefix(t, "#") {
			break
		}
		pos--
	}
	return pos
}

// InsertRule inserts r as a new line so that it becomes Rules()[index]:
// before the rule now at index and the comment lines right above it
// (len(Rules()) puts it after the last rule), laid out in the columns of the rule lines around it, with comment (if not
// empty) as a trailing "# comment". A rule that an include directive (16+)
// brings in can only be preceded if it is the first rule of that directive:
// the new line then goes before the directive.
func (f *HBAFile) InsertRule(index int, r HBARule, comment string) error {
	if strings.ContainsAny(comment, "\n\r\x00") {
		return fmt.Errorf("insert into %s: the comment holds a line break or NUL byte", f.path)
	}
	var rules []*hbaRecord
	for i := range f.recs {
		if f.recs[i].parsed != nil {
			rules = append(rules, &f.recs[i])
		}
	}
	if index < 0 || index > len(rules) {
		return fmt.Errorf("insert into %s: rule index %d is outside 0..%d", f.path, index, len(rules))
	}
	var pos int
	switch {
	case index < len(rules):
		t := rules[index]
		pos = t.tok.topFirst
		if !t.tok.top && index > 0 && rules[index-1].tok.topFirst == pos {
			return fmt.Errorf("insert into %s: rule %d (line %d of %s) is not the first rule its include brings in; edit that file", f.path, index, t.tok.lineNo, t.tok.file)
		}
		pos = f.commentBlockStart(pos)
	case len(rules) > 0:
		pos = rules[len(rules)-1].tok.topLast + 1
	default:
		pos = len(f.lines)
	}
	text := f.gridAt(pos).format(r, strings.TrimSpace(comment))
	if err := f.Insert(pos+1, text); err != nil {
		return err
	}
	// Check that the line reads back as r.
	for i := range f.recs {
		rec := &f.recs[i]
		if !rec.tok.top || rec.tok.first != pos || rec.parsed == nil {
			continue
		}
		read, _ := rec.ruleValue()
		got, want := hbaRuleKey(read), hbaRuleKey(r)
		if got == want {
			return nil
		}
		if err := f.RemoveLine(pos + 1); err != nil {
			return err
		}
		return fmt.Errorf("insert into %s: the rule cannot be written so that PostgreSQL reads it back: wrote %q, reads as %q", f.path, want, got)
	}
	return fmt.Errorf("insert into %s: the new line %d does not read as a rule", f.path, pos+1)
}

// hbaRuleKey is a rule's meaning as one string, for comparing.
func hbaRuleKey(r HBARule) string {
	if r.Type == "local" && r.Method == "ident" {
		r.Method = "peer"
	}
	if r.Type != "local" {
		r.Address = hbaCanonicalAddress(r.Address)
	}
	fields, _ := hbaRuleFields(r)
	return strings.Join(fields, " ")
}

// hbaCanonicalAddress reads an address from its text when it has one (as
// the server would), and writes it back in one canonical way.
func hbaCanonicalAddress(a HBAAddress) HBAAddress {
	if a.Text != "" {
		var mask *HBAToken
		if a.NetmaskText != "" {
			mask = &HBAToken{Value: a.NetmaskText}
		}
		quoted := a.Kind == HBAAddrHostname && (a.Text == "all" || a.Text == "samehost" || a.Text == "samenet")
		if parsed, msg := hbaParseAddress(HBAToken{Value: a.Text, Quoted: quoted}, mask); msg == "" {
			a = parsed
		}
	}
	c := HBAAddress{Kind: a.Kind}
	switch a.Kind {
	case HBAAddrAll, HBAAddrSameHost, HBAAddrSameNet:
		c.Text = a.Kind.keyword()
	case HBAAddrHostname:
		c.Text = "host:" + a.Hostname
	case HBAAddrIP:
		c.Text = hbaFormatAddr(a.Addr) + "%" + a.Addr.Zone()
		c.NetmaskText = hbaFormatAddr(a.Mask)
	}
	return c
}

// RemoveLine removes line number line (1-based) and, when it begins a
// continued line, the lines that continue it. A file without a final
// newline keeps having none. A removal that brings a problem the file did
// not have (removing its last rule) is undone.
func (f *HBAFile) RemoveLine(line int) error {
	if line < 1 || line > len(f.lines) {
		return fmt.Errorf("remove from %s: line %d is outside 1..%d", f.path, line, len(f.lines))
	}
	pos := line - 1
	last := -1
	lls, _ := f.logicalLines()
	for _, ll := range lls {
		if ll.first == pos {
			last = ll.last
			break
		}
		if ll.first < pos && pos <= ll.last {
			return fmt.Errorf("remove from %s: line %d continues line %d; remove line %d", f.path, line, ll.first+1, ll.first+1)
		}
	}
	if last < 0 {
		last = pos
	}
	old := append([]hbaPhys(nil), f.lines...)
	lines := make([]hbaPhys, 0, len(f.lines))
	lines = append(lines, f.lines[:pos]...)
	lines = append(lines, f.lines[last+1:]...)
	if last == len(f.lines)-1 && f.lines[last].eol == "" && pos > 0 {
		// The removed lines ended the file without a newline: so does the
		// new last line.
		prev := lines[pos-1]
		prev.eol = ""
		prev.text = strings.TrimSuffix(prev.text, "\r")
		lines[pos-1] = prev
	}
	return f.replaceLines(old, lines, fmt.Sprintf("remove line %d from %s", line, f.path))
}

// RuleLine returns the physical line (1-based) in this file where
// Rules()[index] begins, or 0 when that rule is in an included file.
func (f *HBAFile) RuleLine(index int) int {
	n := 0
	for i := range f.recs {
		r := &f.recs[i]
		if r.parsed == nil {
			continue
		}
		if n == index {
			if !r.tok.top {
				return 0
			}
			return r.tok.first + 1
		}
		n++
	}
	return 0
}
