package plan

import (
	"fmt"
	"strings"
)

// Problem is one reason the planner cannot plan: a failed precondition
// (the primary is down, versions differ, a standby's disk is too small) or
// a change it cannot make safely. Message says what is wrong and what to do.
type Problem struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node,omitempty"`
	Host    string `json:"host,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var where string
	switch {
	case p.Node != "" && p.Host != "":
		where = fmt.Sprintf("%s/%s (%s)", p.Cluster, p.Node, p.Host)
	case p.Node != "":
		where = p.Cluster + "/" + p.Node
	case p.Cluster != "":
		where = "cluster " + p.Cluster
	}
	if where == "" {
		return p.Message
	}
	return where + ": " + p.Message
}

// ProblemsError is the error Make returns when it cannot plan: every
// problem found, in spec order, so that one run shows them all.
type ProblemsError struct {
	Problems []Problem
}

func (e *ProblemsError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("cannot plan: ")
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "cannot plan: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}
