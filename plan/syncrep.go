package plan

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// synchronousNames writes replication.synchronous as
// synchronous_standby_names: "FIRST 1 (a, b)", priority-based, one
// synchronous standby at a time, the next one taking over when it goes.
func synchronousNames(names []string) string {
	if len(names) == 0 {
		return ""
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = syncrepIdent(n)
	}
	return "FIRST 1 (" + strings.Join(q, ", ") + ")"
}

// syncrepIdent quotes a standby name for synchronous_standby_names unless
// it is a plain identifier (syncrep_scanner.l).
func syncrepIdent(n string) string {
	plain := n != ""
	for i := 0; i < len(n); i++ {
		c := n[i]
		ok := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80 || (i > 0 && (('0' <= c && c <= '9') || c == '$'))
		if !ok {
			plain = false
			break
		}
	}
	if plain {
		return n
	}
	return `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
}

// pgreplSynchronous reports whether a synchronous_standby_names value has
// exactly the form pgrepl writes, naming only the given nodes: with an
// empty replication.synchronous pgrepl resets such a value (and leaves any
// other alone, as the user's).
func pgreplSynchronous(value string, known func(string) bool) bool {
	v := strings.TrimSpace(value)
	if !strings.HasPrefix(v, "FIRST 1 (") || !strings.HasSuffix(v, ")") {
		return false
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(v, "FIRST 1 ("), ")")
	var names []string
	for _, n := range strings.Split(inner, ", ") {
		if strings.HasPrefix(n, `"`) && strings.HasSuffix(n, `"`) && len(n) >= 2 {
			n = strings.ReplaceAll(n[1:len(n)-1], `""`, `"`)
		}
		if !known(n) {
			return false
		}
		names = append(names, n)
	}
	return synchronousNames(names) == v
}

// syncNumPrefix is the count that starts a synchronous_standby_names of
// the forms "FIRST n (…)", "ANY n (…)" and "n (…)" (syncrep_gram.y); a
// plain list waits for one standby.
var syncNumPrefix = regexp.MustCompile(`^(?i:(?:ANY|FIRST)\s+)?([0-9]+)\s*\(`)

// syncNum is how many synchronous standbys a synchronous_standby_names
// value makes a commit wait for.
func syncNum(value string) int {
	m := syncNumPrefix.FindStringSubmatch(strings.TrimSpace(value))
	if m == nil {
		return 1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 1
	}
	return n
}

// commitsWaitWithout says why commits on the primary wait while standby
// name does not stream, or "" when they go on: synchronous_commit makes
// them wait for synchronous standbys, and without name fewer standbys that
// synchronous_standby_names accepts stream than it requires. The primary's
// pg_stat_replication says which standbys it accepts (sync_state sync,
// potential or quorum). When too few stream even with it, commits wait
// already: its absence changes nothing and nothing is said.
func (cp *clusterPlanner) commitsWaitWithout(name string) string {
	p := cp.primary
	if p == nil || !p.up {
		return ""
	}
	names := p.row("synchronous_standby_names")
	if names == nil || strings.TrimSpace(names.Setting) == "" {
		return ""
	}
	if sc := p.row("synchronous_commit"); sc != nil && (sc.Setting == "off" || sc.Setting == "local") {
		return ""
	}
	need := syncNum(names.Setting)
	candidates, isCandidate := 0, false
	for _, r := range p.st.Server.Replication {
		if r.State != "streaming" {
			continue
		}
		switch r.SyncState {
		case "sync", "potential", "quorum":
			candidates++
			isCandidate = isCandidate || strings.EqualFold(r.ApplicationName, name)
		}
	}
	if !isCandidate || candidates < need || candidates-1 >= need {
		return ""
	}
	standbys := "standbys"
	if need == 1 {
		standbys = "standby"
	}
	return fmt.Sprintf("synchronous_standby_names = '%s' needs %d synchronous %s, and no other streaming standby can take %s's place",
		names.Setting, need, standbys, name)
}
