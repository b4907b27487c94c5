package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/zclconf/go-cty/cty"
)

// DefaultPath is the spec file read when no other is named.
const DefaultPath = "pgrepl.hcl"

// Options adjust how a spec is loaded. The zero value reads the real
// environment and file system, relative to the working directory.
type Options struct {
	// LookupEnv answers env(); nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// ReadFile answers file() (with a path already made absolute); nil
	// means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
	// Dir is the directory against which relative spec file names are
	// resolved; empty means the working directory. A saved plan passes the
	// Spec.Dir it was made with.
	Dir string
}

// Files returns the spec files path names: path itself if it is a file, or
// the *.hcl files of a directory (sorted, hidden files skipped).
func Files(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no spec file or directory %s", path)
		}
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("read spec directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".hcl") {
			continue
		}
		names = append(names, filepath.Join(path, n))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.hcl files in directory %s", path)
	}
	sort.Strings(names)
	return names, nil
}

// Load reads the spec at path: a file, or a directory whose *.hcl files
// together form the spec. Every problem is a diagnostic; when diags has
// errors, the returned Spec (if not nil) has no Clusters, but its Sources and
// DiagnosticFiles serve to print the diagnostics.
func Load(path string, opts Options) (*Spec, hcl.Diagnostics) {
	full := path
	if opts.Dir != "" && !filepath.IsAbs(full) {
		full = filepath.Join(opts.Dir, full)
	}
	names, err := Files(full)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec", Detail: capitalize(err.Error()) + "."}}
	}
	sources := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec", Detail: capitalize(err.Error()) + "."}}
		}
		name := n
		if full != path {
			// Name files as the caller did: relative to opts.Dir.
			rel, err := filepath.Rel(full, n)
			if err != nil {
				return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec", Detail: capitalize(err.Error()) + "."}}
			}
			name = filepath.Join(path, rel)
		}
		sources = append(sources, Source{Name: filepath.Clean(name), Bytes: b})
	}
	return LoadSource(sources, opts)
}

// LoadSource decodes and validates a spec from its sources, as a saved plan
// holds them. Relative source names (and file() paths) are resolved against
// opts.Dir.
func LoadSource(sources []Source, opts Options) (*Spec, hcl.Diagnostics) {
	l := &loader{opts: opts, files: map[string]*hcl.File{}, order: map[string]int{}}
	l.dir = opts.Dir
	if l.dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec", Detail: fmt.Sprintf("Find the working directory: %v.", err)}}
		}
		l.dir = wd
	}
	if abs, err := filepath.Abs(l.dir); err == nil {
		l.dir = abs
	}
	s := &Spec{Dir: l.dir}
	for _, src := range sources {
		s.Files = append(s.Files, src.Name)
		s.Sources = append(s.Sources, Source{Name: src.Name, Bytes: append([]byte(nil), src.Bytes...)})
	}
	s.Hash = hashSources(s.Sources)
	s.files = l.files
	if len(sources) == 0 {
		return s, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Empty spec", Detail: "No spec files were given."}}
	}

	var parsed []*hcl.File
	for i, src := range s.Sources {
		if _, dup := l.order[src.Name]; dup {
			return s, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate spec file", Detail: fmt.Sprintf("%s is given twice.", src.Name)}}
		}
		l.order[src.Name] = i
		f, diags := hclsyntax.ParseConfig(src.Bytes, src.Name, hcl.InitialPos)
		l.diags = append(l.diags, diags...)
		if f != nil {
			l.files[src.Name] = f
			parsed = append(parsed, f)
		}
	}
	for _, f := range parsed {
		s.redact = append(s.redact, literalSecretRanges(f)...)
	}
	if l.diags.HasErrors() {
		return s, l.finish()
	}
	clusters := l.decodeFiles(parsed)
	l.checkSpec(clusters)
	diags := l.finish()
	if !diags.HasErrors() {
		for _, cd := range clusters {
			s.Clusters = append(s.Clusters, cd.c)
		}
	}
	return s, diags
}

// hashSources is sha256 over the sources sorted by name, each as its name,
// its length and its bytes, so that no two different sets hash alike.
func hashSources(srcs []Source) string {
	sorted := append([]Source(nil), srcs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	for _, s := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00", s.Name, len(s.Bytes))
		h.Write(s.Bytes)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loader holds the state of one Load: the parsed files and the diagnostics
// so far.
type loader struct {
	opts  Options
	dir   string
	files map[string]*hcl.File
	order map[string]int // file name → position among the sources
	diags hcl.Diagnostics
}

func (l *loader) lookupEnv(name string) (string, bool) {
	if l.opts.LookupEnv != nil {
		return l.opts.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

func (l *loader) readFile(path string) ([]byte, error) {
	if l.opts.ReadFile != nil {
		return l.opts.ReadFile(path)
	}
	return os.ReadFile(path)
}

// fileDir is the absolute directory of spec file name.
func (l *loader) fileDir(name string) string {
	d := filepath.Dir(name)
	if !filepath.IsAbs(d) {
		d = filepath.Join(l.dir, d)
	}
	return d
}

func (l *loader) add(d *hcl.Diagnostic) { l.diags = append(l.diags, d) }

func (l *loader) errorf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
}

func (l *loader) warnf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	l.add(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
}

// finish drops duplicates (a value in defaults is checked once per node
// that inherits it), strips evaluation context (which could show values),
// and sorts diagnostics by file and position.
func (l *loader) finish() hcl.Diagnostics {
	type key struct {
		sev             hcl.DiagnosticSeverity
		summary, detail string
		rng             hcl.Range
	}
	seen := map[key]bool{}
	var out hcl.Diagnostics
	for _, d := range l.diags {
		k := key{sev: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.rng = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		d.Expression, d.EvalContext = nil, nil
		out = append(out, d)
	}
	order := l.order
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return order[a.Filename] < order[b.Filename]
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
	return out
}

// DiagnosticFiles returns the spec's parsed files for hcl's diagnostic
// writers, with every literal secret (a password written in the spec)
// masked, so that no snippet shows one.
func (s *Spec) DiagnosticFiles() map[string]*hcl.File {
	out := make(map[string]*hcl.File, len(s.files))
	for name, f := range s.files {
		c := *f
		c.Bytes = maskRanges(f.Bytes, name, s.redact)
		out[name] = &c
	}
	for _, src := range s.Sources {
		if _, ok := out[src.Name]; !ok {
			out[src.Name] = &hcl.File{Bytes: maskRanges(src.Bytes, src.Name, s.redact)}
		}
	}
	return out
}

// maskRanges replaces every byte inside the ranges of file name, except
// quotes and line breaks, with '*'. Lengths stay the same, so every other
// range still points where it did.
func maskRanges(b []byte, name string, ranges []hcl.Range) []byte {
	out := append([]byte(nil), b...)
	for _, r := range ranges {
		if r.Filename != name || r.Start.Byte < 0 || r.End.Byte > len(out) {
			continue
		}
		for i := r.Start.Byte; i < r.End.Byte; i++ {
			switch out[i] {
			case '"', '\n', '\r':
			default:
				out[i] = '*'
			}
		}
	}
	return out
}

// literalSecretRanges finds the secrets written as literals in a parsed
// file: every password attribute whose value calls no function, and every
// such admin_dsn that holds a password.
func literalSecretRanges(f *hcl.File) []hcl.Range {
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var out []hcl.Range
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		a, ok := n.(*hclsyntax.Attribute)
		if !ok || callsFunction(a.Expr) {
			return nil
		}
		switch a.Name {
		case "password":
			out = append(out, a.Expr.Range())
		case "admin_dsn":
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || v.IsNull() || !v.IsWhollyKnown() || v.Type() != cty.String || libpq.HasPassword(v.AsString()) {
				out = append(out, a.Expr.Range())
			}
		}
		return nil
	})
	return out
}

// MaskSecrets returns src with every secret written in it as a literal (see
// Secret) replaced by asterisks of the same length, for showing spec source
// (diagnostics, diffs) without showing a password. A file that does not parse
// is masked as far as it parses.
func MaskSecrets(src []byte, filename string) []byte {
	f, _ := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if f == nil {
		return append([]byte(nil), src...)
	}
	return maskRanges(src, filename, literalSecretRanges(f))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
