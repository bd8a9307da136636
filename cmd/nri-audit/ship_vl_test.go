//go:build cgo && linux

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/internal/testenv/victorialogs"
)

// vlArgs point ship at VictoriaLogs' Elasticsearch bulk API.
func vlArgs(s *victorialogs.Server) []string {
	return []string{"--url", s.ESURL(), "--index", "nri-audit",
		"--es-param", "_time_field=@timestamp", "--es-param", "_msg_field=nri_msg,MESSAGE",
		"--es-param", "_stream_fields=_HOSTNAME,nri_runtime"}
}

func vlCount(t testing.TB, s *victorialogs.Server, q string) int {
	t.Helper()
	rows, err := s.Query(context.Background(), q+" | stats count() n")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("query %q: %v", q, rows)
	}
	n, _ := strconv.Atoi(rows[0]["n"].(string))
	return n
}

// End to end into a real store with an Elasticsearch bulk API.
func TestShipVictoriaLogs(t *testing.T) {
	path, st := genJournal(t, 5000)
	s := victorialogs.Start(t)
	r := runShipArgs(t, noEnv, append([]string{"--file", path, "--batch-size", "500"}, vlArgs(s)...)...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr.String())
	}
	s.Flush()
	if n := vlCount(t, s, "*"); n != st.Matching {
		t.Fatalf("%d rows stored, want %d\n%s", n, st.Matching, s.Output())
	}
	if n := vlCount(t, s, "nri_event:AddMount"); n != st.Events["AddMount"] {
		t.Errorf("%d AddMount rows, generator wrote %d", n, st.Events["AddMount"])
	}
	if n := vlCount(t, s, `nri_error_plugin:"10-policy"`); n == 0 {
		t.Error("no error attributed to 10-policy")
	}
}

// BenchmarkShipVictoriaLogs: the whole command (journal reader, parser,
// bulk encoder, HTTP) shipping a 100k-entry journal into VictoriaLogs.
func BenchmarkShipVictoriaLogs(b *testing.B) {
	benchShip(b, func(b *testing.B) []string { return vlArgs(victorialogs.Start(b)) })
}

// BenchmarkShipNDJSON: the same into a file, for comparison.
func BenchmarkShipNDJSON(b *testing.B) {
	benchShip(b, func(b *testing.B) []string {
		return []string{"--output", filepath.Join(b.TempDir(), "docs.ndjson")}
	})
}

func benchShip(b *testing.B, sink func(*testing.B) []string) {
	if _, err := journalgen.RemoteBinary(); err != nil {
		b.Skip(err)
	}
	path := filepath.Join(b.TempDir(), "bench.journal")
	g := journalgen.New(journalgen.Options{Entries: 100_000})
	if _, err := journalgen.Make(context.Background(), path, g); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	args := append([]string{"--file", path, "--progress", "never", "--log-level", "warn"}, sink(b)...)
	b.ReportAllocs()
	b.SetBytes(fi.Size())
	entries := 0
	for b.Loop() {
		var errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := ship(ctx, args, io.Discard, &errb, noEnv)
		cancel()
		if err != nil {
			b.Fatalf("%v\n%s", err, errb.String())
		}
		entries += g.Stats().Matching
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
}
