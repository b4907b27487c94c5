package observe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"syscall"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/state"
)

// recorder is the confparse Reader (and HBAReader) of one node: it serves
// the files the probe read, reads any other through the transport, and
// records every file asked for, in order, with why it was read.
type recorder struct {
	ctx    context.Context
	tr     host.Transport
	shared map[string]*fileFact // the host's probe; read only
	local  map[string]*fileFact // read since, by this node

	// Set before each load: the role of files asked for from now on.
	role                 state.FileRole
	configFile, autoFile string

	order []*fileFact
	roles map[string]state.FileRole
	// ioErr is the first failure of the transport itself (a lost
	// connection), which must not pass for a missing file.
	ioErr error
}

func newRecorder(ctx context.Context, tr host.Transport, shared map[string]*fileFact) *recorder {
	return &recorder{ctx: ctx, tr: tr, shared: shared, local: map[string]*fileFact{}, roles: map[string]state.FileRole{}}
}

// complete reports whether the probe's fact for a file says all there is:
// it may have missed a file that changed while it ran.
func (f *fileFact) complete() bool {
	if f.statErr != nil {
		return true
	}
	if f.info.kind == "" {
		return false
	}
	return !f.info.isRegular() || f.readErr != nil || f.data != nil
}

// fact returns what is known of the file at p, examining it through the
// transport when the probe did not.
func (r *recorder) fact(p string) *fileFact {
	if f, ok := r.local[p]; ok {
		return f
	}
	if f, ok := r.shared[p]; ok && f.complete() {
		return f
	}
	f := &fileFact{path: p}
	r.local[p] = f
	fi, err := r.tr.Stat(r.ctx, p)
	if err != nil {
		r.noteIO(err)
		f.statErr = err
		return f
	}
	f.info = statFromHost(fi)
	if f.info.isRegular() {
		f.data, f.readErr = r.tr.ReadFile(r.ctx, p)
		if f.readErr != nil {
			r.noteIO(f.readErr)
		}
	}
	return f
}

// noteIO keeps an error that is about the transport rather than the file.
func (r *recorder) noteIO(err error) {
	if r.ioErr == nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		r.ioErr = err
	}
}

// ReadFile implements confparse.Reader.
func (r *recorder) ReadFile(p string) ([]byte, error) {
	f := r.fact(p)
	if _, seen := r.roles[p]; !seen {
		role := r.role
		if role == state.RoleConfig && p != r.configFile {
			role = state.RoleInclude
			if p == r.autoFile {
				role = state.RoleAuto
			}
		}
		r.roles[p] = role
		r.order = append(r.order, f)
	}
	switch {
	case f.statErr != nil:
		return nil, f.statErr
	case f.info.isDir():
		return nil, &fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR}
	case f.readErr != nil:
		return nil, f.readErr
	case f.data == nil:
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("not a regular file (%s)", f.info.kind)}
	}
	return f.data, nil
}

// ReadDir implements confparse.Reader: the entries that are not
// directories. Only names include_dir would take (*.conf, not hidden) are
// examined; the others are passed on, to be ignored.
func (r *recorder) ReadDir(p string) ([]string, error) {
	names, err := r.tr.ReadDir(r.ctx, p)
	if err != nil {
		r.noteIO(err)
		return nil, err
	}
	out := names[:0]
	for _, name := range names {
		if confparse.IncludeDirTakes(name) {
			if f := r.fact(path.Join(p, name)); f.statErr == nil && f.info.isDir() {
				continue
			}
		}
		out = append(out, name)
	}
	return out, nil
}

// files returns the State's record of every file asked for, in order.
func (r *recorder) files() []*state.File {
	out := make([]*state.File, 0, len(r.order))
	for _, f := range r.order {
		sf := &state.File{Path: f.path, Role: r.roles[f.path]}
		if f.statErr == nil {
			sf.Exists = true
			sf.Owner, sf.Group, sf.Mode = f.info.owner, f.info.group, f.info.mode()
			if f.readErr == nil && f.data != nil {
				sf.SHA256 = state.Hash(f.data)
				sf.Content = state.Content(append([]byte{}, f.data...))
			}
		}
		out = append(out, sf)
	}
	return out
}
