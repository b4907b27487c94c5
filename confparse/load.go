package confparse

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// Reader is how confparse reads files; observe passes a host transport, tests pass os.
type Reader interface {
	// ReadFile returns a file's contents. A missing file is an error for
	// which errors.Is(err, fs.ErrNotExist) holds; reading a directory
	// should fail with an error that wraps syscall.EISDIR, as os.ReadFile's
	// does.
	ReadFile(path string) ([]byte, error)
	// ReadDir returns the names of a directory's entries that are not
	// directories themselves (following symbolic links), in any order.
	// PostgreSQL's include_dir skips subdirectories.
	ReadDir(path string) ([]string, error)
}

// OSReader reads the local file system.
type OSReader struct{}

// ReadFile reads the named file.
func (OSReader) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// ReadDir lists the named directory's entries that are not directories,
// following symbolic links. An entry whose target cannot be examined is
// listed, so that reading it reports the problem.
func (OSReader) ReadDir(name string) ([]string, error) {
	ents, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(path.Join(name, e.Name())); err == nil {
				isDir = st.IsDir()
			}
		}
		if !isDir {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// maxDepth is PostgreSQL's limit on include nesting: the top file is depth
// 0, and a file at depth 11 is refused.
const maxDepth = 10

// Entry is one row of the pg_file_settings view.
type Entry struct {
	SourceFile string // absolute path of the file; "" only for an error that has no file
	SourceLine int    // line in SourceFile; 0 when SourceFile is ""
	SeqNo      int    // 1-based position among all rows, error rows included
	Name       string // as written in the file (PostgreSQL keeps its case); "" on an error row
	Setting    string // the value as PostgreSQL stores it: unquoted, unescaped
	// Applied is false when a later entry has exactly the same name, and on
	// every row of a rejected configuration. PostgreSQL compares names
	// byte for byte here, so work_mem followed by Work_Mem leaves both
	// applied (the later one still takes effect; see Config.Lookup).
	Applied bool
	Error   string // the view's error column: "" when none
}

// FileError is a file or directory PostgreSQL cannot read or refuses to
// include. Its Error text is PostgreSQL's log message followed by the
// directive that asked for it.
type FileError struct {
	File string // the file holding the directive, as pg_file_settings reports it ("" for the top file)
	Line int    // the directive's line in File
	// Directive is the include directive at File:Line; DirectiveNone for
	// the top config file, postgresql.auto.conf, and a file that could be
	// opened but not read (then File is that file and Line 1).
	Directive Directive
	Msg       string // PostgreSQL's log message
	Detail    string // the error column of pg_file_settings
	Err       error  // the underlying I/O error, if any
}

func (e *FileError) Error() string {
	if e.Directive == DirectiveNone || e.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s (%s in file \"%s\" line %d)", e.Msg, e.Directive, e.File, e.Line)
}

func (e *FileError) Unwrap() error { return e.Err }

// LoadError is a configuration PostgreSQL rejects: the errors it reports
// (*SyntaxError, *FileError), in order.
type LoadError struct {
	// ConfigFile is the file PostgreSQL names in its closing message: the
	// top config file, or "postgresql.auto.conf" when only that one failed.
	ConfigFile string
	Errors     []error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	for _, err := range e.Errors {
		b.WriteString(err.Error())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "configuration file \"%s\" contains errors", e.ConfigFile)
	return b.String()
}

func (e *LoadError) Unwrap() []error { return e.Errors }

// Config is what PostgreSQL reads for one server: a top config file, the
// files it includes, and postgresql.auto.conf from the data directory.
type Config struct {
	configFile string
	dataDir    string
	files      []*File
	entries    []Entry
	autoStart  int // index in entries of the first one read from postgresql.auto.conf
	err        *LoadError

	// What Load read, so that the Config can be evaluated again after an
	// edit without reading anything.
	parsed    *ParseCache // nil: each file is parsed
	fileCache map[string]*File
	readErrs  map[string]error
	dirs      map[string][]string
	dirErrs   map[string]error
}

// Load reads configFile (an absolute path) the way PostgreSQL's
// ProcessConfigFile does: every line in order, include, include_if_exists
// and include_dir as they come (relative paths against the including file's
// directory; include_dir takes the directory's *.conf files, not those whose
// name starts with a dot, in byte order), nesting at most 10 levels deep;
// then, when dataDir is not "", dataDir/postgresql.auto.conf if it exists
// (it is not read when the top file has errors).
//
// When PostgreSQL would reject the configuration, Load returns the Config
// with what was read (its entries include the error rows pg_file_settings
// shows) and a *LoadError. As in pg_file_settings, a file is read only up to
// its first syntax error, and an include_dir stops at its first failing file.
// Errors that only a server can detect (an unknown setting name, a bad
// value) are not errors here.
func Load(r Reader, configFile, dataDir string) (*Config, error) {
	return LoadCached(r, configFile, dataDir, nil)
}

// LoadCached is Load, parsing through cache: a file whose bytes cache has
// seen is copied from there instead of parsed again. A nil cache parses
// every file.
func LoadCached(r Reader, configFile, dataDir string, cache *ParseCache) (*Config, error) {
	if !path.IsAbs(configFile) {
		return nil, fmt.Errorf("load configuration: %q is not an absolute path", configFile)
	}
	c := &Config{
		configFile: path.Clean(configFile),
		dataDir:    dataDir,
		parsed:     cache,
		fileCache:  map[string]*File{},
		readErrs:   map[string]error{},
		dirs:       map[string][]string{},
		dirErrs:    map[string]error{},
	}
	c.eval(r)
	if c.err != nil {
		return c, c.err
	}
	return c, nil
}

// confLoader is one pass over the configuration, as ProcessConfigFileInternal
// makes it.
type confLoader struct {
	c       *Config
	r       Reader // nil when evaluating from what was read before
	files   []*File
	listed  map[*File]bool
	entries []Entry
	errs    []error
}

// eval walks the configuration and sets c's files, entries and error.
func (c *Config) eval(r Reader) {
	// The entries of the last walk are garbage from here on (callers get
	// copies): their array takes the new ones.
	ld := &confLoader{c: c, r: r, listed: map[*File]bool{}, entries: c.entries[:0]}
	withErr := ""
	autoStart := -1
	if !ld.parseFile(c.configFile, true, "", 0, 0) {
		withErr = c.configFile
	} else if c.dataDir != "" {
		autoStart = len(ld.entries)
		if !ld.parseFile(AutoConfName, false, "", 0, 0) {
			withErr = AutoConfName
		}
	}
	if autoStart < 0 {
		autoStart = len(ld.entries)
	}
	c.files, c.entries, c.autoStart, c.err = ld.files, ld.entries, autoStart, nil
	if withErr != "" {
		c.err = &LoadError{ConfigFile: withErr, Errors: ld.errs}
	}
	last := make(map[string]int, len(c.entries)) // exact name → index of its last entry
	for i, e := range c.entries {
		if e.Error == "" {
			last[e.Name] = i
		}
	}
	for i := range c.entries {
		e := &c.entries[i]
		e.SeqNo = i + 1
		// PostgreSQL marks an entry ignorable when a later one has the very
		// same name (strcmp), and applies nothing when there are errors.
		e.Applied = withErr == "" && e.Error == "" && last[e.Name] == i
	}
}

// fail records an error and its row in the view.
func (ld *confLoader) fail(file string, line int, err error, detail string) {
	ld.errs = append(ld.errs, err)
	ld.entries = append(ld.entries, Entry{SourceFile: file, SourceLine: line, Error: detail})
}

// failFile records a *FileError.
func (ld *confLoader) failFile(file string, line int, dir Directive, detail string, ioErr error, format string, args ...any) {
	ld.fail(file, line, &FileError{
		File: file, Line: line, Directive: dir,
		Msg: fmt.Sprintf(format, args...), Detail: detail, Err: ioErr,
	}, detail)
}

// isBlank reports whether s holds only blanks, as PostgreSQL tests an
// include target with strspn(s, " \t\r\n").
func confIsBlank(s string) bool { return strings.Trim(s, " \t\r\n") == "" }

// location makes an include target absolute as AbsoluteConfigLocation
// does: an absolute path is kept as written; a relative one is joined to
// the calling file's directory (or the data directory) and canonicalized.
func (c *Config) location(loc, callingFile string) string {
	if path.IsAbs(loc) {
		return loc
	}
	if callingFile != "" {
		return path.Join(path.Dir(callingFile), loc)
	}
	return path.Join(c.dataDir, loc)
}

// parseFile follows ParseConfigFile: strict is false for include_if_exists
// and postgresql.auto.conf, whose absence is not an error. It reports
// whether the file and everything it includes were read without error.
func (ld *confLoader) parseFile(name string, strict bool, callingFile string, callingLine, depth int) bool {
	dir := DirectiveNone
	if callingFile != "" {
		dir = DirectiveInclude
		if !strict {
			dir = DirectiveIncludeIfExists
		}
	}
	return ld.parseFileFrom(name, strict, callingFile, callingLine, depth, dir)
}

func (ld *confLoader) parseFileFrom(name string, strict bool, callingFile string, callingLine, depth int, dir Directive) bool {
	if confIsBlank(name) {
		ld.failFile(callingFile, callingLine, dir, "empty configuration file name", nil,
			"empty configuration file name: \"%s\"", name)
		return false
	}
	if depth > maxDepth {
		ld.failFile(callingFile, callingLine, dir, "nesting depth exceeded", nil,
			"could not open configuration file \"%s\": maximum nesting depth exceeded", name)
		return false
	}
	abs := ld.c.location(name, callingFile)
	if callingFile != "" && abs == callingFile {
		ld.failFile(callingFile, callingLine, dir, "configuration file recursion", nil,
			"configuration file recursion in \"%s\"", callingFile)
		return false
	}
	f, err := ld.read(abs)
	if err != nil {
		if errors.Is(err, syscall.EISDIR) {
			// fopen() succeeds on a directory; flex then fails to read it.
			ld.failFile(abs, 1, DirectiveNone, "input in flex scanner failed", err,
				"input in flex scanner failed at file \"%s\" line 1", abs)
			return false
		}
		if !strict && errors.Is(err, fs.ErrNotExist) {
			return true // PostgreSQL logs "skipping missing configuration file"
		}
		ld.failFile(callingFile, callingLine, dir, fmt.Sprintf("could not open file \"%s\"", abs), err,
			"could not open configuration file \"%s\": %s", abs, strerror(err))
		return false
	}
	return ld.parseFp(f, depth)
}

// parseFp follows ParseConfigFp over a parsed file.
func (ld *confLoader) parseFp(f *File, depth int) bool {
	if !ld.listed[f] {
		ld.listed[f] = true
		ld.files = append(ld.files, f)
	}
	recs, invalid := f.records()
	ld.entries = slices.Grow(ld.entries, len(recs))
	ok := true
	for _, r := range recs {
		switch r.dir {
		case DirectiveIncludeDir:
			ok = ld.parseDir(r.value, f.path, r.line, depth+1) && ok
		case DirectiveIncludeIfExists:
			ok = ld.parseFile(r.value, false, f.path, r.line, depth+1) && ok
		case DirectiveInclude:
			ok = ld.parseFile(r.value, true, f.path, r.line, depth+1) && ok
		default:
			ld.entries = append(ld.entries, Entry{SourceFile: f.path, SourceLine: r.line, Name: r.name, Setting: r.value})
		}
	}
	if invalid {
		// pg_file_settings reads with a debug elevel, at which
		// ParseConfigFp abandons a file at its first syntax error.
		ld.fail(f.path, f.err.Line, f.err, "syntax error")
		return false
	}
	return ok
}

// parseDir follows ParseConfigDirectory.
func (ld *confLoader) parseDir(name, callingFile string, callingLine, depth int) bool {
	if confIsBlank(name) {
		ld.failFile(callingFile, callingLine, DirectiveIncludeDir, "empty configuration directory name", nil,
			"empty configuration directory name: \"%s\"", name)
		return false
	}
	dir := ld.c.location(name, callingFile)
	names, err := ld.readDir(dir)
	if err != nil {
		ld.failFile(callingFile, callingLine, DirectiveIncludeDir, fmt.Sprintf("could not open directory \"%s\"", dir), err,
			"could not open configuration directory \"%s\": %s", dir, strerror(err))
		return false
	}
	for _, n := range includeDirFiles(names) {
		if !ld.parseFileFrom(path.Join(dir, n), true, callingFile, callingLine, depth, DirectiveIncludeDir) {
			return false
		}
	}
	return true
}

// includeDirFiles picks the files include_dir reads from a directory's
// entries, in postgresql.conf and pg_hba.conf alike (IncludeDirTakes), in
// strcmp order.
func includeDirFiles(names []string) []string {
	var confs []string
	for _, n := range names {
		if IncludeDirTakes(n) {
			confs = append(confs, n)
		}
	}
	sort.Strings(confs)
	return confs
}

// IncludeDirTakes reports whether include_dir reads a directory entry of
// that name: one ending in ".conf" that does not start with a dot. A
// Reader's ReadDir need only look closer at those.
func IncludeDirTakes(name string) bool {
	return !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".conf")
}

// read returns the parsed file at abs, reading it through the Reader the
// first time and from the Config's cache after.
func (ld *confLoader) read(abs string) (*File, error) {
	c := ld.c
	if f, ok := c.fileCache[abs]; ok {
		return f, nil
	}
	if err, ok := c.readErrs[abs]; ok {
		return nil, err
	}
	if ld.r == nil {
		return nil, fmt.Errorf("read %s: %w", abs, fs.ErrNotExist)
	}
	src, err := ld.r.ReadFile(abs)
	if err != nil {
		c.readErrs[abs] = err
		return nil, err
	}
	f := c.parsed.parse(abs, src) // a syntax error is kept in f
	if f == nil {
		err := fmt.Errorf("read %s: file too large", abs)
		c.readErrs[abs] = err
		return nil, err
	}
	c.fileCache[abs] = f
	return f, nil
}

// readDir lists a directory through the Reader once.
func (ld *confLoader) readDir(dir string) ([]string, error) {
	c := ld.c
	if names, ok := c.dirs[dir]; ok {
		return names, nil
	}
	if err, ok := c.dirErrs[dir]; ok {
		return nil, err
	}
	if ld.r == nil {
		return nil, fmt.Errorf("list %s: %w", dir, fs.ErrNotExist)
	}
	names, err := ld.r.ReadDir(dir)
	if err != nil {
		c.dirErrs[dir] = err
		return nil, err
	}
	c.dirs[dir] = names
	return names, nil
}

// strerror renders an I/O error as PostgreSQL's %m does (C's strerror),
// for postgresql.conf and pg_hba.conf alike.
func strerror(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		s := errno.Error()
		if s != "" && 'a' <= s[0] && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	}
	return err.Error()
}

// ConfigFile returns the top config file's path.
func (c *Config) ConfigFile() string { return c.configFile }

// DataDir returns the data directory postgresql.auto.conf was looked for in
// ("" when it was not).
func (c *Config) DataDir() string { return c.dataDir }

// Err returns the *LoadError when PostgreSQL would reject the configuration.
func (c *Config) Err() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// Entries returns the rows pg_file_settings would show, in its order.
func (c *Config) Entries() []Entry { return append([]Entry(nil), c.entries...) }

// Lookup returns the entry that takes effect for name: the last one whose
// name matches, ignoring ASCII case as PostgreSQL does when it applies them.
func (c *Config) Lookup(name string) (Entry, bool) {
	for i := len(c.entries) - 1; i >= 0; i-- {
		if e := c.entries[i]; e.Error == "" && nameEqual(e.Name, name) {
			return e, true
		}
	}
	return Entry{}, false
}

// DataDirectory returns the data_directory setting PostgreSQL would take
// from the config files at startup, before it knows the data directory: the
// last entry named exactly "data_directory" (this first pass compares the
// name case-sensitively) outside postgresql.auto.conf. The server then reads
// postgresql.auto.conf from there.
func (c *Config) DataDirectory() (string, bool) {
	for i := c.autoStart - 1; i >= 0; i-- {
		if e := c.entries[i]; e.Error == "" && e.Name == "data_directory" {
			return e.Setting, true
		}
	}
	return "", false
}

// Files returns every file read, each once, in the order first read.
func (c *Config) Files() []*File { return append([]*File(nil), c.files...) }

// File returns the file read at path, or nil.
func (c *Config) File(path string) *File {
	for _, f := range c.files {
		if f.path == path {
			return f
		}
	}
	return nil
}
