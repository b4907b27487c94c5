package observe

import (
	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/internal/redact"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// redactNode keeps secrets out of the State. A State is printed by "pgrepl
// state" and saved as a test snapshot, so it must hold no password, yet a
// hand-built standby often has one in primary_conninfo (pg_basebackup -R
// writes it there). Every password found in a primary_conninfo (in the
// config files or in pg_settings), and the spec's replication password, is
// replaced by spec.Redacted wherever it appears in a file's content or a
// setting's value. A file so changed is marked Redacted: its SHA256 is still
// that of the real bytes, and its Content must not be written back.
func redactNode(sn *state.Node, c *spec.Cluster, cfg *confparse.Config) {
	var secrets []string
	if pw := c.Replication.Password; pw.IsSet() && pw.Reveal() != "" {
		secrets = append(secrets, pw.Reveal())
	}
	secrets = append(secrets, redact.ConfPasswords(cfg)...)
	if s := sn.Server.Setting("primary_conninfo"); s != nil {
		secrets = append(secrets, libpq.Passwords(s.Setting)...)
	}
	if len(secrets) == 0 {
		return
	}
	secrets = redact.Forms(secrets)
	for _, f := range sn.Files {
		if len(f.Content) == 0 {
			continue
		}
		if b, changed := redact.Bytes(f.Content, secrets); changed {
			f.Content, f.Redacted = b, true
		}
	}
	for i := range sn.Server.Settings {
		st := &sn.Server.Settings[i]
		if b, changed := redact.Bytes([]byte(st.Setting), secrets); changed {
			st.Setting = string(b)
		}
	}
}
