package observe

import (
	"bytes"
	"net/url"
	"sort"
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
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
				secrets = append(secrets, conninfoPasswords(e.Setting)...)
			}
		}
	}
	if s := sn.Server.Setting("primary_conninfo"); s != nil {
		secrets = append(secrets, conninfoPasswords(s.Setting)...)
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

// conninfoPasswords returns the passwords in a libpq connection string:
// the password keyword of a keyword/value string, or the password of a URI
// (in its user info or its query).
func conninfoPasswords(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://") {
		var out []string
		u, err := url.Parse(s)
		if err != nil {
			return nil
		}
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		}
		for k, vs := range u.Query() {
			if k == "password" {
				out = append(out, vs...)
			}
		}
		return out
	}
	var out []string
	for k, v := range conninfoPairs(s) {
		if k == "password" {
			out = append(out, v)
		}
	}
	return out
}

// conninfoPairs splits a keyword/value connection string as libpq's
// conninfo_parse does: keyword = value, the value single-quoted (with \'
// and \\) or up to the next blank (with \ escaping the next character).
func conninfoPairs(s string) func(yield func(k, v string) bool) {
	return func(yield func(k, v string) bool) {
		i := 0
		skip := func() {
			for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
				i++
			}
		}
		for {
			skip()
			if i >= len(s) {
				return
			}
			start := i
			for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' {
				i++
			}
			key := s[start:i]
			skip()
			if i >= len(s) || s[i] != '=' {
				return // not a conninfo libpq accepts
			}
			i++
			skip()
			var v strings.Builder
			if i < len(s) && s[i] == '\'' {
				i++
				for i < len(s) && s[i] != '\'' {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					v.WriteByte(s[i])
					i++
				}
				i++
			} else {
				for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v' {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					v.WriteByte(s[i])
					i++
				}
			}
			if !yield(key, v.String()) {
				return
			}
		}
	}
}
