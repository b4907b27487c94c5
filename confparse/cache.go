package confparse

import (
	"bytes"
	"hash/maphash"
	"slices"
	"sync"
)

// ParseCache remembers parsed config files by their bytes, so that loading
// the same bytes again costs a hash and a comparison instead of a parse: a
// planner loads the primary's files once for each standby pg_basebackup
// would copy them to. It is safe for concurrent use; the zero value is
// ready.
type ParseCache struct {
	mu    sync.Mutex
	seed  maphash.Seed
	files map[uint64][]*File // by the hash of their bytes; never edited
}

// parse returns src, the contents of the file at path, parsed as ParseConf
// parses it; nil for a file too large. A nil cache just parses.
func (pc *ParseCache) parse(path string, src []byte) *File {
	if pc == nil {
		f, _ := ParseConf(path, src)
		return f
	}
	pc.mu.Lock()
	if pc.files == nil {
		pc.seed, pc.files = maphash.MakeSeed(), map[uint64][]*File{}
	}
	h := maphash.Bytes(pc.seed, src)
	for _, t := range pc.files[h] {
		if bytes.Equal(t.src, src) {
			pc.mu.Unlock()
			return t.clone(path)
		}
	}
	pc.mu.Unlock()
	t, _ := ParseConf("", src)
	if t == nil {
		return nil
	}
	t.sharedLines = true // from now on
	t.shared.Store(true)
	t.records() // now, while no copy reads them
	pc.mu.Lock()
	pc.files[h] = append(pc.files[h], t)
	pc.mu.Unlock()
	return t.clone(path)
}

// clone returns a copy of f named path. It shares f's bytes, which edits
// of either then leave as they are (see File.shared), and its line
// records until an edit of either changes them (see ownLines).
func (f *File) clone(path string) *File {
	if !f.sharedLines {
		f.sharedLines = true
	}
	f.shared.Store(true)
	recs, invalid := f.records()
	c := &File{path: path, src: f.src, lines: f.lines, sharedLines: true, recs: recs, recsInvalid: invalid, recsOK: true}
	c.shared.Store(true)
	if f.err != nil {
		e := *f.err
		e.File = path
		c.err = &e
	}
	return c
}

// ownLines gives f line records of its own before they change in place.
func (f *File) ownLines() {
	if f.sharedLines {
		f.lines = slices.Clone(f.lines) // not cleared first, as make would
		f.sharedLines = false
	}
}
