package scram

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

// TestAgainstPostgreSQL lets PostgreSQL hash passwords itself, then checks
// that Matches recognises each verifier, refuses a wrong password, and that
// a verifier pgrepl computes lets the role log in with SCRAM.
func TestAgainstPostgreSQL(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	conn := s.Conn(t)
	ctx := context.Background()
	passwords := []string{"s3cret", "with space and 'quote'", "pässwörd", "ｆｕｌｌｗｉｄｔｈ", "a\u00A0b", "soft\u00ADhyphen", "x"}
	for i, pw := range passwords {
		role := "r" + strings.Repeat("x", i)
		if _, err := conn.Exec(ctx, "SET password_encryption = 'scram-sha-256'"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+strings.ReplaceAll(pw, "'", "''")+"'"); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := conn.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		ok, err := Matches(stored, pw)
		if err != nil || !ok {
			t.Errorf("password %q: Matches(PostgreSQL's verifier) = %v, %v", pw, ok, err)
		}
		if ok, _ := Matches(stored, pw+"!"); ok {
			t.Errorf("password %q: a wrong password matched", pw)
		}
	}

	v, err := New("pgrepl-made", DefaultIterations, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE made LOGIN PASSWORD '"+v.String()+"'"); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := conn.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = 'made'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != v.String() {
		t.Fatalf("PostgreSQL stored %q, want the verifier as given", stored)
	}
	// Log in over TCP: a connection to 127.0.0.2 comes from 127.0.0.1,
	// where initdb's rule asks for scram-sha-256.
	dsn := fmt.Sprintf("host=%s port=%d user=made dbname=postgres password=pgrepl-made sslmode=disable", s.Host, s.Port)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("login with the verifier pgrepl computed: %v", err)
	}
	var user string
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "made" {
		t.Errorf("current_user = %q, %v", user, err)
	}
	if err := c.Close(ctx); err != nil {
		t.Error(err)
	}
}

func TestComputeIsRFC7677Shaped(t *testing.T) {
	v, err := Compute("pencil", []byte("0123456789abcdef"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(v.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.Iterations != 4096 || !bytes.Equal(back.Salt, v.Salt) || !bytes.Equal(back.StoredKey, v.StoredKey) || !bytes.Equal(back.ServerKey, v.ServerKey) {
		t.Errorf("Parse(String()) changed the verifier: %+v vs %+v", back, v)
	}
}

func TestParseRefusesOthers(t *testing.T) {
	for _, s := range []string{"", "md5abcdef", "SCRAM-SHA-256$", "SCRAM-SHA-256$x:AAAA$AAAA:AAAA", "SCRAM-SHA-256$4096:!!$a:b"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
