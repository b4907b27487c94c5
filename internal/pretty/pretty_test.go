package pretty

import (
	"context"
	"testing"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

func TestBytes(t *testing.T) {
	cases := map[int64]string{
		0:                "0 bytes",
		10239:            "10239 bytes",
		10240:            "10 kB",
		1536 * 1024:      "1536 kB",
		10 * 1024 * 1024: "10 MB",
		-20480:           "-20 kB",
		5 << 40:          "5120 GB",
		int64(200) << 40: "200 TB",
		16*1024*1024 + 1: "16 MB",
	}
	for n, want := range cases {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestBytesAgreesWithPgSizePretty holds Bytes against PostgreSQL itself.
func TestBytesAgreesWithPgSizePretty(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	conn := s.Conn(t)
	for _, n := range []int64{0, 1, 10239, 10240, 10751, 10752, 1 << 20, 10<<20 - 1, 10<<20 + 1, 123456789, 1 << 33, 1<<43 + 12345, 3 << 50, -10240, -99999, 10*1024*1024 - 512, 10*1024*1024 - 513} {
		var want string
		if err := conn.QueryRow(context.Background(), "SELECT pg_size_pretty($1::bigint)", n).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q; pg_size_pretty says %q", n, got, want)
		}
	}
}
