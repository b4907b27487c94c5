package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
)

// ValueError is a value PostgreSQL would refuse for a parameter, worded as
// PostgreSQL words it (parse_and_validate_value in guc.c), with its hint.
type ValueError struct {
	Msg  string
	Hint string
}

func (e *ValueError) Error() string { return e.Msg }

// Normalize checks raw (a value as written in postgresql.conf, unquoted) and
// returns it in the form pg_settings.setting shows: integers in the base unit,
// reals as %g, Booleans as on/off, enums lowercased with hidden spellings
// resolved, strings unchanged.
func (p Param) Normalize(raw string) (string, error) {
	switch p.VarType {
	case Bool:
		b, ok := confparse.ParseBool(raw)
		if !ok {
			return "", &ValueError{Msg: fmt.Sprintf("parameter %q requires a Boolean value", p.Name)}
		}
		if b {
			return "on", nil
		}
		return "off", nil
	case Integer:
		n, err := p.Int(raw)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(n, 10), nil
	case Real:
		f, err := p.Float(raw)
		if err != nil {
			return "", err
		}
		return confparse.FormatReal(f), nil
	case Enum:
		return p.normalizeEnum(raw)
	}
	return raw, nil
}

// Check reports whether PostgreSQL would accept raw for p.
func (p Param) Check(raw string) error {
	_, err := p.Normalize(raw)
	return err
}

// Equal reports whether a and b mean the same value for p. Values that do not
// parse compare as plain strings.
func (p Param) Equal(a, b string) bool {
	na, errA := p.Normalize(a)
	nb, errB := p.Normalize(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return na == nb
}

// Int parses an integer parameter's value into its base unit and checks its
// range.
func (p Param) Int(raw string) (int64, error) {
	n, err := confparse.ParseInt(raw, p.Unit)
	if err != nil {
		return 0, p.numberError(raw, err)
	}
	if p.HasRange && (float64(n) < p.Min || float64(n) > p.Max) {
		return 0, &ValueError{Msg: fmt.Sprintf("%d%s is outside the valid range for parameter %q (%d .. %d)",
			n, p.unitSuffix(), p.Name, int64(p.Min), int64(p.Max))}
	}
	return n, nil
}

// Float parses a real parameter's value into its base unit and checks its
// range.
func (p Param) Float(raw string) (float64, error) {
	f, err := confparse.ParseReal(raw, p.Unit)
	if err != nil {
		return 0, p.numberError(raw, err)
	}
	if p.HasRange && (f < p.Min || f > p.Max) {
		return 0, &ValueError{Msg: fmt.Sprintf("%s%s is outside the valid range for parameter %q (%s .. %s)",
			confparse.FormatReal(f), p.unitSuffix(), p.Name, confparse.FormatReal(p.Min), confparse.FormatReal(p.Max))}
	}
	return f, nil
}

func (p Param) unitSuffix() string {
	if p.Unit == "" {
		return ""
	}
	return " " + p.Unit
}

func (p Param) numberError(raw string, err error) error {
	e := &ValueError{Msg: fmt.Sprintf("invalid value for parameter %q: %q", p.Name, raw)}
	var ne confparse.NumberError
	if errors.As(err, &ne) {
		switch ne {
		case confparse.BadUnit:
			e.Hint = confparse.UnitsHint(p.Unit)
		case confparse.OutOfIntRange:
			e.Hint = "Value exceeds integer range."
		}
	}
	return e
}

func (p Param) normalizeEnum(raw string) (string, error) {
	// Aliases first: wal_compression's visible "on" shows as "pglz".
	if v, ok := p.aliases[strings.ToLower(raw)]; ok {
		return v, nil
	}
	for _, v := range p.EnumVals {
		if strings.EqualFold(v, raw) {
			return v, nil
		}
	}
	return "", &ValueError{
		Msg:  fmt.Sprintf("invalid value for parameter %q: %q", p.Name, raw),
		Hint: "Available values: " + strings.Join(p.EnumVals, ", ") + ".",
	}
}

// EnumIndex returns the position of value among p's visible enum values, for
// parameters whose values are ordered (wal_level: minimal < replica <
// logical), or -1.
func (p Param) EnumIndex(value string) int {
	n, err := p.normalizeEnum(value)
	if err != nil {
		return -1
	}
	return slices.Index(p.EnumVals, n)
}
