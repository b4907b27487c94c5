package confparse

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestHBAMatchPG15 checks Match against the rule a real PostgreSQL 15 picks.
// Every rule uses the password method and the client sends a wrong
// password, so the server logs "Connection matched pg_hba.conf line N" (or
// "no pg_hba.conf entry") and Match must name the same line.
func TestHBAMatchPG15(t *testing.T) {
	h := startHBAServer(t, false)
	ctx := context.Background()
	for _, sql := range []string{
		"CREATE ROLE staff NOLOGIN",
		"CREATE ROLE alice LOGIN PASSWORD 'right' IN ROLE staff",
		"CREATE ROLE bob LOGIN PASSWORD 'right'",
		"CREATE ROLE rep LOGIN REPLICATION PASSWORD 'right'",
	} {
		if _, err := h.conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	roles := map[string]bool{"staff": true, "alice": true, "bob": true, "rep": true}
	memberOf := func(user, role string) (bool, bool) {
		return roles[user] && (user == role || user == "alice" && role == "staff"), true
	}
	var hostAddrs []netip.Prefix
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			hostAddrs = append(hostAddrs, p)
		}
	}
	client := netip.MustParseAddr("127.0.0.1") // a TCP connection to 127.0.0.2 comes from 127.0.0.1

	type attempt struct {
		local       bool
		user, db    string
		replication bool
	}
	cases := []struct {
		name string
		src  string
		try  []attempt
	}{
		{"replication and all", "host all all 127.0.0.1/32 password\nhost replication all 127.0.0.1/32 password\n",
			[]attempt{{user: "rep", replication: true}, {user: "rep", db: "postgres"}, {user: "rep", db: "replication"}}},
		{"quoted replication", "host \"replication\" all 127.0.0.1/32 password\nhost all all 127.0.0.1/32 password\n",
			[]attempt{{user: "rep", replication: true}, {user: "rep", db: "replication"}}},
		{"quoted all", "host \"all\" all 127.0.0.1/32 password\nhost all \"all\" 127.0.0.1/32 password\nhost all all 127.0.0.1/32 password\n",
			[]attempt{{user: "bob", db: "postgres"}, {user: "bob", db: "all"}, {user: "all", db: "x"}}},
		{"groups", "host all +staff 127.0.0.1/32 password\nhost samerole all 127.0.0.1/32 password\nhost sameuser all 127.0.0.1/32 password\nhost all all 127.0.0.1/32 password\n",
			[]attempt{{user: "alice", db: "postgres"}, {user: "bob", db: "staff"}, {user: "bob", db: "bob"}, {user: "bob", db: "postgres"}, {user: "nobody", db: "nobody"}}},
		{"addresses", "host all all 127.0.0.2/32 password\nhost all all 10.0.0.0/8 password\nhost all all 127.0.0.0 255.255.255.0 password\nhost all all 0.0.0.0/0 password\n",
			[]attempt{{user: "bob", db: "postgres"}}},
		{"unmasked cidr", "host all all 127.9.9.9/8 password\nhost all all all password\n",
			[]attempt{{user: "bob", db: "postgres"}}},
		{"ipv6 rule", "host all all ::1/128 password\nhost all all ::/0 password\nhost all all 127.0.0.1/32 password\n",
			[]attempt{{user: "bob", db: "postgres"}}},
		{"local and host", "host all all all password\nlocal all all password\n",
			[]attempt{{local: true, user: "bob", db: "postgres"}, {user: "bob", db: "postgres"}}},
		{"ssl types", "hostssl all all all password\nhostgssenc all all all password\nhostnossl all all 127.0.0.1/32 password\nhost all all all password\n",
			[]attempt{{user: "bob", db: "postgres"}}},
		{"samehost", "host all all samenet password\n", []attempt{{user: "bob", db: "postgres"}}},
		{"samehost first", "host all all samehost password\nhost all all all password\n", []attempt{{user: "bob", db: "postgres"}}},
		{"no match", "host db1 all all password\nlocal all all password\n",
			[]attempt{{user: "bob", db: "postgres"}, {user: "rep", replication: true}}},
		{"lists", "host a,postgres,b x,bob all password\nhost all all all password\n",
			[]attempt{{user: "bob", db: "postgres"}, {user: "alice", db: "postgres"}}},
	}
	matchedRe := regexp.MustCompile(`Connection matched pg_hba.conf line (\d+):`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, refused := h.reload(t, []byte(c.src)); refused {
				t.Fatalf("PostgreSQL refused the test file:\n%s", c.src)
			}
			f, err := ParseHBA(h.hbaPath, []byte(c.src), HBAOptions{Version: 15})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range c.try {
				// What the server picks: read from its log.
				before, err := os.ReadFile(h.srv.LogFile)
				if err != nil {
					t.Fatal(err)
				}
				host := h.srv.Host
				if a.local {
					host = h.srv.SocketDir
				}
				db := a.db
				dsn := fmt.Sprintf("host=%s port=%d user=%s password=wrong sslmode=disable gssencmode=disable connect_timeout=10", host, h.srv.Port, a.user)
				if a.replication {
					dsn += " replication=true"
				} else {
					dsn += " dbname=" + db
				}
				cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				conn, cerr := pgconn.Connect(cctx, dsn)
				cancel()
				if cerr == nil {
					_ = conn.Close(ctx)
					t.Fatalf("%+v: connected with a wrong password", a)
				}
				pgLine := -1
				deadline := time.Now().Add(10 * time.Second)
				for pgLine < 0 && time.Now().Before(deadline) {
					b, err := os.ReadFile(h.srv.LogFile)
					if err != nil {
						t.Fatal(err)
					}
					window := string(b[len(before):])
					if m := matchedRe.FindStringSubmatch(window); m != nil {
						pgLine, _ = strconv.Atoi(m[1])
					} else if strings.Contains(window, "no pg_hba.conf entry") {
						pgLine = 0
					} else {
						time.Sleep(20 * time.Millisecond)
					}
				}
				if pgLine < 0 {
					t.Fatalf("%+v: no authentication failure in the log (client error: %v)", a, cerr)
				}

				conn2 := HBAConn{Type: "host", Database: db, User: a.user, Addr: client, Replication: a.replication,
					MemberOf: memberOf, HostAddrs: hostAddrs}
				if a.local {
					conn2.Type, conn2.Addr = "local", netip.Addr{}
				}
				r, ok := f.Match(conn2)
				line := 0
				if r != nil {
					line = r.Line
				}
				if line != pgLine || (r != nil && !ok) {
					t.Errorf("%+v: PostgreSQL matched line %d; Match gave line %d (certain %v)\n%s", a, pgLine, line, ok, c.src)
				}
			}
		})
	}
}
