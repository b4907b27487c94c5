package plan

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

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
