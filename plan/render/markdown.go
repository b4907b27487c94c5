package render

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/pgrepl/pgrepl/plan"
)

// MarkdownLimit is the most characters Markdown writes: GitHub refuses a
// comment longer than 65 536, and a CI job adds its own lines.
const MarkdownLimit = 60000

// Markdown writes the plan for a pull-request comment: the summary line
// first, destructive and disruptive steps called out, a table of every
// step, then each file diff in a fenced diff block inside <details>. When
// the whole would pass MarkdownLimit characters, the longest diffs are
// folded (and the comment says so), then the details, then table rows.
func Markdown(w io.Writer, p *plan.Plan) error {
	_, err := io.WriteString(w, markdown(p, MarkdownLimit))
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

func markdown(p *plan.Plan, limit int) string {
	if p.Empty() {
		return "**No changes.** The cluster matches the spec.\n"
	}
	folded := map[int]bool{}
	var order []int // diffs, longest first
	for i := range p.Changes {
		if p.Changes[i].Diff != "" {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return len(p.Changes[order[a]].Diff) > len(p.Changes[order[b]].Diff) })
	doc := markdownDoc(p, folded, true, len(p.Changes))
	// Fold the longest diffs, as many at a time as the excess asks for,
	// then look again (a folded diff leaves a short note).
	for next := 0; len(doc) > limit && next < len(order); {
		excess := len(doc) - limit
		for excess > 0 && next < len(order) {
			folded[order[next]] = true
			excess -= len(p.Changes[order[next]].Diff)
			next++
		}
		doc = markdownDoc(p, folded, true, len(p.Changes))
	}
	if len(doc) <= limit {
		return doc
	}
	// Then the details go, then table rows: the most rows that fit.
	lo, hi := 0, len(p.Changes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(markdownDoc(p, folded, false, mid)) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return markdownDoc(p, folded, false, lo)
}

// markdownDoc writes the comment with the diffs in folded left out, the
// details section or not, and the first rows rows of the table.
func markdownDoc(p *plan.Plan, folded map[int]bool, details bool, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", summaryLine(p))

	var alerts []string
	for i := range p.Changes {
		c := &p.Changes[i]
		switch {
		case c.Action == plan.Basebackup:
			s := fmt.Sprintf("**%s**: rebuild from %s: %s", c.Node, c.Basebackup.Source, mdText(c.Reason))
			if c.Basebackup.MovedAside != "" {
				s += fmt.Sprintf("; its data directory is moved aside to `%s`", c.Basebackup.MovedAside)
			}
			alerts = append(alerts, s)
		case c.Action == plan.DropSlot:
			alerts = append(alerts, fmt.Sprintf("**%s**: drop slot `%s`: %s", c.Node, c.Slot.Name, mdText(c.Reason)))
		}
		if c.Downtime {
			alerts = append(alerts, fmt.Sprintf("**%s**: %s, downtime: %s", c.Node, c.Action, mdText(downtimeReason(c))))
		}
	}
	if len(alerts) > 0 {
		b.WriteString("> [!CAUTION]\n> **Destructive or disruptive steps**\n")
		for _, a := range alerts {
			b.WriteString("> - " + a + "\n")
		}
		b.WriteString("\n")
	}
	if len(folded) > 0 || !details || rows < len(p.Changes) {
		fmt.Fprintf(&b, "> [!NOTE]\n> Parts of this plan are left out to keep the comment under %d characters%s; `pgrepl plan` (or `pgrepl show` of a saved plan) prints it whole.\n\n",
			MarkdownLimit, foldNote(len(folded), details, len(p.Changes)-rows))
	}

	b.WriteString("| # | node | action | on | why |\n|--:|---|---|---|---|\n")
	for i := 0; i < rows; i++ {
		c := &p.Changes[i]
		on := target(c)
		if on != "" {
			on = "`" + mdCode(on) + "`"
		}
		fmt.Fprintf(&b, "| %d | %s (%s) | %s | %s | %s |\n", i+1, mdText(c.Node), mdText(c.Host), c.Action, on, mdText(tableReason(c)))
	}
	if rows < len(p.Changes) {
		fmt.Fprintf(&b, "| … | | | | %d more steps |\n", len(p.Changes)-rows)
	}
	if !details {
		return b.String()
	}

	for i := range p.Changes {
		c := &p.Changes[i]
		var body []string
		switch {
		case c.Action == plan.EditFile:
			for _, s := range c.Settings {
				head, why := settingLines(s)
				body = append(body, fmt.Sprintf("- `%s`: %s", mdCode(head), mdText(why)))
			}
			for _, h := range c.HBA {
				head, why := hbaLines(h)
				body = append(body, fmt.Sprintf("- `%s`: %s", mdCode(head), mdText(why)))
			}
			if len(body) == 0 {
				body = append(body, mdText(c.Reason))
			}
		case c.Action == plan.Basebackup:
			body = append(body, "Forces rebuild: "+mdText(c.Reason))
			for _, l := range basebackupLines(c) {
				body = append(body, "- `"+mdCode(l)+"`")
			}
		default:
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%d. %s: %s</summary>\n\n%s\n", i+1, htmlText(c.Node), htmlText(title(c)), strings.Join(body, "\n"))
		if c.Diff != "" {
			if folded[i] {
				fmt.Fprintf(&b, "\n_The diff (%d lines) is folded to keep this comment short._\n", strings.Count(c.Diff, "\n"))
			} else {
				fence := "```"
				for strings.Contains(c.Diff, fence) {
					fence += "`"
				}
				fmt.Fprintf(&b, "\n%sdiff\n%s%s\n", fence, c.Diff, fence)
			}
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

func foldNote(diffs int, details bool, rows int) string {
	var parts []string
	if diffs > 0 {
		parts = append(parts, pretty.Count(diffs, "diff is folded", "diffs are folded"))
	}
	if !details {
		parts = append(parts, "the details are left out")
	}
	if rows > 0 {
		parts = append(parts, pretty.Count(rows, "step is", "steps are")+" not listed")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// tableReason is a step's reason for the table: for a config edit, the
// settings it changes.
func tableReason(c *plan.Change) string {
	if len(c.Settings) > 0 {
		var parts []string
		for _, s := range c.Settings {
			parts = append(parts, fmt.Sprintf("%s → %s", s.Name, showValue(s.New)))
		}
		return strings.Join(parts, ", ")
	}
	if len(c.HBA) > 0 {
		var parts []string
		for _, h := range c.HBA {
			parts = append(parts, h.Op+" "+h.Rule)
		}
		return strings.Join(parts, "; ")
	}
	return c.Reason
}

var (
	mdTextEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`)
	mdCodeEscaper = strings.NewReplacer("|", `\|`, "`", "'", "\n", " ")
	htmlEscaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
)

// mdText escapes text for a markdown table cell or list item.
func mdText(s string) string {
	return mdTextEscaper.Replace(s)
}

// mdCode makes s safe inside a `code span` of a table: no pipe, no
// backtick, no line break.
func mdCode(s string) string {
	return mdCodeEscaper.Replace(s)
}

func htmlText(s string) string {
	return htmlEscaper.Replace(s)
}
