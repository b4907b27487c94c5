package plan_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

func TestSavedRoundTrip(t *testing.T) {
	sp := loadSpec(t, demoSpec)
	st := readState(t, "fresh-pair")
	opts := plan.Options{Targets: []string{"pg2"}}
	p, err := plan.Make(sp, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := plan.NewSaved(sp, st, opts, p, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, testPassword) {
		t.Errorf("the saved plan holds the password")
	}
	// No file content beyond the diffs: the whole of postgresql.conf is
	// not there.
	if strings.Contains(out, "# This file consists of lines of the form") {
		t.Error("the saved plan holds a config file's content")
	}
	if !strings.Contains(out, `env(\"PGREPL_REPLICATION_PASSWORD\")`) {
		t.Error("the saved plan does not name the password's reference")
	}
	back, err := plan.ReadSaved(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.PgreplVersion != "v1.2.3" || back.Spec.Hash != sp.Hash || len(back.Inputs) != len(st.Inputs()) || back.Options.Targets[0] != "pg2" {
		t.Errorf("read back: %+v", back)
	}
	if ok, why := plan.Equivalent(p, back.Plan); !ok {
		t.Errorf("the plan read back is not the plan written: %s", why)
	}
	sp2, diags := back.LoadSpec(optsWithPassword())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if sp2.Hash != sp.Hash {
		t.Error("the spec loaded back hashes differently")
	}
	p2, err := plan.Make(sp2, st, back.Options)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := plan.Equivalent(back.Plan, p2); !ok {
		t.Errorf("planning again from the saved spec differs: %s", why)
	}
	if stale := back.Stale(st); len(stale) != 0 {
		t.Errorf("the same state is stale: %q", stale)
	}

	// A tampered spec is refused.
	back.Spec.Files[0].Content = append(back.Spec.Files[0].Content, "\n# edited\n"...)
	if _, diags := back.LoadSpec(optsWithPassword()); !diags.HasErrors() || !strings.Contains(diags.Error(), "Saved plan damaged") {
		t.Errorf("a tampered spec loads: %v", diags)
	}
}

func TestSavedIsStale(t *testing.T) {
	sp := loadSpec(t, demoSpec)
	st := readState(t, "converged-pair")
	p, err := plan.Make(sp, st, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := plan.NewSaved(sp, st, plan.Options{}, p, "dev")
	if err != nil {
		t.Fatal(err)
	}
	changed := readState(t, "converged-pair")
	appendTo(t, node(changed, "demo", "pg1"), "/srv/pgrepl-demo/pg1/postgresql.conf", "work_mem = 8MB\n")
	if got := s.Stale(changed); !reflect.DeepEqual(got, []string{"pg1: file /srv/pgrepl-demo/pg1/postgresql.conf changed since the plan"}) {
		t.Errorf("a changed file: %q", got)
	}
	moved := readState(t, "converged-pair")
	node(moved, "demo", "pg1").Server.Slots[0].RetainedBytes = 1 << 30
	node(moved, "demo", "pg1").Server.CurrentLSN = "9/0"
	if got := s.Stale(moved); len(got) != 0 {
		t.Errorf("facts that move on their own make the plan stale: %q", got)
	}
	gone := readState(t, "converged-pair")
	gone.Clusters[0].Nodes = gone.Clusters[0].Nodes[:1]
	if got := strings.Join(s.Stale(gone), "\n"); !strings.Contains(got, "pg2: file /srv/pgrepl-demo/pg2/postgresql.conf is gone since the plan") {
		t.Errorf("a node gone: %q", got)
	}
	twoClusters := readState(t, "converged-pair")
	twoClusters.Clusters = append(twoClusters.Clusters, &state.Cluster{Name: "other", Nodes: []*state.Node{{Name: "db1", Host: "127.0.0.9"}}})
	if got := strings.Join(s.Stale(twoClusters), "\n"); !strings.Contains(got, "other/db1: reachability is new since the plan") {
		t.Errorf("inputs across clusters name their cluster: %q", got)
	}
}

func TestSavedRefusesLiteralSecrets(t *testing.T) {
	st := readState(t, "fresh-pair")
	cases := []struct {
		name, old, new string
		refused        bool
	}{
		{"literal password", `password = env("PGREPL_REPLICATION_PASSWORD")`, `password = "s3cret-literal"`, true},
		{"admin_dsn with a password", `control = "pg_ctl"`, `control = "pg_ctl"
    admin_dsn = "host=/tmp user=postgres password=pw dbname=postgres"`, true},
		{"admin_dsn URL with a password", `control = "pg_ctl"`, `control = "pg_ctl"
    admin_dsn = "postgresql://postgres:pw@localhost/postgres"`, true},
		{"admin_dsn without a password", `control = "pg_ctl"`, `control = "pg_ctl"
    admin_dsn = "host=/tmp user=postgres dbname=postgres"`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := specVariant(t, demoSpec, c.old, c.new)
			p, err := plan.Make(sp, st, plan.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = plan.NewSaved(sp, st, plan.Options{}, p, "dev")
			if (err != nil) != c.refused {
				t.Fatalf("NewSaved: %v", err)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "pw@")) {
				t.Errorf("the refusal shows the secret: %v", err)
			}
		})
	}
}

func TestReadSavedRefusesOtherFormats(t *testing.T) {
	for _, in := range []string{
		`{"format_version": "2", "plan": {"format_version": "1", "changes": []}, "spec": {"files": [{"name": "a", "content": ""}]}}`,
		`{"format_version": "1", "spec": {"files": [{"name": "a", "content": ""}]}}`,
		`{"format_version": "1", "plan": {}, "spec": {}}`,
		`{"format_version": "1", "plan": {}, "unknown": 1}`,
		`not json`,
	} {
		if _, err := plan.ReadSaved(strings.NewReader(in)); err == nil {
			t.Errorf("read %s", in)
		}
	}
}

func TestEquivalent(t *testing.T) {
	sp := loadSpec(t, demoSpec)
	a, err := plan.Make(sp, readState(t, "removed-standby"), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *plan.Plan {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var p plan.Plan
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	b := clone()
	b.Changes[0].Reason = "another reason"
	b.Changes[0].DowntimeReason = "another reason"
	for i := range b.Changes {
		if b.Changes[i].Slot != nil {
			b.Changes[i].Slot.RetainedBytes = 7
		}
	}
	if ok, why := plan.Equivalent(a, b); !ok {
		t.Errorf("reasons and retained WAL must not count: %s", why)
	}
	cases := []struct {
		name   string
		change func(p *plan.Plan)
		want   string
	}{
		{"diff", func(p *plan.Plan) { p.Changes[1].Diff += "+x\n" }, "step 2 (edit_file on demo/pg1 /srv/pgrepl-demo/pg1/pg_hba.conf): the diff differs"},
		{"action", func(p *plan.Plan) { p.Changes[2].Action = plan.Restart }, "step 3 (reload on demo/pg1): action reload became restart"},
		{"slot", func(p *plan.Plan) { p.Changes[0].Slot.Name = "pg4" }, "step 1 (drop_slot on demo/pg1): its details differ"},
		{"one step less", func(p *plan.Plan) { p.Changes = p.Changes[:2] }, "step 3 (reload on demo/pg1) is no longer planned"},
		{"hash", func(p *plan.Plan) { p.Changes[1].File.OldSHA256 = "00" }, "its details differ"},
	}
	for _, c := range cases {
		b := clone()
		c.change(b)
		ok, why := plan.Equivalent(a, b)
		if ok || !strings.Contains(why, c.want) {
			t.Errorf("%s: Equivalent = %v, %q; want %q", c.name, ok, why, c.want)
		}
	}
}

func optsWithPassword() spec.Options {
	return spec.Options{LookupEnv: func(k string) (string, bool) { return testPassword, k == "PGREPL_REPLICATION_PASSWORD" }}
}

// TestPasswordInAFileIsNeverShown: a State whose files hold a password in
// clear (an older observer, a hand-made snapshot) still gives a plan, and
// saved plan, without it.
func TestPasswordInAFileIsNeverShown(t *testing.T) {
	st := readState(t, "wrong-conninfo")
	pg2 := node(st, "demo", "pg2")
	f := pg2.File("/srv/pgrepl-demo/pg2/postgresql.auto.conf")
	f.Content = []byte(strings.ReplaceAll(string(f.Content), spec.Redacted, "hunter2"))
	f.SHA256 = state.Hash(f.Content)
	pg2.Server.Setting("primary_conninfo").Setting = "host=127.0.0.9 port=5432 user=replicator password=hunter2"
	sp := loadSpec(t, demoSpec)
	p, err := plan.Make(sp, st, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, md, js := renderAll(t, p)
	var saved bytes.Buffer
	s, err := plan.NewSaved(sp, st, plan.Options{}, p, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(&saved); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"text": text, "markdown": md, "json": js, "saved": saved.Bytes()} {
		if bytes.Contains(out, []byte("hunter2")) {
			t.Errorf("the %s output shows the password", name)
		}
	}
	if p.Changes[0].File.Redacted || p.Changes[0].File.OldSHA256 != f.SHA256 {
		t.Errorf("a file in clear is not redacted: %+v", p.Changes[0].File)
	}
}
