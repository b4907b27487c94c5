package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"host", "port", "data_dir", "max_wal_senders", "wal_level"}
	cases := map[string]string{
		"hots":           "host",
		"PORT":           "port",
		"datadir":        "data_dir",
		"max_wal_sender": "max_wal_senders",
		"wal_levle":      "wal_level",
		"x":              "",
		"completely":     "",
	}
	for in, want := range cases {
		if got := Closest(in, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Closest("a", nil); got != "" {
		t.Errorf("no candidates: %q", got)
	}
}
