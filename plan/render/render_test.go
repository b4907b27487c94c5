package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgrepl/pgrepl/internal/shell"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
)

// bigPlan has n config edits, each with a diff of lines lines.
func bigPlan(n, lines int) *plan.Plan {
	p := &plan.Plan{FormatVersion: plan.FormatVersion}
	for i := 0; i < n; i++ {
		var d strings.Builder
		fmt.Fprintf(&d, "--- /etc/f%d.conf\n+++ /etc/f%d.conf\n@@ -1,%d +1,%d @@\n", i, i, lines, lines)
		for j := 0; j < lines; j++ {
			fmt.Fprintf(&d, "-old_setting_%d = %d\n+new_setting_%d = %d\n", j, j, j, j+1)
		}
		p.Changes = append(p.Changes, plan.Change{Cluster: "demo", Node: fmt.Sprintf("pg%d", i%3+1), Host: "127.0.0.2", NodeRole: spec.Primary,
			Action: plan.EditFile, Reason: "because", Path: fmt.Sprintf("/etc/f%d.conf", i), Diff: d.String(),
			File: &plan.FileEdit{Kind: plan.KindConfig, Owner: "postgres", Mode: "0600"}})
	}
	p.Summary = plan.Summary{Changes: n, Nodes: 3, Actions: map[plan.Action]int{plan.EditFile: n}}
	return p
}

func TestMarkdownStaysUnderTheLimit(t *testing.T) {
	cases := []struct {
		name       string
		p          *plan.Plan
		wantFolded bool
	}{
		{"small", bigPlan(3, 10), false},
		{"long diffs", bigPlan(10, 400), true},
		{"one huge diff", bigPlan(2, 5000), true},
		{"many steps", bigPlan(900, 3), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Markdown(&b, c.p); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if n := utf8.RuneCountInString(out); len(out) > MarkdownLimit {
				t.Errorf("%d bytes (%d characters), over %d", len(out), n, MarkdownLimit)
			}
			folded := strings.Contains(out, "left out to keep the comment under")
			if folded != c.wantFolded {
				t.Errorf("folded = %v, want %v", folded, c.wantFolded)
			}
			if !strings.HasPrefix(out, "**Plan: ") {
				t.Errorf("the summary is not first: %.80s", out)
			}
			if strings.Count(out, "```diff")*2 != strings.Count(out, "```") {
				t.Error("unbalanced code fences")
			}
			if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
				t.Error("unbalanced <details>")
			}
		})
	}
}

func TestMarkdownFoldsTheLongestDiffFirst(t *testing.T) {
	p := bigPlan(3, 100)
	long := p.Changes[1].Diff
	for i := 0; i < 2000; i++ {
		long += "+more\n"
	}
	p.Changes[1].Diff = long
	out := markdown(p, len(markdown(bigPlan(3, 100), MarkdownLimit))+3000)
	if !strings.Contains(out, "+new_setting_0 = 1") || !strings.Contains(out, "The diff (2203 lines) is folded") {
		t.Errorf("the longest diff should be folded, the others kept:\n%s", out)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	p := bigPlan(1, 1)
	p.Changes[0].Reason = "a | b <script> `x`"
	p.Changes[0].Diff = "--- a\n+++ a\n@@ -1 +1 @@\n-```\n+x\n"
	var b bytes.Buffer
	if err := Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>") || !strings.Contains(out, `a \| b &lt;script&gt;`) {
		t.Errorf("reason not escaped:\n%s", out)
	}
	if !strings.Contains(out, "````diff\n") {
		t.Errorf("a diff holding ``` needs a longer fence:\n%s", out)
	}
}

func TestTextColour(t *testing.T) {
	p := bigPlan(1, 2)
	var plain, colour bytes.Buffer
	if err := Text(&plain, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&colour, p, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	if !strings.Contains(colour.String(), ansiGreen+"+new_setting_0 = 1"+ansiReset) || !strings.Contains(colour.String(), ansiRed+"-old_setting_0 = 0"+ansiReset) {
		t.Errorf("no colour on diff lines:\n%q", colour.String())
	}
	strip := strings.NewReplacer(ansiReset, "", ansiBold, "", ansiRed, "", ansiGreen, "", ansiYellow, "", ansiCyan, "")
	if strip.Replace(colour.String()) != plain.String() {
		t.Error("colour changes more than colours")
	}
}

func TestEmptyPlan(t *testing.T) {
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: []plan.Change{}, Summary: plan.Summary{Actions: map[plan.Action]int{}}}
	for f, want := range map[Format]string{
		FormatText:     "No changes. The cluster matches the spec.\n",
		FormatMarkdown: "**No changes.** The cluster matches the spec.\n",
	} {
		var b bytes.Buffer
		if err := Render(&b, p, f, false); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%s: %q", f, b.String())
		}
	}
	var b bytes.Buffer
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back["format_version"] != "1" || back["changes"] == nil {
		t.Errorf("empty JSON plan: %s", b.String())
	}
}

func TestParseFormat(t *testing.T) {
	for _, ok := range []string{"text", "json", "markdown"} {
		if _, err := ParseFormat(ok); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

func TestShellQuote(t *testing.T) {
	got := shell.Join([]string{"/usr/bin/pg_basebackup", "-d", "host=a port=1 passfile=/x'y", "-D", "/srv/a b", "--checkpoint=fast"})
	want := `/usr/bin/pg_basebackup -d 'host=a port=1 passfile=/x'\''y' -D '/srv/a b' --checkpoint=fast`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
