package victorialogs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// nriParams are the query args an nri-audit bulk sender passes.
const nriParams = "?_time_field=@timestamp&_msg_field=nri_msg,MESSAGE&_stream_fields=_HOSTNAME,nri_runtime"

func postBulk(t *testing.T, url, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, b
}

func ndjson(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func query(t *testing.T, s *Server, q string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := s.Query(ctx, q)
	if err != nil {
		t.Fatalf("Query(%q): %v", q, err)
	}
	return rows
}

func TestBulkRoundTrip(t *testing.T) {
	s := Start(t)
	if got, want := s.ESURL(), s.URL()+"/insert/elasticsearch"; got != want {
		t.Fatalf("ESURL() = %q, want %q", got, want)
	}
	body := ndjson(
		`{"create":{"_index":"nri-audit-test","_id":"id-1"}}`,
		`{"@timestamp":"2025-03-04T05:06:07.123456789Z","nri_msg":"add environment variable","nri_event":"AddProcessEnv","nri_op":"add","nri_plugin":"10-device-injector","nri_plugin_name":["device-injector"],"nri_plugin_index":["10"],"nri_removal":true,"nri_runtime":"containerd","nri_big":"18446744073709551615","_HOSTNAME":"node-1"}`,
		`{"create":{"_index":"nri-audit-test","_id":"id-2"}}`,
		`{"@timestamp":"2025-03-04T07:06:08+02:00","nri_msg":"remove mount","nri_plugin":"10-a,11-b","nri_error_plugin":["10-a","11-b"],"nri_runtime":"crio","nri_empty":"","_HOSTNAME":"node-2"}`,
	)
	status, hdr, resp := postBulk(t, s.ESURL()+"/_bulk"+nriParams, "application/x-ndjson", body)
	if status != http.StatusOK {
		t.Fatalf("bulk: HTTP %d: %s", status, resp)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("bulk Content-Type = %q, want application/json", ct)
	}
	if p := hdr.Get("X-Elastic-Product"); p != "Elasticsearch" {
		t.Errorf("bulk X-Elastic-Product = %q, want Elasticsearch", p)
	}
	var br struct {
		Errors bool                              `json:"errors"`
		Items  []map[string]struct{ Status int } `json:"items"`
		Took   *int                              `json:"took"`
	}
	if err := json.Unmarshal(resp, &br); err != nil {
		t.Fatalf("bulk response %q: %v", resp, err)
	}
	if br.Errors || br.Took == nil || len(br.Items) != 2 {
		t.Fatalf("bulk response = %s, want errors:false, took, 2 items", resp)
	}
	for i, it := range br.Items {
		if c, ok := it["create"]; !ok || c.Status != http.StatusCreated || len(it) != 1 {
			t.Errorf("item %d = %+v, want {create:{status:201}}", i, it)
		}
	}

	s.Flush()
	rows := query(t, s, "*")
	if len(rows) != 2 {
		t.Fatalf("Query(*) = %d rows, want 2: %v", len(rows), rows)
	}
	rows = query(t, s, "nri_event:AddProcessEnv")
	if len(rows) != 1 {
		t.Fatalf("Query(nri_event:AddProcessEnv) = %v, want 1 row", rows)
	}
	want := map[string]any{
		"_time":            "2025-03-04T05:06:07.123456789Z", // nanoseconds kept
		"_msg":             "add environment variable",       // nri_msg renamed
		"_stream":          `{_HOSTNAME="node-1",nri_runtime="containerd"}`,
		"nri_event":        "AddProcessEnv",
		"nri_op":           "add",
		"nri_plugin":       "10-device-injector",
		"nri_plugin_name":  `["device-injector"]`, // arrays come back as JSON text
		"nri_plugin_index": `["10"]`,
		"nri_removal":      "true", // booleans come back as text
		"nri_runtime":      "containerd",
		"nri_big":          "18446744073709551615",
		"_HOSTNAME":        "node-1",
	}
	got := rows[0]
	if _, ok := got["_stream_id"].(string); !ok {
		t.Errorf("row has no string _stream_id: %v", got)
	}
	delete(got, "_stream_id")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row =\n%v\nwant\n%v", got, want)
	}

	rows = query(t, s, `nri_runtime:crio`)
	if len(rows) != 1 {
		t.Fatalf("Query(nri_runtime:crio) = %v, want 1 row", rows)
	}
	r := rows[0]
	if r["_time"] != "2025-03-04T05:06:08Z" { // offset converted to UTC
		t.Errorf("_time = %v, want 2025-03-04T05:06:08Z", r["_time"])
	}
	if r["nri_error_plugin"] != `["10-a","11-b"]` {
		t.Errorf("nri_error_plugin = %v", r["nri_error_plugin"])
	}
	for _, k := range []string{"@timestamp", "nri_msg", "nri_empty", "nri_removal"} {
		if v, ok := r[k]; ok {
			t.Errorf("row has %s = %v, want absent", k, v)
		}
	}
	// A word filter matches an element inside an array's JSON text.
	if rows := query(t, s, `nri_error_plugin:"11-b"`); len(rows) != 1 {
		t.Errorf(`Query(nri_error_plugin:"11-b") = %v, want 1 row`, rows)
	}
}

func TestQueryEmpty(t *testing.T) {
	s := Start(t)
	for _, q := range []string{"*", "nri_event:NoSuchEvent"} {
		rows, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("Query(%q): %v", q, err)
		}
		if rows == nil || len(rows) != 0 {
			t.Errorf("Query(%q) = %#v, want an empty non-nil slice", q, rows)
		}
	}
	if _, err := s.Query(context.Background(), "foo:("); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("Query(bad LogsQL) error = %v, want HTTP 400", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Query(ctx, "*"); err == nil {
		t.Error("Query with a cancelled context: no error")
	}
}

// TestBulkQuirks pins the ways VictoriaLogs' bulk API differs from
// Elasticsearch, which the esbulk tests against it must allow for.
func TestBulkQuirks(t *testing.T) {
	s := Start(t)
	bulk := s.ESURL() + "/_bulk" + nriParams

	t.Run("same _id is stored twice, never 409", func(t *testing.T) {
		doc := `{"@timestamp":"2025-03-04T05:06:07Z","nri_msg":"dup","nri_case":"dup"}`
		for i := 0; i < 2; i++ {
			status, _, resp := postBulk(t, bulk, "application/x-ndjson", ndjson(`{"create":{"_id":"same"}}`, doc))
			if status != 200 || !bytes.Contains(resp, []byte(`"status":201`)) {
				t.Fatalf("send %d: HTTP %d %s", i, status, resp)
			}
		}
		s.Flush()
		if rows := query(t, s, "nri_case:dup"); len(rows) != 2 {
			t.Errorf("rows = %v, want 2 (no dedupe by _id)", rows)
		}
	})

	t.Run("bad line: 200 with empty body, lines before it kept", func(t *testing.T) {
		body := ndjson(
			`{"create":{}}`, `{"nri_msg":"before","nri_case":"bad"}`,
			`{"create":{}}`, `{not json`,
			`{"create":{}}`, `{"nri_msg":"after","nri_case":"bad"}`,
		)
		status, _, resp := postBulk(t, bulk, "application/x-ndjson", body)
		if status != 200 || len(resp) != 0 {
			t.Fatalf("HTTP %d %q, want 200 with empty body", status, resp)
		}
		s.Flush()
		rows := query(t, s, "nri_case:bad")
		if len(rows) != 1 || rows[0]["_msg"] != "before" {
			t.Errorf("rows = %v, want only the line before the bad one", rows)
		}
		if out := s.Output(); !strings.Contains(out, "cannot decode log message #1 in /_bulk request") {
			t.Errorf("server output lacks the decode warning:\n%s", out)
		}
	})

	t.Run("unsupported action: 200 with empty body", func(t *testing.T) {
		status, _, resp := postBulk(t, bulk, "application/x-ndjson", ndjson(`{"delete":{"_id":"x"}}`))
		if status != 200 || len(resp) != 0 {
			t.Fatalf("HTTP %d %q, want 200 with empty body", status, resp)
		}
	})

	t.Run("form content type swallows the body", func(t *testing.T) {
		body := ndjson(`{"index":{}}`, `{"nri_msg":"lost","nri_case":"form"}`)
		status, _, resp := postBulk(t, bulk, "application/x-www-form-urlencoded", body)
		if status != 200 || !bytes.Contains(resp, []byte(`"items":[]`)) {
			t.Fatalf("HTTP %d %s, want 200 with no items", status, resp)
		}
		s.Flush()
		if rows := query(t, s, "nri_case:form"); len(rows) != 0 {
			t.Errorf("rows = %v, want none", rows)
		}
	})

	t.Run("a 1 MiB value is stored whole", func(t *testing.T) {
		big := strings.Repeat("x", 1<<20)
		body := ndjson(`{"create":{}}`, `{"nri_msg":"big","nri_case":"big","nri_value":"`+big+`"}`,
			`{"create":{}}`, `{"nri_msg":"next","nri_case":"big"}`)
		status, _, resp := postBulk(t, bulk, "application/x-ndjson", body)
		if status != 200 || bytes.Count(resp, []byte(`"status":201`)) != 2 {
			t.Fatalf("HTTP %d %s, want 2 created", status, resp)
		}
		s.Flush()
		rows := query(t, s, "nri_case:big")
		if len(rows) != 2 {
			t.Fatalf("%d rows, want 2", len(rows))
		}
		for _, r := range rows {
			if r["_msg"] == "big" && r["nri_value"] != big {
				t.Errorf("nri_value has %d bytes, want %d", len(r["nri_value"].(string)), len(big))
			}
		}
	})

	t.Run("more than 9 fractional digits aborts the request", func(t *testing.T) {
		body := ndjson(`{"create":{}}`, `{"@timestamp":"2025-03-04T05:06:07.1234567891Z","nri_case":"frac"}`)
		status, _, resp := postBulk(t, bulk, "application/x-ndjson", body)
		if status != 200 || len(resp) != 0 {
			t.Fatalf("HTTP %d %q, want 200 with empty body", status, resp)
		}
	})

	t.Run("index in the path is not supported", func(t *testing.T) {
		status, _, resp := postBulk(t, s.ESURL()+"/nri-audit/_bulk", "application/x-ndjson", ndjson(`{"create":{}}`, `{"nri_msg":"x"}`))
		if status != http.StatusBadRequest || !bytes.Contains(resp, []byte("unsupported path")) {
			t.Fatalf("HTTP %d %s, want 400 unsupported path", status, resp)
		}
	})

	t.Run("objects flatten with dots, numbers keep their text", func(t *testing.T) {
		body := ndjson(`{"index":{}}`, `{"nri_msg":"flat","nri_case":"flat","o":{"a":{"b":[{"c":1}]}},"n":1.50,"z":0}`)
		if status, _, resp := postBulk(t, bulk, "application/x-ndjson", body); status != 200 || !bytes.Contains(resp, []byte(`{"create":{"status":201}}`)) {
			t.Fatalf("HTTP %d %s", status, resp)
		}
		s.Flush()
		rows := query(t, s, "nri_case:flat")
		if len(rows) != 1 {
			t.Fatalf("rows = %v, want 1", rows)
		}
		for k, want := range map[string]string{"o.a.b": `[{"c":1}]`, "n": "1.50", "z": "0"} {
			if rows[0][k] != want {
				t.Errorf("%s = %v, want %s", k, rows[0][k], want)
			}
		}
	})

	t.Run("gzip body; MESSAGE is the _msg fallback", func(t *testing.T) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		io.WriteString(zw, ndjson(`{"create":{}}`, `{"MESSAGE":"panic: boom","nri_case":"gzip"}`))
		zw.Close()
		req, _ := http.NewRequest(http.MethodPost, bulk, &zb)
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"status":201`)) {
			t.Fatalf("HTTP %d %s", resp.StatusCode, b)
		}
		s.Flush()
		rows := query(t, s, "nri_case:gzip")
		if len(rows) != 1 || rows[0]["_msg"] != "panic: boom" {
			t.Errorf("rows = %v, want one with _msg from MESSAGE", rows)
		}
	})

	t.Run("without _time_field @timestamp is a plain field", func(t *testing.T) {
		before := time.Now().Add(-time.Minute)
		body := ndjson(`{"index":{}}`, `{"@timestamp":"2025-03-04T05:06:07Z","nri_case":"notime"}`)
		status, _, resp := postBulk(t, s.ESURL()+"/_bulk", "application/json", body)
		if status != 200 || !bytes.Contains(resp, []byte(`"status":201`)) {
			t.Fatalf("HTTP %d %s", status, resp)
		}
		s.Flush()
		rows := query(t, s, "nri_case:notime")
		if len(rows) != 1 {
			t.Fatalf("rows = %v, want 1", rows)
		}
		r := rows[0]
		if r["@timestamp"] != "2025-03-04T05:06:07Z" {
			t.Errorf("@timestamp = %v, want it kept as a field", r["@timestamp"])
		}
		ts, err := time.Parse(time.RFC3339Nano, r["_time"].(string))
		if err != nil || ts.Before(before) {
			t.Errorf("_time = %v (%v), want the ingestion time", r["_time"], err)
		}
		if msg, _ := r["_msg"].(string); !strings.HasPrefix(msg, "missing _msg field") {
			t.Errorf("_msg = %q, want the default for a missing message", msg)
		}
	})
}

func TestStop(t *testing.T) {
	s := Start(t)
	s.Stop()
	select {
	case <-s.done:
	default:
		t.Fatal("process still running after Stop")
	}
	if s.err != nil {
		t.Errorf("exit after SIGTERM: %v, want a clean exit; output:\n%s", s.err, s.Output())
	}
	if err := s.cmd.Process.Signal(syscall.Signal(0)); err == nil {
		t.Error("process still signalable after Stop")
	}
	if resp, err := http.Get(s.URL() + "/health"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after Stop")
	}
	s.Stop() // idempotent; the cleanup calls it again too
}

// TestBuildBinary is what `make victorialogs` runs to prebuild the binary.
func TestBuildBinary(t *testing.T) {
	dir, err := RepoCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildOrSkip(t, func(ctx context.Context) (string, error) { return BuildBinary(ctx, dir) })
	if want := filepath.Join(dir, BinaryName); bin != want {
		t.Errorf("BuildBinary = %q, want %q", bin, want)
	}
	out, err := exec.Command(bin, "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "victoria-logs-"+Version) {
		t.Errorf("%s -version = %q, %v; want it to name victoria-logs-%s", bin, out, err, Version)
	}
}

// TestBuildBinaryOnce builds into a fresh cache from several goroutines at
// once: the lock must let exactly one build run and leave no temporary files.
func TestBuildBinaryOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds VictoriaLogs (a link of about 20 MB)")
	}
	dir := t.TempDir()
	var builds atomic.Int32
	const callers = 3
	paths := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = buildBinary(ctx, dir, func() { builds.Add(1) })
		}()
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			skipOrFail(t, errs[i])
		}
		if paths[i] != filepath.Join(dir, BinaryName) {
			t.Errorf("caller %d got %q", i, paths[i])
		}
	}
	if n := builds.Load(); n != 1 {
		t.Errorf("%d builds ran, want 1", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{BinaryName, BinaryName + ".lock"}; !reflect.DeepEqual(names, want) {
		t.Errorf("cache dir holds %v, want %v", names, want)
	}
	// A second call finds the binary and does not build.
	if _, err := buildBinary(ctx, dir, func() { builds.Add(1) }); err != nil || builds.Load() != 1 {
		t.Errorf("second call: err %v, builds %d", err, builds.Load())
	}
}

// buildOrSkip applies Start's policy to a build error: skip, or fail in CI.
func buildOrSkip(t *testing.T, build func(context.Context) (string, error)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	bin, err := build(ctx)
	if err != nil {
		skipOrFail(t, err)
	}
	return bin
}

func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if inCI() {
		t.Fatal(err)
	}
	t.Skip(err)
}

func TestRepoCacheDir(t *testing.T) {
	dir, err := RepoCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(dir))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil || filepath.Base(dir) != "cache" {
		t.Errorf("RepoCacheDir = %q, want <dir with go.mod>/build/cache", dir)
	}
	wd, _ := os.Getwd()
	if !strings.HasPrefix(wd, root) {
		t.Errorf("repo root %q is not above the working directory %q", root, wd)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	for _, s := range []string{"abc", "defgh", "ijk"} {
		if n, err := tb.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := tb.String(); got != "defghijk" {
		t.Errorf("tail = %q, want defghijk", got)
	}
}

func TestBuildEnv(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=vendor")
	t.Setenv("CGO_ENABLED", "1")
	got := map[string][]string{}
	for _, kv := range buildEnv() {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = append(got[k], v)
	}
	for k, want := range map[string]string{"GOFLAGS": "-mod=mod -buildvcs=false", "CGO_ENABLED": "0", "GOWORK": "off"} {
		if len(got[k]) != 1 || got[k][0] != want {
			t.Errorf("%s = %q, want exactly [%q]", k, got[k], want)
		}
	}
}

// fakeTB records Fatalf and Skipf and ends the goroutine like testing does.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	fatal  string
	skip   string
	errors []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skip = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func runStart(t *testing.T) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f)
	}()
	<-done
	return f
}

func TestStartFailures(t *testing.T) {
	script := filepath.Join(t.TempDir(), "fake-victoria-logs")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'boom: cannot open storage' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("server exits at start: fatal with its output", func(t *testing.T) {
		t.Setenv(EnvBinary, script)
		t.Setenv("CI", "")
		f := runStart(t)
		if !strings.Contains(f.fatal, "exited before it was ready") || !strings.Contains(f.fatal, "boom: cannot open storage") {
			t.Errorf("fatal = %q, want the early exit and the server's stderr", f.fatal)
		}
		if len(f.errors) != 0 {
			t.Errorf("errors = %q, want none", f.errors)
		}
	})
	t.Run("no binary outside CI: skip", func(t *testing.T) {
		t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "missing"))
		t.Setenv("CI", "")
		if f := runStart(t); f.skip == "" || f.fatal != "" || !strings.Contains(f.skip, "not an executable file") {
			t.Errorf("skip = %q, fatal = %q; want a skip naming the reason", f.skip, f.fatal)
		}
	})
	t.Run("no binary in CI: fatal", func(t *testing.T) {
		t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "missing"))
		t.Setenv("CI", "true")
		if f := runStart(t); f.fatal == "" || f.skip != "" {
			t.Errorf("skip = %q, fatal = %q; want fatal", f.skip, f.fatal)
		}
	})
}
