package apply

import (
	"reflect"
	"testing"

	"github.com/pgrepl/pgrepl/state"
)

func TestStaleInputs(t *testing.T) {
	in := func(c, n, name, h string) state.Input { return state.Input{Cluster: c, Node: n, Name: name, SHA256: h} }
	saved := []state.Input{
		in("demo", "pg1", "file /srv/pg1/postgresql.conf", "a"),
		in("demo", "pg1", "server", "b"),
		in("demo", "pg2", "file /srv/pg2/pg_hba.conf", "c"),
		in("demo", "pg2", "passfile /srv/pg2.pgpass", "d"),
	}
	now := []state.Input{
		in("demo", "pg1", "file /srv/pg1/postgresql.conf", "A"),
		in("demo", "pg1", "server", "b"),
		in("demo", "pg2", "file /srv/pg2/pg_hba.conf", "C"),
		in("demo", "pg2", "file /srv/pg2/extra.conf", "e"),
	}
	want := []string{
		"pg1: file /srv/pg1/postgresql.conf changed since the plan",
		"pg2: file /srv/pg2/pg_hba.conf changed since the plan",
		"pg2: passfile /srv/pg2.pgpass is gone since the plan",
		"pg2: file /srv/pg2/extra.conf is new since the plan",
	}
	if got := StaleInputs(saved, now); !reflect.DeepEqual(got, want) {
		t.Errorf("StaleInputs:\n%q\nwant\n%q", got, want)
	}
	if got := StaleInputs(saved, saved); len(got) != 0 {
		t.Errorf("StaleInputs of the same inputs: %q", got)
	}
	two := append(saved[:1:1], in("other", "db1", "server", "x"))
	if got := StaleInputs(two, saved[:1]); !reflect.DeepEqual(got, []string{"other/db1: server is gone since the plan"}) {
		t.Errorf("StaleInputs across clusters: %q", got)
	}
}
