package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadSource: no input makes LoadSource panic, and a spec without
// errors is complete.
func FuzzLoadSource(f *testing.F) {
	for _, dir := range []string{"../testdata/specs", "../testdata/validate"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(tpl{primary: `settings = { work_mem = 1e999999, x.y = [1, "a b"] }`, standby: `hba = ["host all all 0.0.0.0/0 trust"]`}.src()))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, diags := LoadSource([]Source{{Name: "fuzz.hcl", Bytes: src}}, testOptions())
		if s == nil {
			t.Fatal("nil Spec")
		}
		if diags.HasErrors() {
			if s.Clusters != nil {
				t.Fatal("clusters despite errors")
			}
			return
		}
		for _, c := range s.Clusters {
			if c.Primary == nil || c.Name == "" || c.PostgresVersion < 12 {
				t.Fatalf("incomplete cluster %+v", c)
			}
			for _, n := range c.Nodes() {
				if n.Host == "" || n.DataDir == "" || n.Port == 0 || !n.AdminDSN.IsSet() {
					t.Fatalf("incomplete node %+v", n)
				}
			}
		}
		_ = s.DiagnosticFiles()
	})
}

func BenchmarkLoadThreeStandbys(b *testing.B) {
	src, err := os.ReadFile("../testdata/specs/three-standbys.hcl")
	if err != nil {
		b.Fatal(err)
	}
	opts := testOptions()
	opts.Dir = "../testdata/specs"
	opts.ReadFile = os.ReadFile
	for b.Loop() {
		if _, diags := LoadSource([]Source{{Name: "three-standbys.hcl", Bytes: src}}, opts); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
