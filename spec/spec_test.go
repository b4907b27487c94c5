package spec

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// examples are the specs of testdata/specs, which double as documentation.
var examples = []string{"seed.hcl", "local-demo.hcl", "three-standbys.hcl"}

func loadExample(t *testing.T, name string) *Spec {
	t.Helper()
	opts := Options{
		Dir: filepath.Join("..", "testdata", "specs"),
		LookupEnv: func(n string) (string, bool) {
			return map[string]string{"PGREPL_REPLICATION_PASSWORD": testPassword}[n], n == "PGREPL_REPLICATION_PASSWORD"
		},
	}
	s, diags := Load(name, opts)
	if len(diags) > 0 {
		t.Fatalf("%s: %s", name, dump(diags))
	}
	return s
}

// TestExamples loads every example spec: each must be valid, with no
// warning either, since they are what users copy.
func TestExamples(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			s := loadExample(t, name)
			if len(s.Clusters) != 1 {
				t.Fatalf("%d clusters", len(s.Clusters))
			}
		})
	}
}

// nodeView is a Node with its secret replaced by what may be compared.
type nodeView struct {
	Node
	DSN, DSNRef string
}

func view(n *Node) nodeView {
	v := nodeView{Node: *n, DSN: n.AdminDSN.Reveal(), DSNRef: n.AdminDSN.Ref()}
	v.AdminDSN = Secret{}
	return v
}

func checkNode(t *testing.T, got *Node, want nodeView) {
	t.Helper()
	if g := view(got); !reflect.DeepEqual(g, want) {
		t.Errorf("node %s:\n got %+v\nwant %+v", got.Name, g, want)
		if g.SSH != nil && want.SSH != nil {
			t.Errorf("ssh: got %+v want %+v", *g.SSH, *want.SSH)
		}
	}
}

func TestSeedExample(t *testing.T) {
	s := loadExample(t, "seed.hcl")
	c := s.Clusters[0]
	if c.Name != "orders" || c.PostgresVersion != 15 || c.Pos != (Pos{"seed.hcl", 9, 1}) {
		t.Errorf("cluster %+v", c)
	}
	r := c.Replication
	if r.User != "replicator" || r.AuthMethod != "scram-sha-256" || !r.Slots || r.Synchronous != nil || r.Checkpoint != "fast" {
		t.Errorf("replication %+v", r)
	}
	if r.Password.Reveal() != testPassword || r.Password.Ref() != `env("PGREPL_REPLICATION_PASSWORD")` || r.Password.IsLiteral() {
		t.Errorf("password ref %q", r.Password.Ref())
	}
	ssh := &SSH{User: "ops", IdentityFile: "~/.ssh/id_ed25519", KnownHostsFile: "~/.ssh/known_hosts", Become: "sudo"}
	debian := Node{
		Port: 5432, DataDir: "/var/lib/postgresql/15/main", ConfigDir: "/etc/postgresql/15/main",
		BinDir: "/usr/lib/postgresql/15/bin", OSUser: "postgres", Control: "systemd", Service: "postgresql@15-main",
		Settings: []Setting{{Name: "listen_addresses", Value: "*", Pos: Pos{"seed.hcl", 32, 7}}},
		SSH:      ssh,
	}
	p := debian
	p.Name, p.Role, p.Host, p.Pos = "db1", Primary, "192.0.2.11", Pos{"seed.hcl", 36, 3}
	checkNode(t, c.Primary, nodeView{Node: p, DSN: "host=/var/run/postgresql port=5432 user=postgres dbname=postgres", DSNRef: "(default)"})
	sb := debian
	sb.Name, sb.Role, sb.Host, sb.Pos = "db2", Standby, "192.0.2.12", Pos{"seed.hcl", 40, 3}
	sb.Slot, sb.SourceAddress, sb.Passfile = "db2", "192.0.2.12", "/var/lib/postgresql/15/main.pgpass"
	if len(c.Standbys) != 1 {
		t.Fatalf("%d standbys", len(c.Standbys))
	}
	checkNode(t, c.Standbys[0], nodeView{Node: sb, DSN: "host=/var/run/postgresql port=5432 user=postgres dbname=postgres", DSNRef: "(default)"})
	if c.Primary.SSH == c.Standbys[0].SSH {
		t.Error("nodes share one *SSH")
	}
}

func TestLocalDemoExample(t *testing.T) {
	c := loadExample(t, "local-demo.hcl").Clusters[0]
	p, sb := c.Primary, c.Standbys[0]
	if !p.Local() || !sb.Local() || p.Control != "pg_ctl" || p.ConfigDir != p.DataDir || p.BinDir != "/usr/lib/postgresql/15/bin" {
		t.Errorf("primary %+v", p)
	}
	if got := p.AdminDSN.Reveal(); got != "host=/srv/pgrepl-demo/pg1 port=5432 user=postgres dbname=postgres" {
		t.Errorf("primary admin DSN %q", got)
	}
	if sb.SourceAddress != "127.0.0.1" || sb.Slot != "pg2" {
		t.Errorf("standby %+v", sb)
	}
	if want := sb.DataDir + ".pgpass"; sb.Passfile != want {
		t.Errorf("standby passfile %q, want %q beside the data directory", sb.Passfile, want)
	}
}

func TestThreeStandbysExample(t *testing.T) {
	s := loadExample(t, "three-standbys.hcl")
	c := s.Clusters[0]
	if got := c.Replication.Password; got.Reveal() != "not-a-real-password" || got.Ref() != `trimspace(file("secrets/replication-password"))` {
		t.Errorf("password from %q", got.Ref())
	}
	var names, slots []string
	for _, n := range c.Standbys {
		names = append(names, n.Name)
		slots = append(slots, n.Slot)
	}
	if strings.Join(names, ",") != "pg2,pg3,pg4" || strings.Join(slots, ",") != "pg2,pg3,pg4_dr" {
		t.Errorf("standbys %v slots %v", names, slots)
	}
	if !reflect.DeepEqual(c.Replication.Synchronous, []string{"pg2"}) {
		t.Errorf("synchronous %v", c.Replication.Synchronous)
	}
	if c.MinWALSenders() != 5 || c.MinReplicationSlots() != 3 {
		t.Errorf("minimums %d %d", c.MinWALSenders(), c.MinReplicationSlots())
	}
	var got []string
	for _, st := range c.Primary.Settings {
		got = append(got, fmt.Sprintf("%s=%s@%d", st.Name, st.Value, st.Pos.Line))
	}
	want := "hot_standby_feedback=on@26 listen_addresses=*@20 max_connections=200@21 max_wal_senders=10@34 " +
		"pg_stat_statements.max=10000@24 shared_buffers=2GB@22 shared_preload_libraries=pg_stat_statements@23 wal_keep_size=1GB@25"
	if strings.Join(got, " ") != want {
		t.Errorf("primary settings\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if _, ok := c.Standbys[0].Setting("max_wal_senders"); ok {
		t.Error("a primary's own setting reached a standby")
	}
	if st, ok := c.Standbys[0].Setting("MAX_CONNECTIONS"); !ok || st.Value != "200" {
		t.Errorf("standby max_connections %+v", st)
	}
	h := c.Primary.HBA
	if len(h) != 1 || !reflect.DeepEqual(h[0], HBARule{Type: "hostssl", Databases: []string{"billing"}, Users: []string{"app"}, Address: "10.20.0.0/16",
		Method: "scram-sha-256", Line: "hostssl billing app 10.20.0.0/16 scram-sha-256", Pos: Pos{"three-standbys.hcl", 37, 7}}) {
		t.Errorf("hba %+v", h)
	}
	if c.Node("pg3") != c.Standbys[1] || c.Node("pg1") != c.Primary || c.Node("nope") != nil || len(c.Nodes()) != 4 {
		t.Error("Node/Nodes")
	}
}

// TestSettingValues: HCL values become the strings PostgreSQL reads, and
// defaults merge into node settings key by key.
func TestSettingValues(t *testing.T) {
	src := tpl{
		defaults: `settings = { work_mem = "4MB", jit = true, max_connections = 50, "pgaudit.log" = "all", shared_preload_libraries = ["pg_stat_statements", "auto_explain"] }`,
		primary:  `settings = { work_mem = 8192, jit = null, random_page_cost = 1.5, search_path = ["$user", "public", "My Schema"], seq_page_cost = 2e0 }`,
	}.src()
	s, diags := loadString(t, src)
	checkDiags(t, diags, nil)
	got := func(n *Node) string {
		var parts []string
		for _, st := range n.Settings {
			parts = append(parts, fmt.Sprintf("%s=%s@%d", st.Name, st.Value, st.Pos.Line))
		}
		return strings.Join(parts, " ")
	}
	c := s.Clusters[0]
	if g, w := got(c.Primary), `max_connections=50@8 pgaudit.log=all@8 random_page_cost=1.5@13 search_path=$user, public, "My Schema"@13 seq_page_cost=2@13 `+
		`shared_preload_libraries=pg_stat_statements, auto_explain@8 work_mem=8192@13`; g != w {
		t.Errorf("primary\n got %s\nwant %s", g, w)
	}
	if g, w := got(c.Standbys[0]), `jit=on@8 max_connections=50@8 pgaudit.log=all@8 shared_preload_libraries=pg_stat_statements, auto_explain@8 work_mem=4MB@8`; g != w {
		t.Errorf("standby\n got %s\nwant %s", g, w)
	}
}

func TestNodeDefaults(t *testing.T) {
	src := `cluster "c" {
  postgres_version = 16
  replication {
    user     = "rep"
    password = "literal-pw"
    slots    = false
    checkpoint = "spread"
  }
  defaults {
    os_user = "pg"
    ssh {
      user          = "pg"
      identity_file = "keys/id"
    }
    hba = ["host all all 10.0.0.0/8 scram-sha-256"]
  }
  primary "pg1" {
    host       = "db1"
    data_dir   = "/var/lib/postgresql/16/main"
    config_dir = "/etc/postgresql/16/main"
    control    = "pg_ctlcluster"
    ssh {
      port = 2222
    }
  }
  standby "Standby-2" {
    host     = "db2"
    data_dir = "/data//pg/"
    hba      = []
    ssh {
      user   = "ops"
      become = "none"
    }
  }
}
`
	s, diags := loadString(t, src)
	checkDiags(t, diags, []want{{W, "Password written in the spec", 5, ""}})
	c := s.Clusters[0]
	r := c.Replication
	if r.User != "rep" || r.Slots || r.Checkpoint != "spread" || !r.Password.IsLiteral() || r.Password.Ref() != LiteralRef {
		t.Errorf("replication %+v (ref %q)", r, r.Password.Ref())
	}
	p, sb := c.Primary, c.Standbys[0]
	if p.Service != "16/main" || p.BinDir != "/usr/lib/postgresql/16/bin" || p.OSUser != "pg" {
		t.Errorf("primary %+v", p)
	}
	if *p.SSH != (SSH{User: "pg", Port: 2222, IdentityFile: "/spec/keys/id", Become: "none"}) {
		t.Errorf("primary ssh %+v", *p.SSH)
	}
	if *sb.SSH != (SSH{User: "ops", IdentityFile: "/spec/keys/id", Become: "none"}) {
		t.Errorf("standby ssh %+v", *sb.SSH)
	}
	if len(p.HBA) != 1 || len(sb.HBA) != 0 {
		t.Errorf("hba: primary %v standby %v", p.HBA, sb.HBA)
	}
	if sb.DataDir != "/data/pg" || sb.ConfigDir != "/data/pg" || sb.Slot != "" || sb.SourceAddress != "db2" {
		t.Errorf("standby %+v", sb)
	}
	if got := p.AdminDSN.Reveal(); got != "host=/var/run/postgresql port=5432 user=pg dbname=postgres" {
		t.Errorf("admin DSN %q", got)
	}
}

func TestSlotName(t *testing.T) {
	for in, want := range map[string]string{
		"pg2":                   "pg2",
		"Standby-2":             "standby_2",
		"db.eu-west.1":          "db_eu_west_1",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		if got := SlotName(in); got != want {
			t.Errorf("SlotName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHBA(t *testing.T) {
	cases := []struct {
		line string
		want HBARule
	}{
		{`host  replication  rep  192.0.2.12/32  scram-sha-256`,
			HBARule{Type: "host", Databases: []string{"replication"}, Users: []string{"rep"}, Address: "192.0.2.12/32", Method: "scram-sha-256"}},
		{`hostssl "my db",other app, "Bob" .example.com cert clientcert=verify-full map=x`,
			HBARule{Type: "hostssl", Databases: []string{`"my db"`, "other"}, Users: []string{"app", `"Bob"`}, Address: ".example.com", Method: "cert", Options: []string{"clientcert=verify-full", "map=x"}}},
		{`local all all peer map=ops`, HBARule{Type: "local", Databases: []string{"all"}, Users: []string{"all"}, Method: "peer", Options: []string{"map=ops"}}},
		{`host all all ::1/128 trust`, HBARule{Type: "host", Databases: []string{"all"}, Users: []string{"all"}, Address: "::1/128", Method: "trust"}},
		{`host all all 10.0.0.0 255.0.0.0 reject`, HBARule{Type: "host", Databases: []string{"all"}, Users: []string{"all"}, Address: "10.0.0.0", Netmask: "255.0.0.0", Method: "reject"}},
	}
	for _, tc := range cases {
		got, err := parseHBA(tc.line)
		tc.want.Line = strings.TrimSpace(tc.line)
		if err != "" || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseHBA(%q) = %+v, %q\nwant %+v", tc.line, got, err, tc.want)
		}
	}
	for line, want := range map[string]string{
		``:                                 "The rule is empty.",
		`host`:                             "The rule ends before its database and user fields.",
		`local all`:                        "The rule ends before its database and user fields.",
		`local all all`:                    "The rule ends before its authentication method.",
		`host all all 10.0.0.0/8`:          "The rule ends before its authentication method.",
		`host "all all 10.0.0.0/8 md5`:     "The rule has an unterminated quote.",
		`host all ,x 10.0.0.0/8 md5`:       "The user field has an empty item.",
		`host all, all 10.0.0.0/8 md5`:     "The rule ends before its authentication method.", // "all, all" is one field
		`host all all 10.0.0.0/8,x md5`:    `The address field takes one value; it is "10.0.0.0/8,x".`,
		`host all all 10.0.0.1 1.2.3 md5`:  `"1.2.3" is not a valid netmask.`,
		`host all all bad_host! md5`:       `"bad_host!" is not an address, a CIDR range, a host name, all, samehost or samenet.`,
		`include_dir conf.d`:               `"include_dir" is not a connection type; use one of host, hostgssenc, hostnogssenc, hostnossl, hostssl, local.`,
		`host ,all all 10.0.0.0/8 md5`:     "The database field has an empty item.",
		"host all all\n10.0.0.0/8 md5":     "The rule holds a line break; write one rule per list element.",
		`host all all 10.0.0.0/8 md5 =x`:   `The option "=x" is not name=value.`,
		`local all all peer,md5`:           `The method field takes one value; it is "peer,md5".`,
		`host all all samenet password x=`: "",
	} {
		if _, err := parseHBA(line); err != want {
			t.Errorf("parseHBA(%q) error %q, want %q", line, err, want)
		}
	}
}

func TestListensOn(t *testing.T) {
	for _, tc := range []struct {
		value, host string
		ok, known   bool
	}{
		{"*", "10.0.0.1", true, true},
		{"0.0.0.0", "10.0.0.1", true, true},
		{"0.0.0.0", "2001:db8::1", false, true},
		{"::", "2001:db8::1", true, true},
		{"localhost", "127.0.0.1", true, true},
		{"localhost", "127.0.0.2", false, true},
		{"127.0.0.2, 10.0.0.1", "10.0.0.1", true, true},
		{"", "10.0.0.1", false, true},
		{"db1", "10.0.0.1", false, false},
		{"10.0.0.1", "db1", false, false},
		{"DB1", "db1", true, true},
	} {
		ok, known := listensOn(tc.value, tc.host)
		if ok != tc.ok || known != tc.known {
			t.Errorf("listensOn(%q, %q) = %v, %v; want %v, %v", tc.value, tc.host, ok, known, tc.ok, tc.known)
		}
	}
}
