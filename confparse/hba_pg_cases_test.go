package confparse

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// hbaPGCases are the tricky files the differential test feeds PostgreSQL 15.
var hbaPGCases = []hbaPGCase{
	// Record types, addresses.
	{name: "local", src: "local all all trust\n"},
	{name: "types", src: "local all all trust\nhost all all 127.0.0.1/32 md5\nhostnossl all all 10.0.0.0/8 scram-sha-256\nhostgssenc all all ::1/128 trust\nhostnogssenc all all 0.0.0.0/0 reject\n"},
	{name: "ipv6 forms", src: "host all all ::1/128 trust\nhost all all ::/0 trust\nhost all all 1:0:0:0:0:0:0:1/128 trust\nhost all all 1:0:1:0:1:0:1:0/64 trust\nhost all all 2001:DB8::/32 trust\nhost all all 1:2:3:4:5:6:7::/120 trust\nhost all all ::2:3:4:5:6:7:8/127 trust\nhost all all 0:0:1::/48 trust\n"},
	{name: "ipv4 in ipv6", src: "host all all ::ffff:10.0.0.1/128 trust\nhost all all ::1.2.3.4/128 trust\nhost all all ::ffff:0.0.0.0/96 trust\nhost all all 64:ff9b::10.0.0.1/128 trust\nhost all all ::0.0.0.1/128 trust\n"},
	{name: "ipv6 zone", src: "host all all fe80::1%lo/64 trust\nhost all all fe80::1%1/64 trust\nhost all all ::1%lo/128 trust\nhost all all fe80::1%/64 trust\n"},
	{name: "bad ipv6", src: "host all all 1:2:3:4:5:6:7:8::/64 trust\nhost all all 1::2::3/64 trust\nhost all all :1/128 trust\nhost all all 12345::/16 trust\nhost all all ::1.2.3.04/128 trust\n"},
	{name: "unmasked", src: "host all all 10.1.2.3/8 md5\nhost all all 10.1.2.3/0 md5\n"},
	{name: "inet_aton forms", src: "host all all 10.1/16 trust\nhost all all 10/8 trust\nhost all all 0x0a000001/32 trust\nhost all all 012.0.0.1/32 trust\nhost all all 10.0x10.1/32 trust\nhost all all 1.2.65535/32 trust\nhost all all 4294967295/32 trust\n"},
	{name: "not numeric", src: "host all all 08.0.0.1 trust\nhost all all 300.1.1.1 trust\nhost all all 1.2.3.4. trust\nhost all all 4294967296 trust\nhost all all 1.2.65536 trust\nhost all all 0x trust\n"},
	{name: "not numeric cidr", src: "host all all 08.0.0.1/32 trust\nhost all all 1.2.3/33 trust\n"},
	{name: "hostnames", src: "host all all example.com md5\nhost all all .example.com md5\nhost all all localhost trust\nhost all all example.com/24 md5\nhost all all \"all\" md5\nhost all all \"samehost\" md5\n"},
	{name: "cidr masks", src: "host all all 10.0.0.0/33 md5\nhost all all 10.0.0.0/+8 md5\nhost all all 10.0.0.0/-0 md5\nhost all all \"10.0.0.0/ 8\" md5\nhost all all 10.0.0.0/08 md5\nhost all all 10.0.0.0/ md5\nhost all all 10.0.0.0/-1 md5\nhost all all ::1/129 md5\nhost all all 10.0.0.0/8/8 md5\nhost all all 10.0.0.0/x md5\nhost all all 10.0.0.0/99999999999999999999 md5\n"},
	{name: "netmask column", src: "host all all 10.0.0.0 255.0.0.0 md5\nhost all all 10.0.0.0 255.0.255.0 md5\nhost all all 10.0.0.0 0xffffff00 md5\nhost all all ::1 ffff:ffff:ffff:ffff:: md5\nhost all all 10.0.0.0 255.255.255.256 md5\nhost all all 10.0.0.0 ffff:: md5\nhost all all ::1 255.0.0.0 md5\nhost all all 10.0.0.0 255.0.0.0,255.0.0.0 md5\nhost all all 10.0.0.0 \"\" md5\n"},
	{name: "special addresses", src: "host all all all trust\nhost all all samehost trust\nhost all all samenet trust\nhost all all 0.0.0.0/0 trust\n"},
	{name: "end of line", src: "host\nhost all\nhost all all\nhost all all 10.0.0.0\nhost all all 10.0.0.0/8\nlocal all all\nlocal all\nlocal\n"},
	{name: "multiple values", src: "local,host all all trust\nhost all all 10.0.0.0/8,10.1.0.0/16 md5\nlocal all all trust,md5\nhost all all 10.0.0.0 255.0.0.0 trust,md5\n"},
	{name: "connection types", src: "hostx all all all trust\nHOST all all all trust\n\"local\" all all trust\n\"\" all all trust\ninclude other.conf\ninclude_dir conf.d\n"},

	// Methods.
	{name: "methods", src: "local all all trust\nlocal all all reject\nlocal all all md5\nlocal all all password\nlocal all all scram-sha-256\nlocal all all peer\nlocal all all ident\nlocal all all pam\nlocal all all ldap ldapserver=x ldapbasedn=y\nlocal all all radius radiusservers=127.0.0.1 radiussecrets=x\nlocal all all \"trust\"\n"},
	{name: "bad methods", src: "local all all foo\nlocal all all Trust\nlocal all all krb5\nlocal all all crypt\nlocal all all sspi\nlocal all all bsd\nlocal all all oauth\nlocal all all \"\"\n"},
	{name: "method and type", src: "host all all all peer\nlocal all all gss\nhost all all all cert\nhostnossl all all all cert\nlocal all all cert\nhost all all all ident\nhost all all all gss\nhostgssenc all all all gss\n"},
	{name: "hostssl off", src: "hostssl all all all cert\nhostssl all all all md5 clientcert=verify-ca\nhostssl all all all md5 clientcert=verify-full clientname=DN\nhostssl all all all cert map=certmap\nhostssl all all all md5 clientcert=1\nhostssl all all all md5 foo=bar\n"},
	{name: "clientcert", src: "host all all all md5 clientcert=verify-full\nlocal all all md5 clientcert=verify-ca\nhostssl all all all cert clientcert=verify-ca\nhostssl all all all md5 clientcert=no-verify\nhostssl all all all md5 clientcert=0\nhostssl all all all md5 clientcert=verify-ca clientcert=verify-full\n"},
	{name: "clientname", src: "host all all all md5 clientname=CN\nhostssl all all all md5 clientname=cn\n"},
	{name: "map", src: "local all all ident map=omicron\nlocal all all peer map=\nhost all all all ident map=x\nhost all all all md5 map=x\nhost all all all gss map=m\nlocal all all trust map=x\n"},
	{name: "gss", src: "host all all all gss\nhost all all all gss include_realm=0\nhost all all all gss include_realm=1 krb_realm=EXAMPLE.COM map=m\nhost all all all gss compat_realm=1\nhost all all all gss upn_username=1\nhost all all all md5 krb_realm=X\nhost all all all md5 include_realm=1\n"},
	{name: "pam", src: "local all all pam pamservice=foo pam_use_hostname=1\nhost all all all md5 pamservice=x\nhost all all all md5 pam_use_hostname=1\n"},
	{name: "options syntax", src: "host all all 127.0.0.1/32 trust extra\nlocal all all trust foo=bar\nlocal all all trust =x\nlocal all all peer map=a=b\nlocal all all peer \"map=q u\"\nlocal all all peer map=\"q u\"\nlocal all all peer map=a,map=b\nlocal all all peer map=a, map=b\nlocal all all peer map=a ,map=b\n"},

	// LDAP.
	{name: "ldap simple bind", src: "host all all all ldap ldapserver=ldap.example.net ldapprefix=\"cn=\" ldapsuffix=\", dc=example, dc=net\"\n"},
	{name: "ldap search bind", src: "host all all all ldap ldapserver=ldap.example.net ldapbasedn=\"dc=example, dc=net\" ldapbinddn=\"cn=admin\" ldapbindpasswd=secret ldapsearchattribute=uid ldaptls=1 ldapport=636 ldapscheme=ldaps\nhost all all all ldap ldapbasedn=x ldapsearchfilter=\"(|(uid=$username)(mail=$username))\"\nhost all all all ldap ldapbasedn=x ldaptls=0 ldapport=12abc\n"},
	{name: "ldap errors", src: "host all all all ldap ldapserver=x\nhost all all all ldap ldapprefix=cn= ldapbasedn=dc=x\nhost all all all ldap ldapbasedn=dc=x ldapsearchattribute=uid ldapsearchfilter=(uid=$username)\nhost all all all ldap ldapbasedn=x ldapport=abc\nhost all all all ldap ldapbasedn=x ldapport=0\nhost all all all md5 ldapserver=x\nhost all all all ldap ldapbasedn=x ldapscheme=http\nhost all all all ldap ldapsuffix=x ldapbinddn=y\n"},
	{name: "ldapurl", src: "host all all all ldap ldapurl=ldap://ldap.example.net/dc=example,dc=net?uid?sub\nhost all all all ldap ldapurl=ldaps://h:10636/dc=x\nhost all all all ldap ldapurl=ldap://h/\nhost all all all ldap ldapurl=ldap:///dc=x\nhost all all all ldap ldapurl=LDAP://H/dc=x\nhost all all all ldap ldapurl=ldap://h/dc=x?uid?sub?(uid=$username)\nhost all all all ldap ldapurl=ldap://h/dc=x?uid?sub ldaptls=1\nhost all all all ldap ldapurl=ldap://h/dc=x?uid?one\nhost all all all ldap ldapurl=ldap://h/dc=x??base\nhost all all all ldap ldapurl=ldap://[::1]:389/dc=x\nhost all all all ldap ldapurl=ldap://h/dc=x?cn,uid\nhost all all all ldap ldapurl=ldap://h:0/dc=x\nhost all all all ldap ldapurl=ldap://h/dc%3Dx\n"},
	{name: "ldapurl errors", src: "host all all all ldap ldapurl=http://h/x\nhost all all all ldap ldapurl=ldapi:///x\nhost all all all ldap ldapurl=ldap://h:abc/x\nhost all all all ldap ldapurl=ldap://h/dc=x?uid?bogus\nhost all all all ldap ldapurl=ldap://h\nhost all all all ldap ldapurl=ldap://h:/x\nhost all all all ldap ldapurl=ldap://[::1/x\nhost all all all ldap ldapurl=ldap://h/x?a?sub?f?e?x\n"},

	// RADIUS.
	{name: "radius", src: "host all all all radius radiusservers=127.0.0.1 radiussecrets=s\nhost all all all radius radiusservers=\"127.0.0.1, 127.0.0.2\" radiussecrets=\"a,b\" radiusports=\"1812,1813\" radiusidentifiers=x\nhost all all all radius radiusservers=127.0.0.1 radiussecrets=\"\"\"q\"\"\"\n"},
	{name: "radius errors", src: "host all all all radius radiussecrets=s\nhost all all all radius radiusservers=127.0.0.1\nhost all all all radius radiusservers=\"127.0.0.1,127.0.0.2,127.0.0.3\" radiussecrets=\"a,b\"\nhost all all all radius radiusservers=127.0.0.1 radiussecrets=s radiusports=0\nhost all all all radius radiusservers=\"a,,b\" radiussecrets=s\nhost all all all radius radiusservers=127.0.0.1 radiussecrets=s radiusports=\"1,\"\nhost all all all radius radiusservers=\"\" radiussecrets=s\nhost all all all radius radiusservers=127.0.0.1 radiussecrets=s radiusidentifiers=\"a,b\"\nhost all all all md5 radiusservers=x\n"},

	// Tokens.
	{name: "quoted keywords", src: "local \"all\" all trust\nlocal all \"all\" trust\nlocal \"replication\" \"sameuser\" trust\nlocal \"samerole\" \"+admins\" trust\nlocal a\"ll\" all trust\n"},
	{name: "quoted names", src: "local \"my db\" \"my user\" trust\nlocal \"q1\"\"q2\" u trust\nlocal \"a , b\" u trust\nlocal \"\" all trust\nlocal \"a#b\" all trust\nlocal ab\"c d\"ef all trust\nlocal \"\"\"\" all trust\n"},
	{name: "unterminated quote", src: "local \"abc all trust\nlocal all all trust \"x\n"},
	{name: "comma lists", src: "local a,b,c u1,u2 trust\nlocal a, b u trust\nlocal a ,b u trust\nlocal a,,b u trust\nlocal a, u trust\nlocal ,a u trust\nlocal a,\"b,c\" u trust\n"},
	{name: "keywords", src: "local sameuser all trust\nlocal samerole all trust\nlocal samegroup all trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\nlocal all +admins trust\nlocal all +admins,bob trust\n"},
	{name: "comments", src: "# only a comment\n   # indented\nlocal all all trust # trailing\nlocal all all trust#tight\nlocal all all trust\t# tab\nlocal all#x all trust\n#local all all trust\n"},
	{name: "whitespace", src: "local\tall\tall\ttrust\n  local   all   all   trust   \n\t\n   \nhost\tall\tall\t127.0.0.1/32\t\tmd5\n\r\nlocal all all trust\r\n"},
	{name: "crlf", src: "local all all trust\r\nhost all all 127.0.0.1/32 md5\r\n# c\r\nhost all all ::1/128 md5\r\n"},
	{name: "no final newline", src: "local all all trust\nhost all all 127.0.0.1/32 md5"},
	{name: "no final newline comment", src: "local all all trust\n# end"},
	{name: "carriage returns", src: "local all all trust\r\r\nlocal\rall\rall\rtrust\n"},
	{name: "nul byte", src: "local all all trust # a\x00b\nhost all all 127.0.0.1/32 md5\nlocal all\x00 all trust\nlocal all all trust\n"},
	{name: "latin1 in comment", src: "# caf\xe9\nlocal all all trust\n"},

	// Continuations (14+).
	{name: "continuation", src: "local all \\\n all trust\nhost all all \\\n127.0.0.1/32 \\\n md5\nlocal all all trust\n"},
	{name: "continuation into comment", src: "local all all trust # c \\\nhost all all all md5\nlocal all all md5\n"},
	{name: "continuation edge", src: "local all all trust \\\n\nlocal all all md5 \\\\\nlocal all all trust \\ \nlocal all all trust\\\n"},
	{name: "continuation in quote", src: "local \"a \\\nb\" all trust\n"},
	{name: "continuation at end", src: "local all all trust \\"},
	{name: "continuation crlf", src: "local all \\\r\n all trust\r\n"},

	// Limits.
	{name: "long token", src: "local " + strings.Repeat("d", 10239) + " all trust\nlocal " + strings.Repeat("d", 10240) + " all trust\nlocal \"" + strings.Repeat("e", 10239) + "\" all trust\nlocal " + strings.Repeat("f", 10239) + ",x all trust\n"},
	{name: "long line", src: "local all all trust # " + strings.Repeat("x", 30000) + "\nlocal all " + strings.Repeat("u,", 12000) + "u trust\n"},

	// @file lists.
	{name: "at file", src: "local @dbs @users trust\nlocal db0,@dbs all trust\nlocal \"@dbs\" all trust\nlocal @ all trust\nlocal @\"my list\" all trust\nlocal @empty all trust\n", files: map[string]string{
		"dbs": "db1, db2\n# comment\ndb3 \"q d\"\n", "users": "u1 u2\n+grp\n", "my list": "x\n", "empty": "# nothing\n"}},
	{name: "at file nested", src: "local @outer all trust\n", files: map[string]string{"outer": "a @inner\n", "inner": "b,c\n"}},
	{name: "at file missing", src: "local @missing all trust\nlocal all @/nonexistent/abs trust\n"},
	{name: "at file error inside", src: "local @bad all trust\n", files: map[string]string{"bad": "x " + strings.Repeat("y", 10300) + "\n"}},
	{name: "at file in address", src: "host all all @addr md5\nlocal all all @meth\n", files: map[string]string{"addr": "127.0.0.1/32\n", "meth": "trust\n"}},
	{name: "at file subdir", src: "local @sub/list all trust\n", files: map[string]string{"sub/list": "a @../dbs2\n", "dbs2": "z\n"}},

	// Version 16 syntax read by 15.
	{name: "regex names in 15", src: "local /^db.*$ /^u all trust\nlocal all all trust\n"},
	{name: "include in 15", src: "include_if_exists x.conf\nlocal all all trust\n"},

	// Whole files.
	{name: "empty file", src: ""},
	{name: "only comments", src: "# nothing\n\n   \n"},
	{name: "errors only", src: "foo\n"},
	{name: "many errors", src: "local all all foo\nhost all all 10.0.0.0/8 bar\nlocal all all trust\nbaz all all trust\n"},
}

func TestHBADifferentialPG15(t *testing.T) {
	h := startHBAServer(t, false)
	for _, c := range hbaPGCases {
		t.Run(c.name, func(t *testing.T) { h.check(t, c) })
	}
	t.Run("corpus", func(t *testing.T) {
		for _, p := range hbaCorpusFiles(t) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
				h.check(t, hbaPGCase{src: string(b)})
			})
		}
	})
}

// TestHBADifferentialPG15SSL runs the cases where ssl matters against a
// server with ssl = on.
func TestHBADifferentialPG15SSL(t *testing.T) {
	h := startHBAServer(t, true)
	for _, c := range hbaPGCases {
		if !strings.Contains(c.src, "hostssl") {
			continue
		}
		t.Run(c.name, func(t *testing.T) { h.check(t, c) })
	}
	for _, p := range hbaCorpusFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "hostssl") {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) { h.check(t, hbaPGCase{src: string(b)}) })
	}
}

// hbaCorpusFiles lists the shared corpus's pg_hba files.
func hbaCorpusFiles(t *testing.T) []string {
	t.Helper()
	root := os.Getenv("PGREPL_CORPUS")
	if root == "" {
		root = "/work/shared/corpus"
	}
	files, err := filepath.Glob(filepath.Join(root, "pg_hba.conf", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"initdb-pg15/pg_hba.conf", "debian-pg15/pg_hba.conf"} {
		files = append(files, filepath.Join(root, p))
	}
	var out []string
	for _, p := range files {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		pgtest.Missing(t, "no corpus pg_hba files under "+root)
	}
	sort.Strings(out)
	return out
}

// writeTestCert puts a self-signed server certificate and key into dir
// (server.crt, server.key: PostgreSQL's defaults) for ssl = on.
func writeTestCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pgrepl-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.WriteFile(t, filepath.Join(dir, "server.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	pgtest.WriteFile(t, filepath.Join(dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
