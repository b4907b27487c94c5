package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/spf13/cobra"
)

// newConfSettingsCmd is "pgrepl conf settings FILE": what PostgreSQL would
// read from a postgresql.conf, as its pg_file_settings view shows it.
func newConfSettingsCmd(g *globals) *cobra.Command {
	var dataDir, format string
	cmd := &cobra.Command{
		Use:   "settings FILE",
		Short: "Show the settings PostgreSQL would read from FILE, as pg_file_settings does",
		Long: `Reads FILE as PostgreSQL reads its postgresql.conf: line by line, following
include, include_if_exists and include_dir, then postgresql.auto.conf from the
data directory, which comes last and so wins. It prints one row per setting, in
the order and with the columns of PostgreSQL's pg_file_settings view:
sourcefile, sourceline, seqno, name, setting (unquoted and unescaped), applied
(false when a later line overrides it), and error.

The data directory, where postgresql.auto.conf is read from, is
  - DIR when --data-dir DIR is given (--data-dir= reads no postgresql.auto.conf);
  - else the data_directory that FILE sets, as the server uses it at startup
    (the Debian layout, with config files under /etc/postgresql);
  - else FILE's own directory (the default layout, config in the data directory).
A missing postgresql.auto.conf is skipped, as PostgreSQL skips it.

When PostgreSQL would refuse the files (a syntax error, a missing include, an
unreadable include_dir, includes nested more than 10 deep), the command prints
PostgreSQL's own error messages, which name the file and line, and exits 1.
Setting names and values are not checked: only a server knows its parameters.

In the text format, a setting that a later line overrides is marked with the
line that overrides it. The json format gives PostgreSQL's applied column
exactly, including its quirk of comparing names case-sensitively there
(work_mem then Work_Mem: both applied, the later one takes effect).`,
		Example: `  pgrepl conf settings /var/lib/postgresql/15/main/postgresql.conf
  pgrepl conf settings /etc/postgresql/15/main/postgresql.conf --format json
  pgrepl conf settings ./postgresql.conf --data-dir ./data`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			var dd *string
			if cmd.Flags().Changed("data-dir") {
				dd = &dataDir
			}
			cfg, err := loadConfSettings(args[0], dd)
			if err != nil {
				return exitCode(ExitError, err)
			}
			if format == "json" {
				return writeConfSettingsJSON(g.stdout, cfg.Entries())
			}
			return writeConfSettingsText(g.stdout, cfg)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory to read postgresql.auto.conf from (default: FILE's data_directory, else FILE's directory)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// loadConfSettings loads file with the data directory chosen as the help
// text says; dataDir is nil when --data-dir was not given.
func loadConfSettings(file string, dataDir *string) (*confparse.Config, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("conf settings %s: %w", file, err)
	}
	dir := filepath.Dir(abs)
	switch {
	case dataDir != nil:
		dir = ""
		if *dataDir != "" {
			if dir, err = filepath.Abs(*dataDir); err != nil {
				return nil, fmt.Errorf("conf settings --data-dir %s: %w", *dataDir, err)
			}
		}
	default:
		// The server's first pass reads data_directory from the files
		// alone; a relative one is relative to the server's working
		// directory, for which the current one stands in.
		first, err := confparse.Load(confparse.OSReader{}, abs, "")
		if err != nil {
			return nil, err
		}
		if d, ok := first.DataDirectory(); ok && d != "" {
			if dir, err = filepath.Abs(d); err != nil {
				return nil, fmt.Errorf("conf settings: data_directory %s: %w", d, err)
			}
		}
	}
	cfg, err := confparse.Load(confparse.OSReader{}, abs, dir)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// confSettingRow is a pg_file_settings row; nil pointers are SQL NULLs.
type confSettingRow struct {
	SourceFile *string `json:"sourcefile"`
	SourceLine *int    `json:"sourceline"`
	SeqNo      int     `json:"seqno"`
	Name       *string `json:"name"`
	Setting    *string `json:"setting"`
	Applied    bool    `json:"applied"`
	Error      *string `json:"error"`
}

func writeConfSettingsJSON(w io.Writer, entries []confparse.Entry) error {
	rows := make([]confSettingRow, 0, len(entries))
	for _, e := range entries {
		r := confSettingRow{SeqNo: e.SeqNo, Applied: e.Applied}
		if e.SourceFile != "" {
			r.SourceFile, r.SourceLine = &e.SourceFile, &e.SourceLine
		}
		if e.Error != "" {
			r.Error = &e.Error
		} else {
			r.Name, r.Setting = &e.Name, &e.Setting
		}
		rows = append(rows, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rows)
}

// writeConfSettingsText prints the files read and an aligned table; a
// path under the config file's directory is shown relative to it, and a row
// that does not take effect says which line overrides it (names compare
// ignoring case, as PostgreSQL applies them).
func writeConfSettingsText(w io.Writer, cfg *confparse.Config) error {
	dataDir := cfg.DataDir()
	if dataDir == "" {
		dataDir = "(none: postgresql.auto.conf not read)"
	}
	if _, err := fmt.Fprintf(w, "config file:     %s\ndata directory:  %s\n\n", cfg.ConfigFile(), dataDir); err != nil {
		return err
	}
	entries := cfg.Entries()
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No settings.")
		return err
	}
	base := filepath.Dir(cfg.ConfigFile())
	where := func(file string, line int) string {
		if rel, err := filepath.Rel(base, file); err == nil && filepath.IsLocal(rel) {
			file = rel
		}
		return fmt.Sprintf("%s:%d", file, line)
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE:LINE\tNAME\tSETTING\t")
	for _, e := range entries {
		note := ""
		if win, ok := cfg.Lookup(e.Name); ok && win.SeqNo != e.SeqNo {
			note = "overridden by " + where(win.SourceFile, win.SourceLine)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", where(e.SourceFile, e.SourceLine), printable(e.Name), printable(e.Setting), note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The note column pads the columns before it; no line ends in blanks.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

// printable shows s as it is when it reads unambiguously in a table, else
// Go-quoted: empty, with blanks at either end, or with control characters.
func printable(s string) string {
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\t' || r == unicode.ReplacementChar
	}) {
		return strconv.Quote(s)
	}
	return s
}
