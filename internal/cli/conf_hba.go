package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pgrepl/pgrepl/confparse"
)

// newConfHBACmd is "pgrepl conf hba FILE": the rules PostgreSQL would load
// from a pg_hba.conf, as its pg_hba_file_rules view shows them.
func newConfHBACmd(g *globals) *cobra.Command {
	var format string
	var version int
	var ssl bool
	cmd := &cobra.Command{
		Use:   "hba FILE",
		Short: "Show the rules PostgreSQL would load from a pg_hba.conf",
		Long: `Show the rules PostgreSQL would load from FILE, a pg_hba.conf, as its
pg_hba_file_rules view would: one row per rule line, lines PostgreSQL
refuses included with their error. "@file" lists and (from PostgreSQL 16)
include directives are read relative to FILE.

A file PostgreSQL would refuse is an error (exit 1) naming the file and
line in PostgreSQL's words; its rows are still printed.

--format json prints an array of objects with the columns of
pg_hba_file_rules (PostgreSQL 16 and later add rule_number and file_name).

PostgreSQL runs with ssl = off unless configured otherwise; it then loads
hostssl lines but says they cannot match. Pass --ssl for a server with
ssl = on.`,
		Example: `  pgrepl conf hba /etc/postgresql/15/main/pg_hba.conf
  pgrepl conf hba pg_hba.conf --pg-version 16 --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format: %q is not text or json", format)
			}
			return runConfHBA(g, args[0], format, confparse.HBAOptions{Version: version, SSL: ssl})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().IntVar(&version, "pg-version", 15, "PostgreSQL major version that reads the file (12 to 17)")
	cmd.Flags().BoolVar(&ssl, "ssl", false, "the server runs with ssl = on")
	return cmd
}

func runConfHBA(g *globals, file, format string, opts confparse.HBAOptions) error {
	// PostgreSQL names the file by its absolute path in its messages.
	path, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("conf hba %s: %w", file, err)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("conf hba: read %s: %w", path, err)
	}
	opts.Reader = confparse.OSReader{}
	f, perr := confparse.ParseHBA(path, src, opts)
	if f == nil {
		return fmt.Errorf("conf hba: %w", perr)
	}
	rows := f.FileRules()
	switch format {
	case "json":
		if rows == nil {
			rows = []confparse.HBAFileRule{}
		}
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return fmt.Errorf("conf hba: %w", err)
		}
		if _, err := fmt.Fprintf(g.stdout, "%s\n", b); err != nil {
			return err
		}
	default:
		// A refused line shows what the server logs about it, which can be
		// more telling than the view's error column (or fill a null one).
		logged := map[string][]string{}
		var es confparse.HBAErrors
		if errors.As(perr, &es) {
			for _, e := range es {
				k := e.File + ":" + strconv.Itoa(e.Line)
				logged[k] = append(logged[k], e.Msg)
			}
		}
		if err := writeHBATable(g.stdout, rows, path, file, logged); err != nil {
			return err
		}
	}
	for _, w := range f.Warnings() {
		fmt.Fprintf(g.stderr, "Warning: %v\n", w)
	}
	if perr != nil {
		return fmt.Errorf("PostgreSQL %d would refuse %s:\n%w", opts.Version, path, perr)
	}
	return nil
}

// writeHBATable prints the rows as an aligned table, each row named by
// file:line (the main file as the user named it). A refused line gets its
// error instead of columns.
func writeHBATable(w io.Writer, rows []confparse.HBAFileRule, path, shown string, logged map[string][]string) error {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	table := [][]string{{"LINE", "TYPE", "DATABASE", "USER", "ADDRESS", "NETMASK", "METHOD", "OPTIONS"}}
	notes := map[int]string{} // table row -> message printed instead of / after it
	for _, r := range rows {
		file := r.FileName
		if file == "" {
			file = path
		}
		key := file + ":" + strconv.Itoa(r.LineNumber)
		name := key
		if file == path {
			name = shown + ":" + strconv.Itoa(r.LineNumber)
		}
		if r.Type == nil {
			msg := "refused"
			if m := logged[key]; len(m) > 0 {
				msg = "error: " + oneLine(strings.Join(m, "; "))
			} else if r.Error != nil {
				msg = "error: " + oneLine(*r.Error)
			}
			table = append(table, []string{name})
			notes[len(table)-1] = msg
			continue
		}
		table = append(table, []string{name, str(r.Type),
			strings.Join(r.Database, ","), strings.Join(r.UserName, ","),
			str(r.Address), str(r.Netmask), str(r.AuthMethod), strings.Join(r.Options, " ")})
		if r.Error != nil {
			notes[len(table)-1] = "warning: " + oneLine(*r.Error)
		}
	}
	widths := make([]int, len(table[0]))
	for _, row := range table {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for n, row := range table {
		var line strings.Builder
		for i, c := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			line.WriteString(c)
			if i < len(row)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-len(c)))
			}
		}
		if note, ok := notes[n]; ok {
			if len(row) == 1 {
				line.WriteString(strings.Repeat(" ", widths[0]-len(row[0])+2) + note)
			} else {
				b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
				line.Reset()
				line.WriteString(strings.Repeat(" ", widths[0]+2) + note)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
