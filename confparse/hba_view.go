package confparse

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// HBAFileRule is one row of PostgreSQL's pg_hba_file_rules view for the
// file: one per non-empty line, errors included. A nil pointer or slice is
// SQL null. The view shows names without their quotes, so a quoted "all"
// and the keyword look alike here (see HBARule for the difference).
type HBAFileRule struct {
	RuleNumber *int   // PostgreSQL 16+: the rule's position; null on error
	FileName   string // PostgreSQL 16+: the file the line is in
	LineNumber int
	Type       *string
	Database   []string
	UserName   []string
	Address    *string
	Netmask    *string
	AuthMethod *string
	Options    []string
	Error      *string

	version int
}

// MarshalJSON writes the row with the view's column names, in its order:
// PostgreSQL 12-15's nine columns, and 16+'s rule_number and file_name
// ahead of them.
func (r HBAFileRule) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	field := func(name string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(j)
		return nil
	}
	type col struct {
		name string
		v    any
	}
	var cols []col
	if r.version >= 16 {
		cols = append(cols, col{"rule_number", r.RuleNumber}, col{"file_name", r.FileName})
	}
	cols = append(cols,
		col{"line_number", r.LineNumber},
		col{"type", r.Type},
		col{"database", r.Database},
		col{"user_name", r.UserName},
		col{"address", r.Address},
		col{"netmask", r.Netmask},
		col{"auth_method", r.AuthMethod},
		col{"options", r.Options},
		col{"error", r.Error},
	)
	for _, c := range cols {
		if err := field(c.name, c.v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// FileRules returns what pg_hba_file_rules shows for the file (modelled on
// PostgreSQL 15's view, with 16's two extra columns from version 16).
func (f *HBAFile) FileRules() []HBAFileRule {
	var out []HBAFileRule
	ruleNumber := 0
	for i := range f.recs {
		r := &f.recs[i]
		if r.directive {
			continue
		}
		row := HBAFileRule{FileName: r.tok.file, LineNumber: r.tok.lineNo, version: f.opts.Version}
		if r.viewErr == "" {
			ruleNumber++
			n := ruleNumber
			row.RuleNumber = &n
		} else {
			row.Error = hbaStrPtr(r.viewErr)
		}
		if p := r.parsed; p != nil {
			p.fillView(&row, f.opts.Version)
		}
		out = append(out, row)
	}
	return out
}

func hbaStrPtr(s string) *string { return &s }

func (p *hbaParsed) fillView(row *HBAFileRule, version int) {
	row.Type = hbaStrPtr(p.conntype)
	for _, t := range p.databases {
		row.Database = append(row.Database, t.Value)
	}
	for _, t := range p.roles {
		row.UserName = append(row.UserName, t.Value)
	}
	switch p.address.Kind {
	case HBAAddrIP:
		row.Address = hbaStrPtr(hbaFormatAddr(p.address.Addr))
		row.Netmask = hbaStrPtr(hbaFormatAddr(p.address.Mask))
	case HBAAddrHostname:
		row.Address = hbaStrPtr(p.address.Hostname)
	case HBAAddrAll, HBAAddrSameHost, HBAAddrSameNet:
		row.Address = hbaStrPtr(p.address.Kind.keyword())
	}
	row.AuthMethod = hbaStrPtr(p.method)
	row.Options = p.viewOptions(version)
}

// viewOptions is get_hba_options: the options as the server holds them, in
// its fixed order, not as written.
func (p *hbaParsed) viewOptions(version int) []string {
	var o []string
	add := func(name string, v *string) {
		if v != nil {
			o = append(o, name+"="+*v)
		}
	}
	if p.method == "gss" || p.method == "sspi" {
		if p.includeRealm {
			o = append(o, "include_realm=true")
		}
		add("krb_realm", p.krbRealm)
	}
	add("map", p.usermap)
	switch p.clientcert {
	case 1:
		o = append(o, "clientcert=verify-ca")
	case 2:
		o = append(o, "clientcert=verify-full")
	}
	add("pamservice", p.pamservice)
	if p.method == "ldap" {
		add("ldapserver", p.ldapserver)
		if p.ldapport != 0 {
			o = append(o, "ldapport="+strconv.Itoa(p.ldapport))
		}
		if version >= 15 {
			add("ldapscheme", p.ldapscheme)
		}
		if p.ldaptls {
			o = append(o, "ldaptls=true")
		}
		add("ldapprefix", p.ldapprefix)
		add("ldapsuffix", p.ldapsuffix)
		add("ldapbasedn", p.ldapbasedn)
		add("ldapbinddn", p.ldapbinddn)
		add("ldapbindpasswd", p.ldapbindpasswd)
		add("ldapsearchattribute", p.ldapsearchattribute)
		add("ldapsearchfilter", p.ldapsearchfilter)
		if p.ldapscope != 0 {
			o = append(o, "ldapscope="+strconv.Itoa(p.ldapscope))
		}
	}
	if p.method == "radius" {
		add("radiusservers", p.radiusServersS)
		add("radiussecrets", p.radiusSecretsS)
		add("radiusidentifiers", p.radiusIdentifiersS)
		add("radiusports", p.radiusPortsS)
	}
	return o
}
