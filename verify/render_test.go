package verify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func sampleReports() []*Report {
	return []*Report{{
		Cluster: "demo", Primary: "pg1", OK: false,
		Standbys: []Standby{
			{Node: "pg2", OK: true, State: "streaming", SyncState: "sync", LagBytes: 0, LagSeconds: 0.25,
				Checks: []Check{{CheckStreaming, true, "pg_stat_replication: streaming (sync)"}, {CheckReplay, true, "replayed the primary's 0/3000060"}}},
			{Node: "pg3", OK: false, LagBytes: 3 << 20,
				Checks: []Check{{CheckStreaming, false, `no pg_stat_replication row with application_name "pg3" on the primary`}}},
		},
	}}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sampleReports(), false); err != nil {
		t.Fatal(err)
	}
	want := `cluster "demo": primary pg1
  pg2: ok (streaming, sync, lag 0 bytes, 0.2s)
    ✓ streaming    pg_stat_replication: streaming (sync)
    ✓ replay       replayed the primary's 0/3000060
  pg3: FAILED (not connected, lag 3072 kB, 0.0s)
    ✗ streaming    no pg_stat_replication row with application_name "pg3" on the primary
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteText(&b, sampleReports(), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[31mFAILED\x1b[0m") {
		t.Error("colour requested but no colour written")
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReports()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		FormatVersion string `json:"format_version"`
		OK            bool   `json:"ok"`
		Clusters      []struct {
			Cluster  string `json:"cluster"`
			Standbys []struct {
				Node     string `json:"node"`
				OK       bool   `json:"ok"`
				LagBytes int64  `json:"lag_bytes"`
				Checks   []struct {
					Name string `json:"name"`
					OK   bool   `json:"ok"`
				} `json:"checks"`
			} `json:"standbys"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.FormatVersion != "1" || got.OK || len(got.Clusters) != 1 || got.Clusters[0].Standbys[1].Node != "pg3" ||
		got.Clusters[0].Standbys[1].LagBytes != 3<<20 || got.Clusters[0].Standbys[0].Checks[0].Name != "streaming" {
		t.Errorf("JSON: %s", b.String())
	}
}
