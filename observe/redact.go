package observe

import (
	"bytes"
	"sort"
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// redact keeps secrets out of the State. A State is printed by "pgrepl
// state" and saved as a test snapshot, so it must hold no password, yet a
// hand-built standby often has one in primary_conninfo (pg_basebackup -R
// writes it there). Every password found in a primary_conninfo (in the
// config files or in pg_settings), and the spec's replication password, is
// replaced by spec.Redacted wherever it appears in a file's content or a
// setting's value. A file so changed is marked Redacted: its SHA256 is still
// that of the real bytes, and its Content must not be written back.
func redact(sn *state.Node, c *spec.Cluster, cfg *confparse.Config) {
	var secrets []string
	if pw := c.Replication.Password; pw.IsSet() && pw.Reveal() != "" {
		secrets = append(secrets, pw.Reveal())
	}
	if cfg != nil {
		for _, e := range cfg.Entries() {
			if strings.EqualFold(e.Name, "primary_conninfo") {
				secrets = append(secrets, libpq.Passwords(e.Setting)...)
			}
		}
	}
	if s := sn.Server.Setting("primary_conninfo"); s != nil {
		secrets = append(secrets, libpq.Passwords(s.Setting)...)
	}
	if len(secrets) == 0 {
		return
	}
	secrets = withQuotedForms(secrets)
	for _, f := range sn.Files {
		if len(f.Content) == 0 {
			continue
		}
		if b, changed := mask(f.Content, secrets); changed {
			f.Content, f.Redacted = b, true
		}
	}
	for i := range sn.Server.Settings {
		st := &sn.Server.Settings[i]
		if b, changed := mask([]byte(st.Setting), secrets); changed {
			st.Setting = string(b)
		}
	}
}

// withQuotedForms adds the forms a secret takes when written inside quotes:
// in a conninfo value (\' and \\), and, for both, in a postgresql.conf
// value (' doubled or written \', \ doubled; ALTER SYSTEM and
// confparse.QuoteValue double both). Longest first, so that a longer form
// is masked before a part of it.
func withQuotedForms(secrets []string) []string {
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

func mask(b []byte, secrets []string) ([]byte, bool) {
	changed := false
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte(spec.Redacted))
			changed = true
		}
	}
	return b, changed
}
