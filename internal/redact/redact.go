// Package redact finds the passwords a PostgreSQL configuration holds and
// masks them in file contents. The observer keeps them out of a State with
// it, and apply out of the backups it leaves beside the files it edits.
package redact

import (
	"bytes"
	"sort"
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/spec"
)

// Mask is what a password is replaced with.
const Mask = spec.Redacted

// ConfPasswords returns the passwords of every primary_conninfo that cfg
// sets (overridden lines included: they are in the files too).
func ConfPasswords(cfg *confparse.Config) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, e := range cfg.Entries() {
		if strings.EqualFold(e.Name, "primary_conninfo") {
			out = append(out, libpq.Passwords(e.Setting)...)
		}
	}
	return out
}

// Forms adds the forms a secret takes when written inside quotes: in a
// conninfo value (\' and \\), and, for both, in a postgresql.conf value
// (' doubled or written \', \ doubled; ALTER SYSTEM and
// confparse.QuoteValue double both). Longest first, so that a longer form
// is masked before a part of it. Empty secrets are dropped.
func Forms(secrets []string) []string {
	var (
		conninfo  = strings.NewReplacer(`\`, `\\`, `'`, `\'`)
		conf      = strings.NewReplacer(`\`, `\\`, `'`, `''`)
		confQuote = strings.NewReplacer(`'`, `''`)
	)
	seen := map[string]bool{}
	var out []string
	for _, s := range secrets {
		for _, v := range []string{s, conninfo.Replace(s)} {
			for _, f := range []string{v, conf.Replace(v), conninfo.Replace(v), confQuote.Replace(v)} {
				if f != "" && !seen[f] {
					seen[f] = true
					out = append(out, f)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Bytes replaces every one of forms (from Forms) in b by Mask, and reports
// whether it replaced any. b itself is not changed.
func Bytes(b []byte, forms []string) ([]byte, bool) {
	changed := false
	for _, s := range forms {
		if bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte(Mask))
			changed = true
		}
	}
	return b, changed
}
