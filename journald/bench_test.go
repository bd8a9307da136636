//go:build cgo && linux

package journald

import (
	"context"
	"sync"
	"testing"

	"github.com/nri-audit/nri-audit/internal/journalgen"
)

// benchJournal is made once per test binary: 100k entries take a few
// seconds to import.
var benchJournal struct {
	once  sync.Once
	path  string
	stats journalgen.Stats
	err   error
}

const benchEntries = 100_000

func benchFile(b *testing.B) (string, journalgen.Stats) {
	b.Helper()
	benchJournal.once.Do(func() {
		dir, err := tempDirForBench()
		if err != nil {
			benchJournal.err = err
			return
		}
		benchJournal.path = dir + "/bench.journal"
		g := journalgen.New(journalgen.Options{Entries: benchEntries})
		_, benchJournal.err = journalgen.Make(context.Background(), benchJournal.path, g)
		benchJournal.stats = g.Stats()
	})
	if benchJournal.err != nil {
		b.Skip(benchJournal.err)
	}
	return benchJournal.path, benchJournal.stats
}

// BenchmarkReader reads the whole 100k-entry file (default matches: the
// containerd and CRI-O entries) per iteration.
func BenchmarkReader(b *testing.B) {
	for _, mode := range []struct {
		name     string
		getEntry bool
	}{{"enumerate", false}, {"GetEntry", true}} {
		b.Run(mode.name, func(b *testing.B) {
			path, _ := benchFile(b)
			b.ReportAllocs()
			var entries, bytes uint64
			for b.Loop() {
				r, err := open(context.Background(), Config{Files: []string{path}}, mode.getEntry)
				if err != nil {
					b.Fatal(err)
				}
				for range r.Batches() {
				}
				if err := r.Err(); err != nil {
					b.Fatal(err)
				}
				st := r.Stats()
				entries += st.Entries
				bytes = st.Bytes
				r.Close()
			}
			b.SetBytes(int64(bytes))
			b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
