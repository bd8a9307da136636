package flbout

import (
	"runtime"
	"testing"

	"github.com/nri-audit/nri-audit/flbchunk"
)

// BenchmarkPipeline measures the plugin's per-record hot path without the
// network: decode an in_systemd-shaped chunk (21 journal fields plus an
// audit MESSAGE per record) with flbchunk, build each document with the
// parser and encode it into the bulk body (esbulk.Batch.Add). Compare with
// flbchunk/internal/fbgo's fluent-bit-go benchmark in the same run:
//
//	go test -run '^$' -bench . -benchmem ./flbout ./flbchunk/...
func BenchmarkPipeline(b *testing.B) {
	const records = 1000
	cfg, err := ParseConfig(MapGetter{"url": "http://127.0.0.1:9", "stats_interval": "off"})
	if err != nil {
		b.Fatal(err)
	}
	o, err := New(b.Context(), cfg, quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	chunk := flbchunk.InSystemdChunk(systemdEntries(records))
	s, err := o.getScratch()
	if err != nil {
		b.Fatal(err)
	}
	// Warm the scratch buffers, as a long-running plugin has them.
	if n, err := o.build(s, chunk); err != nil || n.records != records {
		b.Fatalf("build: %d records, %v", n.records, err)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		s.batch.Reset()
		if _, err := o.build(s, chunk); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	total := float64(b.N) * records
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/record")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/total, "allocs/record")
}
