package confparse

import (
	"math"
	"strconv"
	"strings"
)

// This file holds the value semantics of PostgreSQL's GUC machinery
// (parse_bool, parse_int, parse_real and convert_to_base_unit in guc.c), so
// that '128MB' and 131072kB compare equal, and on, true, yes and 1 do too.
// Callers that know a parameter's type and unit (package catalog) build on it.

// ParseBool parses a boolean as PostgreSQL's parse_bool does: any
// case-insensitive prefix of true, false, yes, no; on and off (at least two
// letters: "of" is off); and 1 and 0. Surrounding whitespace is not allowed.
func ParseBool(s string) (value, ok bool) {
	n := len(s)
	if n == 0 {
		return false, false
	}
	prefix := func(word string) bool {
		return n <= len(word) && strings.EqualFold(s, word[:n])
	}
	switch s[0] {
	case 't', 'T':
		return true, prefix("true")
	case 'f', 'F':
		return false, prefix("false")
	case 'y', 'Y':
		return true, prefix("yes")
	case 'n', 'N':
		return false, prefix("no")
	case 'o', 'O':
		// pg_strncasecmp(value, "on", max(len, 2)): "o" alone is ambiguous.
		if n < 2 {
			return false, false
		}
		if strings.EqualFold(s, "on") {
			return true, true
		}
		return false, prefix("off")
	case '1':
		return true, n == 1
	case '0':
		return false, n == 1
	}
	return false, false
}

// unitEntry is one row of guc.c's memory or time unit tables: how many base
// units one unit is.
type unitEntry struct {
	unit       string
	baseUnit   string
	multiplier float64
}

// The tables are ordered as guc.c orders them (largest unit first for each
// base unit), which convert_to_base_unit relies on to round fractions to
// the next smaller unit.
var memoryUnits = []unitEntry{
	{"TB", "B", 1024.0 * 1024.0 * 1024.0 * 1024.0},
	{"GB", "B", 1024.0 * 1024.0 * 1024.0},
	{"MB", "B", 1024.0 * 1024.0},
	{"kB", "B", 1024.0},
	{"B", "B", 1.0},

	{"TB", "kB", 1024.0 * 1024.0 * 1024.0},
	{"GB", "kB", 1024.0 * 1024.0},
	{"MB", "kB", 1024.0},
	{"kB", "kB", 1.0},
	{"B", "kB", 1.0 / 1024.0},

	{"TB", "MB", 1024.0 * 1024.0},
	{"GB", "MB", 1024.0},
	{"MB", "MB", 1.0},
	{"kB", "MB", 1.0 / 1024.0},
	{"B", "MB", 1.0 / (1024.0 * 1024.0)},

	{"TB", "8kB", (1024.0 * 1024.0 * 1024.0) / 8},
	{"GB", "8kB", (1024.0 * 1024.0) / 8},
	{"MB", "8kB", 1024.0 / 8},
	{"kB", "8kB", 1.0 / 8},
	{"B", "8kB", 1.0 / (8 * 1024.0)},
}

var timeUnits = []unitEntry{
	{"d", "ms", 1000 * 60 * 60 * 24},
	{"h", "ms", 1000 * 60 * 60},
	{"min", "ms", 1000 * 60},
	{"s", "ms", 1000},
	{"ms", "ms", 1},
	{"us", "ms", 1.0 / 1000},

	{"d", "s", 60 * 60 * 24},
	{"h", "s", 60 * 60},
	{"min", "s", 60},
	{"s", "s", 1},
	{"ms", "s", 1.0 / 1000},
	{"us", "s", 1.0 / (1000 * 1000)},

	{"d", "min", 60 * 24},
	{"h", "min", 60},
	{"min", "min", 1},
	{"s", "min", 1.0 / 60},
	{"ms", "min", 1.0 / (1000 * 60)},
	{"us", "min", 1.0 / (1000 * 1000 * 60)},
}

// IsMemoryUnit reports whether base is one of PostgreSQL's memory base units
// as pg_settings.unit shows them ("B", "kB", "MB", "8kB").
func IsMemoryUnit(base string) bool {
	switch base {
	case "B", "kB", "MB", "8kB":
		return true
	}
	return false
}

// IsTimeUnit reports whether base is a time base unit ("ms", "s", "min").
func IsTimeUnit(base string) bool {
	switch base {
	case "ms", "s", "min":
		return true
	}
	return false
}

// UnitsHint is PostgreSQL's hint listing the units a parameter with the given
// base unit accepts, or "" when it takes none.
func UnitsHint(base string) string {
	switch {
	case IsMemoryUnit(base):
		return `Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".`
	case IsTimeUnit(base):
		return `Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".`
	}
	return ""
}

// toBaseUnit converts value given in unit to base, as convert_to_base_unit
// does: unit must match exactly (units are case-sensitive) and may be
// followed only by whitespace; a fraction is rounded to a multiple of the next
// smaller unit.
func toBaseUnit(value float64, unit, base string) (float64, bool) {
	unit = strings.TrimRight(unit, " \t\n\r\f\v")
	table := timeUnits
	if IsMemoryUnit(base) {
		table = memoryUnits
	}
	for i, e := range table {
		if e.baseUnit != base || e.unit != unit {
			continue
		}
		v := value * e.multiplier
		if v != math.RoundToEven(v) && i+1 < len(table) && table[i+1].baseUnit == base {
			next := table[i+1].multiplier
			v = math.RoundToEven(v/next) * next
		}
		return v, true
	}
	return 0, false
}

// NumberError says why a numeric value was refused; the catalog turns it into
// PostgreSQL's message for the parameter.
type NumberError int

const (
	// BadSyntax: not a number (PostgreSQL: invalid value … / requires a numeric value).
	BadSyntax NumberError = iota + 1
	// BadUnit: a unit the parameter does not take, or garbage after the number.
	BadUnit
	// OutOfIntRange: the value does not fit PostgreSQL's int.
	OutOfIntRange
)

func (e NumberError) Error() string {
	switch e {
	case BadSyntax:
		return "invalid number"
	case BadUnit:
		return "invalid unit"
	case OutOfIntRange:
		return "value exceeds integer range"
	}
	return "invalid value"
}

// ParseInt parses an integer parameter value as parse_int does: decimal, hex
// (0x1F) or octal (017) via strtol; a value that stops at '.', 'e' or 'E' is
// re-read as a real (1.5GB); optional whitespace, then a unit converted to
// base (only when base is not ""); rounded half to even as rint does.
func ParseInt(s, base string) (int64, error) {
	v, rest, ok := parseIntPrefix(s)
	if !ok {
		return 0, BadSyntax
	}
	v, err := withUnit(v, rest, base)
	if err != nil {
		return 0, err
	}
	v = math.RoundToEven(v)
	if v > math.MaxInt32 || v < math.MinInt32 {
		return 0, OutOfIntRange
	}
	return int64(v), nil
}

// parseIntPrefix reads the longest number prefix of s the way strtol(…, 0)
// and, when that stops at '.', 'e' or 'E' or overflows, strtod do.
func parseIntPrefix(s string) (float64, string, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digitsStart := i
	radix := 10
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && isHexDigit(s[i+2]) {
		radix = 16
		i += 2
		digitsStart = i
	} else if i < len(s) && s[i] == '0' {
		radix = 8
	}
	for i < len(s) && digitIn(s[i], radix) {
		i++
	}
	if i == digitsStart {
		// strtol found no digits: endptr == value, unless a real follows.
		if i < len(s) && s[i] == '.' {
			return parseFloatPrefix(s)
		}
		return 0, s, false
	}
	if i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
		return parseFloatPrefix(s)
	}
	text := s[start:i]
	n, err := strconv.ParseInt(text, 0, 64)
	if radix == 8 {
		n, err = strconv.ParseInt(strings.TrimLeft(text, "+-"), 8, 64)
		if strings.HasPrefix(text, "-") {
			n = -n
		}
	}
	if err != nil {
		// strtol's ERANGE: PostgreSQL re-reads as a real and then reports
		// the range error, which the caller does too.
		return parseFloatPrefix(s)
	}
	return float64(n), s[i:], true
}

// withUnit converts v, followed by rest, to the base unit: rest may be
// whitespace, or whitespace and a unit when the parameter has a base unit.
func withUnit(v float64, rest, base string) (float64, error) {
	rest = strings.TrimLeft(rest, " \t\n\r\f\v")
	if rest == "" {
		return v, nil
	}
	if base == "" {
		return 0, BadUnit
	}
	v, ok := toBaseUnit(v, rest, base)
	if !ok {
		return 0, BadUnit
	}
	return v, nil
}

// ParseReal parses a real parameter value as parse_real does: strtod, NaN
// refused, optional whitespace, then a unit converted to base.
func ParseReal(s, base string) (float64, error) {
	v, rest, ok := parseFloatPrefix(s)
	if !ok || math.IsNaN(v) {
		return 0, BadSyntax
	}
	v, err := withUnit(v, rest, base)
	if err != nil {
		return 0, err
	}
	return v, nil
}

// parseFloatPrefix reads the longest prefix strtod accepts: optional space and
// sign, then decimal digits with an optional point and exponent, a hex float,
// or inf/infinity/nan.
func parseFloatPrefix(s string) (float64, string, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	lower := strings.ToLower(s[i:])
	for _, word := range []string{"infinity", "inf", "nan"} {
		if strings.HasPrefix(lower, word) {
			end := i + len(word)
			v, err := strconv.ParseFloat(s[start:end], 64)
			if err != nil {
				return 0, s, false
			}
			return v, s[end:], true
		}
	}
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		j := i + 2
		for j < len(s) && isHexDigit(s[j]) {
			j++
		}
		if j > i+2 {
			v, err := strconv.ParseInt(s[i+2:j], 16, 64)
			if err == nil {
				f := float64(v)
				if s[start] == '-' {
					f = -f
				}
				return f, s[j:], true
			}
		}
	}
	mant := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i == mant || (i == mant+1 && s[mant] == '.') {
		return 0, s, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	v, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		// Overflow: strtod returns HUGE_VAL with ERANGE, which PostgreSQL
		// refuses.
		return 0, s, false
	}
	return v, s[i:], true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func digitIn(c byte, radix int) bool {
	switch radix {
	case 8:
		return '0' <= c && c <= '7'
	case 16:
		return isHexDigit(c)
	}
	return isDigit(c)
}

// FormatReal formats a real the way PostgreSQL shows it in pg_settings
// (printf's %g: six significant digits, trailing zeros dropped).
func FormatReal(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
