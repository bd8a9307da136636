package flbout

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/flbchunk"
	"github.com/nri-audit/nri-audit/internal/fakees"
	"github.com/nri-audit/nri-audit/parser"
)

func newOutput(t *testing.T, g MapGetter) *Output {
	t.Helper()
	if g["stats_interval"] == "" {
		g["stats_interval"] = "off"
	}
	cfg, err := ParseConfig(g)
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// expectDocs builds the documents the parser makes for entries, by id.
func expectDocs(t *testing.T, opts parser.Options, entries []*audit.Entry) map[string]map[string]any {
	t.Helper()
	b, err := parser.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	var r audit.Record
	for _, e := range entries {
		if !b.Build(e, &r) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
			t.Fatal(err)
		}
		out[string(r.AppendID(nil))] = m
	}
	return out
}

func TestFlushDeliversEveryRecordOnce(t *testing.T) {
	es := fakees.Start(t)
	o := newOutput(t, MapGetter{"url": es.URL, "index": "nri-test"})
	entries := genEntries(600, 1)
	chunk := flbchunk.InSystemdChunk(entries)
	if st := o.FlushCopy(chunk); st != StatusOK {
		t.Fatalf("flush = %v", st)
	}
	want := expectDocs(t, o.cfg.Parser, entries)
	docs := es.Docs("nri-test")
	if len(docs) != len(want) || len(want) != len(entries) {
		t.Fatalf("stored %d docs, want %d (entries %d)", len(docs), len(want), len(entries))
	}
	for _, d := range docs {
		w, ok := want[d.ID]
		if !ok {
			t.Fatalf("unexpected id %s", d.ID)
		}
		if len(w) != len(d.Source) {
			t.Fatalf("doc %s: %d fields, want %d", d.ID, len(d.Source), len(w))
		}
		for k, v := range w {
			if gb, _ := json.Marshal(d.Source[k]); string(gb) != mustJSON(v) {
				t.Fatalf("doc %s field %s = %s, want %s", d.ID, k, gb, mustJSON(v))
			}
		}
	}
	// The same chunk again (Fluent Bit's retry): all 409, no copies, OK.
	if st := o.FlushCopy(chunk); st != StatusOK {
		t.Fatalf("second flush = %v", st)
	}
	if n := len(es.Docs("")); n != len(entries) {
		t.Fatalf("after re-delivery %d docs, want %d", n, len(entries))
	}
	st := o.Stats()
	if st.Duplicates != int64(len(entries)) || st.Delivered != int64(len(entries)) || st.Records != 2*int64(len(entries)) {
		t.Fatalf("stats %+v", st)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestFlushRetriesWhileDownWithinFlushTimeout(t *testing.T) {
	addr := fakees.FreeAddr(t)
	o := newOutput(t, MapGetter{"url": "http://" + addr, "flush_timeout": "1s", "request_timeout": "500ms", "retry_budget": "300ms"})
	chunk := flbchunk.InSystemdChunk(systemdEntries(50))
	start := time.Now()
	if st := o.FlushCopy(chunk); st != StatusRetry {
		t.Fatalf("flush with Elasticsearch down = %v, want retry", st)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("flush took %v, flush_timeout is 1s", d)
	}
	es := fakees.StartAt(t, addr)
	if st := o.FlushCopy(chunk); st != StatusOK {
		t.Fatalf("flush after Elasticsearch came up = %v", st)
	}
	if n := len(es.Docs("")); n != 50 {
		t.Fatalf("%d docs, want 50", n)
	}
}

func TestFlushTimeoutBoundsAHangingServer(t *testing.T) {
	es := fakees.Start(t)
	es.SetRequestHook(func(fakees.Request) fakees.RequestFailure { return fakees.RequestFailure{Delay: 10 * time.Second} })
	o := newOutput(t, MapGetter{"url": es.URL, "flush_timeout": "700ms", "request_timeout": "600ms"})
	start := time.Now()
	if st := o.FlushCopy(flbchunk.InSystemdChunk(systemdEntries(10))); st != StatusRetry {
		t.Fatalf("flush = %v, want retry", st)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("flush took %v with flush_timeout 700ms", d)
	}
	if o.Stats().Timeouts != 1 {
		t.Fatalf("timeouts %+v", o.Stats())
	}
}

func TestFlushGarbageTailIsDeadLettered(t *testing.T) {
	es := fakees.Start(t)
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	o := newOutput(t, MapGetter{"url": es.URL, "dead_letter_path": dl})
	good := flbchunk.InSystemdChunk(systemdEntries(7))
	garbage := []byte{0x92, 0x92, 0xd7, 0x00, 1, 2, 3} // truncated event
	chunk := append(append([]byte(nil), good...), garbage...)
	if st := o.FlushCopy(chunk); st != StatusOK {
		t.Fatalf("flush = %v, want OK (re-delivery could never succeed)", st)
	}
	if n := len(es.Docs("")); n != 7 {
		t.Fatalf("%d docs, want the 7 before the bad bytes", n)
	}
	lines := readLines(t, dl)
	if len(lines) != 1 {
		t.Fatalf("dead letter has %d lines", len(lines))
	}
	var dlq struct {
		Error    struct{ Type, Reason string }
		Document map[string]string
	}
	if err := json.Unmarshal([]byte(lines[0]), &dlq); err != nil {
		t.Fatal(err)
	}
	if dlq.Error.Type != "undecodable_chunk" || dlq.Error.Reason == "" {
		t.Fatalf("dead letter error %+v", dlq.Error)
	}
	raw, _ := base64.StdEncoding.DecodeString(dlq.Document["nri_chunk_data_base64"])
	if string(raw) != string(garbage) || dlq.Document["nri_chunk_offset"] != itoa(len(good)) || dlq.Document["nri_chunk_events_before"] != "7" {
		t.Fatalf("dead letter document %v", dlq.Document)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestFlushPolicyDropsCountAsDone(t *testing.T) {
	es := fakees.Start(t)
	o := newOutput(t, MapGetter{"url": es.URL, "mode": "audit"})
	entries := genEntries(300, 2)
	if st := o.FlushCopy(flbchunk.InSystemdChunk(entries)); st != StatusOK {
		t.Fatalf("flush = %v", st)
	}
	want := expectDocs(t, o.cfg.Parser, entries)
	st := o.Stats()
	if len(es.Docs("")) != len(want) || st.Dropped == 0 || st.Dropped+int64(len(want)) != int64(len(entries)) {
		t.Fatalf("docs %d want %d, stats %+v", len(es.Docs("")), len(want), st)
	}
}

func TestFlushGroupMarkersSkipped(t *testing.T) {
	es := fakees.Start(t)
	o := newOutput(t, MapGetter{"url": es.URL})
	w := flbchunk.InSystemdWriter()
	chunk := w.AppendGroupStart(nil, flbchunk.StrKVs("schema", "otlp"), flbchunk.StrKVs("resource", "x"))
	chunk = append(chunk, flbchunk.InSystemdChunk(systemdEntries(3))...)
	chunk = w.AppendGroupEnd(chunk)
	if st := o.FlushCopy(chunk); st != StatusOK {
		t.Fatalf("flush = %v", st)
	}
	if n := len(es.Docs("")); n != 3 {
		t.Fatalf("%d docs, want 3 (markers are not records)", n)
	}
}

func TestFlushConcurrentWorkers(t *testing.T) {
	es := fakees.Start(t)
	o := newOutput(t, MapGetter{"url": es.URL, "max_batch_bytes": "64K"})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := genEntries(200, uint64(100+w))
			if st := o.FlushCopy(flbchunk.InSystemdChunk(entries)); st != StatusOK {
				t.Errorf("worker %d: %v", w, st)
			}
		}()
	}
	wg.Wait()
	if st := o.Stats(); st.Delivered+st.Duplicates != 1200 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	es := fakees.Start(t)
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		cfg, err := ParseConfig(MapGetter{"url": es.URL, "stats_interval": "1s"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := New(context.Background(), cfg, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		if st := o.FlushCopy(flbchunk.InSystemdChunk(systemdEntries(5))); st != StatusOK {
			t.Fatalf("flush %v", st)
		}
		o.Close()
		if st := o.FlushCopy(flbchunk.InSystemdChunk(systemdEntries(1))); st != StatusError {
			t.Fatalf("flush after close = %v", st)
		}
	}
	// Idle keep-alive readers of the fake server side may linger briefly.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+4 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d → %d after 20 init/exit cycles\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestHealthCheck(t *testing.T) {
	addr := fakees.FreeAddr(t)
	cfg, err := ParseConfig(MapGetter{"url": "http://" + addr, "health_check": "on", "request_timeout": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(t.Context(), cfg, quietLogger()); err == nil || !strings.Contains(err.Error(), "health_check") {
		t.Fatalf("health_check on with Elasticsearch down: %v", err)
	}
	cfg.HealthCheck = HealthWarn
	o, err := New(t.Context(), cfg, quietLogger())
	if err != nil {
		t.Fatalf("health_check warn: %v", err)
	}
	o.Close()
}
