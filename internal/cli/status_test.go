package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

func TestStatusHealthyPair(t *testing.T) {
	t.Setenv("PGREPL_STATE_TEST_PASSWORD", statePassword)
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	s := pgtest.StartStandby(t, p, "127.0.0.3", "pg2")
	specPath := stateSpec(t, p, "pg2", "127.0.0.3", s)

	code, stdout, stderr := run(t, "", "status", "-s", specPath, "--write-probe", "--format", "json")
	if code != 0 {
		t.Fatalf("status exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var got struct {
		OK       bool `json:"ok"`
		Clusters []struct {
			Standbys []struct {
				Node   string `json:"node"`
				State  string `json:"state"`
				Checks []struct {
					Name string `json:"name"`
					OK   bool   `json:"ok"`
				} `json:"checks"`
			} `json:"standbys"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !got.OK || len(got.Clusters) != 1 || len(got.Clusters[0].Standbys) != 1 {
		t.Fatalf("status JSON: %s", stdout)
	}
	sb := got.Clusters[0].Standbys[0]
	var names []string
	for _, c := range sb.Checks {
		if !c.OK {
			t.Errorf("check %s failed", c.Name)
		}
		names = append(names, c.Name)
	}
	if sb.Node != "pg2" || sb.State != "streaming" || strings.Join(names, ",") != "streaming,in_recovery,read_only,replay,write_probe" {
		t.Errorf("standby %+v", sb)
	}
	// The probe table is gone, as psql sees it.
	if n := p.Psql(t, "SELECT count(*) FROM pg_class WHERE relname = 'pgrepl_write_probe'"); n != "0" {
		t.Errorf("write probe table left on the primary")
	}

	code, stdout, _ = run(t, "", "status", "-s", specPath)
	if code != 0 || !strings.Contains(stdout, "pg2: ok (streaming, async") {
		t.Errorf("text status (exit %d):\n%s", code, stdout)
	}
}

func TestStatusFailsOnStandAloneServer(t *testing.T) {
	t.Setenv("PGREPL_STATE_TEST_PASSWORD", statePassword)
	p := pgtest.Start(t, pgtest.Options{Host: "127.0.0.2"})
	other := pgtest.Start(t, pgtest.Options{Host: "127.0.0.3"})
	specPath := stateSpec(t, p, "pg2", "127.0.0.3", other)

	code, stdout, stderr := run(t, "", "status", "-s", specPath, "--timeout", "300ms")
	if code != 1 {
		t.Fatalf("status exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"demo/pg2: streaming", "demo/pg2: in_recovery", "demo/pg2: read_only"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not name %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "pg2: FAILED") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestStatusRefusesBadFormat(t *testing.T) {
	code, _, stderr := run(t, "", "status", "--format", "yaml")
	if code != 1 || !strings.Contains(stderr, "--format must be text or json") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
