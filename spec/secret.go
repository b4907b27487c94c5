package spec

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as, everywhere.
const Redacted = "(sensitive value)"

// LiteralRef is the Ref of a secret written as a literal in the spec.
const LiteralRef = "(literal)"

// Secret holds a value that must never be printed, saved or put on a command
// line: the replication password, an admin DSN. Every way of formatting it
// (fmt verbs, JSON, text, slog) yields "(sensitive value)"; Reveal is the
// only way to the plaintext.
//
// A Secret read through env() or file() also knows its reference, the
// expression it came from, so that a saved plan can name it and re-read it.
type Secret struct {
	p *secret
}

type secret struct {
	value string
	ref   string
}

// NewSecret returns a Secret holding value, read through ref (LiteralRef for
// a literal). It is for tests and for packages that build specs by hand.
func NewSecret(value, ref string) Secret {
	return Secret{p: &secret{value: value, ref: ref}}
}

// Reveal returns the plaintext. Only code that must hand the secret to
// PostgreSQL (a SCRAM verifier, a passfile, a connection) may call it.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.value
}

// Ref is how the spec obtains the secret: the expression as written, such as
// `env("PGREPL_REPLICATION_PASSWORD")` or `file("secrets/pw")`, or
// "(literal)" when the value is written in the spec itself. Empty when the
// secret is not set.
func (s Secret) Ref() string {
	if s.p == nil {
		return ""
	}
	return s.p.ref
}

// IsSet reports whether the spec gives the secret.
func (s Secret) IsSet() bool { return s.p != nil }

// IsLiteral reports whether the secret is written in the spec itself (and so
// is in the spec's source, its history, and anything that embeds it).
func (s Secret) IsLiteral() bool { return s.p != nil && s.p.ref == LiteralRef }

// Equal reports whether two secrets hold the same plaintext.
func (s Secret) Equal(o Secret) bool {
	return s.IsSet() == o.IsSet() && s.Reveal() == o.Reveal()
}

func (s Secret) String() string {
	if s.p == nil {
		return "(not set)"
	}
	return Redacted
}

// GoString keeps %#v from showing the plaintext.
func (s Secret) GoString() string { return "spec.Secret(" + s.String() + ")" }

// Format keeps every fmt verb (%v, %+v, %s, %q, %x, …) on the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		if verb == 'v' && f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.String())
	}
}

// MarshalText keeps encoders that use text (JSON map keys, YAML, …) on the
// redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON writes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue keeps log/slog on the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
