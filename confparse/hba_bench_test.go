package confparse

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// benchHBAFile generates a pg_hba.conf of n lines: comments, blank lines,
// and rules of every shape, in initdb's layout.
func benchHBAFile(n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() >= 0 && i < n; i++ {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "# rule block %d: allow the application servers of rack %d\n", i/10, i%97)
		case 1:
			b.WriteString("\n")
		case 2:
			fmt.Fprintf(&b, "local   all             postgres                                peer\n")
		case 3:
			fmt.Fprintf(&b, "host    app%d,reports    \"app user\",+admins  10.%d.%d.0/24           scram-sha-256\n", i%50, i%250, (i/250)%250)
		case 4:
			fmt.Fprintf(&b, "hostssl all             all             2001:db8:%x::/48        cert clientcert=verify-full map=certs  # pgrepl: managed\n", i%4096)
		case 5:
			fmt.Fprintf(&b, "host    replication     replicator      192.168.%d.%d/32        scram-sha-256\n", i%250, i%251)
		case 6:
			fmt.Fprintf(&b, "host    all             all             172.16.%d.0  255.255.255.0  md5\n", i%250)
		case 7:
			fmt.Fprintf(&b, "host    all             all             .example.com            ldap ldapserver=ldap.example.com ldapbasedn=\"dc=example, dc=com\" ldapsearchattribute=uid\n")
		case 8:
			fmt.Fprintf(&b, "hostnossl \"db %d\"       sameuser        samenet                 md5\n", i)
		case 9:
			fmt.Fprintf(&b, "host    all             all             all                     reject\n")
		}
	}
	return []byte(b.String())
}

func BenchmarkParseHBA(b *testing.B) {
	src := benchHBAFile(10000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHBA("/data/pg_hba.conf", src, HBAOptions{Version: 15, SSL: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	f, _ := ParseHBA("/data/pg_hba.conf", src, HBAOptions{Version: 15, SSL: true})
	if n := len(f.Rules()); n != 8000 {
		b.Fatalf("%d rules", n)
	}
}

func BenchmarkMatchHBA(b *testing.B) {
	f, err := ParseHBA("/data/pg_hba.conf", benchHBAFile(10000), HBAOptions{Version: 15, SSL: true})
	if err != nil {
		b.Fatal(err)
	}
	c := HBAConn{Type: "host", User: "replicator", Addr: netip.MustParseAddr("127.0.0.3"), Replication: true,
		MemberOf: func(string, string) (bool, bool) { return false, true }}
	b.ReportAllocs()
	for b.Loop() {
		f.MatchAll(c)
	}
}

func BenchmarkInsertRuleHBA(b *testing.B) {
	src := benchHBAFile(10000)
	f, err := ParseHBA("/data/pg_hba.conf", src, HBAOptions{Version: 15, SSL: true})
	if err != nil {
		b.Fatal(err)
	}
	r := HBARule{Type: "host", Databases: []HBAToken{{Value: "replication"}}, Users: []HBAToken{{Value: "replicator"}},
		Address: HBAAddressFromPrefix(netip.MustParsePrefix("127.0.0.3/32")), Method: "scram-sha-256"}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.InsertRule(5000, r, "pgrepl: standby pg2"); err != nil {
			b.Fatal(err)
		}
		if err := f.RemoveLine(f.RuleLine(5000)); err != nil {
			b.Fatal(err)
		}
	}
}
