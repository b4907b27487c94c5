package confparse

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestParseCache: a file loaded through a cache is the file ParseConf
// parses, whether the cache had its bytes or not, and editing one copy
// changes no other.
func TestParseCache(t *testing.T) {
	src := []byte("# top\nport = 5432\n#listen_addresses = 'localhost'\t# what\nshared_buffers = 128MB\n")
	bad := []byte("port = 5432\nwork_mem = = 4MB\n")
	var pc ParseCache
	var files []*File
	for i, b := range [][]byte{src, bytes.Clone(src), src, bad, bad} {
		path := fmt.Sprintf("/srv/pg%d/postgresql.conf", i)
		f := pc.parse(path, b)
		want, _ := ParseConf(path, b)
		if f.Path() != path || !bytes.Equal(f.Bytes(), b) {
			t.Fatalf("%d: %s with %q", i, f.Path(), f.Bytes())
		}
		if err := confSameParse(f, want); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		files = append(files, f)
	}
	if n := len(pc.files); n != 2 {
		t.Errorf("the cache holds %d files, want 2", n)
	}
	// An edit of each kind on one copy.
	edits := []func(f *File) (Edit, error){
		func(f *File) (Edit, error) { return f.Set("port", "5433") },
		func(f *File) (Edit, error) { return f.Set("listen_addresses", "'*'") },
		func(f *File) (Edit, error) { return f.Set("max_wal_senders", "20") },
		func(f *File) (Edit, error) { return f.Remove("shared_buffers") },
	}
	for i, edit := range edits {
		f := pc.parse("/srv/edited/postgresql.conf", src)
		if _, err := edit(f); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
		re, _ := ParseConf(f.Path(), f.Bytes())
		if err := confSameParse(f, re); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
		for j, other := range files[:3] {
			want, _ := ParseConf(other.Path(), src)
			if !bytes.Equal(other.Bytes(), src) || confSameParse(other, want) != nil {
				t.Fatalf("edit %d changed copy %d: %q", i, j, other.Bytes())
			}
		}
	}
	if got := pc.parse("/x.conf", append(bytes.Clone(src), '#')); bytes.Equal(got.Bytes(), src) {
		t.Error("other bytes were taken for the cached ones")
	}
	// Copies made and edited at once (go test -race).
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := pc.parse(fmt.Sprintf("/srv/c%d/postgresql.conf", i), src)
			if _, err := f.Set("port", fmt.Sprint(6000+i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var nilCache *ParseCache
	if f := nilCache.parse("/n.conf", src); !bytes.Equal(f.Bytes(), src) {
		t.Error("a nil cache does not parse")
	}
}
