package spec

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// field is one decoded attribute: its value, whether the spec sets it, and
// where. bad means the spec sets it but its value was reported as wrong, so
// no later check should complain about it again (or about it missing).
type field[T any] struct {
	v   T
	set bool
	bad bool
	rng hcl.Range
}

// or returns the field's value when set, else def.
func (f field[T]) or(def T) T {
	if f.set && !f.bad {
		return f.v
	}
	return def
}

// present reports whether the spec writes the attribute at all.
func (f field[T]) present() bool { return f.set || f.bad }

// override returns f when the spec writes it, else base.
func override[T any](base, f field[T]) field[T] {
	if f.present() {
		return f
	}
	return base
}

// evalCtx is the evaluation context of one spec file.
func (l *loader) evalCtx(file string) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: l.functions(l.fileDir(file))}
}

// eval evaluates expr. ok is false when it failed (and was reported).
func (l *loader) eval(ctx *hcl.EvalContext, expr hcl.Expression) (cty.Value, bool) {
	v, diags := expr.Value(ctx)
	for _, d := range diags {
		explainCallError(d)
	}
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// explainCallError rewrites the generic "Error in function call" of env()
// and file() into a diagnostic that names what is missing.
func explainCallError(d *hcl.Diagnostic) {
	extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d)
	if !ok || extra.FunctionCallError() == nil {
		return
	}
	var envErr envUnsetError
	var fileErr fileReadError
	switch err := extra.FunctionCallError(); {
	case errors.As(err, &envErr) && envErr.hidden:
		d.Summary = "Environment variable not set"
		d.Detail = "env() names an environment variable with a sensitive value, and that variable is not set."
	case errors.As(err, &fileErr) && fileErr.hidden:
		d.Summary = "Cannot read file"
		d.Detail = "file() names its file with a sensitive value, and that file cannot be read."
	case errors.As(err, &envErr):
		d.Summary = "Environment variable not set"
		d.Detail = fmt.Sprintf("env(%q): the environment variable %s is not set. Set it in the environment pgrepl runs in (export %s=…).",
			envErr.name, envErr.name, envErr.name)
	case errors.As(err, &fileErr):
		d.Summary = "Cannot read file"
		d.Detail = fmt.Sprintf("file(%q): %s. A relative path is relative to the directory of the spec file.", fileErr.path, fileErr.Error())
	}
}

// sensitiveNotAllowed reports a value read through env() or file() where
// pgrepl would show it; what names the place ("port", "Setting work_mem").
func (l *loader) sensitiveNotAllowed(rng hcl.Range, what string) {
	l.errorf(rng, "Sensitive value not allowed",
		"%s cannot hold a value read through env() or file(): pgrepl treats such values as secrets, and this one would be shown in plans. Write the value in the spec, or wrap it in nonsensitive(…) if it is not a secret.",
		what)
}

// evalAttr evaluates attribute a. ok is true when it has a non-null value;
// else f tells an absent or null attribute (bad=false) from one that failed
// (reported; bad=true). f.rng is set whenever a is written; f.set is left
// for the caller, which knows what a right value is.
func (l *loader) evalAttr(ctx *hcl.EvalContext, a *hclsyntax.Attribute) (v cty.Value, f field[struct{}], ok bool) {
	if a == nil {
		return cty.NilVal, f, false
	}
	f.rng = a.Expr.Range()
	v, ok = l.eval(ctx, a.Expr)
	if !ok {
		f.bad = true
		return cty.NilVal, f, false
	}
	if v.IsNull() {
		return cty.NilVal, f, false
	}
	return v, f, true
}

// value evaluates attribute a for an attribute that is not a secret: it
// reports sensitive values and converts to ty. set is false when a is absent
// or null, or wrong (reported; bad=true).
func (l *loader) value(ctx *hcl.EvalContext, a *hclsyntax.Attribute, ty cty.Type, typeName string) (cty.Value, field[struct{}]) {
	v, f, ok := l.evalAttr(ctx, a)
	if !ok {
		return cty.NilVal, f
	}
	if v.ContainsMarked() {
		l.sensitiveNotAllowed(f.rng, a.Name)
		f.bad = true
		return cty.NilVal, f
	}
	c, err := convert.Convert(v, ty)
	if err != nil || c.IsNull() {
		l.wrongType(&f, a.Name, typeName, v)
		return cty.NilVal, f
	}
	f.set = true
	return c, f
}

// wrongType reports that attribute name holds v where it needs typeName, and
// marks f bad.
func (l *loader) wrongType(f *field[struct{}], name, typeName string, v cty.Value) {
	l.errorf(f.rng, "Incorrect attribute value type", "Inappropriate value for attribute %q: %s required, but %s was given.", name, typeName, friendlyType(v.Type()))
	f.bad = true
}

func friendlyType(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "an object"
	}
	return t.FriendlyName()
}

func (l *loader) str(ctx *hcl.EvalContext, a *hclsyntax.Attribute) field[string] {
	v, f := l.value(ctx, a, cty.String, "a string")
	out := field[string]{set: f.set, bad: f.bad, rng: f.rng}
	if f.set {
		out.v = v.AsString()
	}
	return out
}

func (l *loader) boolean(ctx *hcl.EvalContext, a *hclsyntax.Attribute) field[bool] {
	v, f := l.value(ctx, a, cty.Bool, "a bool")
	out := field[bool]{set: f.set, bad: f.bad, rng: f.rng}
	if f.set {
		out.v = v.True()
	}
	return out
}

// integer evaluates a whole number within [lo, hi].
func (l *loader) integer(ctx *hcl.EvalContext, a *hclsyntax.Attribute, lo, hi int) field[int] {
	v, f := l.value(ctx, a, cty.Number, "a number")
	out := field[int]{set: f.set, bad: f.bad, rng: f.rng}
	if !f.set {
		return out
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact || n < int64(lo) || n > int64(hi) {
		l.errorf(f.rng, "Invalid "+a.Name, "%s must be a whole number from %d to %d; it is %s.", a.Name, lo, hi, numText(bf))
		out.set, out.bad = false, true
		return out
	}
	out.v = int(n)
	return out
}

// elem is one element of a list attribute, with its own range when the list
// is written as a literal.
type elem struct {
	v   cty.Value
	rng hcl.Range
}

// list evaluates a list attribute element by element. Elements are not
// converted; null elements are dropped.
func (l *loader) list(ctx *hcl.EvalContext, a *hclsyntax.Attribute) ([]elem, field[struct{}]) {
	if a == nil {
		return nil, field[struct{}]{}
	}
	if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
		f := field[struct{}]{set: true, rng: a.Expr.Range()}
		var out []elem
		for _, e := range t.Exprs {
			v, ok := l.eval(ctx, e)
			if !ok {
				f.bad = true
				continue
			}
			if !v.IsNull() {
				out = append(out, elem{v: v, rng: e.Range()})
			}
		}
		return out, f
	}
	v, f, ok := l.evalAttr(ctx, a)
	if !ok {
		return nil, f
	}
	if !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() {
		l.wrongType(&f, a.Name, "a list", v)
		return nil, f
	}
	f.set = true
	var out []elem
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if !ev.IsNull() {
			out = append(out, elem{v: ev, rng: f.rng})
		}
	}
	return out, f
}

// strings evaluates a list of strings; sensitive elements are refused.
func (l *loader) strings(ctx *hcl.EvalContext, a *hclsyntax.Attribute) ([]string, []hcl.Range, field[struct{}]) {
	elems, f := l.list(ctx, a)
	var out []string
	var rngs []hcl.Range
	for _, e := range elems {
		if e.v.ContainsMarked() {
			l.sensitiveNotAllowed(e.rng, a.Name)
			f.bad = true
			continue
		}
		c, err := convert.Convert(e.v, cty.String)
		if err != nil {
			l.errorf(e.rng, "Incorrect attribute value type", "Each element of %s must be a string, but %s was given.", a.Name, friendlyType(e.v.Type()))
			f.bad = true
			continue
		}
		out = append(out, c.AsString())
		rngs = append(rngs, e.rng)
	}
	return out, rngs, f
}

// item is one key = value of an object attribute.
type item struct {
	key    string
	keyRng hcl.Range
	v      cty.Value
	valRng hcl.Range
}

// object evaluates an object attribute item by item, in source order when it
// is written as a literal. A key may be a dotted name (pgaudit.log) without
// quotes.
func (l *loader) object(ctx *hcl.EvalContext, a *hclsyntax.Attribute) ([]item, field[struct{}]) {
	if a == nil {
		return nil, field[struct{}]{}
	}
	if o, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
		f := field[struct{}]{set: true, rng: a.Expr.Range()}
		var out []item
		for _, it := range o.Items {
			key, ok := l.objectKey(ctx, it.KeyExpr)
			v, vok := l.eval(ctx, it.ValueExpr)
			if !ok || !vok {
				f.bad = true
				continue
			}
			out = append(out, item{key: key, keyRng: it.KeyExpr.Range(), v: v, valRng: it.ValueExpr.Range()})
		}
		return out, f
	}
	v, f, ok := l.evalAttr(ctx, a)
	if !ok {
		return nil, f
	}
	if !(v.Type().IsMapType() || v.Type().IsObjectType()) {
		l.wrongType(&f, a.Name, "an object", v)
		return nil, f
	}
	f.set = true
	var out []item
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		out = append(out, item{key: k.AsString(), keyRng: f.rng, v: ev, valRng: f.rng})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, f
}

func (l *loader) objectKey(ctx *hcl.EvalContext, e hclsyntax.Expression) (string, bool) {
	inner := e
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		inner = k.Wrapped
	}
	if t, ok := inner.(*hclsyntax.ScopeTraversalExpr); ok {
		parts := []string{t.Traversal.RootName()}
		for _, step := range t.Traversal[1:] {
			attr, ok := step.(hcl.TraverseAttr)
			if !ok {
				l.errorf(e.Range(), "Invalid setting name", "A setting name is a word, or two joined by a dot (pgaudit.log); quote anything else.")
				return "", false
			}
			parts = append(parts, attr.Name)
		}
		return strings.Join(parts, "."), true
	}
	v, ok := l.eval(ctx, inner)
	if !ok {
		return "", false
	}
	if v.IsMarked() {
		l.sensitiveNotAllowed(e.Range(), "A setting name")
		return "", false
	}
	c, err := convert.Convert(v, cty.String)
	if err != nil || c.IsNull() {
		l.errorf(e.Range(), "Invalid setting name", "A setting name must be a string.")
		return "", false
	}
	return c.AsString(), true
}

// secret evaluates an attribute that may hold a secret. Its reference is
// the expression as written when it calls a function (env(), file()), else
// LiteralRef.
func (l *loader) secret(ctx *hcl.EvalContext, a *hclsyntax.Attribute) field[Secret] {
	v, af, ok := l.evalAttr(ctx, a)
	f := field[Secret]{bad: af.bad, rng: af.rng}
	if !ok {
		return f
	}
	v, _ = v.UnmarkDeep()
	c, err := convert.Convert(v, cty.String)
	if err != nil || c.IsNull() {
		l.wrongType(&af, a.Name, "a string", v)
		f.bad = true
		return f
	}
	ref := LiteralRef
	if callsFunction(a.Expr) {
		ref = strings.TrimSpace(string(f.rng.SliceBytes(l.files[f.rng.Filename].Bytes)))
	}
	f.v, f.set = NewSecret(c.AsString(), ref), true
	return f
}

// callsFunction reports whether expr calls any function: an expression that
// does not is a literal written in the spec.
func callsFunction(expr hclsyntax.Expression) bool {
	found := false
	_ = hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if _, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			found = true
		}
		return nil
	})
	return found
}
