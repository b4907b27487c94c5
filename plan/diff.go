package plan

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// diffLine is one line of a line-level diff: ' ' kept, '-' removed, '+'
// added; text without its line end, and whether it had one.
type diffLine struct {
	op   byte
	text string
	nl   bool
}

// lineDiff diffs a and b line by line with diffmatchpatch. There is no
// deadline (DiffTimeout 0): with one, a slow machine could give a different
// diff, and plans must be the same everywhere.
//
// The lines both have at the start and at the end are not diffed (an edit
// of a long config file is a few lines in the middle), and of those only
// the diffContext lines next to the middle are returned: skip is how many
// lines before the first returned one are the same in a and b.
func lineDiff(a, b []byte) (lines []diffLine, skip int) {
	pre := commonPrefixLines(a, b)
	suf := commonSuffixLines(a[pre:], b[pre:])
	head := a[:pre] // whole lines: it ends with a line break, or is empty
	for i, n := len(head)-1, 0; i >= 0; i-- {
		if head[i] == '\n' {
			if n++; n == diffContext+1 {
				head = head[i+1:]
				break
			}
		}
	}
	skip = bytes.Count(a[:pre-len(head)], []byte{'\n'})
	lines = appendLines(nil, ' ', string(head))
	lines = append(lines, middleDiff(string(a[pre:len(a)-suf]), string(b[pre:len(b)-suf]))...)
	tail := a[len(a)-suf:]
	for i, n := 0, 0; i < len(tail); i++ {
		if tail[i] == '\n' {
			if n++; n == diffContext {
				tail = tail[:i+1]
				break
			}
		}
	}
	return appendLines(lines, ' ', string(tail)), skip
}

// commonPrefixLines is the length of the whole lines a and b start with.
func commonPrefixLines(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	// Whole chunks first (bytes.Equal is memcmp), then byte by byte.
	for i+diffChunk <= n && bytes.Equal(a[i:i+diffChunk], b[i:i+diffChunk]) {
		i += diffChunk
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return bytes.LastIndexByte(a[:i], '\n') + 1
}

// diffChunk is how many bytes commonPrefixLines and commonSuffixLines
// compare at a time.
const diffChunk = 256

// commonSuffixLines is the length of the whole lines a and b end with
// (each ending with a line break, or both being the last line).
func commonSuffixLines(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+diffChunk <= n && bytes.Equal(a[len(a)-i-diffChunk:len(a)-i], b[len(b)-i-diffChunk:len(b)-i]) {
		i += diffChunk
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	// Back off to a line start in both.
	for i > 0 {
		sa, sb := len(a)-i, len(b)-i
		if (sa == 0 || a[sa-1] == '\n') && (sb == 0 || b[sb-1] == '\n') {
			break
		}
		i--
	}
	return i
}

// appendLines adds the lines of s, each with op.
func appendLines(out []diffLine, op byte, s string) []diffLine {
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return append(out, diffLine{op: op, text: s})
		}
		out = append(out, diffLine{op: op, text: s[:i], nl: true})
		s = s[i+1:]
	}
	return out
}

// middleDiff diffs a and b line by line with diffmatchpatch: each
// distinct line (with its line end) is one rune, and the runes are diffed.
func middleDiff(a, b string) []diffLine {
	if a == "" || b == "" {
		return appendLines(appendLines(nil, '-', a), '+', b)
	}
	ids := map[string]rune{}
	var texts []string
	runes := func(s string) []rune {
		var rs []rune
		for s != "" {
			line := s
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				line = s[:i+1]
			}
			s = s[len(line):]
			r, ok := ids[line]
			if !ok {
				texts = append(texts, line)
				r = rune(len(texts))
				ids[line] = r
			}
			rs = append(rs, r)
		}
		return rs
	}
	ra, rb := runes(a), runes(b)
	if len(texts) >= 0xD800 {
		// Beyond the runes below the surrogates: diffmatchpatch's own
		// numbering (the same diff, at more cost).
		return middleDiffLines(a, b)
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	var out []diffLine
	for _, d := range dmp.DiffMainRunes(ra, rb, false) {
		op := diffOp(d.Type)
		for _, r := range d.Text {
			line := texts[r-1]
			text, nl := strings.CutSuffix(line, "\n")
			out = append(out, diffLine{op: op, text: text, nl: nl})
		}
	}
	return out
}

// middleDiffLines is middleDiff through diffmatchpatch's own conversion of
// lines to runes and back.
func middleDiffLines(a, b string) []diffLine {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var out []diffLine
	for _, d := range diffs {
		out = appendLines(out, diffOp(d.Type), d.Text)
	}
	return out
}

func diffOp(t diffmatchpatch.Operation) byte {
	switch t {
	case diffmatchpatch.DiffDelete:
		return '-'
	case diffmatchpatch.DiffInsert:
		return '+'
	}
	return ' '
}

// unifiedDiff returns a unified diff of old and new (as diff -u writes it,
// with diffContext lines of context), each line passed through redact.
// oldName is "/dev/null" for a new file. It returns "" when the contents
// are equal.
func unifiedDiff(oldName, newName string, old, new []byte, redact func(string) string) string {
	if bytes.Equal(old, new) {
		return ""
	}
	lines, skip := lineDiff(old, new)
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", oldName, newName)
	// Positions of changed lines, grouped into hunks whose context overlaps.
	n := len(lines)
	i := 0
	for i < n {
		for i < n && lines[i].op == ' ' {
			i++
		}
		if i >= n {
			break
		}
		start := max(i-diffContext, 0)
		end := i // exclusive end of the hunk
		for end < n {
			if lines[end].op != ' ' {
				end++
				continue
			}
			// A run of kept lines: does another change follow within
			// 2*context lines?
			j := end
			for j < n && lines[j].op == ' ' {
				j++
			}
			if j < n && j-end <= 2*diffContext {
				end = j
				continue
			}
			end = min(end+diffContext, n)
			break
		}
		writeHunk(&b, lines, skip, start, end, redact)
		i = end
	}
	return b.String()
}

// writeHunk writes lines[start:end] as one hunk with its @@ header; skip
// lines, the same in both, come before lines[0].
func writeHunk(b *strings.Builder, lines []diffLine, skip, start, end int, redact func(string) string) {
	oldLine, newLine := 1+skip, 1+skip
	for _, l := range lines[:start] {
		if l.op != '+' {
			oldLine++
		}
		if l.op != '-' {
			newLine++
		}
	}
	oldCount, newCount := 0, 0
	for _, l := range lines[start:end] {
		if l.op != '+' {
			oldCount++
		}
		if l.op != '-' {
			newCount++
		}
	}
	fmt.Fprintf(b, "@@ -%s +%s @@\n", hunkRange(oldLine, oldCount), hunkRange(newLine, newCount))
	for _, l := range lines[start:end] {
		text := l.text
		if redact != nil {
			text = redact(text)
		}
		b.WriteByte(l.op)
		b.WriteString(text)
		b.WriteByte('\n')
		if !l.nl {
			b.WriteString("\\ No newline at end of file\n")
		}
	}
}

// hunkRange writes a hunk's start and count as diff -u does: "5" for one
// line, "5,3" for three, "4,0" (the line before) for none.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
