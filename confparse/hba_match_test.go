package confparse

import (
	"net/netip"
	"testing"
)

func TestHBAMatch(t *testing.T) {
	ip := netip.MustParseAddr
	members := func(pairs ...string) func(user, role string) (bool, bool) {
		return func(user, role string) (bool, bool) {
			for i := 0; i+1 < len(pairs); i += 2 {
				if pairs[i] == user && pairs[i+1] == role {
					return true, true
				}
			}
			return false, true
		}
	}
	// want is the line of the rule Match returns (0: none); certain is its
	// ok; maybe lists the lines MatchAll reports as uncertain before it.
	cases := []struct {
		name    string
		version int
		src     string
		conn    HBAConn
		want    int
		certain bool
		maybe   []int
	}{
		// Physical replication matches only the replication keyword.
		{name: "replication skips all", src: "host all all 0.0.0.0/0 md5\nhost replication rep 127.0.0.3/32 scram-sha-256\n",
			conn: HBAConn{Type: "host", User: "rep", Addr: ip("127.0.0.3"), Replication: true}, want: 2, certain: true},
		{name: "database named replication", src: "host replication all 0.0.0.0/0 reject\nhost all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", Database: "replication", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},
		{name: "quoted replication is a database", src: "host \"replication\" all 0.0.0.0/0 md5\nhost replication all 0.0.0.0/0 trust\n",
			conn: HBAConn{Type: "host", User: "rep", Addr: ip("10.0.0.1"), Replication: true}, want: 2, certain: true},
		{name: "replication unmatched", src: "host all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", User: "rep", Addr: ip("10.0.0.1"), Replication: true}},
		{name: "first match wins", src: "host all all 10.0.0.0/8 reject\nhost all all 10.1.0.0/16 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.1.2.3")}, want: 1, certain: true},
		{name: "quoted all is a name", src: "host \"all\" all 0.0.0.0/0 reject\nhost all \"all\" 0.0.0.0/0 reject\nhost all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 3, certain: true},
		{name: "quoted all matches its name", src: "host \"all\" all 0.0.0.0/0 reject\nhost all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", Database: "all", User: "u", Addr: ip("10.0.0.1")}, want: 1, certain: true},
		{name: "names are case sensitive", src: "host DB all 0.0.0.0/0 reject\nhost all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", Database: "db", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},

		// Addresses.
		{name: "cidr inside", src: "host all all 192.168.1.0/24 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("192.168.1.255")}, want: 1, certain: true},
		{name: "cidr edge outside", src: "host all all 192.168.1.0/24 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("192.168.2.0")}},
		{name: "cidr 31", src: "host all all 10.0.0.2/31 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.3")}, want: 1, certain: true},
		{name: "cidr 32 other", src: "host all all 127.0.0.2/32 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("127.0.0.1")}},
		{name: "cidr 0", src: "host all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("203.0.113.9")}, want: 1, certain: true},
		{name: "unmasked address", src: "host all all 10.1.2.3/8 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.200.0.1")}, want: 1, certain: true},
		{name: "netmask column", src: "host all all 172.16.0.0 255.240.0.0 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("172.31.255.1")}, want: 1, certain: true},
		{name: "netmask non-contiguous", src: "host all all 10.0.0.5 255.0.0.255 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.77.99.5")}, want: 1, certain: true},
		{name: "ipv4 rule ipv6 client", src: "host all all 0.0.0.0/0 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("::1")}},
		{name: "ipv4 rule v4-mapped client", src: "host all all 10.0.0.0/8 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("::ffff:10.0.0.1")}},
		{name: "ipv6", src: "host all all ::1/128 md5\nhost all all fe80::/10 trust\nhost all all ::/0 reject\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("fe80::abcd%eth0")}, want: 2, certain: true},
		{name: "ipv6 loopback", src: "host all all ::1/128 md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("::1")}, want: 1, certain: true},
		{name: "all address", src: "host all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("198.51.100.7")}, want: 1, certain: true},

		// Connection types.
		{name: "local", src: "host all all all reject\nlocal all all peer\n",
			conn: HBAConn{Type: "local", Database: "d", User: "u"}, want: 2, certain: true},
		{name: "hostssl needs ssl", src: "hostssl all all all cert\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},
		{name: "hostssl with ssl", src: "hostnossl all all all reject\nhostssl all all all md5\n",
			conn: HBAConn{Type: "host", SSL: true, Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},
		{name: "hostgssenc", src: "hostgssenc all all all gss\nhostnogssenc all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},

		// Database keywords.
		{name: "sameuser", src: "host sameuser all all md5\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "bob", User: "bob", Addr: ip("10.0.0.1")}, want: 1, certain: true},
		{name: "sameuser other", src: "host sameuser all all md5\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "bob", User: "alice", Addr: ip("10.0.0.1")}, want: 2, certain: true},
		{name: "samerole unknown", src: "host samerole all all md5\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "staff", User: "alice", Addr: ip("10.0.0.1")}, want: 1, maybe: []int{1}},
		{name: "samerole known", src: "host samerole all all md5\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "staff", User: "alice", Addr: ip("10.0.0.1"), MemberOf: members("alice", "staff")}, want: 1, certain: true},
		{name: "comma list", src: "host a,b,c x,y all md5\n",
			conn: HBAConn{Type: "host", Database: "b", User: "y", Addr: ip("10.0.0.1")}, want: 1, certain: true},

		// Role groups.
		{name: "group unknown", src: "host all +admins all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "bob", Addr: ip("10.0.0.1")}, want: 1, maybe: []int{1}},
		{name: "group known no", src: "host all +admins all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "bob", Addr: ip("10.0.0.1"), MemberOf: members("alice", "admins")}, want: 2, certain: true},
		{name: "group self", src: "host all +bob all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "bob", Addr: ip("10.0.0.1")}, want: 1, certain: true},
		{name: "quoted plus is a name", src: "host all \"+admins\" all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "bob", Addr: ip("10.0.0.1")}, want: 2, certain: true},
		{name: "maybe then certain", src: "host all +g1 all reject\nhost all +g2 all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "bob", Addr: ip("10.0.0.1")}, want: 1, maybe: []int{1, 2}},

		// Host names and samehost/samenet.
		{name: "hostname unknown", src: "host all all db.example.com reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 1, maybe: []int{1}},
		{name: "hostname suffix", src: "host all all .example.com md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1"),
				Hostname: func(netip.Addr) (string, bool) { return "DB1.Example.COM", true }}, want: 1, certain: true},
		{name: "hostname none", src: "host all all db.example.com reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1"),
				Hostname: func(netip.Addr) (string, bool) { return "", false }}, want: 2, certain: true},
		{name: "samehost unknown", src: "host all all samehost trust\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 1, maybe: []int{1}},
		{name: "samehost", src: "host all all samehost trust\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.7"),
				HostAddrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/24")}}, want: 1, certain: true},
		{name: "samehost other", src: "host all all samehost trust\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.8"),
				HostAddrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/24")}}, want: 2, certain: true},
		{name: "samenet", src: "host all all samenet trust\nhost all all all reject\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.8"),
				HostAddrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("10.0.0.7/24")}}, want: 1, certain: true},

		// Rules PostgreSQL refuses are not rules.
		{name: "error line skipped", src: "host all all all bogus\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "d", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},

		// Regular expressions (16+).
		{name: "regex 16", version: 16, src: "host /^app_ all all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "app_1", User: "u", Addr: ip("10.0.0.1")}, want: 1, certain: true},
		{name: "regex 16 no", version: 16, src: "host /^app_ all all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "db", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},
		{name: "regex user 16", version: 16, src: "host all /^rep all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "db", User: "replicator", Addr: ip("10.0.0.1")}, want: 1, certain: true},
		{name: "regex Go cannot run", version: 16, src: "host all /^(a)\\1$ all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "db", User: "aa", Addr: ip("10.0.0.1")}, want: 1, maybe: []int{1}},
		{name: "regex is a name in 15", src: "host /^app_ all all reject\nhost all all all md5\n",
			conn: HBAConn{Type: "host", Database: "app_1", User: "u", Addr: ip("10.0.0.1")}, want: 2, certain: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.version
			if v == 0 {
				v = 15
			}
			f, _ := parseHBAForTest(t, c.src, v, nil)
			r, ok := f.Match(c.conn)
			line := 0
			if r != nil {
				line = r.Line
			}
			if line != c.want || ok != c.certain {
				t.Errorf("Match = line %d, %v; want line %d, %v", line, ok, c.want, c.certain)
			}
			res := f.MatchAll(c.conn)
			var maybe []int
			for _, m := range res.Maybe {
				maybe = append(maybe, m.Line)
			}
			if len(maybe) != len(c.maybe) {
				t.Errorf("MatchAll maybe = %v, want %v", maybe, c.maybe)
			}
			for i := range maybe {
				if i < len(c.maybe) && maybe[i] != c.maybe[i] {
					t.Errorf("MatchAll maybe = %v, want %v", maybe, c.maybe)
				}
			}
		})
	}
}
