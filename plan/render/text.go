package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/pgrepl/pgrepl/plan"
)

// TextOptions adjust the text rendering.
type TextOptions struct {
	// Color adds ANSI colours; the CLI sets it only on a terminal without
	// NO_COLOR or --no-color.
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

type textWriter struct {
	w     *bufio.Writer
	color bool
}

func (t *textWriter) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) line(s string) { t.w.WriteString(s + "\n") }

// symbol right-aligns a change's symbol in three columns, as Terraform
// does ("  +", "-/+"), coloured.
func (t *textWriter) symbol(sym string) string {
	return strings.Repeat(" ", max(3-utf8.RuneCountInString(sym), 0)) + t.paint(symbolColor(sym), sym)
}

// symbolColor is the colour of a change's symbol.
func symbolColor(sym string) string {
	switch sym {
	case "+", "▶":
		return ansiGreen
	case "~", "↻":
		return ansiYellow
	case "-", "-/+", "■":
		return ansiRed
	}
	return ansiCyan
}

// Text writes the plan as operators know plans from Terraform: a legend of
// the symbols used, one block per node in the order of the steps (a node
// appears again when its steps resume after another node's), each step
// with its reasons and, for files, a unified diff; a note on destructive
// steps ("# forces rebuild") and on downtime; and a closing summary line.
func Text(w io.Writer, p *plan.Plan, opts TextOptions) error {
	t := &textWriter{w: bufio.NewWriter(w), color: opts.Color}
	if p.Empty() {
		t.line(t.paint(ansiBold+ansiGreen, "No changes.") + " The cluster matches the spec.")
		return flush(t.w)
	}
	t.line("pgrepl will make the following changes, in this order. Symbols:")
	used := map[string]bool{}
	for i := range p.Changes {
		used[symbol(&p.Changes[i])] = true
	}
	for _, l := range legend {
		if used[l.sym] {
			t.line(t.symbol(l.sym) + " " + l.meaning)
		}
	}
	multi := multiCluster(p)
	block := ""
	for i := range p.Changes {
		c := &p.Changes[i]
		key, head := c.Cluster+"/"+c.Node, nodeLabel(c, multi)
		if c.Action == plan.Verify {
			key, head = "verify:"+c.Cluster, "verify replication"
			if multi {
				head += " of " + c.Cluster
			}
		}
		if key != block {
			t.line("")
			t.line(t.paint(ansiBold, "# "+head))
			block = key
		}
		t.line("")
		t.change(c)
	}
	t.line("")
	t.line(t.paint(ansiBold, summaryLine(p)))
	return flush(t.w)
}

func flush(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

const indent = "      "

// change writes one step.
func (t *textWriter) change(c *plan.Change) {
	sym := symbol(c)
	t.line(t.symbol(sym) + " " + t.paint(ansiBold, title(c)))
	comment := func(s string) { t.line(indent + "# " + s) }
	note := func(code, s string) { t.line(indent + t.paint(code, "# "+s)) }
	switch c.Action {
	case plan.EditFile:
		switch {
		case len(c.Settings) > 0:
			for _, s := range c.Settings {
				head, why := settingLines(s)
				comment(head)
				comment("  " + why)
			}
		case len(c.HBA) > 0:
			for _, h := range c.HBA {
				head, why := hbaLines(h)
				comment(head)
				comment("  " + why)
			}
		default:
			comment(c.Reason)
		}
		if c.Passfile != nil {
			comment(fmt.Sprintf("entry %s:%d:%s:%s:<password from %s>", c.Passfile.Host, c.Passfile.Port, c.Passfile.Database, c.Passfile.User, c.Passfile.Password))
		}
	case plan.CreateRole, plan.AlterRole:
		if l := roleLine(c.Role); l != "" {
			t.line(indent + l)
		}
		comment(c.Reason)
	case plan.Basebackup:
		note(ansiRed, "forces rebuild: "+c.Reason)
		for _, l := range basebackupLines(c) {
			t.line(indent + l)
		}
	case plan.DropSlot:
		note(ansiRed, "destroys: "+c.Reason)
	default:
		comment(c.Reason)
	}
	if c.Downtime {
		note(ansiRed, "downtime: "+downtimeReason(c))
	}
	if c.Diff != "" {
		for _, l := range strings.Split(strings.TrimSuffix(c.Diff, "\n"), "\n") {
			t.line(indent + t.diffLine(l))
		}
	}
}

func (t *textWriter) diffLine(l string) string {
	switch {
	case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		return t.paint(ansiBold, l)
	case strings.HasPrefix(l, "@@"):
		return t.paint(ansiCyan, l)
	case strings.HasPrefix(l, "+"):
		return t.paint(ansiGreen, l)
	case strings.HasPrefix(l, "-"):
		return t.paint(ansiRed, l)
	}
	return l
}

// downtimeReason says how a step stops a primary from taking writes. A plan
// saved before pgrepl said why has only the mark.
func downtimeReason(c *plan.Change) string {
	if c.DowntimeReason != "" {
		return c.DowntimeReason
	}
	return "the primary takes no writes while this step runs"
}
