//go:build cgo && linux

package journald

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
)

// makeJournal writes a generated journal into a temporary directory and
// returns its path and the generator's stats.
func makeJournal(tb testing.TB, opts journalgen.Options) (string, journalgen.Stats) {
	tb.Helper()
	if _, err := journalgen.RemoteBinary(); err != nil {
		tb.Skip(err)
	}
	path := filepath.Join(tb.TempDir(), "system.journal")
	g := journalgen.New(opts)
	if _, err := journalgen.Make(context.Background(), path, g); err != nil {
		tb.Fatal(err)
	}
	return path, g.Stats()
}

func makeJournalFrom(tb testing.TB, path string, entries ...journalgen.Entry) {
	tb.Helper()
	if _, err := journalgen.RemoteBinary(); err != nil {
		tb.Skip(err)
	}
	if _, err := journalgen.Make(context.Background(), path, journalgen.Entries(entries...)); err != nil {
		tb.Fatal(err)
	}
}

// readAll opens cfg and collects every entry until the batches end.
func readAll(tb testing.TB, cfg Config) ([]audit.Entry, *Reader) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var all []audit.Entry
	for b := range r.Batches() {
		all = append(all, b.Entries...)
	}
	if err := r.Err(); err != nil {
		tb.Fatal(err)
	}
	r.Close()
	return all, r
}

// collect reads from r until n entries arrived or the timeout passed.
func collect(tb testing.TB, r *Reader, n int, timeout time.Duration) []audit.Entry {
	tb.Helper()
	var all []audit.Entry
	deadline := time.After(timeout)
	for len(all) < n {
		select {
		case b, ok := <-r.Batches():
			if !ok {
				tb.Fatalf("batches closed after %d of %d entries: %v", len(all), n, r.Err())
			}
			all = append(all, b.Entries...)
		case <-deadline:
			tb.Fatalf("got %d of %d entries within %s", len(all), n, timeout)
		}
	}
	return all
}

func entry(t time.Time, fields ...string) journalgen.Entry {
	e := journalgen.Entry{Realtime: t, Monotonic: 1000 * time.Second}
	for i := 0; i+1 < len(fields); i += 2 {
		e.Fields = append(e.Fields, journalgen.Field{Name: fields[i], Value: fields[i+1]})
	}
	return e
}

func tempDirForBench() (string, error) { return benchTempDir() }

func strconvItoa(i int) string { return strconv.Itoa(i) }

func testLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
