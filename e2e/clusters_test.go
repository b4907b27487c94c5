package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/apply"
)

// TestTwoClusters: one spec with two clusters, each a fresh pair (both
// primaries on 127.0.0.2, the standbys on 127.0.0.3 and 127.0.0.4). The
// plan keeps the clusters apart; one apply sets up both and leaves no lock
// behind; each standby streams from its own primary and holds only its
// data; status is green for both, and the next plan is empty.
func TestTwoClusters(t *testing.T) {
	t.Parallel()
	const password = "clusters-e2e-Secret-3b81"
	a := newPairOn(t, password, "127.0.0.3")
	b := newPairOn(t, password, "127.0.0.4")
	b.primary.Exec(t, "CREATE TABLE beta_only (x int); INSERT INTO beta_only VALUES (42)")
	both := a.clusterBlock("alpha") + "\n" + b.clusterBlock("beta")
	if err := os.WriteFile(a.spec, []byte(both), 0o644); err != nil {
		t.Fatal(err)
	}
	b.spec = a.spec

	pl := a.plan()
	clusters := map[string]int{}
	var order []string
	for _, ch := range pl.Changes {
		if len(order) == 0 || order[len(order)-1] != ch.Cluster {
			order = append(order, ch.Cluster)
		}
		if ch.Action == "basebackup" {
			clusters[ch.Cluster]++
		}
	}
	if strings.Join(order, " ") != "alpha beta" || clusters["alpha"] != 1 || clusters["beta"] != 1 {
		t.Fatalf("plan: cluster order %v, rebuilds %v", order, clusters)
	}

	r := a.pgrepl("apply", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	t.Logf("%s", r)
	if !strings.Contains(r.stdout, "2 standbys verified streaming.") {
		t.Errorf("apply does not report both standbys verified:\n%s", r.stdout)
	}
	for _, c := range []struct {
		name string
		p    *pair
	}{{"alpha", a}, {"beta", b}} {
		if _, err := os.Stat(apply.LockPath(c.p.primary.DataDir, c.name)); !os.IsNotExist(err) {
			t.Errorf("the lock of cluster %s is left behind: %v", c.name, err)
		}
		c.p.runbookChecks()
		c.p.requireOldClusterIntact()
	}
	// Each standby holds its own primary's data.
	if got := b.standby.Psql(t, "SELECT x FROM beta_only"); got != "42" {
		t.Errorf("beta's standby: beta_only holds %q, want 42", got)
	}
	if got := a.standby.Psql(t, "SELECT count(*) FROM pg_class WHERE relname = 'beta_only'"); got != "0" {
		t.Error("alpha's standby has beta's table")
	}
	st := a.pgrepl("status", "--write-probe")
	if st.code != 0 || strings.Count(st.stdout, "pg2: ok (streaming") != 2 || strings.Contains(st.stdout, "✗") {
		t.Fatalf("status:\n%s", st)
	}
	a.requireNoChanges()
}
