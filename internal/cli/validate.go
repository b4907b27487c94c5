package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/hashicorp/hcl/v2"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newValidateCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the spec without contacting any host",
		Long: `Validate reads the spec and checks it on its own, contacting no host: its
syntax, every attribute and setting (names, types, units and ranges from the
built-in catalog of the cluster's PostgreSQL version), and the rules that keep
replication working. It prints every problem with its file, line and source,
and exits 1 if any is an error; warnings alone do not fail.

env() and file() are evaluated, so the variables and files the spec reads must
exist; their values are never printed.`,
		Example: `  pgrepl validate
  pgrepl validate -s clusters/            # every *.hcl file of a directory
  pgrepl validate --format json | jq '.diagnostics[] | .summary'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(g, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runValidate(g *globals, format string) error {
	if err := textOrJSON(format); err != nil {
		return err
	}
	s, diags := spec.Load(g.spec, spec.Options{})
	errs, warns := countDiags(diags)

	if format == "json" {
		var files map[string]*hcl.File
		if s != nil {
			files = s.DiagnosticFiles()
		}
		out := validateJSON{FormatVersion: "1", Valid: errs == 0, ErrorCount: errs, WarningCount: warns, Diagnostics: []jsonDiag{}}
		for _, d := range diags {
			out.Diagnostics = append(out.Diagnostics, toJSONDiag(d, files))
		}
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write validate output: %w", err)
		}
		if errs > 0 {
			return exitCode(ExitError, nil)
		}
		return nil
	}

	if err := checkDiags(g, s, diags, g.spec); err != nil {
		return err
	}
	summary := fmt.Sprintf("%s is valid: %s.", g.spec, describeSpec(s))
	if warns > 0 {
		summary = strings.TrimSuffix(summary, ".") + fmt.Sprintf(" (%s).", diagCounts(0, warns))
	}
	if _, err := fmt.Fprintln(g.stdout, summary); err != nil {
		return fmt.Errorf("write validate output: %w", err)
	}
	return nil
}

// writeDiagnostics prints diagnostics with hcl's text writer: source
// snippets (with literal secrets masked), colour only on a terminal, wrapped
// to the terminal's width.
func writeDiagnostics(g *globals, w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	var width uint
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			width = uint(cols)
		}
	}
	bw := bufio.NewWriter(w)
	dw := hcl.NewDiagnosticTextWriter(bw, files, width, g.color(w))
	if err := dw.WriteDiagnostics(diags); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}

// textOrJSON checks the value of a --format flag that takes text or json.
func textOrJSON(format string) error {
	if format != "text" && format != "json" {
		return exitCode(ExitError, fmt.Errorf("--format must be text or json, not %q", format))
	}
	return nil
}

func countDiags(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

func diagCounts(errs, warns int) string {
	var parts []string
	if errs > 0 {
		parts = append(parts, pretty.Count(errs, "error", "errors"))
	}
	if warns > 0 {
		parts = append(parts, pretty.Count(warns, "warning", "warnings"))
	}
	return strings.Join(parts, ", ")
}

// describeSpec is the one-line summary of a valid spec.
func describeSpec(s *spec.Spec) string {
	var parts []string
	for _, c := range s.Clusters {
		p := fmt.Sprintf("cluster %q (PostgreSQL %d), primary %s", c.Name, c.PostgresVersion, c.Primary.Name)
		if len(c.Standbys) > 0 {
			names := make([]string, len(c.Standbys))
			for i, n := range c.Standbys {
				names[i] = n.Name
			}
			word := "standby"
			if len(names) > 1 {
				word = "standbys"
			}
			p += fmt.Sprintf(", %s %s", word, strings.Join(names, ", "))
		}
		if len(c.Replication.Synchronous) > 0 {
			p += fmt.Sprintf(" (synchronous: %s)", strings.Join(c.Replication.Synchronous, ", "))
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// validateJSON is `pgrepl validate --format json`, after terraform validate
// -json.
type validateJSON struct {
	FormatVersion string     `json:"format_version"`
	Valid         bool       `json:"valid"`
	ErrorCount    int        `json:"error_count"`
	WarningCount  int        `json:"warning_count"`
	Diagnostics   []jsonDiag `json:"diagnostics"`
}

type jsonDiag struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail,omitempty"`
	Range    *jsonRange   `json:"range,omitempty"`
	Snippet  *jsonSnippet `json:"snippet,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// jsonSnippet is the source around a diagnostic: the whole lines its range
// covers, and where in them the range is.
type jsonSnippet struct {
	Context              string `json:"context,omitempty"`
	Code                 string `json:"code"`
	StartLine            int    `json:"start_line"`
	HighlightStartOffset int    `json:"highlight_start_offset"`
	HighlightEndOffset   int    `json:"highlight_end_offset"`
}

func toJSONDiag(d *hcl.Diagnostic, files map[string]*hcl.File) jsonDiag {
	jd := jsonDiag{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		jd.Severity = "warning"
	}
	if d.Subject == nil {
		return jd
	}
	r := *d.Subject
	jd.Range = &jsonRange{
		Filename: r.Filename,
		Start:    jsonPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      jsonPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
	f := files[r.Filename]
	if f == nil || f.Bytes == nil || r.Start.Byte > len(f.Bytes) || r.End.Byte > len(f.Bytes) {
		return jd
	}
	src := f.Bytes
	start := r.Start.Byte
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end := r.End.Byte
	if end > start && end > r.Start.Byte && src[end-1] == '\n' {
		end-- // a range that ends with a line break covers no more of the next line
	}
	for end < len(src) && src[end] != '\n' {
		end++
	}
	code := strings.TrimRight(string(src[start:end]), "\r")
	sn := &jsonSnippet{
		Code:                 code,
		StartLine:            r.Start.Line,
		HighlightStartOffset: r.Start.Byte - start,
		HighlightEndOffset:   min(r.End.Byte-start, len(code)),
	}
	if cs, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		sn.Context = cs.ContextString(r.Start.Byte)
	}
	jd.Snippet = sn
	return jd
}
