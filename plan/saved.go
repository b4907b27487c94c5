package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// Saved is a plan saved with `pgrepl plan --out FILE`: self-contained, like
// Terraform's. It holds the spec it was made from (its sources, so that
// apply needs no --spec and works from any directory), the sha256 of every
// observed input the plan depends on, the options, and the plan with its
// diffs. It holds no secret: the spec's secrets are references (env(),
// file()) that apply reads again, diffs are redacted, and no file content
// is kept.
//
// apply PLANFILE reloads the spec (LoadSpec), observes again, refuses the
// plan as stale when an input changed (Stale), plans again with the
// same options, and requires an Equivalent plan before it executes the
// fresh one.
type Saved struct {
	FormatVersion string        `json:"format_version"`
	PgreplVersion string        `json:"pgrepl_version"`
	Spec          SavedSpec     `json:"spec"`
	Inputs        []state.Input `json:"inputs"`
	Options       Options       `json:"options"`
	Plan          *Plan         `json:"plan"`
}

// SavedSpec is the spec a saved plan was made from.
type SavedSpec struct {
	// Dir is the directory relative names and file() paths resolve in.
	Dir string `json:"dir"`
	// Hash is spec.Spec.Hash: sha256 over the sources.
	Hash  string        `json:"hash"`
	Files []SavedSource `json:"files"`
}

// SavedSource is one spec file.
type SavedSource struct {
	Name    string        `json:"name"`
	Content state.Content `json:"content"`
}

// NewSaved makes the saved form of p, planned from sp and st with opts.
// It refuses a spec that holds a secret written as a literal (the
// replication password, an admin_dsn with a password): the file would
// carry it.
func NewSaved(sp *spec.Spec, st *state.State, opts Options, p *Plan, version string) (*Saved, error) {
	if err := CanSave(sp); err != nil {
		return nil, err
	}
	s := &Saved{
		FormatVersion: FormatVersion,
		PgreplVersion: version,
		Spec:          SavedSpec{Dir: sp.Dir, Hash: sp.Hash},
		Inputs:        st.Inputs(),
		Options:       opts,
		Plan:          p,
	}
	for _, src := range sp.Sources {
		s.Spec.Files = append(s.Spec.Files, SavedSource{Name: src.Name, Content: append(state.Content(nil), src.Bytes...)})
	}
	if s.Inputs == nil {
		s.Inputs = []state.Input{}
	}
	return s, nil
}

// CanSave reports why a plan of sp cannot be saved: the spec writes a
// secret as a literal (the replication password, an admin_dsn with a
// password), and a saved plan holds the spec.
func CanSave(sp *spec.Spec) error {
	if lits := literalSecrets(sp); len(lits) > 0 {
		return fmt.Errorf("the spec writes %s as a literal, so a saved plan would carry it (a saved plan holds the spec); read it with env(\"…\") or file(\"…\") instead, or plan without --out", joinNames(lits))
	}
	return nil
}

// literalSecrets names the secrets sp writes as literals.
func literalSecrets(sp *spec.Spec) []string {
	var out []string
	for _, c := range sp.Clusters {
		if c.Replication.Password.IsLiteral() {
			out = append(out, fmt.Sprintf("cluster %s's replication password", c.Name))
		}
		for _, n := range c.Nodes() {
			if n.AdminDSN.IsLiteral() && libpq.HasPassword(n.AdminDSN.Reveal()) {
				out = append(out, fmt.Sprintf("%s/%s's admin_dsn with a password", c.Name, n.Name))
			}
		}
	}
	return out
}

// Write writes the saved plan as indented JSON.
func (s *Saved) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write saved plan: %w", err)
	}
	return nil
}

// ReadSaved reads a saved plan.
func ReadSaved(r io.Reader) (*Saved, error) {
	var s Saved
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("read saved plan: %w", err)
	}
	switch {
	case s.FormatVersion != FormatVersion:
		return nil, fmt.Errorf("read saved plan: format_version %q, this pgrepl reads %q", s.FormatVersion, FormatVersion)
	case s.Plan == nil:
		return nil, errors.New("read saved plan: it holds no plan")
	case len(s.Spec.Files) == 0:
		return nil, errors.New("read saved plan: it holds no spec")
	}
	if s.Plan.Changes == nil {
		s.Plan.Changes = []Change{}
	}
	return &s, nil
}

// LoadSpec loads the spec the plan was made from, as it was (opts.Dir
// defaults to the saved directory). It fails when the sources no longer
// hash to the saved hash.
func (s *Saved) LoadSpec(opts spec.Options) (*spec.Spec, hcl.Diagnostics) {
	if opts.Dir == "" {
		opts.Dir = s.Spec.Dir
	}
	srcs := make([]spec.Source, len(s.Spec.Files))
	for i, f := range s.Spec.Files {
		srcs[i] = spec.Source{Name: f.Name, Bytes: f.Content}
	}
	sp, diags := spec.LoadSource(srcs, opts)
	if sp != nil && sp.Hash != s.Spec.Hash {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Saved plan damaged",
			Detail: fmt.Sprintf("The spec in the saved plan hashes to %s, not the %s it was saved with.", sp.Hash, s.Spec.Hash)})
	}
	return sp, diags
}

// Stale compares the inputs the plan was made from with those of a fresh
// observation and describes every one that differs, in the saved order, then
// the new ones: "pg1: file /srv/pg1/postgresql.conf changed since the plan".
// Nodes are named with their cluster ("demo/pg1") when the inputs span
// several clusters. Empty when nothing changed.
func (s *Saved) Stale(st *state.State) []string {
	now := st.Inputs()
	clusters := map[string]bool{}
	for _, in := range append(append([]state.Input(nil), s.Inputs...), now...) {
		clusters[in.Cluster] = true
	}
	name := func(in state.Input) string {
		if len(clusters) > 1 {
			return in.Cluster + "/" + in.Node + ": " + in.Name
		}
		return in.Node + ": " + in.Name
	}
	type key struct{ cluster, node, name string }
	cur := map[key]string{}
	for _, in := range now {
		cur[key{in.Cluster, in.Node, in.Name}] = in.SHA256
	}
	seen := map[key]bool{}
	var out []string
	for _, in := range s.Inputs {
		k := key{in.Cluster, in.Node, in.Name}
		seen[k] = true
		h, ok := cur[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s is gone since the plan", name(in)))
		case h != in.SHA256:
			out = append(out, fmt.Sprintf("%s changed since the plan", name(in)))
		}
	}
	for _, in := range now {
		if !seen[key{in.Cluster, in.Node, in.Name}] {
			out = append(out, fmt.Sprintf("%s is new since the plan", name(in)))
		}
	}
	return out
}
