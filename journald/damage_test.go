//go:build cgo && linux

package journald

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
)

// usedSize is the end of the written part of a journal file (journals are
// preallocated with zeros).
func usedSize(b []byte) int {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return n
}

func readWithErr(t *testing.T, cfg Config) ([]audit.Entry, error, string) {
	t.Helper()
	var logs bytes.Buffer
	cfg.Logger = testLogger(&logs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Open(ctx, cfg)
	if err != nil {
		return nil, err, logs.String()
	}
	defer r.Close()
	var all []audit.Entry
	for b := range r.Batches() {
		all = append(all, b.Entries...)
	}
	return all, r.Err(), logs.String()
}

// objectsStart is where a journal file's objects begin, after the hash
// tables that journald preallocates at the start (header fields
// data_hash_table_offset/size and field_hash_table_offset/size).
func objectsStart(t *testing.T, b []byte) int {
	t.Helper()
	le := binary.LittleEndian
	end := le.Uint64(b[104:]) + le.Uint64(b[112:])
	if f := le.Uint64(b[120:]) + le.Uint64(b[128:]); f > end {
		end = f
	}
	if end == 0 || end > uint64(len(b)) {
		t.Fatalf("hash tables end at %d in a file of %d bytes", end, len(b))
	}
	return int(end)
}

// checkSubset fails unless got are distinct entries of want, in order.
func checkSubset(t *testing.T, got, want []audit.Entry, allowMissing bool) {
	t.Helper()
	pos := map[string]int{}
	for i, e := range want {
		pos[e.Cursor] = i
	}
	seen := map[string]bool{}
	for _, e := range got {
		i, ok := pos[e.Cursor]
		if !ok {
			t.Fatalf("entry %q is not in the original journal", e.Cursor)
		}
		if seen[e.Cursor] {
			t.Fatalf("entry %q delivered twice", e.Cursor)
		}
		seen[e.Cursor] = true
		wm, _ := want[i].Get("MESSAGE")
		gm, ok := e.Get("MESSAGE")
		if !ok && allowMissing {
			continue // its MESSAGE object was in the damaged part
		}
		if wm != gm {
			t.Fatalf("entry %q: MESSAGE %q, want %q", e.Cursor, gm, wm)
		}
	}
}

func TestTruncatedFile(t *testing.T) {
	path, _ := makeJournal(t, journalgen.Options{Entries: 3000})
	want, _ := readAll(t, Config{Files: []string{path}})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start, used := objectsStart(t, b), usedSize(b)
	cut := filepath.Join(t.TempDir(), "cut.journal")
	if err := os.WriteFile(cut, b[:start+(used-start)*7/10], 0o644); err != nil {
		t.Fatal(err)
	}
	got, err, logs := readWithErr(t, Config{Files: []string{cut}})
	if err == nil || !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), cut) {
		t.Fatalf("Err = %v, want a truncation error naming %s", err, cut)
	}
	if !strings.Contains(logs, "truncated") {
		t.Errorf("not logged: %s", logs)
	}
	checkSubset(t, got, want, true)
	// The objects of the first 70% are intact: at least half the entries.
	if len(got) < len(want)/2 {
		t.Fatalf("read %d of %d entries from a file cut at 70%%", len(got), len(want))
	}
	t.Logf("truncated at 70%%: %d of %d entries read", len(got), len(want))
}

func TestCorruptFile(t *testing.T) {
	path, _ := makeJournal(t, journalgen.Options{Entries: 3000})
	want, _ := readAll(t, Config{Files: []string{path}})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start, used := objectsStart(t, b), usedSize(b)
	for _, frac := range []int{2, 5, 8} {
		at := start + (used-start)*frac/10
		bad := append([]byte(nil), b...)
		for i := at; i < at+4096; i++ {
			bad[i] = 0xa5
		}
		p := filepath.Join(t.TempDir(), "bad.journal")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err, _ := readWithErr(t, Config{Files: []string{p}})
		checkSubset(t, got, want, err != nil)
		// 4 KiB of garbage destroy a few dozen entries at most; the rest
		// is read.
		if len(got) < len(want)-100 {
			t.Errorf("garbage at %d: read only %d of %d entries", at, len(got), len(want))
		}
		if len(got) < len(want) && err == nil {
			t.Errorf("garbage at %d: read %d of %d entries and no error", at, len(got), len(want))
		}
		if err != nil && !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("garbage at %d: Err = %v", at, err)
		}
		t.Logf("garbage at %d/%d: %d of %d entries, err=%v", at, used, len(got), len(want), err)
	}
}

func TestDirectoryWithTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.journal")
	makeJournalFrom(t, good, entry(t0, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "fine"))
	other, _ := makeJournal(t, journalgen.Options{Entries: 200})
	b, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cut.journal"), b[:(objectsStart(t, b)+usedSize(b))/2], 0o644); err != nil {
		t.Fatal(err)
	}
	got, err, _ := readWithErr(t, Config{Directory: dir})
	if len(got) != 1 {
		t.Fatalf("read %d entries from the good file", len(got))
	}
	if err == nil || !strings.Contains(err.Error(), "cut.journal is truncated") {
		t.Fatalf("Err = %v", err)
	}
}

func TestNotAJournal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.journal")
	os.WriteFile(p, []byte("hello, not a journal at all, but long enough to have a header...................................................................."), 0o644)
	if _, err := Open(context.Background(), Config{Files: []string{p}}); err == nil || !strings.Contains(err.Error(), "not a journal") {
		t.Fatalf("Open = %v", err)
	}
	if _, err := Open(context.Background(), Config{Files: []string{filepath.Join(t.TempDir(), "missing.journal")}}); err == nil {
		t.Fatal("missing file accepted")
	}
}
