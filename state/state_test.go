package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func sample() *State {
	return &State{FormatVersion: FormatVersion, Clusters: []*Cluster{{
		Name: "demo",
		Nodes: []*Node{{
			Name: "pg1", Host: "127.0.0.2", Reachable: true,
			DataDir: DataDir{Path: "/srv/pg1", Exists: true, PGVersion: "15", SystemIdentifier: "7301234567890123456", Timeline: 1, FreeBytes: 1 << 30},
			Files: []*File{
				{Path: "/srv/pg1/postgresql.conf", Role: RoleConfig, Exists: true, Content: Content("port = 5432\n"), SHA256: Hash([]byte("port = 5432\n"))},
				{Path: "/srv/pg1/odd.conf", Role: RoleInclude, Exists: true, Content: Content{0xff, 0xfe, '\n'}},
			},
			Server: Server{Up: true, VersionNum: 150018, CurrentLSN: "0/3000060",
				Settings: []Setting{{Name: "wal_level", Setting: "replica", Context: "postmaster", VarType: "enum", Source: "default"}},
				Slots:    []Slot{{Name: "pg2", Type: "physical", Active: true, RetainedBytes: 100}}},
		}},
	}}}
}

func TestJSONRoundTrip(t *testing.T) {
	s := sample()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"content":"port = 5432\n"`) {
		t.Errorf("UTF-8 content must serialize as a plain string: %s", b)
	}
	if !strings.Contains(string(b), `"content":{"base64":"//4K"}`) {
		t.Errorf("non-UTF-8 content must serialize as base64: %s", b)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, &back) {
		t.Errorf("round trip changed the state:\n%+v\n%+v", s, &back)
	}
	if !bytes.Equal(back.Clusters[0].Nodes[0].Files[1].Content, []byte{0xff, 0xfe, '\n'}) {
		t.Error("binary content lost")
	}
}

func TestInputsIgnoreVolatileFacts(t *testing.T) {
	a, b := sample(), sample()
	nb := b.Clusters[0].Nodes[0]
	nb.Server.CurrentLSN = "0/9000000"
	nb.Server.Slots[0].RetainedBytes = 99999
	nb.Server.Slots[0].Active = false
	nb.DataDir.FreeBytes = 1
	if !reflect.DeepEqual(a.Inputs(), b.Inputs()) {
		t.Error("LSNs, retained WAL, slot activity and free space must not make a plan stale")
	}
}

func TestInputsSeeChanges(t *testing.T) {
	changes := map[string]func(n *Node){
		"file":     func(n *Node) { n.Files[0].SHA256 = Hash([]byte("port = 5433\n")) },
		"setting":  func(n *Node) { n.Server.Settings[0].PendingRestart = true },
		"sysid":    func(n *Node) { n.DataDir.SystemIdentifier = "1" },
		"slot":     func(n *Node) { n.Server.Slots = nil },
		"recovery": func(n *Node) { n.Server.InRecovery = true },
		"role":     func(n *Node) { n.Server.Role = &Role{Name: "replicator", Exists: true, Password: PasswordDiffers} },
		"config":   func(n *Node) { n.ConfigFile = "/etc/postgresql/15/main/postgresql.conf" },
		"group":    func(n *Node) { n.Files[0].Group = "adm" },
		"source":   func(n *Node) { n.Server.Settings[0].Source = "command line" },
	}
	base := sample().Inputs()
	for name, change := range changes {
		s := sample()
		change(s.Clusters[0].Nodes[0])
		if reflect.DeepEqual(base, s.Inputs()) {
			t.Errorf("%s: a change that shapes the plan must change the inputs", name)
		}
	}
}

func TestSettingLookupIsCaseInsensitive(t *testing.T) {
	s := sample().Clusters[0].Nodes[0].Server
	if st := s.Setting("WAL_LEVEL"); st == nil || st.Setting != "replica" {
		t.Errorf("Setting(WAL_LEVEL) = %v", st)
	}
	if s.Setting("nope") != nil {
		t.Error("unknown setting found")
	}
}
