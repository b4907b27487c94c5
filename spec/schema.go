package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/pgrepl/pgrepl/internal/suggest"
)

// schema is what one kind of block may hold. The spec is checked against it
// by hand rather than with hcl.BodySchema so that every message can name the
// valid choices and explain names that belong elsewhere.
type schema struct {
	block  string   // "cluster", "primary", … for messages
	attrs  []string // sorted
	blocks []string // sorted
	// elsewhere explains names that are valid in other blocks.
	elsewhere map[string]string
}

// content checks body against s and returns its attributes (in source order)
// and blocks, leaving out what it reported as unsupported.
func (l *loader) content(body *hclsyntax.Body, s schema) (map[string]*hclsyntax.Attribute, []*hclsyntax.Block) {
	attrs := map[string]*hclsyntax.Attribute{}
	for _, a := range sortedAttrs(body) {
		if slices.Contains(s.attrs, a.Name) {
			attrs[a.Name] = a
			continue
		}
		l.errorf(a.NameRange, "Unsupported argument", "%s", s.unsupported(a.Name, "argument"))
	}
	var blocks []*hclsyntax.Block
	for _, b := range body.Blocks {
		if slices.Contains(s.blocks, b.Type) {
			blocks = append(blocks, b)
			continue
		}
		l.errorf(b.TypeRange, "Unsupported block type", "%s", s.unsupported(b.Type, "block"))
	}
	return attrs, blocks
}

func (s schema) unsupported(name, kind string) string {
	var b strings.Builder
	in := fmt.Sprintf("in %s %s block", article(s.block), s.block)
	if s.block == "" {
		in = "at the top level of a spec file"
	}
	switch {
	case kind == "argument" && slices.Contains(s.blocks, name):
		fmt.Fprintf(&b, "%q is a block, not an argument: write %s { … }.", name, name)
		return b.String()
	case kind == "block" && slices.Contains(s.attrs, name):
		fmt.Fprintf(&b, "%q is an argument, not a block: write %s = … .", name, name)
		return b.String()
	case s.elsewhere[name] != "":
		fmt.Fprintf(&b, "%s", s.elsewhere[name])
	default:
		if kind == "argument" {
			fmt.Fprintf(&b, "An argument named %q is not expected %s.", name, in)
		} else {
			fmt.Fprintf(&b, "Blocks of type %q are not expected %s.", name, in)
		}
		if sug := suggest.Closest(name, append(append([]string(nil), s.attrs...), s.blocks...)); sug != "" {
			fmt.Fprintf(&b, " Did you mean %q?", sug)
		}
	}
	if len(s.attrs) > 0 {
		fmt.Fprintf(&b, " Valid arguments: %s.", strings.Join(s.attrs, ", "))
	}
	if len(s.blocks) > 0 {
		fmt.Fprintf(&b, " Valid blocks: %s.", strings.Join(s.blocks, ", "))
	}
	return b.String()
}

func article(word string) string {
	if word == "ssh" || word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// labels checks that b has exactly n labels; a block with a wrong count is
// reported and skipped.
func (l *loader) labels(b *hclsyntax.Block, n int) bool {
	switch {
	case len(b.Labels) < n:
		l.errorf(b.TypeRange, "Missing name for "+b.Type,
			"%s %s block needs a name: %s \"NAME\" { … }.", capitalize(article(b.Type)), b.Type, b.Type)
		return false
	case len(b.Labels) > n:
		what := "takes no labels"
		if n == 1 {
			what = "takes one label, its name"
		}
		l.errorf(b.LabelRanges[n], "Extraneous label for "+b.Type, "%s %s block %s.", capitalize(article(b.Type)), b.Type, what)
		return false
	}
	return true
}

// header is the range of a block's type and labels: `standby "pg2"`.
func header(b *hclsyntax.Block) hcl.Range {
	if len(b.LabelRanges) == 0 {
		return b.TypeRange
	}
	return hcl.RangeBetween(b.TypeRange, b.LabelRanges[len(b.LabelRanges)-1])
}

func sortedAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	return attrs
}
