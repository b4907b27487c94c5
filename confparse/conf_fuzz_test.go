package confparse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// confFuzzSeeds adds the parser table and the corpus to a fuzz target.
func confFuzzSeeds(f *testing.F, add func(src []byte)) {
	for _, tc := range confParseCases {
		add([]byte(tc.src + "\n"))
		add([]byte(tc.src))
	}
	for _, dir := range []string{"postgresql.conf", "postgresql.conf/dalibo-pgtoolkit", "debian-pg15", "initdb-pg15"} {
		paths, _ := filepath.Glob(filepath.Join(confCorpusDir, dir, "*"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				add(b)
			}
		}
	}
}

// FuzzParseConf: parsing never panics, Bytes returns the input, and an
// accepted file yields settings whose tokens are where they say.
func FuzzParseConf(f *testing.F) {
	confFuzzSeeds(f, func(src []byte) { f.Add(src) })
	f.Fuzz(func(t *testing.T, src []byte) {
		cf, err := ParseConf("/fuzz/postgresql.conf", src)
		if cf == nil {
			t.Fatalf("no File: %v", err)
		}
		if !bytes.Equal(cf.Bytes(), src) {
			t.Fatalf("Bytes() = %q, want %q", cf.Bytes(), src)
		}
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		for _, s := range cf.Settings() {
			if v, err := UnquoteValue(s.Raw); err != nil || v != s.Value {
				t.Fatalf("line %d: raw %q gives %q, %v; the setting says %q", s.Line, s.Raw, v, err, s.Value)
			}
			if k, ok := singleToken(s.Name); !ok || !isNameTok(k) {
				t.Fatalf("line %d: name %q is not a name token", s.Line, s.Name)
			}
		}
	})
}

// FuzzConfEdit: Set and Remove change only the lines they name, and the
// result parses with the intended value; a refused edit changes nothing.
func FuzzConfEdit(f *testing.F) {
	confFuzzSeeds(f, func(src []byte) {
		f.Add(src, "work_mem", "64MB", false, false)
		f.Add(src, "wal_level", "replica", false, true)
		f.Add(src, "listen_addresses", "'*'", true, false)
	})
	f.Fuzz(func(t *testing.T, src []byte, name, value string, remove, auto bool) {
		path := "/fuzz/postgresql.conf"
		if auto {
			path = "/fuzz/" + AutoConfName
		}
		cf, err := ParseConf(path, src)
		if err != nil {
			return
		}
		cf.records() // kept, and brought up to date by the edit
		var ed Edit
		if remove {
			ed, err = cf.Remove(name)
		} else {
			ed, err = cf.Set(name, value)
		}
		if err != nil {
			if !bytes.Equal(cf.Bytes(), src) {
				t.Fatalf("refused edit (%v) changed the file to %q", err, cf.Bytes())
			}
			return
		}
		if err := confCheckLocality(src, cf.Bytes(), ed); err != nil {
			t.Fatalf("%+v on %q: %v", ed, src, err)
		}
		re, err := ParseConf(path, cf.Bytes())
		if err != nil {
			t.Fatalf("%+v: the result %q does not parse: %v", ed, cf.Bytes(), err)
		}
		if err := confSameParse(cf, re); err != nil {
			t.Fatalf("%+v on %q: %v", ed, src, err)
		}
		got, ok := confLastValue(re, name)
		if remove {
			if ok {
				t.Fatalf("%+v: %s still set to %q in %q", ed, name, got, cf.Bytes())
			}
			return
		}
		want, _ := UnquoteValue(value)
		if !ok || got != want {
			t.Fatalf("%+v: %s is %q (%v) in %q, want %q", ed, name, got, ok, cf.Bytes(), want)
		}
	})
}
