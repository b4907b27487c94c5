// Package render writes a plan for people (text, in the conventions
// operators know from Terraform; markdown, for a pull-request comment) and
// for machines (JSON, DESIGN §4). Output depends on the plan alone: no
// clock, no environment; colour only when the caller asks for it.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/pgrepl/pgrepl/internal/shell"
	"github.com/pgrepl/pgrepl/plan"
)

// Format is an output format.
type Format string

// The formats.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatText, FormatJSON, FormatMarkdown:
		return Format(s), nil
	}
	return "", fmt.Errorf("--format must be text, json or markdown, not %q", s)
}

// Render writes p in format f; color applies to text only.
func Render(w io.Writer, p *plan.Plan, f Format, color bool) error {
	switch f {
	case FormatJSON:
		return JSON(w, p)
	case FormatMarkdown:
		return Markdown(w, p)
	}
	return Text(w, p, TextOptions{Color: color})
}

// JSON writes the plan as indented JSON (DESIGN §4; documented in
// docs/plan.md), with a final newline.
func JSON(w io.Writer, p *plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// summaryLine is the plan's closing line.
func summaryLine(p *plan.Plan) string {
	if p.Empty() {
		return "No changes. The cluster matches the spec."
	}
	s := p.Summary
	return fmt.Sprintf("Plan: %d to change on %s (%s, %s).", s.Changes,
		pretty.Count(s.Nodes, "node", "nodes"), pretty.Count(s.Restarts, "restart", "restarts"), pretty.Count(s.Rebuilds, "rebuild", "rebuilds"))
}

// symbol is the mark of a change's kind, Terraform-like.
func symbol(c *plan.Change) string {
	switch c.Action {
	case plan.CreateRole, plan.CreateSlot:
		return "+"
	case plan.EditFile:
		if c.File != nil && c.File.Create {
			return "+"
		}
		return "~"
	case plan.AlterRole:
		return "~"
	case plan.DropSlot:
		return "-"
	case plan.Basebackup:
		return "-/+"
	case plan.Reload, plan.Restart:
		return "↻"
	case plan.Stop:
		return "■"
	case plan.Start:
		return "▶"
	case plan.Verify:
		return "✓"
	}
	return "?"
}

// legend lists every symbol, in the order shown, with its meaning.
var legend = []struct{ sym, meaning string }{
	{"+", "create"},
	{"~", "update in place"},
	{"-", "destroy"},
	{"-/+", "rebuild: data directory moved aside, then copied from the primary"},
	{"↻", "reload or restart"},
	{"■", "stop"},
	{"▶", "start"},
	{"✓", "verify"},
}

// title is a change's headline after its symbol: the action and what it
// acts on.
func title(c *plan.Change) string {
	switch c.Action {
	case plan.EditFile:
		s := "edit_file " + c.Path
		var notes []string
		if f := c.File; f != nil {
			if f.Create {
				notes = append(notes, "new file")
			}
			if f.AfterBasebackup {
				notes = append(notes, "as pg_basebackup leaves it")
			}
			if f.OnlyAttributes {
				notes = append(notes, "owner and mode only")
			}
			if f.Create || f.Kind == plan.KindPassfile {
				notes = append(notes, "mode "+f.Mode+", owner "+f.Owner)
			}
		}
		if len(notes) > 0 {
			s += " (" + strings.Join(notes, ", ") + ")"
		}
		return s
	case plan.CreateRole, plan.AlterRole:
		return string(c.Action) + " " + c.Role.Name
	case plan.CreateSlot, plan.DropSlot:
		return fmt.Sprintf("%s %s (%s)", c.Action, c.Slot.Name, c.Slot.Type)
	case plan.Basebackup:
		return fmt.Sprintf("basebackup %s from %s", c.Node, c.Basebackup.Source)
	case plan.Verify:
		s := fmt.Sprintf("verify %s streams from %s", c.Node, c.Verify.Primary)
		if c.Verify.Synchronous {
			s += " (synchronous)"
		}
		return s
	}
	return string(c.Action) + " " + c.Node
}

// target is what a change acts on, for the markdown table.
func target(c *plan.Change) string {
	switch c.Action {
	case plan.EditFile:
		return c.Path
	case plan.CreateRole, plan.AlterRole:
		return c.Role.Name
	case plan.CreateSlot, plan.DropSlot:
		return c.Slot.Name
	case plan.Basebackup:
		return "from " + c.Basebackup.Source
	case plan.Verify:
		return "from " + c.Verify.Primary
	}
	return ""
}

// roleLine is a create_role/alter_role's SQL-like summary.
func roleLine(r *plan.RoleChange) string {
	parts := append([]string(nil), r.Attributes...)
	if r.Password != "" {
		parts = append(parts, "PASSWORD "+r.Password+" (a SCRAM verifier computed by pgrepl)")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ")
}

// settingLines describe a config edit's settings: what changes where, and
// why.
func settingLines(s plan.SettingChange) (head, why string) {
	old := "not set"
	switch {
	case s.OldSet:
		old = showValue(s.Old)
	case s.Old != "":
		old = "default " + showValue(s.Old)
	}
	effect := "reload"
	if s.Restart {
		effect = "restart"
	}
	return fmt.Sprintf("%s: %s → %s (%s:%d, %s)", s.Name, old, showValue(s.New), baseName(s.File), s.Line, effect), s.Reason
}

func showValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t,'") {
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return v
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// hbaLines describe a pg_hba.conf edit's rules.
func hbaLines(h plan.HBAChange) (head, why string) {
	switch h.Op {
	case "remove":
		return fmt.Sprintf("remove line %d: %s", h.Line, h.Rule), h.Reason
	case "move":
		return fmt.Sprintf("move line %d to line %d: %s", h.OldLine, h.Line, h.Rule), h.Reason
	}
	return fmt.Sprintf("add line %d: %s", h.Line, h.Rule), h.Reason
}

// basebackupLines describe a rebuild.
func basebackupLines(c *plan.Change) []string {
	b := c.Basebackup
	var out []string
	if b.MovedAside != "" {
		out = append(out, fmt.Sprintf("%s is moved aside to %s (nothing is deleted)", b.DataDir, b.MovedAside))
	}
	out = append(out, "as "+c.Node+": "+shell.Join(b.Command))
	if len(b.Copies) > 0 {
		var names []string
		for _, cp := range b.Copies {
			names = append(names, baseName(cp.To))
		}
		out = append(out, fmt.Sprintf("copies %s's %s, which %s reads", b.Source, strings.Join(names, ", "), c.Node))
	}
	if len(b.NotUsed) > 0 {
		out = append(out, fmt.Sprintf("also copies %s, which %s does not read", strings.Join(b.NotUsed, ", "), c.Node))
	}
	var rc []string
	for _, r := range b.RecoveryConf {
		rc = append(rc, r.Name)
	}
	out = append(out, fmt.Sprintf("-R writes standby.signal and appends %s to postgresql.auto.conf", strings.Join(rc, " and ")))
	return out
}

// nodeLabel heads a node's block.
func nodeLabel(c *plan.Change, multi bool) string {
	name := c.Node
	if multi {
		name = c.Cluster + "/" + c.Node
	}
	return fmt.Sprintf("%s (%s, %s)", name, c.Host, c.NodeRole)
}

func multiCluster(p *plan.Plan) bool {
	for _, c := range p.Changes {
		if c.Cluster != p.Changes[0].Cluster {
			return true
		}
	}
	return false
}
