package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pgrepl/pgrepl/internal/pretty"
)

// StatusFormatVersion is the version of WriteJSON's layout.
const StatusFormatVersion = "1"

// WriteText prints reports for people: one block per cluster, a line per
// standby with its replication state and lag, then each check. Colour (green
// passes, red failures) only when color is set.
func WriteText(w io.Writer, reports []*Report, color bool) error {
	var b strings.Builder
	for i, r := range reports {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "cluster %q: primary %s\n", r.Cluster, r.Primary)
		if len(r.Standbys) == 0 {
			b.WriteString("  no standbys in the spec\n")
		}
		for _, s := range r.Standbys {
			verdict := paint(color, "32", "ok")
			if !s.OK {
				verdict = paint(color, "31", "FAILED")
			}
			state := s.State
			if state == "" {
				state = "not connected"
			}
			fmt.Fprintf(&b, "  %s: %s (%s", s.Node, verdict, state)
			if s.SyncState != "" {
				fmt.Fprintf(&b, ", %s", s.SyncState)
			}
			fmt.Fprintf(&b, ", lag %s, %.1fs)\n", pretty.Bytes(s.LagBytes), s.LagSeconds)
			for _, c := range s.Checks {
				fmt.Fprintf(&b, "    %s\n", CheckLine(c, color))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CheckLine is one check as people read it: "✓ streaming    detail", the
// mark green or red only when color is set.
func CheckLine(c Check, color bool) string {
	mark, code := "✓", "32"
	if !c.OK {
		mark, code = "✗", "31"
	}
	return fmt.Sprintf("%s %-12s %s", paint(color, code, mark), c.Name, c.Detail)
}

// paint colours s with the SGR code (32 green, 31 red) when color is set.
func paint(color bool, code, s string) string {
	if !color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// WriteJSON prints reports for programs:
// {"format_version": "1", "ok": bool, "clusters": [Report…]}.
func WriteJSON(w io.Writer, reports []*Report) error {
	ok := true
	for _, r := range reports {
		ok = ok && r.OK
	}
	if reports == nil {
		reports = []*Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		FormatVersion string    `json:"format_version"`
		OK            bool      `json:"ok"`
		Clusters      []*Report `json:"clusters"`
	}{StatusFormatVersion, ok, reports})
}
