//go:build cgo && linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/fakees"
	"github.com/nri-audit/nri-audit/journald"
	"github.com/nri-audit/nri-audit/parser"
)

// buildShipBinary builds this command into a temporary directory: the
// reliability tests run the real program and kill it.
func buildShipBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nri-audit")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// expectedIDs are the document ids of the journal's matching entries.
func expectedIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	r, err := journald.Open(context.Background(), journald.Config{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := parser.New(parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	var rec audit.Record
	for batch := range r.Batches() {
		for i := range batch.Entries {
			if b.Build(&batch.Entries[i], &rec) {
				ids[string(rec.AppendID(nil))] = true
			}
		}
	}
	return ids
}

// kill -9 in the middle of shipping, several times, then a run to the
// end: every entry is stored exactly once (the store keys by _id and
// answers 409 to a re-sent one, as Elasticsearch does).
func TestShipKill9(t *testing.T) {
	path, st := genJournal(t, 20000)
	want := expectedIDs(t, path)
	if len(want) != st.Matching {
		t.Fatalf("%d distinct ids for %d entries", len(want), st.Matching)
	}
	bin := buildShipBinary(t)
	es := fakees.Start(t)
	// Slow requests so that a kill lands mid-stream.
	es.SetRequestHook(func(fakees.Request) fakees.RequestFailure {
		return fakees.RequestFailure{Delay: 15 * time.Millisecond}
	})
	cursorFile := filepath.Join(t.TempDir(), "cursor")
	args := []string{"ship", "--file", path, "--cursor-file", cursorFile, "--url", es.URL, "--index", "nri-audit",
		"--batch-size", "200", "--progress", "never"}
	stored := func() int { return len(es.Docs("")) }
	for round, at := range []int{1500, 6000, 11000} {
		cmd := exec.Command(bin, args...)
		logf, _ := os.Create(filepath.Join(t.TempDir(), "log"))
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return stored() >= at }, "documents before the kill")
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		logf.Close()
		if n := stored(); n >= st.Matching {
			t.Fatalf("round %d: everything was shipped before the kill (%d)", round, n)
		}
		t.Logf("round %d: killed with %d of %d documents stored", round, stored(), st.Matching)
	}
	cmd := exec.Command(bin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	docs := es.Docs("nri-audit")
	got := map[string]bool{}
	for _, d := range docs {
		if got[d.ID] {
			t.Fatalf("document %s stored twice", d.ID)
		}
		got[d.ID] = true
		if !want[d.ID] {
			t.Fatalf("document %s is not one of the journal's", d.ID)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d documents stored, want %d", len(got), len(want))
	}
	s := es.Stats()
	t.Logf("created %d, 409 conflicts (re-sent after a kill) %d", s.Created, s.Conflicts)
	if s.Created != len(want) {
		t.Errorf("created %d", s.Created)
	}
}

// SIGTERM: flush, save the cursor, exit 0.
func TestShipSIGTERM(t *testing.T) {
	path, st := genJournal(t, 3000)
	bin := buildShipBinary(t)
	dir := t.TempDir()
	cursorFile, outFile := filepath.Join(dir, "cursor"), filepath.Join(dir, "docs.ndjson")
	cmd := exec.Command(bin, "ship", "--file", path, "--follow", "--cursor-file", cursorFile, "--output", outFile,
		"--flush-interval", "1h", "--batch-size", "100000", "--progress", "never")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// With a 1h flush interval and a huge batch nothing is written until
	// the signal: the flush on SIGTERM is what writes it.
	waitFor(t, func() bool { return strings.Contains(logs.String(), "ship: started") }, "start")
	time.Sleep(500 * time.Millisecond)
	if b, _ := os.ReadFile(outFile); len(b) != 0 {
		t.Fatalf("%d bytes written before the signal", len(b))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
	b, _ := os.ReadFile(outFile)
	if n := strings.Count(string(b), "\n"); n != st.Matching {
		t.Fatalf("%d documents after SIGTERM, want %d", n, st.Matching)
	}
	cursors := matchingCursors(t, path)
	if c, _ := os.ReadFile(cursorFile); string(c) != cursors[len(cursors)-1] {
		t.Fatalf("cursor %q, want the last entry", c)
	}
}
