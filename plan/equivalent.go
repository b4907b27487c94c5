package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Equivalent reports whether two plans make the same changes: the same
// steps in the same order, on the same nodes and files, with the same
// diffs and details. Reasons are not compared (they are for people), nor
// what moves on its own (a slot's retained WAL, whether it is active).
// When they differ, the string describes the first difference. apply uses
// it to refuse a saved plan that no longer matches the hosts.
func Equivalent(a, b *Plan) (bool, string) {
	if a == nil || b == nil {
		return a == b, "one of the plans is missing"
	}
	n := min(len(a.Changes), len(b.Changes))
	for i := 0; i < n; i++ {
		x, y := &a.Changes[i], &b.Changes[i]
		if d := changeDifference(x, y); d != "" {
			return false, fmt.Sprintf("step %d (%s): %s", i+1, describeStep(x), d)
		}
	}
	switch {
	case len(a.Changes) > n:
		return false, fmt.Sprintf("step %d (%s) is no longer planned; the plans have %d and %d steps", n+1, describeStep(&a.Changes[n]), len(a.Changes), len(b.Changes))
	case len(b.Changes) > n:
		return false, fmt.Sprintf("step %d (%s) is new; the plans have %d and %d steps", n+1, describeStep(&b.Changes[n]), len(a.Changes), len(b.Changes))
	}
	return true, ""
}

func describeStep(c *Change) string {
	s := fmt.Sprintf("%s on %s/%s", c.Action, c.Cluster, c.Node)
	if c.Path != "" {
		s += " " + c.Path
	}
	return s
}

// changeDifference names the first part of x and y that differs, or "".
func changeDifference(x, y *Change) string {
	switch {
	case x.Cluster != y.Cluster || x.Node != y.Node:
		return fmt.Sprintf("node %s/%s became %s/%s", x.Cluster, x.Node, y.Cluster, y.Node)
	case x.Action != y.Action:
		return fmt.Sprintf("action %s became %s", x.Action, y.Action)
	case x.Path != y.Path:
		return fmt.Sprintf("file %s became %s", x.Path, y.Path)
	case x.Diff != y.Diff:
		return "the diff differs"
	case x.Destructive != y.Destructive || x.Downtime != y.Downtime:
		return "whether it is destructive or takes the primary down differs"
	}
	kx, ky := stableDetails(x), stableDetails(y)
	if !bytes.Equal(kx, ky) {
		return "its details differ: " + string(kx) + " became " + string(ky)
	}
	return ""
}

// stableDetails is a change's details as JSON, without its reason, the
// reasons of its parts, and the facts that move on their own.
func stableDetails(c *Change) []byte {
	cc := *c
	cc.Reason, cc.DowntimeReason = "", ""
	cc.Diff = ""
	cc.Content = nil
	if c.Slot != nil {
		s := *c.Slot
		s.RetainedBytes, s.Active = 0, false
		cc.Slot = &s
	}
	if c.Settings != nil {
		cc.Settings = make([]SettingChange, len(c.Settings))
		for i, s := range c.Settings {
			s.Reason = ""
			cc.Settings[i] = s
		}
	}
	if c.HBA != nil {
		cc.HBA = make([]HBAChange, len(c.HBA))
		for i, h := range c.HBA {
			h.Reason = ""
			cc.HBA[i] = h
		}
	}
	b, err := json.Marshal(cc)
	if err != nil {
		// Plain data: cannot fail. Compare by what fmt shows instead.
		return []byte(fmt.Sprintf("%#v", cc))
	}
	return b
}
