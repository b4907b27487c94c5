package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/sergi/go-diff/diffmatchpatch"
	"github.com/spf13/cobra"
)

func newFmtCmd(g *globals) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [--check] [PATH…]",
		Short: "Rewrite spec files in canonical HCL format",
		Long: `Fmt rewrites spec files in the canonical HCL layout (indentation, aligned
equals signs, spacing), in place and keeping each file's mode, and prints the
name of each file it changed. A PATH is a file, a directory (its *.hcl files)
or - (standard input, formatted to standard output); with no PATH, the spec
(--spec) is formatted.

With --check nothing is written: fmt prints a unified diff for each file that
would change and exits 3 if any would. A file with a syntax error is left as
it is and fails the command (exit 1).`,
		Example: `  pgrepl fmt
  pgrepl fmt --check clusters/      # in CI: exit 3 and a diff if unformatted
  cat pgrepl.hcl | pgrepl fmt -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFmt(g, check, args)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; print a diff and exit 3 if a file is not formatted")
	cmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"hcl"}, cobra.ShellCompDirectiveFilterFileExt
	}
	return cmd
}

func runFmt(g *globals, check bool, paths []string) error {
	if len(paths) == 0 {
		paths = []string{g.spec}
	}
	var names []string
	for _, p := range paths {
		if p == "-" {
			names = append(names, p)
			continue
		}
		fs, err := spec.Files(p)
		if err != nil {
			return exitCode(ExitError, err)
		}
		names = append(names, fs...)
	}

	changed, failed := 0, 0
	for _, name := range names {
		var src []byte
		var err error
		if name == "-" {
			src, err = io.ReadAll(g.stdin)
		} else {
			src, err = os.ReadFile(name)
		}
		if err != nil {
			return exitCode(ExitError, fmt.Errorf("read %s: %w", name, err))
		}
		display := name
		if name == "-" {
			display = "<stdin>"
		}
		// hclwrite formats tokens and would happily "format" a broken file;
		// refuse it instead, as terraform fmt does.
		f, diags := hclsyntax.ParseConfig(src, display, hcl.InitialPos)
		if diags.HasErrors() {
			masked := *f
			masked.Bytes = spec.MaskSecrets(src, display)
			if err := writeDiagnostics(g, g.stderr, map[string]*hcl.File{display: &masked}, diags); err != nil {
				return err
			}
			failed++
			continue
		}
		out := hclwrite.Format(src)
		if name == "-" && !check {
			if _, err := g.stdout.Write(out); err != nil {
				return fmt.Errorf("write formatted spec: %w", err)
			}
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		changed++
		if check {
			// A password written in the spec must not reach CI logs.
			diff := unifiedDiff(display, string(spec.MaskSecrets(src, display)), string(spec.MaskSecrets(out, display)))
			if _, err := io.WriteString(g.stdout, diff); err != nil {
				return fmt.Errorf("write diff: %w", err)
			}
			continue
		}
		if err := writeFileKeepMode(name, out); err != nil {
			return exitCode(ExitError, err)
		}
		if _, err := fmt.Fprintln(g.stdout, name); err != nil {
			return fmt.Errorf("write fmt output: %w", err)
		}
	}
	switch {
	case failed > 0:
		return exitCode(ExitError, fmt.Errorf("%s could not be formatted", pretty.Count(failed, "file", "files")))
	case check && changed > 0:
		return exitCode(ExitFmt, nil)
	}
	return nil
}

// writeFileKeepMode replaces name with data atomically (a temporary file in
// the same directory, renamed over it), keeping its permission bits and, when
// they differ from a new file's, its owner and group.
func writeFileKeepMode(name string, data []byte) error {
	fi, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".pgrepl-fmt-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := keepOwner(tmp, fi); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func keepOwner(tmp *os.File, orig os.FileInfo) error {
	want, ok := orig.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	now, err := tmp.Stat()
	if err != nil {
		return err
	}
	if got, ok := now.Sys().(*syscall.Stat_t); ok && (got.Uid != want.Uid || got.Gid != want.Gid) {
		return tmp.Chown(int(want.Uid), int(want.Gid))
	}
	return nil
}

// diffLine is one line of a line diff; text keeps its line break, if any.
type diffLine struct {
	op   diffmatchpatch.Operation
	text string
}

// unifiedDiff returns a unified diff (3 lines of context) from a to b, or ""
// when they are equal.
func unifiedDiff(name, a, b string) string {
	if a == b {
		return ""
	}
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var ops []diffLine
	for _, d := range diffs {
		for _, l := range strings.SplitAfter(d.Text, "\n") {
			if l != "" {
				ops = append(ops, diffLine{op: d.Type, text: l})
			}
		}
	}
	// oldAt[i] and newAt[i]: lines of a and b before ops[i].
	oldAt := make([]int, len(ops)+1)
	newAt := make([]int, len(ops)+1)
	for i, o := range ops {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if o.op != diffmatchpatch.DiffInsert {
			oldAt[i+1]++
		}
		if o.op != diffmatchpatch.DiffDelete {
			newAt[i+1]++
		}
	}

	const context = 3
	var sb strings.Builder
	label := strings.TrimPrefix(filepath.ToSlash(name), "/")
	fmt.Fprintf(&sb, "--- old/%s\n+++ new/%s\n", label, label)
	for i := 0; i < len(ops); {
		for i < len(ops) && ops[i].op == diffmatchpatch.DiffEqual {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-context)
		// Extend the hunk over changes separated by at most 2*context equal
		// lines.
		j := i
		for j < len(ops) {
			if ops[j].op != diffmatchpatch.DiffEqual {
				j++
				continue
			}
			k := j
			for k < len(ops) && ops[k].op == diffmatchpatch.DiffEqual {
				k++
			}
			if k == len(ops) || k-j > 2*context {
				break
			}
			j = k
		}
		end := min(len(ops), j+context)
		oldN, newN := oldAt[end]-oldAt[start], newAt[end]-newAt[start]
		oldS, newS := oldAt[start]+1, newAt[start]+1
		if oldN == 0 {
			oldS--
		}
		if newN == 0 {
			newS--
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(oldS, oldN), hunkRange(newS, newN))
		for _, o := range ops[start:end] {
			prefix := " "
			switch o.op {
			case diffmatchpatch.DiffDelete:
				prefix = "-"
			case diffmatchpatch.DiffInsert:
				prefix = "+"
			}
			sb.WriteString(prefix)
			sb.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return sb.String()
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
