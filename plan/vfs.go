package plan

import (
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pgrepl/pgrepl/state"
)

// vfile is one file as the planner sees it: observed, or as an earlier step
// of the plan leaves it (an edit, a copy by pg_basebackup).
type vfile struct {
	path    string
	role    state.FileRole
	exists  bool
	content []byte
	// sha is the sha256 of the file as observed (that of the real bytes,
	// even when the content is redacted).
	sha                string
	owner, group, mode string
	// copiedFrom is the primary's file that pg_basebackup copies here;
	// afterBasebackup marks every file pg_basebackup writes (a copy, or
	// postgresql.auto.conf with -R's lines).
	copiedFrom      string
	afterBasebackup bool
	// redacted: the observer replaced a password in the content (its
	// hash is still the real file's), so edits of it are recomputed by
	// apply on the real file.
	redacted bool
}

// vfs is a node's config files by path, in the order they were observed.
// It is the confparse Reader of the planner: nothing is read from a host.
type vfs struct {
	files map[string]*vfile
	order []string
}

func newVFS() *vfs { return &vfs{files: map[string]*vfile{}} }

// observedVFS holds a node's observed files.
func observedVFS(n *state.Node) *vfs {
	v := newVFS()
	for _, f := range n.Files {
		if f == nil {
			continue
		}
		// The content is shared with the State, read only: an edit
		// replaces a vfile's content, never changes it in place.
		vf := &vfile{path: f.Path, role: f.Role, exists: f.Exists, owner: f.Owner, group: f.Group, mode: f.Mode}
		if f.Exists {
			vf.content = f.Content
			vf.sha = f.SHA256
		}
		v.put(vf)
	}
	return v
}

func (v *vfs) put(f *vfile) {
	if _, ok := v.files[f.path]; !ok {
		v.order = append(v.order, f.path)
	}
	v.files[f.path] = f
}

func (v *vfs) get(p string) *vfile { return v.files[p] }

// ReadFile implements confparse.Reader. It returns the content itself, not
// a copy: confparse copies what it parses (ParseConf clones its input,
// ParseHBA splits it into strings).
func (v *vfs) ReadFile(p string) ([]byte, error) {
	f := v.files[path.Clean(p)]
	if f == nil || !f.exists {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return f.content, nil
}

// ReadDir implements confparse.Reader and confparse.HBAReader: the names of
// the files the observer read in dir.
func (v *vfs) ReadDir(dir string) ([]string, error) {
	dir = path.Clean(dir)
	var names []string
	for _, p := range v.order {
		f := v.files[p]
		if f.exists && path.Dir(p) == dir {
			names = append(names, path.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

// under reports whether p is inside dir.
func under(p, dir string) bool {
	dir = path.Clean(dir)
	return dir != "" && strings.HasPrefix(path.Clean(p), dir+"/")
}
