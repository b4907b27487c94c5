package redact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/confparse"
)

func TestForms(t *testing.T) {
	got := Forms([]string{`a'b\c`})
	for _, want := range []string{`a'b\c`, `a''b\\c`, `a\'b\\c`, `a\\''b\\\\c`, `a\\\'b\\\\c`} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("forms %q lack %q", got, want)
		}
	}
	for i := 1; i < len(got); i++ {
		if len(got[i]) > len(got[i-1]) {
			t.Errorf("forms not longest first: %q", got)
		}
	}
}

func TestBytes(t *testing.T) {
	// As ALTER SYSTEM writes the conninfo "host=a password='s3cr\'et' user=r".
	const in = `primary_conninfo = 'host=a password=''s3cr\\''et'' user=r'` + "\n"
	out, changed := Bytes([]byte(in), Forms([]string{"s3cr'et"}))
	if want := "primary_conninfo = 'host=a password=''" + Mask + "'' user=r'\n"; !changed || string(out) != want {
		t.Errorf("masked %q (changed %v), want %q", out, changed, want)
	}
	if _, changed := Bytes([]byte(in), Forms([]string{"other"})); changed {
		t.Error("a secret not in the file was masked")
	}
}

// TestConfPasswords: the passwords of every primary_conninfo line, the
// overridden one and the one in postgresql.auto.conf included.
func TestConfPasswords(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "postgresql.conf")
	for name, content := range map[string]string{
		conf: "primary_conninfo = 'host=a password=first'\nprimary_conninfo = 'host=a password=second'\nport = 5432\n",
		filepath.Join(dir, "postgresql.auto.conf"): "primary_conninfo = 'password=''third'' host=b'\n",
	} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := confparse.Load(confparse.OSReader{}, conf, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ConfPasswords(cfg), " "); got != "first second third" {
		t.Errorf("passwords %q", got)
	}
	if ConfPasswords(nil) != nil {
		t.Error("a nil configuration has passwords")
	}
}
