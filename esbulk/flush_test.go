package esbulk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
)

func TestFlushDeliversEveryRecord(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit"})
	recs := makeRecords(t, 100)
	b := fillBatch(t, c, recs)
	res, err := c.Flush(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, esbulk.Result{Delivered: 100})
	if !res.Complete() {
		t.Error("not complete")
	}
	if f.count() != 100 {
		t.Fatalf("stored %d documents, want 100", f.count())
	}
	for i, r := range recs {
		got, ok := f.doc("nri-audit", idOf(r))
		if !ok {
			t.Fatalf("record %d (id %s) not stored", i, idOf(r))
		}
		if want := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("record %d stored as\n%s\nwant\n%s", i, got, want)
		}
		if b.Outcome(i) != esbulk.Delivered {
			t.Errorf("record %d outcome %v", i, b.Outcome(i))
		}
	}
	st := c.Stats()
	if st.Delivered != 100 || st.Requests != 1 || st.Bytes != uint64(b.Bytes()) || st.Flushes != 1 {
		t.Errorf("stats %+v", st)
	}

	// The same batch again: every record is a duplicate, none stored twice.
	res, err = c.Flush(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, esbulk.Result{Duplicates: 100})
	if f.count() != 100 {
		t.Fatalf("stored %d documents after re-send", f.count())
	}
}

func TestActionLine(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}})
	recs := makeRecords(t, 1)
	b := fillBatch(t, c, recs)
	recs[0].Timestamp = time.Time{} // the batch must not keep the record
	line, _, _ := strings.Cut(string(b.Document(0)), "\n")
	var doc map[string]any
	if err := json.Unmarshal([]byte(line), &doc); err != nil || doc["@timestamp"] != "2026-02-09T16:44:32.545908121Z" {
		t.Fatalf("document %s (%v)", line, err)
	}
	if _, err := c.Flush(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	id := base64.RawURLEncoding.EncodeToString(recs[0].ID[:])
	if _, ok := f.doc("nri-audit-2026.02.09", id); !ok {
		t.Fatalf("document not in nri-audit-2026.02.09 with _id %s: %v", id, f.docs)
	}
}

func TestDatePatternIndex(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "audit-%Y-%m-%d-%H"})
	recs := makeRecords(t, 3)
	loc := time.FixedZone("UTC+2", 2*3600)
	recs[0].Timestamp = time.Date(2026, 1, 1, 1, 30, 0, 0, loc)     // 2025-12-31T23:30Z
	recs[1].Timestamp = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // next day
	recs[2].Timestamp = time.Date(2026, 1, 1, 0, 59, 0, 0, time.UTC)
	b := fillBatch(t, c, recs)
	if _, err := c.Flush(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for i, index := range []string{"audit-2025-12-31-23", "audit-2026-01-01-00", "audit-2026-01-01-00"} {
		if _, ok := f.doc(index, idOf(recs[i])); !ok {
			t.Errorf("record %d not in %s", i, index)
		}
	}
}

func TestDataStream(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, DataStream: "logs-nri_audit-default"})
	recs := makeRecords(t, 5)
	if _, err := c.Flush(context.Background(), fillBatch(t, c, recs)); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.doc("logs-nri_audit-default", idOf(recs[4])); !ok {
		t.Fatal("not written to the data stream")
	}
}

func TestPartialFailureResendsOnlyFailedItems(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 20)
	failing := map[string]int{idOf(recs[3]): 429, idOf(recs[7]): 503, idOf(recs[15]): 429}
	f.itemFail = func(_, id string, attempt int) int {
		if attempt <= 2 { // fails twice, then succeeds
			return failing[id]
		}
		return 0
	}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit"})
	res, err := c.Flush(context.Background(), fillBatch(t, c, recs))
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, esbulk.Result{Delivered: 20})
	if res.Retried != 6 || !strings.Contains(res.FirstError, "es_rejected_execution_exception") {
		t.Errorf("retried %d, first error %q", res.Retried, res.FirstError)
	}
	if len(f.reqIDs) != 3 {
		t.Fatalf("%d bulk requests, want 3", len(f.reqIDs))
	}
	for _, req := range f.reqIDs[1:] {
		if len(req) != 3 {
			t.Fatalf("retry request holds %d items, want only the 3 failed ones: %v", len(req), req)
		}
		for _, id := range req {
			if failing[id] == 0 {
				t.Errorf("retry re-sent %s, which had succeeded", id)
			}
		}
	}
	if f.count() != 20 || f.statuses[409] != 0 {
		t.Errorf("stored %d, %d conflicts", f.count(), f.statuses[409])
	}
	if st := c.Stats(); st.Retried != 6 || st.Delivered != 20 {
		t.Errorf("stats %+v", st)
	}
}

func TestElasticsearchDownThenBack(t *testing.T) {
	// A real outage: nothing listens on the port, then a server starts there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	f := newFakeES(t)
	c := newClient(t, esbulk.Config{URLs: []string{"http://" + addr}, Index: "nri-audit", RetryBudget: 20 * time.Second})
	recs := makeRecords(t, 50)
	b := fillBatch(t, c, recs)
	go func() {
		time.Sleep(300 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("re-listen: %v", err)
			return
		}
		f.srv.Listener.Close()
		f.srv.Listener = l
		f.mu.Lock()
		f.drop = 1           // then a connection reset before indexing
		f.dropAfterIndex = 1 // then one indexed whose response is lost
		f.mu.Unlock()
		f.srv.Start()
	}()
	res, err := c.Flush(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered+res.Duplicates != 50 || res.Duplicates != 50 || !res.Complete() {
		// The lost response means the last attempt sees every record as
		// already indexed.
		t.Errorf("result %+v", res)
	}
	if f.count() != 50 {
		t.Fatalf("stored %d documents, want 50", f.count())
	}
	for id, n := range f.attempts {
		if n > 2 {
			t.Errorf("%s indexed %d times", id, n)
		}
	}
	if st := c.Stats(); st.RequestErrs < 2 || st.Retried < 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestFailoverToSecondURL(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{dead, f.URL()}, Index: "nri-audit"})
	for round := 0; round < 3; round++ {
		b := fillBatch(t, c, makeRecords(t, 4))
		res, err := c.Flush(context.Background(), b)
		if err != nil || res.Retried != 0 {
			t.Fatalf("round %d: %+v %v", round, res, err)
		}
	}
}

func TestMappingErrorDeadLettered(t *testing.T) {
	for _, errType := range []string{"document_parsing_exception", "mapper_parsing_exception"} {
		t.Run(errType, func(t *testing.T) {
			f := newFakeES(t).start()
			f.typed = map[string]string{"nri_value": "long"}
			f.typedErrType = errType
			dlq := filepath.Join(t.TempDir(), "dead.ndjson")
			c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", DeadLetterPath: dlq})
			recs := makeRecords(t, 15)
			// Record 8 is "set linux cpuset CPUs" with value=2-3, record 11
			// "set linux RDT schemata": not numbers.
			b := fillBatch(t, c, recs)
			res, err := c.Flush(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			wantResult(t, res, esbulk.Result{Delivered: 13, DeadLettered: 2})
			if b.Outcome(8) != esbulk.DeadLettered || b.Outcome(11) != esbulk.DeadLettered || b.Outcome(7) != esbulk.Delivered {
				t.Errorf("outcomes %v %v %v", b.Outcome(7), b.Outcome(8), b.Outcome(11))
			}
			if len(f.reqIDs) != 1 {
				t.Errorf("%d requests: a permanent error must not be retried", len(f.reqIDs))
			}
			lines := readLines(t, dlq)
			if len(lines) != 2 {
				t.Fatalf("dead letter has %d lines", len(lines))
			}
			var dl struct {
				Timestamp string `json:"@timestamp"`
				Index     string `json:"index"`
				ID        string `json:"id"`
				Status    int    `json:"status"`
				Error     struct {
					Type, Reason string
					CausedBy     struct{ Type, Reason string } `json:"caused_by"`
				} `json:"error"`
				Document map[string]any `json:"document"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
				t.Fatal(err)
			}
			if dl.Index != "nri-audit" || dl.ID != idOf(recs[8]) || dl.Status != 400 || dl.Error.Type != errType ||
				!strings.Contains(dl.Error.Reason, "failed to parse field [nri_value] of type [long]") ||
				dl.Error.CausedBy.Reason != `For input string: "2-3"` || dl.Document["nri_value"] != "2-3" {
				t.Errorf("dead letter %s", lines[0])
			}
			if _, err := time.Parse(time.RFC3339Nano, dl.Timestamp); err != nil {
				t.Errorf("dead letter time: %v", err)
			}
			var want map[string]any
			json.Unmarshal(recs[8].AppendJSON(nil), &want)
			if gb, _ := json.Marshal(dl.Document); string(gb) != mustMarshal(want) {
				t.Errorf("dead letter document %s", gb)
			}
			if !strings.Contains(res.FirstError, "item 400 "+errType) {
				t.Errorf("first error %q", res.FirstError)
			}
			if fi, _ := os.Stat(dlq); fi.Mode().Perm() != 0o600 {
				t.Errorf("dead letter mode %v", fi.Mode())
			}
		})
	}
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestDeadLetterIndex(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 6)
	f.itemFail = func(index, id string, _ int) int {
		if index == "nri-audit" && id == idOf(recs[2]) {
			return 404
		}
		return 0
	}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", DeadLetterIndex: "nri-audit-dead-letter"})
	b := fillBatch(t, c, recs)
	res, err := c.Flush(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, esbulk.Result{Delivered: 5, DeadLettered: 1})
	raw, ok := f.doc("nri-audit-dead-letter", idOf(recs[2]))
	if !ok {
		t.Fatal("no dead-letter document")
	}
	var dl map[string]any
	json.Unmarshal(raw, &dl)
	doc, _ := dl["document"].(string)
	if dl["index"] != "nri-audit" || dl["status"] != json.Number("404") && dl["status"] != float64(404) ||
		doc != string(recs[2].AppendJSON(nil)) || !strings.Contains(string(raw), "index_not_found_exception") {
		t.Errorf("dead-letter document %s", raw)
	}
	// Re-sent: the record is rejected again and its dead letter is a 409.
	res, err = c.Flush(context.Background(), b)
	if err != nil || res.DeadLettered != 1 || res.Duplicates != 5 {
		t.Errorf("re-send: %+v %v", res, err)
	}
}

func TestDeadLetterWriteFailureIsFailed(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 3)
	f.itemFail = func(_, id string, _ int) int {
		if id == idOf(recs[1]) {
			return 400
		}
		return 0
	}
	// A full disk: every write to /dev/full fails with ENOSPC.
	c2 := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", DeadLetterPath: "/dev/full"})
	res, err := c2.Flush(context.Background(), fillBatch(t, c2, recs))
	if err == nil || res.Failed != 1 || res.Delivered != 2 || !strings.Contains(res.FirstError, "no space left on device") {
		t.Errorf("%+v %v", res, err)
	}
}

func TestNoDeadLetterLogsTheDocument(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 2)
	f.itemFail = func(_, id string, _ int) int {
		if id == idOf(recs[0]) {
			return 400
		}
		return 0
	}
	var logBuf syncBuffer
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit",
		Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	res, err := c.Flush(context.Background(), fillBatch(t, c, recs))
	if err != nil || res.DeadLettered != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	out := logBuf.String()
	if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, "injected status 400") ||
		!strings.Contains(out, idOf(recs[0])) || !strings.Contains(out, "add annotation") {
		t.Errorf("log does not hold the rejected document:\n%s", out)
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

func TestRequestTooLargeSplits(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 40)
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit"})
	b := fillBatch(t, c, recs)
	f.maxContentLength = b.Bytes()/5 + 1
	res, err := c.Flush(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, esbulk.Result{Delivered: 40})
	if f.status413 == 0 || f.count() != 40 || f.statuses[409] != 0 {
		t.Errorf("413s %d, stored %d, conflicts %d", f.status413, f.count(), f.statuses[409])
	}
	for _, req := range f.reqIDs {
		if len(req) > 8 {
			t.Errorf("accepted request of %d items larger than the limit", len(req))
		}
	}
}

func TestSingleDocumentTooLargeDeadLettered(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 4)
	recs[2].AddString("nri_huge", strings.Repeat("x", 20000))
	dlq := filepath.Join(t.TempDir(), "dead.ndjson")
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", DeadLetterPath: dlq})
	b := fillBatch(t, c, recs)
	f.maxContentLength = 10000
	res, err := c.Flush(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, esbulk.Result{Delivered: 3, DeadLettered: 1})
	lines := readLines(t, dlq)
	if len(lines) != 1 || !strings.Contains(lines[0], `"status":413`) || !strings.Contains(lines[0], "request_entity_too_large") ||
		!strings.Contains(lines[0], strings.Repeat("x", 20000)) {
		t.Errorf("dead letter %.300s", lines)
	}
}

func TestMaxBatchBytesSplitsRequests(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 30)
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", MaxBatchBytes: 4000})
	b := fillBatch(t, c, recs)
	res, err := c.Flush(context.Background(), b)
	if err != nil || res.Delivered != 30 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(f.reqIDs) < b.Bytes()/4000 || f.status413 != 0 {
		t.Errorf("%d requests for %d bytes", len(f.reqIDs), b.Bytes())
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	f := newFakeES(t).start()
	f.httpFail = make([]int, 1000)
	for i := range f.httpFail {
		f.httpFail[i] = 503
	}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", RetryBudget: 300 * time.Millisecond})
	recs := makeRecords(t, 10)
	b := fillBatch(t, c, recs)
	start := time.Now()
	res, err := c.Flush(context.Background(), b)
	elapsed := time.Since(start)
	if err == nil || !errors.Is(err, esbulk.ErrBudget) {
		t.Fatalf("error %v", err)
	}
	if res.Complete() || res.Failed != 10 || res.Delivered != 0 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(res.FirstError, "HTTP 503 cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/2/no master];") {
		t.Errorf("first error %q", res.FirstError)
	}
	if elapsed < 300*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("flush took %v for a 300ms budget", elapsed)
	}
	if f.bulks < 2 { // machine load decides how many fit in the budget
		t.Errorf("only %d attempts", f.bulks)
	}
	for i := 0; i < b.Len(); i++ {
		if b.Outcome(i) != esbulk.Failed {
			t.Errorf("outcome %d %v", i, b.Outcome(i))
		}
	}
	if st := c.Stats(); st.Failed != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestHTTP429RetriesBatch(t *testing.T) {
	f := newFakeES(t).start()
	f.httpFail = []int{429, 429}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit"})
	res, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 5)))
	if err != nil || res.Delivered != 5 || res.Retried != 10 || !strings.Contains(res.FirstError, "circuit_breaking_exception") {
		t.Errorf("%+v %v", res, err)
	}
}

func TestHTTP400DeadLettersBatch(t *testing.T) {
	f := newFakeES(t).start()
	f.httpFail = []int{400}
	dlq := filepath.Join(t.TempDir(), "dead.ndjson")
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", DeadLetterPath: dlq})
	res, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 5)))
	if err != nil || res.DeadLettered != 5 || f.bulks != 1 {
		t.Errorf("%+v %v, %d requests", res, err, f.bulks)
	}
	lines := readLines(t, dlq)
	if len(lines) != 5 || !strings.Contains(lines[0], "Malformed action/metadata line [1]") {
		t.Errorf("dead letter %v", lines)
	}
}

func TestAuthFailureIsFailedNotDeadLettered(t *testing.T) {
	f := newFakeES(t).start()
	f.wantAuth = basic("elastic", "right")
	dlq := filepath.Join(t.TempDir(), "dead.ndjson")
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", User: "elastic", Password: "wrong", DeadLetterPath: dlq})
	start := time.Now()
	res, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 5)))
	if !errors.Is(err, esbulk.ErrAuth) || res.Failed != 5 || res.DeadLettered != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if f.requests != 1 || time.Since(start) > time.Second {
		t.Errorf("auth failure retried: %d requests", f.requests)
	}
	if !strings.Contains(res.FirstError, "HTTP 401 security_exception: unable to authenticate user [elastic]") {
		t.Errorf("first error %q", res.FirstError)
	}
	if _, err := os.Stat(dlq); err == nil && len(readLines(t, dlq)) > 0 {
		t.Error("auth failure dead-lettered")
	}
	// 403 too.
	f2 := newFakeES(t).start()
	f2.httpFail = []int{403}
	c2 := newClient(t, esbulk.Config{URLs: []string{f2.URL()}, Index: "nri-audit"})
	res, err = c2.Flush(context.Background(), fillBatch(t, c2, makeRecords(t, 2)))
	if !errors.Is(err, esbulk.ErrAuth) || res.Failed != 2 || !strings.Contains(res.FirstError, "is unauthorized for user [nri]") {
		t.Errorf("403: %+v %v", res, err)
	}
}

func TestWrongURLIsFailed(t *testing.T) {
	f := newFakeES(t).start()
	f.httpFail = []int{404}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit"})
	res, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 2)))
	if err == nil || res.Failed != 2 || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("%+v %v", res, err)
	}
}

func TestClusterBlock403ItemRetried(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 3)
	f.itemFail = func(_, id string, attempt int) int {
		if id == idOf(recs[0]) && attempt == 1 {
			return 403
		}
		return 0
	}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit"})
	res, err := c.Flush(context.Background(), fillBatch(t, c, recs))
	if err != nil || res.Delivered != 3 || res.Retried != 1 {
		t.Errorf("%+v %v", res, err)
	}
}

func TestContextCancelStopsFlush(t *testing.T) {
	f := newFakeES(t).start()
	f.httpFail = make([]int, 1000)
	for i := range f.httpFail {
		f.httpFail[i] = 503
	}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", RetryBudget: time.Minute,
		BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := c.Flush(ctx, fillBatch(t, c, makeRecords(t, 3)))
	if !errors.Is(err, context.DeadlineExceeded) || res.Failed != 3 || time.Since(start) > 2*time.Second {
		t.Errorf("%+v %v after %v", res, err, time.Since(start))
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthHeadersGzipAndParams(t *testing.T) {
	cases := []struct {
		name string
		cfg  esbulk.Config
		want string
	}{
		{"basic", esbulk.Config{User: "elastic", Password: "s3cr\u00e9t:x"}, basic("elastic", "s3cr\u00e9t:x")},
		{"api key encoded", esbulk.Config{APIKey: "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
			"ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"api key id:key", esbulk.Config{APIKey: "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"},
			"ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"bearer", esbulk.Config{BearerToken: "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuLTE"}, "Bearer AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuLTE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeES(t).start()
			f.wantAuth = tc.want
			f.wantGzip = true
			f.wantParams = map[string]string{"pipeline": "nri", "_msg_field": "nri_msg"}
			cfg := tc.cfg
			cfg.URLs, cfg.Index, cfg.Compress, cfg.Pipeline = []string{f.URL()}, "nri-audit", true, "nri"
			cfg.QueryParams = map[string]string{"_msg_field": "nri_msg"}
			c := newClient(t, cfg)
			if err := c.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			b := fillBatch(t, c, makeRecords(t, 30))
			res, err := c.Flush(context.Background(), b)
			if err != nil || res.Delivered != 30 {
				t.Fatalf("%+v %v", res, err)
			}
			if st := c.Stats(); st.WireBytes >= st.Bytes || st.Bytes != uint64(b.Bytes()) {
				t.Errorf("gzip did not shrink: %+v", st)
			}
		})
	}
	t.Run("user info in URL", func(t *testing.T) {
		f := newFakeES(t).start()
		f.wantAuth = basic("nri", "pw")
		c := newClient(t, esbulk.Config{URLs: []string{strings.Replace(f.URL(), "http://", "http://nri:pw@", 1)}, Index: "nri-audit"})
		if _, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 1))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCustomHeaders(t *testing.T) {
	var got http.Header
	var mu sync.Mutex
	f := newFakeES(t)
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	f.start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", Headers: map[string]string{"VL-Msg-Field": "nri_msg"}})
	if _, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 1))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Get("VL-Msg-Field") != "nri_msg" || got.Get("Idempotency-Key") != "" {
		t.Errorf("headers %v", got)
	}
}

func TestConcurrentFlushes(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 400)
	f.itemFail = func(_, id string, attempt int) int {
		if attempt == 1 && id[0]%4 == 0 {
			return 429
		}
		return 0
	}
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", Compress: true})
	f.wantGzip = true
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(part []*audit.Record) {
			defer wg.Done()
			b := c.NewBatch()
			for _, r := range part {
				b.Add(r)
			}
			res, err := c.Flush(context.Background(), b)
			if err != nil || res.Delivered != len(part) {
				t.Errorf("%+v %v", res, err)
			}
		}(recs[g*50 : (g+1)*50])
	}
	wg.Wait()
	if f.count() != 400 || c.Stats().Delivered != 400 {
		t.Errorf("stored %d, stats %+v", f.count(), c.Stats())
	}
}

func TestSummaryLog(t *testing.T) {
	f := newFakeES(t).start()
	recs := makeRecords(t, 4)
	f.itemFail = func(_, id string, _ int) int {
		if id == idOf(recs[1]) {
			return 400
		}
		return 0
	}
	var logBuf syncBuffer
	c, err := esbulk.New(esbulk.Config{URLs: []string{f.URL()}, Index: "nri-audit", StatsInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c.Flush(context.Background(), fillBatch(t, c, recs))
	time.Sleep(120 * time.Millisecond)
	c.Close()
	out := logBuf.String()
	if strings.Count(out, "esbulk: summary") != 1 {
		t.Errorf("want one summary line (quiet intervals log nothing):\n%s", out)
	}
	if !strings.Contains(out, "delivered=3") || !strings.Contains(out, "dead_lettered=1") ||
		!strings.Contains(out, `first_error="item 400 illegal_argument_exception: injected status 400"`) {
		t.Errorf("summary:\n%s", out)
	}
}

func TestAddRejectsRecordWithoutID(t *testing.T) {
	c := newClient(t, esbulk.Config{URLs: []string{"http://127.0.0.1:1"}})
	var r audit.Record
	r.Timestamp = time.Now()
	if err := c.NewBatch().Add(&r); !errors.Is(err, esbulk.ErrNoID) {
		t.Errorf("Add: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	u := []string{"http://127.0.0.1:9200"}
	for _, tc := range []struct {
		cfg  esbulk.Config
		want string
	}{
		{esbulk.Config{}, "no URL"},
		{esbulk.Config{URLs: []string{"ftp://x"}}, "scheme"},
		{esbulk.Config{URLs: []string{"http://:pw@"}}, "no host"},
		{esbulk.Config{URLs: []string{"http://h/?a=b"}}, "query"},
		{esbulk.Config{URLs: u, Index: "Upper"}, "lowercase"},
		{esbulk.Config{URLs: u, Index: "_x"}, "must not start"},
		{esbulk.Config{URLs: u, Index: "a b"}, "must not contain"},
		{esbulk.Config{URLs: u, Index: "x-%Q"}, "unknown directive"},
		{esbulk.Config{URLs: u, Index: "x-%"}, "ends with"},
		{esbulk.Config{URLs: u, Index: "x", DataStream: "y"}, "not both"},
		{esbulk.Config{URLs: u, DataStream: "logs-%Y"}, "date directives"},
		{esbulk.Config{URLs: u, User: "u", APIKey: "k"}, "only one"},
		{esbulk.Config{URLs: u, Password: "p"}, "password without user"},
		{esbulk.Config{URLs: u, CertFile: "c"}, "both CertFile and KeyFile"},
		{esbulk.Config{URLs: u, CAFile: "/nonexistent"}, "CA file"},
		{esbulk.Config{URLs: u, DeadLetterPath: "a", DeadLetterIndex: "b"}, "not both"},
		{esbulk.Config{URLs: u, DeadLetterIndex: "Bad"}, "dead letter index"},
		{esbulk.Config{URLs: u, DeadLetterPath: "/nonexistent/dir/x"}, "dead letter file"},
		{esbulk.Config{URLs: u, RetryBudget: -1}, "negative"},
		{esbulk.Config{URLs: u, Headers: map[string]string{"a b": "c"}}, "header name"},
	} {
		_, err := esbulk.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestRedactsPasswordInErrors(t *testing.T) {
	_, err := esbulk.New(esbulk.Config{URLs: []string{"ftp://user:hunter2@h"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v", err)
	}
}
