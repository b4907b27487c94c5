package confparse

import (
	"errors"
	"testing"
)

func TestParseBool(t *testing.T) {
	cases := []struct {
		in      string
		val, ok bool
	}{
		{"on", true, true}, {"ON", true, true}, {"off", false, true}, {"of", false, true},
		{"o", false, false}, {"true", true, true}, {"t", true, true}, {"tru", true, true},
		{"truee", false, false}, {"false", false, true}, {"F", false, true}, {"yes", true, true},
		{"y", true, true}, {"no", false, true}, {"n", false, true}, {"1", true, true},
		{"0", false, true}, {"10", false, false}, {"", false, false}, {" on", false, false},
		{"onn", false, false}, {"offf", false, false},
	}
	for _, c := range cases {
		v, ok := ParseBool(c.in)
		if ok != c.ok || (ok && v != c.val) {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, %v", c.in, v, ok, c.val, c.ok)
		}
	}
}

func TestParseInt(t *testing.T) {
	cases := []struct {
		in, base string
		want     int64
		err      error
	}{
		{"128MB", "8kB", 16384, nil},
		{"131072kB", "8kB", 16384, nil},
		{"128MB", "kB", 131072, nil},
		{"1.5GB", "MB", 1536, nil},
		{"8193kB", "8kB", 1024, nil}, // 1024.125 rounds to 1024
		{"8196kB", "8kB", 1024, nil}, // 1024.5: rint rounds half to even
		{"0x10", "", 16, nil},
		{"010", "", 8, nil},
		{"09", "", 0, BadUnit}, // strtol reads "0"; "9" is no unit
		{"-1", "ms", -1, nil},
		{"5min", "ms", 300000, nil},
		{"5 min", "s", 300, nil},
		{"5min ", "s", 300, nil},
		{"1500us", "ms", 2, nil}, // 1.5 → 2
		{"5", "", 5, nil},
		{"5MB", "", 0, BadUnit},
		{"5mb", "kB", 0, BadUnit},
		{"", "", 0, BadSyntax},
		{"abc", "kB", 0, BadSyntax},
		{"99999999999", "", 0, OutOfIntRange},
		{"1e3", "", 1000, nil},
		{".5", "", 0, nil}, // 0.5 rounds to even: 0
		{"+7", "", 7, nil},
	}
	for _, c := range cases {
		got, err := ParseInt(c.in, c.base)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("ParseInt(%q, %q) = %d, %v; want %d, %v", c.in, c.base, got, err, c.want, c.err)
		}
	}
}

func TestParseReal(t *testing.T) {
	cases := []struct {
		in, base string
		want     float64
		err      error
	}{
		{"1.1", "", 1.1, nil},
		{"2ms", "ms", 2, nil},
		{"1500us", "ms", 1.5, nil},
		{"1e3", "", 1000, nil},
		{"nan", "", 0, BadSyntax},
		{"abc", "", 0, BadSyntax},
		{"1x", "", 0, BadUnit},
		{"-0.5", "", -0.5, nil},
	}
	for _, c := range cases {
		got, err := ParseReal(c.in, c.base)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("ParseReal(%q, %q) = %v, %v; want %v, %v", c.in, c.base, got, err, c.want, c.err)
		}
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"128MB", "0x1F", "017", "1.5GB", "1e309", "-", ".", "0x", "5 min", "nan"} {
		f.Add(s, "kB")
		f.Add(s, "ms")
	}
	f.Fuzz(func(t *testing.T, s, base string) {
		// Neither may panic, whatever they are given.
		_, _ = ParseInt(s, base)
		_, _ = ParseReal(s, base)
		_, _ = ParseBool(s)
	})
}
