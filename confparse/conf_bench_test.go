package confparse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// confBig returns about size bytes of realistic postgresql.conf: settings
// with and without comments, quoted values, commented-out samples, blanks.
func confBig(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "shared_buffers = %dMB\t\t\t# min 128kB\n", i)
		case 1:
			fmt.Fprintf(&b, "#work_mem = 4MB\t\t\t\t# min 64kB, line %d\n", i)
		case 2:
			fmt.Fprintf(&b, "listen_addresses = 'localhost, 10.0.0.%d'\t# what IP address(es) to listen on;\n", i%256)
		case 3:
			b.WriteString("\n")
		case 4:
			fmt.Fprintf(&b, "log_line_prefix = '%%m [%%p] it''s \\t %d '\n", i)
		case 5:
			fmt.Fprintf(&b, "ext%d.setting = on\n", i)
		case 6:
			b.WriteString("\t\t\t\t\t# (change requires restart)\n")
		case 7:
			fmt.Fprintf(&b, "checkpoint_completion_target = 0.%d\n", i)
		}
	}
	return b.Bytes()
}

func confBenchParse(b *testing.B, src []byte) {
	lines := bytes.Count(src, []byte{'\n'})
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseConf("/bench/postgresql.conf", src); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	allocs := testing.AllocsPerRun(10, func() { _, _ = ParseConf("/bench/postgresql.conf", src) })
	b.ReportMetric(allocs/float64(lines), "allocs/line")
}

// BenchmarkParseConfSample parses PostgreSQL 15's postgresql.conf.sample.
func BenchmarkParseConfSample(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(confCorpusDir, "postgresql.conf", "pg15-sample.conf"))
	if err != nil {
		b.Skipf("corpus: %v", err)
	}
	confBenchParse(b, src)
}

// BenchmarkParseConf1MB parses a generated 1 MB file.
func BenchmarkParseConf1MB(b *testing.B) { confBenchParse(b, confBig(1<<20)) }

// BenchmarkLoadConfSample loads the sample and builds its entries.
func BenchmarkLoadConf1MB(b *testing.B) {
	src := confBig(1 << 20)
	r := confMemReader{"/bench/postgresql.conf": string(src)}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(r, "/bench/postgresql.conf", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseConfAllocs holds ParseConf to a constant number of allocations
// per file, far under the budget of 2 per line.
func TestParseConfAllocs(t *testing.T) {
	src := confBig(64 << 10)
	lines := bytes.Count(src, []byte{'\n'})
	allocs := testing.AllocsPerRun(20, func() { _, _ = ParseConf("/p/postgresql.conf", src) })
	if allocs > 8 || allocs/float64(lines) > 2 {
		t.Errorf("ParseConf: %.0f allocations for %d lines", allocs, lines)
	}
}
