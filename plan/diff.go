package plan

import (
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
func lineDiff(a, b string) []diffLine {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var out []diffLine
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		text := d.Text
		for text != "" {
			i := strings.IndexByte(text, '\n')
			if i < 0 {
				out = append(out, diffLine{op: op, text: text})
				break
			}
			out = append(out, diffLine{op: op, text: text[:i], nl: true})
			text = text[i+1:]
		}
	}
	return out
}

// unifiedDiff returns a unified diff of old and new (as diff -u writes it,
// with diffContext lines of context), each line passed through redact.
// oldName is "/dev/null" for a new file. It returns "" when the contents
// are equal.
func unifiedDiff(oldName, newName, old, new string, redact func(string) string) string {
	if old == new {
		return ""
	}
	lines := lineDiff(old, new)
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
		writeHunk(&b, lines, start, end, redact)
		i = end
	}
	return b.String()
}

// writeHunk writes lines[start:end] as one hunk with its @@ header.
func writeHunk(b *strings.Builder, lines []diffLine, start, end int, redact func(string) string) {
	oldLine, newLine := 1, 1
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
