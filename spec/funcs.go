package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// sensitiveMark is the cty mark carried by every value read through env()
// or file(): such a value may only land in a Secret.
type mark string

const sensitiveMark mark = "sensitive"

// envUnsetError is env()'s error for a variable that is not set. hidden:
// the name itself came from a sensitive value and must not be shown.
type envUnsetError struct {
	name   string
	hidden bool
}

func (e envUnsetError) Error() string {
	if e.hidden {
		return "an environment variable (named by a sensitive value) is not set"
	}
	return fmt.Sprintf("environment variable %s is not set", e.name)
}

// fileReadError is file()'s error for a file it cannot read.
type fileReadError struct {
	path   string // as written
	full   string // as resolved
	err    error
	hidden bool // the path came from a sensitive value: do not show it
}

func (e fileReadError) Error() string {
	if e.hidden {
		return "cannot read a file named by a sensitive value"
	}
	if errors.Is(e.err, fs.ErrNotExist) {
		return fmt.Sprintf("no file %s", e.full)
	}
	return fmt.Sprintf("read %s: %v", e.full, e.err)
}

// functions returns the functions a spec file may call. dir is the directory
// of the file being evaluated: file() resolves relative paths against it.
func (l *loader) functions(dir string) map[string]function.Function {
	return map[string]function.Function{
		"env": function.New(&function.Spec{
			Description: "The value of an environment variable; sensitive.",
			// AllowMarked: a name that is itself sensitive must stay out of
			// error messages.
			Params: []function.Parameter{{Name: "name", Type: cty.String, AllowMarked: true}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				arg, marks := args[0].Unmark()
				name := arg.AsString()
				v, ok := l.lookupEnv(name)
				if !ok {
					return cty.UnknownVal(cty.String), envUnsetError{name: name, hidden: len(marks) > 0}
				}
				return cty.StringVal(v).Mark(sensitiveMark), nil
			},
		}),
		"file": function.New(&function.Spec{
			Description: "The contents of a file, relative to the spec file; sensitive.",
			Params:      []function.Parameter{{Name: "path", Type: cty.String, AllowMarked: true}},
			Type:        function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				arg, marks := args[0].Unmark()
				p := arg.AsString()
				full := p
				if !filepath.IsAbs(full) {
					full = filepath.Join(dir, full)
				}
				b, err := l.readFile(full)
				if err != nil {
					return cty.UnknownVal(cty.String), fileReadError{path: p, full: full, err: err, hidden: len(marks) > 0}
				}
				return cty.StringVal(string(b)).Mark(sensitiveMark), nil
			},
		}),
		"trimspace": stdlib.TrimSpaceFunc,
		"nonsensitive": function.New(&function.Spec{
			Description: "Its argument without the sensitive mark: for env() or file() values that are not secrets.",
			Params:      []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowMarked: true, AllowNull: true}},
			Type: func(args []cty.Value) (cty.Type, error) {
				return args[0].Type(), nil
			},
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				v, _ := args[0].UnmarkDeep()
				return v, nil
			},
		}),
	}
}
