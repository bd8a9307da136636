package main

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/flbout"
	"github.com/nri-audit/nri-audit/internal/fakees"
	"github.com/nri-audit/nri-audit/internal/flbhost"
)

// The registration is what Fluent Bit checks, with both struct layouts:
// the 32-byte definition of Fluent Bit <= 4.2.2 must not be overrun.
func TestRegisterABI(t *testing.T) {
	es := fakees.Start(t)
	for _, tc := range []struct {
		host    string
		abi     string
		defSize int
	}{{hostNew, "new", 48}, {hostOld, "old", 32}} {
		t.Run(tc.abi, func(t *testing.T) {
			o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(genEntries(20, 1)))}}}
			o.Set("url", es.URL)
			res := runOn(t, tc.host, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
			reg := res.Of("register")
			if len(reg) != 1 {
				t.Fatalf("register lines %d\n%s", len(reg), res)
			}
			r := reg[0]
			if r.Get("type") != "2" || r.Get("proxy") != "11" || r.Get("name") != "nri_audit" ||
				r.Get("canary") != "intact" || r.Int("def_size") != tc.defSize || r.Get("event_type") != "0" || r.Get("rc") != "0" {
				t.Fatalf("register: %s", r.Raw)
			}
			sym := res.Of("symbols")[0]
			for _, k := range []string{"flush_ctx", "exit_ctx", "unregister", "preregister", "flush", "exit"} {
				if sym.Get(k) != "1" {
					t.Errorf("symbol %s not exported: %s", k, sym.Raw)
				}
			}
			if results(res)["OK"] != 1 || len(res.Of("exit")) != 1 || res.Of("exit")[0].Get("call") != "ExitCtx" {
				t.Fatalf("flush/exit\n%s", res)
			}
			if dl := res.Of("dlclose")[0]; dl.Get("rc") != "0" || dl.Get("still_mapped") != "1" {
				t.Errorf("dlclose: %s (Go c-shared objects are NODELETE)", dl.Raw)
			}
		})
	}
}

// In_systemd chunks on 24 KiB and 64 KiB coroutine stacks: every document
// arrives once, field by field as the parser builds it.
func TestDeliveryOnCoroutineStacks(t *testing.T) {
	for _, stack := range []int{24 << 10, 64 << 10} {
		t.Run(itoa(stack), func(t *testing.T) {
			es := fakees.Start(t)
			keys := flbout.MapGetter{"url": es.URL, "index": "nri-e2e"}
			var entries []*audit.Entry
			var chunks []flbhost.Chunk
			for i := 0; i < 4; i++ {
				part := genEntries(250, uint64(10+i))
				if i == 0 {
					part = append(part, edgeEntries()...)
				}
				entries = append(entries, part...)
				chunks = append(chunks, flbhost.Chunk{Path: writeChunk(t, chunkOf(part))})
			}
			o := flbhost.Output{Chunks: chunks}
			o.Set("URL", keys["url"]).Set("Index", keys["index"]) // case-insensitive lookup
			o.Set("Match", "journal.*").Set("Retry_Limit", "3")   // core keys: invisible to the plugin
			res := run(t, &flbhost.Scenario{StackSize: stack, Outputs: []flbhost.Output{o}}, 0, nil)
			for _, l := range res.Of("flush") {
				if l.Get("result") != "OK" || l.Int("stack") != stack || !strings.HasPrefix(l.Get("thread"), "engine") {
					t.Fatalf("flush: %s\n%s", l.Raw, res)
				}
			}
			want := expected(t, parserOptions(t, keys), entries)
			docs := es.Docs("nri-e2e")
			if len(docs) != len(want) || len(want) != len(entries) {
				t.Fatalf("%d documents stored, want %d (entries %d)", len(docs), len(want), len(entries))
			}
			for _, d := range docs {
				w, ok := want[d.ID]
				if !ok {
					t.Fatalf("unexpected document id %s", d.ID)
				}
				if err := sameDoc(d.Source, w); err != nil {
					t.Fatalf("document %s: %v", d.ID, err)
				}
			}
			if st := es.Stats(); st.Conflicts != 0 || st.Rejected != 0 {
				t.Fatalf("fake Elasticsearch stats %+v", st)
			}
			if !strings.Contains(res.Stderr, "effective configuration") || !strings.Contains(res.Stderr, "index=nri-e2e") {
				t.Fatalf("no effective configuration line\n%s", res.Stderr)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Two [OUTPUT] sections with different settings side by side: each keeps
// its own configuration (index, prefix, mode, field selection).
func TestTwoInstancesSideBySide(t *testing.T) {
	es := fakees.Start(t)
	entries := genEntries(400, 3)
	chunk := writeChunk(t, chunkOf(entries))
	keysA := flbout.MapGetter{"url": es.URL, "index": "a-all"}
	keysB := flbout.MapGetter{"url": es.URL, "index": "b-audit", "key_prefix": "x_", "mode": "audit",
		"keep_fields": "_HOSTNAME,SYSLOG_IDENTIFIER", "message_key": "MESSAGE"}
	var outs []flbhost.Output
	for _, keys := range []flbout.MapGetter{keysA, keysB} {
		o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: chunk, Repeat: 2}}}
		for _, k := range []string{"url", "index", "key_prefix", "mode", "keep_fields", "message_key"} {
			if v := keys[k]; v != "" {
				o.Set(k, v)
			}
		}
		outs = append(outs, o)
	}
	outs[1].Set("workers", "2")
	res := run(t, &flbhost.Scenario{Outputs: outs}, 0, nil)
	if r := results(res); r["OK"] != 4 {
		t.Fatalf("results %v\n%s", r, res)
	}
	for _, tc := range []struct {
		index string
		keys  flbout.MapGetter
	}{{"a-all", keysA}, {"b-audit", keysB}} {
		want := expected(t, parserOptions(t, tc.keys), entries)
		docs := es.Docs(tc.index)
		if len(docs) != len(want) {
			t.Fatalf("%s: %d docs, want %d", tc.index, len(docs), len(want))
		}
		for _, d := range docs {
			if err := sameDoc(d.Source, want[d.ID]); err != nil {
				t.Fatalf("%s %s: %v", tc.index, d.ID, err)
			}
		}
	}
	if a, b := len(es.Docs("a-all")), len(es.Docs("b-audit")); b == 0 || b >= a {
		t.Fatalf("audit mode kept %d of %d", b, a)
	}
	for _, d := range es.Docs("b-audit") {
		if _, ok := d.Source["x_event"]; !ok {
			if _, isErr := d.Source["x_error_plugin"]; !isErr {
				t.Fatalf("b-audit holds a non-audit document: %v", d.Source)
			}
		}
		if _, ok := d.Source["_PID"]; ok {
			t.Fatalf("keep_fields ignored: %v", d.Source)
		}
	}
}

// workers 4: concurrent flushes of one instance on four non-Go threads.
func TestWorkersConcurrentFlushes(t *testing.T) {
	es := fakees.Start(t)
	var chunks []flbhost.Chunk
	total := 0
	for i := 0; i < 16; i++ {
		e := genEntries(120, uint64(200+i))
		total += len(e)
		chunks = append(chunks, flbhost.Chunk{Path: writeChunk(t, chunkOf(e))})
	}
	o := flbhost.Output{Chunks: chunks}
	o.Set("url", es.URL).Set("workers", "4").Set("max_batch_bytes", "32K")
	res := run(t, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
	threads := map[string]bool{}
	for _, l := range res.Of("flush") {
		if l.Get("result") != "OK" {
			t.Fatalf("flush: %s", l.Raw)
		}
		threads[l.Get("thread")] = true
	}
	if len(threads) < 2 {
		t.Fatalf("flushes ran on %v, want several worker threads", threads)
	}
	if n := len(es.Docs("")); n != total {
		t.Fatalf("%d docs, want %d", n, total)
	}
}

// Hot reload: three full load cycles in one process. Register and Init run
// again, the Go runtime stays, and nothing piles up: goroutines, fds, RSS.
func TestHotReloadCycles(t *testing.T) {
	es := fakees.Start(t)
	chunk := writeChunk(t, chunkOf(genEntries(300, 4)))
	var outs []flbhost.Output
	for i := 0; i < 2; i++ {
		o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: chunk, Repeat: 3}}}
		o.Set("url", es.URL).Set("index", "reload-"+itoa(i)).Set("stats_interval", "1s")
		outs = append(outs, o)
	}
	const cycles = 6
	res := run(t, &flbhost.Scenario{Cycles: cycles, Outputs: outs}, 0, nil)
	pre := res.Of("preregister")
	if len(pre) != cycles || pre[0].Get("hot_reloading") != "0" || pre[1].Get("hot_reloading") != "1" {
		t.Fatalf("preregister lines\n%s", res)
	}
	if n := len(res.Of("init")); n != 2*cycles {
		t.Fatalf("%d inits", n)
	}
	for _, l := range res.Of("preexit") {
		want := "1"
		if l.Int("cycle") == cycles {
			want = "0"
		}
		if l.Get("shutdown_by_hot_reloading") != want {
			t.Fatalf("preexit: %s", l.Raw)
		}
	}
	if r := results(res); r["OK"] != 6*cycles {
		t.Fatalf("results %v", r)
	}
	for _, idx := range []string{"reload-0", "reload-1"} {
		if n := len(es.Docs(idx)); n != 300 {
			t.Fatalf("%s: %d docs, want 300 (re-sent chunks are duplicates)", idx, n)
		}
	}
	// Goroutines reported by the plugin at each Unregister.
	var gor []int
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(line, `msg=unregistered`) {
			gor = append(gor, intField(line, "goroutines"))
		}
	}
	if len(gor) != cycles {
		t.Fatalf("unregistered lines %v\n%s", gor, res.Stderr)
	}
	// A leak grows every cycle; one late count above the baseline is an
	// HTTP connection's goroutines still winding down after Close.
	if base := gor[1] + 2; gor[cycles-1] > base && gor[cycles-2] > base {
		t.Fatalf("goroutines grow across reloads: %v", gor)
	}
	var fds, rss []int
	for _, l := range res.Of("rss") {
		if l.Get("phase") == "cycle_end" {
			fds = append(fds, l.Int("fds"))
			rss = append(rss, l.Int("rss_kb"))
		}
	}
	if fds[cycles-1] > fds[1] {
		t.Fatalf("fds grow across reloads: %v", fds)
	}
	if rss[cycles-1]-rss[1] > 16<<10 {
		t.Fatalf("RSS grows across reloads: %v KiB", rss)
	}
	t.Logf("goroutines at unregister %v, fds %v, RSS KiB %v", gor, fds, rss)
}

func intField(line, key string) int {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return -1
	}
	rest := line[i+len(key)+2:]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// A bad value fails Init with a message naming the key; Fluent Bit then
// aborts startup and never calls Exit for that instance.
func TestInitBadKeyFails(t *testing.T) {
	es := fakees.Start(t)
	good := flbhost.Output{}
	good.Set("url", "${NRI_TEST_ES_URL}") // ${ENV} substitution happens in Fluent Bit
	bad := flbhost.Output{}
	bad.Set("url", es.URL).Set("flush_timeout", "soon")
	s := &flbhost.Scenario{Plugin: soPath, Outputs: []flbhost.Output{good, bad}}
	res, err := flbhost.Run(t.Context(), hostNew, t.TempDir(), s, []string{"NRI_TEST_ES_URL=" + es.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 2 {
		t.Fatalf("exit %d, want 2 (startup failed)\n%s", res.ExitCode, res)
	}
	inits := res.Of("init")
	if len(inits) != 2 || inits[0].Get("rc") != "1" || inits[0].Get("ctx") != "set" || inits[1].Get("rc") != "0" || inits[1].Get("ctx") != "null" {
		t.Fatalf("init lines\n%s", res)
	}
	if ex := res.Of("exit"); len(ex) != 1 || ex[0].Get("instance") != "0" {
		t.Fatalf("exit lines (only the initialized instance)\n%s", res)
	}
	if !strings.Contains(res.Stderr, `flush_timeout=\"soon\"`) && !strings.Contains(res.Stderr, `flush_timeout="soon"`) {
		t.Fatalf("error does not name the key\n%s", res.Stderr)
	}
	if !strings.Contains(res.Stderr, "url="+es.URL) {
		t.Fatalf("${NRI_TEST_ES_URL} not substituted\n%s", res.Stderr)
	}
}

// A flush with a NULL context (an instance whose Init did not set one) is
// rejected with a log line, never a crash.
func TestNullContextFlush(t *testing.T) {
	o := flbhost.Output{NullCtx: true, Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(genEntries(5, 5)))}}}
	o.Set("url", "http://127.0.0.1:9")
	res := run(t, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
	if r := results(res); r["ERROR"] != 1 {
		t.Fatalf("results %v\n%s", r, res)
	}
	if !strings.Contains(res.Stderr, "unknown or closed context") {
		t.Fatalf("no log line\n%s", res.Stderr)
	}
}

// Group markers (OpenTelemetry-style log groups) are not records; a
// garbage chunk is dead-lettered with its reason, FLB_OK, never retried.
func TestGroupMarkersAndGarbage(t *testing.T) {
	es := fakees.Start(t)
	dl := tempPath(t, "dead.ndjson")
	entries := genEntries(30, 6)
	w := groupChunk(entries)
	garbage := append(chunkOf(entries[:10]), 0x92, 0xc1, 0xff, 0x00, 0x13)
	random := []byte("this is not msgpack at all\x00\xff\xfe")
	o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, w)}, {Path: writeChunk(t, garbage)}, {Path: writeChunk(t, random)}}}
	o.Set("url", es.URL).Set("dead_letter_path", dl).Set("Retry_Limit", "5")
	res := run(t, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
	if r := results(res); r["OK"] != 3 || len(res.Of("flush")) != 3 {
		t.Fatalf("results %v (garbage must not be retried)\n%s", r, res)
	}
	if n := len(es.Docs("")); n != 30 {
		t.Fatalf("%d docs, want 30 (10 of the garbage chunk are duplicates)", n)
	}
	lines := readFileLines(t, dl)
	if len(lines) != 2 {
		t.Fatalf("dead letter lines %d\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.Contains(l, `"type":"undecodable_chunk"`) || !strings.Contains(l, `"reason":"`) {
			t.Fatalf("dead letter line %s", l)
		}
	}
	if !strings.Contains(lines[1], `"nri_chunk_offset":"0"`) || !strings.Contains(lines[0], `"nri_chunk_events_before":"10"`) {
		t.Fatalf("dead letter offsets\n%s", strings.Join(lines, "\n"))
	}
}

// ES down, then up: FLB_RETRY while down (bounded by flush_timeout), then
// the re-delivered identical bytes are stored once.
func TestElasticsearchDownThenUp(t *testing.T) {
	addr := fakees.FreeAddr(t)
	entries := genEntries(500, 7)
	o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(entries))}}}
	o.Set("url", "http://"+addr).Set("flush_timeout", "2s").Set("request_timeout", "1s").Set("retry_budget", "500ms").Set("Retry_Limit", "3")
	var es atomic.Pointer[fakees.Server]
	up := make(chan struct{})
	res := run(t, &flbhost.Scenario{RetryWaitMS: 1500, Outputs: []flbhost.Output{o}}, 0, func(l flbhost.Line) {
		if l.Kind == "flush" && l.Get("result") == "RETRY" && es.Load() == nil {
			es.Store(fakees.StartAt(t, addr))
			close(up)
		}
	})
	<-up
	fl := res.Of("flush")
	if len(fl) != 2 || fl[0].Get("result") != "RETRY" || fl[1].Get("result") != "OK" || fl[1].Get("attempt") != "2" {
		t.Fatalf("flushes\n%s", res)
	}
	if ms := fl[0].Float("ms"); ms > 3000 {
		t.Fatalf("the flush while down took %.0f ms (flush_timeout 2s)", ms)
	}
	st := es.Load().Stats()
	if n := len(es.Load().Docs("")); n != len(entries) || st.Conflicts != 0 || st.Created != len(entries) {
		t.Fatalf("%d docs of %d, stats %+v", n, len(entries), st)
	}
}

// Partial failure: some items fail with 429/503; esbulk retries only them;
// when the budget runs out the chunk is retried and the already stored
// documents come back as 409s: no document is stored twice.
func TestPartialFailureNoDuplicates(t *testing.T) {
	es := fakees.Start(t)
	entries := genEntries(400, 8)
	var failing atomic.Bool
	failing.Store(true)
	es.SetItemHook(func(it fakees.Item) fakees.ItemFailure {
		if failing.Load() && it.Seq%3 == 0 {
			return fakees.ItemFailure{Status: 503, Type: "unavailable_shards_exception", Reason: "primary shard is not active"}
		}
		return fakees.ItemFailure{}
	})
	o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(entries))}}}
	o.Set("url", es.URL).Set("retry_budget", "400ms").Set("flush_timeout", "3s").Set("Retry_Limit", "2")
	res := run(t, &flbhost.Scenario{RetryWaitMS: 300, Outputs: []flbhost.Output{o}}, 0, func(l flbhost.Line) {
		if l.Kind == "flush" && l.Get("result") == "RETRY" {
			failing.Store(false) // the cluster recovers before Fluent Bit retries
		}
	})
	fl := res.Of("flush")
	if len(fl) != 2 || fl[0].Get("result") != "RETRY" || fl[1].Get("result") != "OK" {
		t.Fatalf("flushes\n%s", res)
	}
	docs := es.Docs("")
	seen := map[string]bool{}
	for _, d := range docs {
		if seen[d.ID] {
			t.Fatalf("document %s stored twice", d.ID)
		}
		seen[d.ID] = true
	}
	if len(docs) != len(entries) {
		t.Fatalf("%d docs, want %d", len(docs), len(entries))
	}
	if st := es.Stats(); st.Conflicts == 0 || st.Rejected == 0 {
		t.Fatalf("the scenario did not exercise partial failure: %+v", st)
	}
}

// A permanent mapping error dead-letters that document with the reason and
// the chunk is OK: a retry could never store it.
func TestMappingErrorDeadLetter(t *testing.T) {
	es := fakees.Start(t)
	dl := tempPath(t, "dead.ndjson")
	entries := genEntries(300, 9)
	var rejected atomic.Int64
	es.SetItemHook(func(it fakees.Item) fakees.ItemFailure {
		if it.Doc["nri_event"] == "AddProcessEnv" {
			rejected.Add(1)
			return fakees.ItemFailure{Status: 400, Type: "document_parsing_exception",
				Reason: "[1:123] failed to parse field [nri_value_value] of type [long]"}
		}
		return fakees.ItemFailure{}
	})
	o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(entries))}}}
	o.Set("url", es.URL).Set("dead_letter_path", dl)
	res := run(t, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
	if r := results(res); r["OK"] != 1 || len(res.Of("flush")) != 1 {
		t.Fatalf("results %v\n%s", r, res)
	}
	lines := readFileLines(t, dl)
	if rejected.Load() == 0 || int64(len(lines)) != rejected.Load() {
		t.Fatalf("%d dead letters for %d rejections", len(lines), rejected.Load())
	}
	for _, l := range lines {
		if !strings.Contains(l, "failed to parse field [nri_value_value]") || !strings.Contains(l, `"status":400`) {
			t.Fatalf("dead letter %s", l)
		}
	}
	if n := len(es.Docs("")) + len(lines); n != len(entries) {
		t.Fatalf("stored + dead-lettered = %d, want %d", n, len(entries))
	}
}

// HTTP 413: the batch is split until Elasticsearch takes it.
func TestRequestTooLargeSplits(t *testing.T) {
	es := fakees.Start(t)
	es.SetMaxContentLength(96 << 10)
	entries := genEntries(600, 10)
	o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(entries))}}}
	o.Set("url", es.URL).Set("max_batch_bytes", "4M")
	res := run(t, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
	if r := results(res); r["OK"] != 1 {
		t.Fatalf("results %v\n%s", r, res)
	}
	if st := es.Stats(); st.TooLarge == 0 || st.Created != len(entries) {
		t.Fatalf("stats %+v", st)
	}
}

// flush_timeout bounds a flush against a server that never answers, so the
// Fluent Bit thread is not stalled; with Retry_Limit no_retries the engine
// gives up on the chunk.
func TestFlushTimeoutBoundsStall(t *testing.T) {
	es := fakees.Start(t)
	es.SetRequestHook(func(fakees.Request) fakees.RequestFailure { return fakees.RequestFailure{Delay: time.Minute} })
	o := flbhost.Output{Chunks: []flbhost.Chunk{{Path: writeChunk(t, chunkOf(genEntries(50, 11)))}}}
	o.Set("url", es.URL).Set("flush_timeout", "1s").Set("request_timeout", "800ms").Set("Retry_Limit", "no_retries")
	res := run(t, &flbhost.Scenario{Outputs: []flbhost.Output{o}}, 0, nil)
	fl := res.Of("flush")
	if len(fl) != 1 || fl[0].Get("result") != "RETRY" || len(res.Of("retry_exhausted")) != 1 {
		t.Fatalf("flushes\n%s", res)
	}
	if ms := fl[0].Float("ms"); ms < 900 || ms > 2500 {
		t.Fatalf("flush took %.0f ms, flush_timeout 1s", ms)
	}
	if !strings.Contains(res.Stderr, "flush_timeout 1s reached") {
		t.Fatalf("no timeout log line\n%s", res.Stderr)
	}
}
