//go:build cgo && linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/internal/fakees"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/journald"
)

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// genJournal writes a generated journal file into a temporary directory.
func genJournal(t testing.TB, entries int) (string, journalgen.Stats) {
	t.Helper()
	if _, err := journalgen.RemoteBinary(); err != nil {
		t.Skip(err)
	}
	path := filepath.Join(t.TempDir(), "system.journal")
	g := journalgen.New(journalgen.Options{Entries: entries})
	if _, err := journalgen.Make(context.Background(), path, g); err != nil {
		t.Fatal(err)
	}
	return path, g.Stats()
}

// matchingCursors returns the cursors of the default-matching entries.
func matchingCursors(t testing.TB, files ...string) []string {
	t.Helper()
	r, err := journald.Open(context.Background(), journald.Config{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for b := range r.Batches() {
		for _, e := range b.Entries {
			out = append(out, e.Cursor)
		}
	}
	return out
}

type shipRun struct {
	stdout, stderr bytes.Buffer
	err            error
}

func runShipArgs(t *testing.T, getenv func(string) string, args ...string) *shipRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &shipRun{}
	r.err = ship(ctx, append(args, "--progress", "never"), &r.stdout, &r.stderr, getenv)
	return r
}

func ndjsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	return out
}

func TestShipNDJSONAndResume(t *testing.T) {
	path, st := genJournal(t, 2000)
	dir := t.TempDir()
	cursorFile := filepath.Join(dir, "state", "cursor")
	r := runShipArgs(t, noEnv, "--file", path, "--cursor-file", cursorFile)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr.String())
	}
	docs := ndjsonLines(t, r.stdout.Bytes())
	if len(docs) != st.Matching {
		t.Fatalf("%d documents, %d matching entries", len(docs), st.Matching)
	}
	events := 0
	for _, d := range docs {
		if d["nri_event"] != nil {
			events++
		}
		if d["@timestamp"] == nil || d["MESSAGE"] == nil || d["nri_runtime"] == nil {
			t.Fatalf("incomplete document %v", d)
		}
	}
	if events != st.Audit {
		t.Errorf("%d audit documents, generator wrote %d", events, st.Audit)
	}
	cursors := matchingCursors(t, path)
	saved, err := os.ReadFile(cursorFile)
	if err != nil || string(saved) != cursors[len(cursors)-1] {
		t.Fatalf("cursor file %q (%v), want the last entry %q", saved, err, cursors[len(cursors)-1])
	}

	// Again: nothing new.
	r = runShipArgs(t, noEnv, "--file", path, "--cursor-file", cursorFile)
	if r.err != nil || r.stdout.Len() != 0 {
		t.Fatalf("second run: %v, %d bytes out", r.err, r.stdout.Len())
	}
	// New entries: only they are shipped.
	more := journalgen.New(journalgen.Options{Entries: 300, Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Seed: 9, NoCoverage: true, KubeletShare: -1})
	if _, err := journalgen.Append(context.Background(), path, more); err != nil {
		t.Fatal(err)
	}
	r = runShipArgs(t, noEnv, "--file", path, "--cursor-file", cursorFile, "--output", filepath.Join(dir, "out.ndjson"))
	if r.err != nil {
		t.Fatal(r.err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out.ndjson"))
	if n := len(ndjsonLines(t, b)); n != 300 {
		t.Fatalf("third run shipped %d documents, want the 300 appended", n)
	}
	// --from head ignores the cursor.
	r = runShipArgs(t, noEnv, "--file", path, "--cursor-file", cursorFile, "--from", "head", "--mode", "audit")
	if n := len(ndjsonLines(t, r.stdout.Bytes())); r.err != nil || n < st.Audit {
		t.Fatalf("--from head --mode audit: %d documents, %v", n, r.err)
	}
}

func TestShipHelpAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	err := ship(context.Background(), []string{"--help"}, &out, &errb, noEnv)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	help := errb.String()
	for _, want := range []string{"Usage: nri-audit ship", "--cursor-file", "[$NRI_AUDIT_CURSOR_FILE]", "--follow", "--match FIELD=value",
		"--url", "--batch-size", "(default 1000)", "--metrics-listen", "--mode", "SIGTERM"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, bad := range [][]string{
		{"--from", "middle"},
		{"--from", "since"},
		{"--since", "yesterday-ish"},
		{"--from", "head", "--since", "2h"},
		{"--progress", "sometimes"},
		{"--match", "lower=x"},
		{"extra-arg"},
		{"--log-level", "loud"},
	} {
		var o, e bytes.Buffer
		if err := ship(context.Background(), bad, &o, &e, noEnv); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v (%s)", bad, err, e.String())
		}
	}
}

// Flags beat the environment, which beats the config file; a repeatable
// flag takes its values from one layer only.
func TestShipOptionLayers(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ship.yaml")
	os.WriteFile(cfg, []byte("match:\n  - SYSLOG_IDENTIFIER=a\n  - SYSLOG_IDENTIFIER=b\nbatch_size: 7\nflush-interval: 3s\nfrom: head\npolicy_file: /nonexistent\nquery_params: a=1&b=2\n"), 0o644)
	parse := func(getenv func(string) string, args ...string) *shipOptions {
		t.Helper()
		fs := flag.NewFlagSet("ship", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o shipOptions
		o.register(fs)
		p, err := configPath(args, getenv)
		if err != nil {
			t.Fatal(err)
		}
		o.current = 1
		if p != "" {
			if err := applyConfigFile(fs, p); err != nil {
				t.Fatal(err)
			}
		}
		o.current = 2
		if err := applyEnv(fs, shipEnv, getenv); err != nil {
			t.Fatal(err)
		}
		o.current = 3
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &o
	}
	o := parse(noEnv, "--config", cfg)
	if strings.Join(o.matches.values, " ") != "SYSLOG_IDENTIFIER=a SYSLOG_IDENTIFIER=b" || o.batchSize != 7 ||
		o.flushInterval != 3*time.Second || o.from != "head" || o.parser.policyFile != "/nonexistent" ||
		o.es.params.m["a"] != "1" || o.es.params.m["b"] != "2" {
		t.Fatalf("config file: %+v", o)
	}
	o = parse(envOf(map[string]string{"NRI_AUDIT_CONFIG": cfg, "NRI_AUDIT_MATCH": "SYSLOG_IDENTIFIER=env", "NRI_AUDIT_BATCH_SIZE": "9"}))
	if strings.Join(o.matches.values, " ") != "SYSLOG_IDENTIFIER=env" || o.batchSize != 9 || o.from != "head" {
		t.Fatalf("env over config: %+v", o)
	}
	o = parse(envOf(map[string]string{"NRI_AUDIT_MATCH": "SYSLOG_IDENTIFIER=env"}), "--config="+cfg, "--match", "X=1", "--match", "Y=2", "--batch-size", "11")
	if strings.Join(o.matches.values, " ") != "X=1 Y=2" || o.batchSize != 11 {
		t.Fatalf("flags over env: %+v", o)
	}
	os.WriteFile(cfg, []byte("no_such_option: 1\n"), 0o644)
	var out, errb bytes.Buffer
	if err := ship(context.Background(), []string{"--config", cfg}, &out, &errb, noEnv); !errors.Is(err, errUsage) || !strings.Contains(errb.String(), "unknown key") {
		t.Errorf("unknown config key: %v %s", err, errb.String())
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 2, 9, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-02-09T16:44:32Z":      time.Date(2026, 2, 9, 16, 44, 32, 0, time.UTC),
		"2026-02-09T16:44:32+02:00": time.Date(2026, 2, 9, 14, 44, 32, 0, time.UTC),
		"2h":                        now.Add(-2 * time.Hour),
		"-30m":                      now.Add(-30 * time.Minute),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseSince("2026-02-09", now); err != nil || got.Year() != 2026 || got.Day() != 9 {
		t.Errorf("date: %v %v", got, err)
	}
}

// Shipping into Elasticsearch (a fake that stores by _id, like a real
// one): every entry once, the cursor saved.
func TestShipElasticsearch(t *testing.T) {
	path, st := genJournal(t, 1500)
	es := fakees.Start(t)
	cursorFile := filepath.Join(t.TempDir(), "cursor")
	r := runShipArgs(t, envOf(map[string]string{"ES_URL": es.URL}), "--file", path, "--cursor-file", cursorFile, "--batch-size", "200", "--index", "nri-audit")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr.String())
	}
	if r.stdout.Len() != 0 {
		t.Errorf("documents on stdout with an Elasticsearch URL")
	}
	if n := len(es.Docs("nri-audit")); n != st.Matching {
		t.Fatalf("%d documents stored, want %d", n, st.Matching)
	}
	if s := es.Stats(); s.BulkRequests < (st.Matching+199)/200 {
		t.Errorf("%d bulk requests for %d documents in batches of 200", s.BulkRequests, st.Matching)
	}
	cursors := matchingCursors(t, path)
	if b, _ := os.ReadFile(cursorFile); string(b) != cursors[len(cursors)-1] {
		t.Errorf("cursor file %q", b)
	}
}

// Elasticsearch down for a while: nothing is lost, and the cursor never
// points past an acknowledged document.
func TestShipElasticsearchOutage(t *testing.T) {
	path, st := genJournal(t, 3000)
	cursors := matchingCursors(t, path)
	index := map[string]int{}
	for i, c := range cursors {
		index[c] = i
	}
	es := fakees.Start(t)
	cursorFile := filepath.Join(t.TempDir(), "cursor")
	var (
		mu         sync.Mutex
		violations []string
		failed     int
	)
	check := func() {
		b, err := os.ReadFile(cursorFile)
		if err != nil || len(b) == 0 {
			return
		}
		stored := len(es.Docs(""))
		i, ok := index[string(b)]
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			violations = append(violations, "unknown cursor "+string(b))
		} else if i+1 > stored {
			violations = append(violations, "cursor at entry "+itoa(i)+" with "+itoa(stored)+" documents stored")
		}
	}
	// Requests 3 to 14 fail: a 503, refused-like resets, timeouts' worth of
	// errors; the shipper must wait it out.
	es.SetRequestHook(func(req fakees.Request) fakees.RequestFailure {
		check()
		if req.Seq >= 3 && req.Seq < 15 {
			mu.Lock()
			failed++
			mu.Unlock()
			return fakees.RequestFailure{Status: 503, Body: `{"error":{"type":"unavailable_shards_exception","reason":"down for the test"},"status":503}`}
		}
		return fakees.RequestFailure{}
	})
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				check()
			}
		}
	}()
	r := runShipArgs(t, envOf(map[string]string{"ES_URL": es.URL}), "--file", path, "--cursor-file", cursorFile,
		"--batch-size", "250", "--retry-budget", "200ms", "--retry-min", "20ms", "--retry-max", "100ms", "--index", "nri-audit")
	close(stop)
	<-polled
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr.String())
	}
	if failed < 12 {
		t.Fatalf("only %d requests failed", failed)
	}
	if len(violations) > 0 {
		t.Fatalf("cursor ahead of the acknowledged documents: %v", violations[:min(5, len(violations))])
	}
	if n := len(es.Docs("nri-audit")); n != st.Matching {
		t.Fatalf("%d documents stored, want %d", n, st.Matching)
	}
	if !strings.Contains(r.stderr.String(), "retrying the same batch") {
		t.Errorf("no retry logged:\n%s", r.stderr.String())
	}
}

// A truncated journal: a clear error, and the readable entries shipped.
func TestShipTruncatedJournal(t *testing.T) {
	path, _ := genJournal(t, 3000)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used := len(b)
	for used > 0 && b[used-1] == 0 {
		used--
	}
	cut := filepath.Join(t.TempDir(), "cut.journal")
	os.WriteFile(cut, b[:used*9/10], 0o644)
	r := runShipArgs(t, noEnv, "--file", cut)
	if r.err == nil || !strings.Contains(r.err.Error(), "truncated") {
		t.Fatalf("ship of a truncated file: %v", r.err)
	}
	if n := len(ndjsonLines(t, r.stdout.Bytes())); n < 1000 {
		t.Fatalf("%d documents from a file cut at 90%%", n)
	}
	// The exit code says so.
	code := run(context.Background(), []string{"ship", "--file", cut, "--output", filepath.Join(t.TempDir(), "o"), "--progress", "never"}, nil, io.Discard, io.Discard)
	if code != 1 {
		t.Errorf("exit code %d", code)
	}
}

// Follow mode: entries appended after start are shipped; cancelling (what
// SIGTERM does) flushes and saves the cursor; metrics are served.
func TestShipFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "system.journal")
	first := journalgen.New(journalgen.Options{Entries: 100, KubeletShare: -1})
	if _, err := journalgen.Make(context.Background(), path, first); err != nil {
		t.Skip(err)
	}
	cursorFile := filepath.Join(t.TempDir(), "cursor")
	out := &syncBuffer{}
	errb := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ship(ctx, []string{"--directory", dir, "--follow", "--cursor-file", cursorFile, "--flush-interval", "50ms",
			"--metrics-listen", "127.0.0.1:0", "--progress", "never"}, out, errb, noEnv)
	}()
	waitFor(t, func() bool { return strings.Count(out.String(), "\n") == 100 }, "the first 100 documents")
	more := journalgen.New(journalgen.Options{Entries: 50, Start: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), Seed: 3, NoCoverage: true, KubeletShare: -1})
	if _, err := journalgen.Append(context.Background(), path, more); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Count(out.String(), "\n") == 150 }, "the 50 appended documents")

	m := regexp.MustCompile(`url=http://([0-9.:]+)/metrics`).FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("no metrics address logged:\n%s", errb.String())
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"# TYPE nri_audit_ship_acked_total counter\nnri_audit_ship_acked_total 150\n",
		"nri_audit_ship_journal_entries_total 150\n", "nri_audit_ship_pending_records 0\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ship did not stop")
	}
	all := matchingCursors(t, path)
	if b, _ := os.ReadFile(cursorFile); string(b) != all[len(all)-1] {
		t.Errorf("cursor %q, want the last entry", b)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// Elasticsearch not even listening when ship starts: it waits, retrying,
// and delivers everything once the server is up.
func TestShipElasticsearchDownAtStart(t *testing.T) {
	path, st := genJournal(t, 1000)
	addr := fakees.FreeAddr(t)
	cursorFile := filepath.Join(t.TempDir(), "cursor")
	done := make(chan *shipRun, 1)
	go func() {
		r := &shipRun{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r.err = ship(ctx, []string{"--file", path, "--cursor-file", cursorFile, "--url", "http://" + addr, "--index", "nri-audit",
			"--retry-budget", "100ms", "--retry-min", "50ms", "--retry-max", "200ms", "--progress", "never"}, &r.stdout, &r.stderr, noEnv)
		done <- r
	}()
	time.Sleep(1500 * time.Millisecond)
	if b, _ := os.ReadFile(cursorFile); len(b) != 0 {
		t.Fatalf("cursor saved while Elasticsearch was down: %q", b)
	}
	es := fakees.StartAt(t, addr)
	var r *shipRun
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ship did not finish after Elasticsearch came up")
	}
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr.String())
	}
	if n := len(es.Docs("nri-audit")); n != st.Matching {
		t.Fatalf("%d documents, want %d", n, st.Matching)
	}
	if !strings.Contains(r.stderr.String(), "not reachable yet") {
		t.Errorf("no warning at start:\n%s", r.stderr.String())
	}
}
