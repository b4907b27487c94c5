package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/plan"
)

// TestSynchronousStandbyDowntime: on real servers, a rebuild of the one
// standby that the primary's own synchronous_standby_names waits for is
// planned as downtime (its stop), read from what pgrepl observes; once the
// primary no longer waits for it, the same rebuild is not. pgrepl leaves a
// synchronous_standby_names it did not write alone.
func TestSynchronousStandbyDowntime(t *testing.T) {
	t.Parallel()
	const password = "sync-e2e-Secret-9d20"
	p := newReplicaPair(t, password)
	if r := p.pgrepl("apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}

	stopOfPG2 := func(sync string) *plan.Change {
		t.Helper()
		p.primary.Exec(t, "ALTER SYSTEM SET synchronous_standby_names = '"+sync+"'")
		p.primary.Exec(t, "SELECT pg_reload_conf()")
		want := "async"
		if sync != "" {
			want = "sync"
		}
		deadline := time.Now().Add(30 * time.Second)
		for p.primary.Psql(t, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg2' AND state = 'streaming'") != want {
			if time.Now().After(deadline) {
				t.Fatalf("pg2 is not %s after synchronous_standby_names = '%s'", want, sync)
			}
			time.Sleep(50 * time.Millisecond)
		}
		pl := p.plan("--replace", "pg2")
		for i := range pl.Changes {
			if pl.Changes[i].Node == "pg2" && pl.Changes[i].Action == plan.Stop {
				if pl.Changes[i].Downtime != pl.Summary.Downtime {
					t.Errorf("stop downtime %v, summary %v", pl.Changes[i].Downtime, pl.Summary.Downtime)
				}
				return &pl.Changes[i]
			}
		}
		t.Fatalf("plan --replace pg2 has no stop of pg2: %+v", pl.Changes)
		return nil
	}

	stop := stopOfPG2("pg2")
	if !stop.Downtime || !strings.Contains(stop.DowntimeReason, "commits on pg1 wait from this stop until pg2 streams again") ||
		!strings.Contains(stop.DowntimeReason, "synchronous_standby_names = 'pg2'") {
		t.Errorf("stop of the synchronous standby: downtime %v, %q", stop.Downtime, stop.DowntimeReason)
	}
	// The user's synchronous_standby_names stays: nothing to change.
	p.requireNoChanges()

	if stop := stopOfPG2(""); stop.Downtime || stop.DowntimeReason != "" {
		t.Errorf("stop of an asynchronous standby: downtime %v, %q", stop.Downtime, stop.DowntimeReason)
	}
}
