package spec

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/pgrepl/pgrepl/catalog"
	"github.com/zclconf/go-cty/cty"
)

// derivedSettings are pgrepl's alone: a user value is an error saying where
// the value comes from instead.
var derivedSettings = map[string]string{
	"primary_conninfo":          "pgrepl derives it for each standby from the primary's host and port, replication.user, the standby's name (its application_name) and a password file that pgrepl writes.",
	"primary_slot_name":         "pgrepl derives it from the standby's slot; set slot = \"…\" on the standby to choose the name.",
	"synchronous_standby_names": "pgrepl derives it from replication.synchronous; list the synchronous standbys there.",
}

// mustNotBeLower are the settings a hot standby needs at least as high as its
// primary's, or it refuses to start.
var mustNotBeLower = []string{"max_connections", "max_locks_per_transaction", "max_prepared_transactions", "max_wal_senders", "max_worker_processes"}

// decodeSettings decodes a settings map and checks each entry on its own:
// known name, a value of the right type, unit and range, and not one that
// pgrepl derives or that would break replication.
func (l *loader) decodeSettings(ctx *hcl.EvalContext, a *hclsyntax.Attribute, version int) []settingDecl {
	items, _ := l.object(ctx, a)
	var out []settingDecl
	seen := map[string]hcl.Range{}
	for _, it := range items {
		name := strings.ToLower(it.key)
		if prev, ok := seen[name]; ok {
			l.errorf(it.keyRng, "Duplicate setting", "%s is already set at %s; setting names are case-insensitive.", name, pos(prev).short())
			continue
		}
		seen[name] = it.keyRng
		sd := settingDecl{name: name, keyRng: it.keyRng, valRng: it.valRng}
		if it.v.IsNull() {
			sd.null = true
			out = append(out, sd)
			continue
		}
		if it.v.ContainsMarked() {
			l.sensitiveNotAllowed(it.valRng, "Setting "+name)
			continue
		}
		value, list, ok := settingValue(it.v)
		if !ok {
			l.errorf(it.valRng, "Invalid value for setting", "%s must be a string, a number, a bool or a list of strings; it is %s.", name, friendlyType(it.v.Type()))
			continue
		}
		sd.value, sd.list = value, list
		if l.checkSetting(sd, version) {
			out = append(out, sd)
		}
	}
	return out
}

// settingValue renders an HCL value as PostgreSQL reads it from
// postgresql.conf: true → on, numbers as decimals, lists joined with ", "
// (each element double-quoted when PostgreSQL would otherwise split, fold or
// misread it).
func settingValue(v cty.Value) (string, bool, bool) {
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString(), false, true
	case t == cty.Bool:
		if v.True() {
			return "on", false, true
		}
		return "off", false, true
	case t == cty.Number:
		return numText(v.AsBigFloat()), false, true
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				continue
			}
			var s string
			switch e.Type() {
			case cty.String:
				s = e.AsString()
			case cty.Number:
				s = numText(e.AsBigFloat())
			default:
				return "", true, false
			}
			parts = append(parts, quoteListElem(s))
		}
		return strings.Join(parts, ", "), true, true
	}
	return "", false, false
}

// numText writes a number as a plain decimal, or in exponent form when it is
// so large or small that the decimal would run to many digits.
// (big.Float's own exponent form is slow for huge exponents; float64's is
// not, and such values are out of every parameter's range anyway.)
func numText(f *big.Float) string {
	if exp := f.MantExp(nil); exp > -64 && exp < 128 {
		return f.Text('f', -1)
	}
	x, _ := f.Float64()
	return strconv.FormatFloat(x, 'g', -1, 64)
}

var plainListElem = regexp.MustCompile(`^[a-z0-9_$./-]+$`)

// quoteListElem double-quotes a list element that PostgreSQL's list parsing
// (SplitIdentifierString, SplitDirectoriesString) would split at a comma or
// a space, or fold to lower case.
func quoteListElem(s string) string {
	if plainListElem.MatchString(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// checkSetting checks one entry of a settings map against the catalog of
// version (0: the version is unknown, check only what needs no catalog).
func (l *loader) checkSetting(sd settingDecl, version int) bool {
	if why, ok := derivedSettings[sd.name]; ok {
		l.errorf(sd.keyRng, "Setting derived by pgrepl", "%s cannot be set in the spec: %s", sd.name, why)
		return false
	}
	if catalog.IsCustom(sd.name) || version == 0 {
		return true
	}
	p, ok := catalog.Lookup(version, sd.name)
	if !ok {
		l.errorf(sd.keyRng, "Unknown setting", "%s", unknownSetting(version, sd.name))
		return false
	}
	if p.Context == catalog.Internal {
		l.errorf(sd.keyRng, "Read-only setting", "%s is fixed when PostgreSQL is built or the cluster is initialized (initdb); it cannot be set.", p.Name)
		return false
	}
	if sd.list && p.VarType != catalog.String {
		l.errorf(sd.valRng, "Invalid value for setting", "%s takes one %s value, not a list.", p.Name, typeWord(p))
		return false
	}
	norm, err := p.Normalize(sd.value)
	if err != nil {
		detail := capitalize(err.Error()) + "."
		var ve *catalog.ValueError
		if errors.As(err, &ve) && ve.Hint != "" {
			detail += " " + ve.Hint
		}
		if h := typeHint(p); h != "" {
			detail += " " + h
		}
		l.errorf(sd.valRng, "Invalid value for setting", "%s", detail)
		return false
	}
	switch p.Name {
	case "wal_level":
		if p.EnumIndex(norm) < p.EnumIndex("replica") {
			l.errorf(sd.valRng, "wal_level too low for replication",
				"wal_level = %s cannot stream WAL to standbys; pgrepl needs replica or logical. Remove the setting to let pgrepl set replica, or set logical.", norm)
		}
	case "hot_standby":
		if norm == "off" {
			l.errorf(sd.valRng, "hot_standby must stay on",
				"hot_standby = off makes a standby refuse every connection, so pgrepl cannot verify that it replays the primary's WAL. Remove the setting (it is on by default).")
		}
	}
	return true
}

func unknownSetting(version int, name string) string {
	msg := fmt.Sprintf("PostgreSQL %d has no setting named %q.", version, name)
	var in []int
	for v := catalog.Oldest; v <= catalog.Newest; v++ {
		if _, ok := catalog.Lookup(v, name); ok {
			in = append(in, v)
		}
	}
	switch {
	case len(in) == 1:
		return msg + fmt.Sprintf(" It exists in PostgreSQL %d.", in[0])
	case len(in) > 1:
		return msg + fmt.Sprintf(" It exists in PostgreSQL %d to %d.", in[0], in[len(in)-1])
	}
	if s := catalog.Suggest(version, name); s != "" {
		return msg + fmt.Sprintf(" Did you mean %q?", s)
	}
	return msg + " A custom (extension) setting needs a dotted name, such as pgaudit.log."
}

func typeWord(p catalog.Param) string {
	switch p.VarType {
	case catalog.Bool:
		return "boolean"
	case catalog.Integer:
		return "integer"
	case catalog.Real:
		return "numeric"
	case catalog.Enum:
		return "enum"
	}
	return "string"
}

// typeHint says what a parameter takes, beyond PostgreSQL's own message.
func typeHint(p catalog.Param) string {
	switch p.VarType {
	case catalog.Integer, catalog.Real:
		kind := "an integer"
		if p.VarType == catalog.Real {
			kind = "a number"
		}
		var unit string
		switch {
		case isMemoryUnit(p.Unit):
			unit = fmt.Sprintf(" with an optional memory unit (B, kB, MB, GB, TB; default %s)", p.Unit)
		case p.Unit != "":
			unit = fmt.Sprintf(" with an optional time unit (us, ms, s, min, h, d; default %s)", p.Unit)
		}
		if p.HasRange {
			return fmt.Sprintf("%s takes %s%s from %s to %s.", p.Name, kind, unit, fmtNum(p.Min), fmtNum(p.Max))
		}
		return fmt.Sprintf("%s takes %s%s.", p.Name, kind, unit)
	case catalog.Bool:
		return fmt.Sprintf("%s takes true or false (on or off).", p.Name)
	}
	return ""
}

func isMemoryUnit(u string) bool { return u == "B" || u == "kB" || u == "8kB" || u == "MB" }

func fmtNum(f float64) string { return big.NewFloat(f).Text('f', -1) }

// paramInt is a setting's value as an integer in its base unit, if it is a
// valid integer setting.
func paramInt(version int, s settingDecl) (int64, bool) {
	p, ok := catalog.Lookup(version, s.name)
	if !ok || p.VarType != catalog.Integer {
		return 0, false
	}
	n, err := p.Int(s.value)
	return n, err == nil
}

// checkSettings checks a node's effective settings against the rest of the
// cluster: what pgrepl derives may be raised but not broken, and settings
// that restate a node attribute must agree with it.
func (l *loader) checkSettings(cd *clusterDecl, nd *nodeDecl) {
	version := cd.c.PostgresVersion
	if version == 0 {
		return
	}
	standbys := 0
	for _, x := range cd.nodes {
		if x.role == Standby {
			standbys++
		}
	}
	n := nd.node
	for _, s := range nd.settings {
		switch s.name {
		case "max_wal_senders":
			need := standbys + 2
			if v, ok := paramInt(version, s); ok && v < int64(need) {
				l.errorf(s.valRng, "max_wal_senders too low",
					"max_wal_senders = %s leaves too few WAL senders for this cluster's %s: pgrepl needs at least %d, one per standby plus 2 that pg_basebackup -Xs holds while it builds a standby (and a standby needs at least its primary's value). Remove the setting to let pgrepl derive it, or raise it.",
					s.value, pretty.Count(standbys, "standby", "standbys"), need)
			}
		case "max_replication_slots":
			if v, ok := paramInt(version, s); ok && nd.role == Primary && cd.c.Replication.Slots && v < int64(standbys) {
				l.errorf(s.valRng, "max_replication_slots too low",
					"max_replication_slots = %s cannot hold a slot for each of this cluster's %s: pgrepl needs at least %d. Remove the setting to let pgrepl derive it, raise it, or set replication.slots = false.",
					s.value, pretty.Count(standbys, "standby", "standbys"), standbys)
			}
		case "listen_addresses":
			if nd.role == Primary && n.Host != "" {
				if ok, known := listensOn(s.value, n.Host); known && !ok {
					l.errorf(s.valRng, "listen_addresses excludes the primary's host",
						"listen_addresses = %q does not include %s, the primary's host, so standbys could not connect. Add %s to it, or use \"*\".", s.value, n.Host, n.Host)
				}
			}
		case "port":
			if v, ok := paramInt(version, s); ok && v != int64(n.Port) {
				l.errorf(s.valRng, "port setting disagrees with the node's port",
					"The port setting is %s but %q's port is %d; pgrepl connects to and writes the port from the node's port attribute. Remove the setting, or set port = %s on the node.", s.value, n.Name, n.Port, s.value)
			}
		case "data_directory":
			if n.DataDir != "" && path.Clean(s.value) != n.DataDir {
				l.errorf(s.valRng, "data_directory disagrees with data_dir",
					"The data_directory setting is %q but %q's data_dir is %q; they must name the same directory.", s.value, n.Name, n.DataDir)
			}
		case "hba_file":
			if want := path.Join(n.ConfigDir, "pg_hba.conf"); n.ConfigDir != "" && path.Clean(s.value) != want {
				l.errorf(s.valRng, "hba_file disagrees with config_dir",
					"The hba_file setting is %q, but pgrepl manages %s (config_dir/pg_hba.conf); set config_dir to the directory of the hba file, or remove the setting.", s.value, want)
			}
		}
	}
}

// listensOn reports whether a listen_addresses value includes host. known is
// false when that cannot be told without name resolution.
func listensOn(value, host string) (ok, known bool) {
	entries := strings.Split(value, ",")
	hostIP, hostErr := netip.ParseAddr(host)
	known = true
	for _, e := range entries {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case e == "*":
			return true, true
		case strings.EqualFold(e, host):
			return true, true
		}
		ip, err := netip.ParseAddr(e)
		if strings.EqualFold(e, "localhost") {
			if hostErr == nil && (hostIP.Unmap() == netip.MustParseAddr("127.0.0.1") || hostIP == netip.IPv6Loopback()) {
				return true, true
			}
			continue
		}
		if err != nil {
			known = false // a host name: it may resolve to host
			continue
		}
		if hostErr != nil {
			known = false // host is a name: it may resolve to ip
			continue
		}
		switch {
		case ip.IsUnspecified() && ip.Is4() == hostIP.Unmap().Is4():
			return true, true
		case ip.Unmap() == hostIP.Unmap():
			return true, true
		}
	}
	return false, known
}

// checkStandbyMinimums checks that each standby's settings are at least the
// primary's where a hot standby needs them so.
func (l *loader) checkStandbyMinimums(cd *clusterDecl) {
	version := cd.c.PostgresVersion
	if version == 0 || len(cd.nodes) == 0 || cd.nodes[0].role != Primary {
		return
	}
	primary := cd.nodes[0]
	for _, name := range mustNotBeLower {
		ps, ok := findSetting(primary.settings, name)
		if !ok {
			continue
		}
		pv, ok := paramInt(version, ps)
		if !ok {
			continue
		}
		for _, nd := range cd.nodes[1:] {
			ss, ok := findSetting(nd.settings, name)
			if !ok {
				continue
			}
			if sv, ok := paramInt(version, ss); ok && sv < pv {
				l.errorf(ss.valRng, "Standby setting below the primary's",
					"%s = %s on standby %q is below the primary's %s: a hot standby refuses to start with a lower %s than its primary. Raise it to at least %s, or remove it.",
					name, ss.value, nd.name, ps.value, name, ps.value)
			}
		}
	}
}

func findSetting(list []settingDecl, name string) (settingDecl, bool) {
	for _, s := range list {
		if s.name == name {
			return s, true
		}
	}
	return settingDecl{}, false
}
