// Package catalog knows PostgreSQL's configuration parameters for major
// versions 12 to 17: type, unit, context, enum values, range, and the version
// a parameter came or went in. The planner prefers a live server's
// pg_settings; the catalog answers when the server is down or not yet built,
// and lets the spec be validated with no server at all.
//
// PostgreSQL 15 comes from a live server's pg_settings (pg15.tsv, whose
// first line names the minor release; checked against a running server by
// the tests); the other versions are derived from it with the differences
// in versions.go, taken from the release notes and each version's
// postgresql.conf.sample.
package catalog

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pgrepl/pgrepl/internal/suggest"
)

// VarType is pg_settings.vartype.
type VarType string

// The vartypes of pg_settings.
const (
	Bool    VarType = "bool"
	Enum    VarType = "enum"
	Integer VarType = "integer"
	Real    VarType = "real"
	String  VarType = "string"
)

// Context is pg_settings.context: when a change takes effect.
type Context string

// The contexts of pg_settings, from the most to the least restrictive.
const (
	Internal         Context = "internal"   // cannot be changed
	Postmaster       Context = "postmaster" // needs a restart
	Sighup           Context = "sighup"     // a reload
	SuperuserBackend Context = "superuser-backend"
	Backend          Context = "backend"
	Superuser        Context = "superuser"
	User             Context = "user"
)

// NeedsRestart reports whether a change in a config file takes effect only
// after a server restart.
func (c Context) NeedsRestart() bool { return c == Postmaster || c == Internal }

// Oldest and Newest are the major versions the catalog knows.
const (
	Oldest = 12
	Newest = 17
)

// Param describes one parameter in one major version.
type Param struct {
	Name     string // as PostgreSQL spells it (DateStyle, work_mem)
	VarType  VarType
	Unit     string // base unit as pg_settings.unit shows it: "", "B", "kB", "8kB", "MB", "ms", "s", "min"
	Context  Context
	EnumVals []string // visible enum values, as pg_settings.enumvals
	Min, Max float64  // range of integer and real parameters
	HasRange bool
	Since    int // first major version that has it (12 means 12 or older)
	Until    int // last major version that has it; 0: still in Newest

	aliases map[string]string // hidden enum spellings → the value PostgreSQL shows
}

// Supported reports whether the catalog knows major version v.
func Supported(v int) bool { return v >= Oldest && v <= Newest }

// Lookup returns the parameter name (case-insensitive) as major version v
// knows it.
func Lookup(v int, name string) (Param, bool) {
	byVersion := versions()
	ps, ok := byVersion[v]
	if !ok {
		return Param{}, false
	}
	p, ok := ps[strings.ToLower(name)]
	return p, ok
}

// Names returns every parameter name of major version v, sorted.
func Names(v int) []string {
	ps := versions()[v]
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// IsCustom reports whether name is a custom (extension) parameter: PostgreSQL
// accepts any qualified name such as pgaudit.log.
func IsCustom(name string) bool {
	i := strings.IndexByte(name, '.')
	return i > 0 && i < len(name)-1
}

// Suggest returns the known name of version v closest to name, or "" when
// none is close enough to be a plausible typo.
func Suggest(v int, name string) string { return suggest.Closest(name, Names(v)) }

//go:embed pg15.tsv
var pg15TSV string

var (
	versionsOnce sync.Once
	byVersion    map[int]map[string]Param
)

// versions builds the per-version tables once: PostgreSQL 15 from pg15.tsv,
// the others by applying versions.go's differences.
func versions() map[int]map[string]Param {
	versionsOnce.Do(func() {
		base, err := parseTSV(pg15TSV)
		if err != nil {
			// pg15.tsv is embedded and checked by the tests; a broken copy
			// is a build defect, not user input.
			panic(fmt.Sprintf("catalog: embedded pg15.tsv: %v", err))
		}
		byVersion = make(map[int]map[string]Param)
		for v := Oldest; v <= Newest; v++ {
			byVersion[v] = make(map[string]Param, len(base)+16)
		}
		add := func(p Param) {
			p.aliases = enumAliases[strings.ToLower(p.Name)]
			for v := Oldest; v <= Newest; v++ {
				if v < p.Since || (p.Until != 0 && v > p.Until) {
					continue
				}
				q := p
				if o, ok := overrides[overrideKey{strings.ToLower(p.Name), v}]; ok {
					o(&q)
				}
				byVersion[v][strings.ToLower(p.Name)] = q
			}
		}
		for key, p := range base {
			if span, ok := lifespans[key]; ok {
				p.Since, p.Until = span.since, span.until
			}
			add(p)
		}
		for _, p := range notIn15 {
			add(p)
		}
	})
	return byVersion
}

// parseTSV reads pg_settings rows: name, vartype, unit, context, enumvals
// (comma-separated), min_val, max_val. Lines starting with # are comments.
func parseTSV(s string) (map[string]Param, error) {
	out := make(map[string]Param)
	for i, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("line %d: %d fields, want 7", i+1, len(f))
		}
		p := Param{Name: f[0], VarType: VarType(f[1]), Unit: f[2], Context: Context(f[3]), Since: Oldest}
		if f[4] != "" {
			p.EnumVals = splitEnum(f[4])
		}
		if f[5] != "" {
			lo, err1 := strconv.ParseFloat(f[5], 64)
			hi, err2 := strconv.ParseFloat(f[6], 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("line %d: bad range %q .. %q", i+1, f[5], f[6])
			}
			p.Min, p.Max, p.HasRange = lo, hi, true
		}
		out[strings.ToLower(p.Name)] = p
	}
	return out, nil
}

// splitEnum splits pg_settings.enumvals as array_to_string wrote them; the
// empty first value of ssl_max_protocol_version survives as "".
func splitEnum(s string) []string { return strings.Split(s, ",") }
