package esbulk

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/parser"
)

func testClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	if len(cfg.URLs) == 0 {
		cfg.URLs = []string{"http://127.0.0.1:9200"}
	}
	cfg.StatsInterval = -1
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// typicalRecord is an audit event as the parser builds it from a journal
// entry: 9 parsed/derived keys and 9 journal fields, about 600 bytes.
func typicalRecord(t testing.TB) *audit.Record {
	t.Helper()
	b, err := parser.New(parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var e audit.Entry
	for _, kv := range [][2]string{
		{"_HOSTNAME", "worker-1"}, {"_BOOT_ID", "0123456789abcdef0123456789abcdef"},
		{"_MACHINE_ID", "fedcba9876543210fedcba9876543210"}, {"SYSLOG_IDENTIFIER", "containerd"},
		{"_SYSTEMD_UNIT", "containerd.service"}, {"_PID", "1043"}, {"PRIORITY", "6"}, {"_TRANSPORT", "stdout"},
		{"MESSAGE", `time="2026-02-09T16:44:32.546083516Z" level=info msg="add mount" nri.plugin=10-device-injector value.destination=/data value.options="rbind,ro" value.source=/mnt/data value.type=bind`},
	} {
		e.Add(kv[0], kv[1])
	}
	e.Realtime = time.Date(2026, 2, 9, 16, 44, 32, 600000000, time.UTC)
	e.Cursor = "s=6f2d;i=1f;b=0123456789abcdef0123456789abcdef"
	r := new(audit.Record)
	if !b.Build(&e, r) {
		t.Fatal("not built")
	}
	return r
}

func TestActionLineBytes(t *testing.T) {
	r := typicalRecord(t)
	for _, tc := range []struct {
		cfg   Config
		index string
	}{
		{Config{}, "nri-audit-2026.02.09"},
		{Config{Index: "audit"}, "audit"},
		{Config{Index: "a-100%%-%Y%m"}, "a-100%-202602"},
		{Config{DataStream: "logs-nri_audit-default"}, "logs-nri_audit-default"},
	} {
		c := testClient(t, tc.cfg)
		b := c.NewBatch()
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
		want := `{"create":{"_index":"` + tc.index + `","_id":"` + base64.RawURLEncoding.EncodeToString(r.ID[:]) + `"}}` + "\n" +
			string(r.AppendJSON(nil)) + "\n"
		if string(b.buf) != want {
			t.Errorf("%+v:\n%s\nwant\n%s", tc.cfg, b.buf, want)
		}
		if index, id := b.meta(0); index != tc.index || id != base64.RawURLEncoding.EncodeToString(r.ID[:]) {
			t.Errorf("meta %s %s", index, id)
		}
		if b.Len() != 1 || b.Bytes() != len(want) {
			t.Errorf("Len %d Bytes %d", b.Len(), b.Bytes())
		}
		b.Reset()
		if b.Len() != 0 || b.Bytes() != 0 {
			t.Error("Reset")
		}
	}
}

func TestTargetPatterns(t *testing.T) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("x", -7*3600)) // 12:06 UTC
	for pattern, want := range map[string]string{
		"nri-audit-%Y.%m.%d": "nri-audit-2026.03.04",
		"nri-%Y-%m-%d-%H":    "nri-2026-03-04-12",
		"fixed":              "fixed",
		"pct-%%":             "pct-%",
		"%Y":                 "2026",
		"x-%d%%%m":           "x-04%03",
	} {
		tgt, err := parseTarget(pattern)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		if got := string(tgt.append(nil, ts)); got != want {
			t.Errorf("%s → %s, want %s", pattern, got, want)
		}
	}
	a, _ := parseTarget("i-%Y.%m.%d")
	if a.key(ts) == a.key(ts.Add(24*time.Hour)) || a.key(ts) != a.key(ts.Add(time.Hour)) {
		t.Error("daily key")
	}
	h, _ := parseTarget("i-%H")
	if h.key(ts) == h.key(ts.Add(time.Hour)) {
		t.Error("hourly key")
	}
}

func TestDecodeBulk(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int
		want string // error substring; "" = ok
	}{
		{`{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`, 2, ""},
		{`{"took":0,"errors":false,"items":[{"index":{"status":201}}]}`, 1, ""},
		{`{"errors":true,"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"x"}}}]}`, 1, ""},
		{`{"errors":false,"items":[{"create":{"status":201}}]}`, 2, "1 items for 2 documents"},
		{``, 1, "empty response"},
		{`<html>`, 1, "malformed"},
		{`{"errors":false,"items":[{"create":{"status":201}}`, 1, "malformed"},
	} {
		_, err := decodeBulk([]byte(tc.body), nil, tc.n)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
	// Reused item memory must not leak a previous response's values.
	items := make([]bulkItem, 0, 4)
	r1, _ := decodeBulk([]byte(`{"errors":true,"items":[{"create":{"status":429,"error":{"type":"x"}}}]}`), items, 1)
	r2, _ := decodeBulk([]byte(`{"errors":false,"items":[{"index":{"status":201}}]}`), r1.Items, 1)
	if it := r2.Items[0].result(); it.Status != 201 || it.Error != nil {
		t.Errorf("reused item %+v", it)
	}
}

func TestErrorReasons(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"root_cause":[],"type":"cluster_block_exception","reason":"blocked"},"status":503}`: "cluster_block_exception: blocked",
		`{"error":"no handler found for uri [/x] and method [GET]"}`:                                   "no handler found for uri [/x] and method [GET]",
		`{"type":"a","reason":"b","caused_by":{"type":"c","reason":"d"}}`:                              "a: b (caused by c: d)",
		`<html>502 Bad Gateway</html>`:                                                                 "<html>502 Bad Gateway</html>",
	} {
		if got := esErrorReason([]byte(body)); got != want {
			t.Errorf("%s → %q, want %q", body, got, want)
		}
	}
	e := requestError(400, []byte(`{"error":"plain text"}`))
	if !json.Valid(e) || parseItemError(e).String() != "http_400: plain text" {
		t.Errorf("%s", e)
	}
	if s := parseItemError(json.RawMessage(`"as string"`)).String(); s != "as string" {
		t.Error(s)
	}
}

func TestBackoff(t *testing.T) {
	c := testClient(t, Config{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	for attempt, max := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		max *= time.Millisecond
		for i := 0; i < 50; i++ {
			d := c.backoff(attempt)
			if d < max/2 || d > max {
				t.Fatalf("attempt %d: %v not in [%v, %v]", attempt, d, max/2, max)
			}
		}
	}
	if d := c.backoff(100); d > time.Second {
		t.Errorf("attempt 100: %v", d)
	}
}

// FuzzBatchAdd checks the encoder against encoding/json: both lines of
// every record are valid JSON and decode to the values put in.
func FuzzBatchAdd(f *testing.F) {
	f.Add("nri_value_name", "add mount", "10-a", "-11-b", true, int64(1770655472), int64(545908121))
	f.Add("k\x00\"\\\n", "\xff\xfe<>&\u2028", "\xed\xa0\x80", "", false, int64(0), int64(0))
	f.Add("é", "tab\there\r\n", "\U0001F600", "\x7f", true, int64(253402300799), int64(999999999))
	c := testClient(f, Config{})
	b := c.NewBatch()
	f.Fuzz(func(t *testing.T, key, msg, s1, s2 string, flag bool, sec, nsec int64) {
		if sec < 0 || sec > 253402300799 || nsec < 0 || nsec > 999999999 {
			t.Skip()
		}
		vkey := audit.ValidUTF8(key)
		switch vkey {
		case "@timestamp", "nri_msg", "nri_plugin_name", "nri_removal":
			t.Skip()
		}
		var r audit.Record
		r.Timestamp = time.Unix(sec, nsec)
		h := sha256.Sum256([]byte(key + "\x00" + msg + "\x00" + s1 + "\x00" + s2))
		copy(r.ID[:], h[:])
		r.AddString("nri_msg", msg)
		r.AddString(key, s1)
		r.AddStrings("nri_plugin_name", s1, s2)
		r.AddBool("nri_removal", flag)

		b.Reset()
		if err := b.Add(&r); err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(b.buf, []byte("\n"))
		if len(lines) != 3 || len(lines[2]) != 0 {
			t.Fatalf("want 2 lines, got %q", b.buf)
		}
		var action map[string]map[string]string
		if err := json.Unmarshal(lines[0], &action); err != nil {
			t.Fatalf("action %q: %v", lines[0], err)
		}
		wantIndex := "nri-audit-" + r.Timestamp.UTC().Format("2006.01.02")
		if a := action["create"]; a["_index"] != wantIndex || a["_id"] != base64.RawURLEncoding.EncodeToString(r.ID[:]) || len(a) != 2 {
			t.Fatalf("action %s", lines[0])
		}
		dec := json.NewDecoder(bytes.NewReader(lines[1]))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil || dec.More() {
			t.Fatalf("document %q: %v", lines[1], err)
		}
		// What encoding/json makes of the same values.
		std := func(s string) string {
			enc, _ := json.Marshal(s)
			var back string
			json.Unmarshal(enc, &back)
			return back
		}
		if std(msg) != audit.ValidUTF8(msg) {
			t.Fatalf("reference disagrees with ValidUTF8 on %q", msg)
		}
		ts, err := time.Parse(time.RFC3339Nano, doc["@timestamp"].(string))
		if err != nil || !ts.Equal(r.Timestamp) {
			t.Fatalf("@timestamp %v (%v), want %v", doc["@timestamp"], err, r.Timestamp)
		}
		if doc["nri_msg"] != std(msg) || doc[vkey] != std(s1) || doc["nri_removal"] != flag || len(doc) != 5 {
			t.Fatalf("document %s from %q %q %q", lines[1], key, msg, s1)
		}
		arr, _ := doc["nri_plugin_name"].([]any)
		if len(arr) != 2 || arr[0] != std(s1) || arr[1] != std(s2) {
			t.Fatalf("array %v", doc["nri_plugin_name"])
		}
		if !bytes.Equal(lines[1], r.AppendJSON(nil)) {
			t.Fatal("document differs from AppendJSON")
		}
	})
}

func BenchmarkBatchAdd(b *testing.B) {
	b.Run("typical", func(b *testing.B) { benchmarkAdd(b, typicalRecord(b)) })
	// Without the MESSAGE copy (--drop-fields MESSAGE): ~600 bytes.
	b.Run("no-MESSAGE", func(b *testing.B) {
		r := typicalRecord(b)
		r.Delete("MESSAGE")
		benchmarkAdd(b, r)
	})
}

func benchmarkAdd(b *testing.B, r *audit.Record) {
	c := testClient(b, Config{})
	batch := c.NewBatch()
	batch.Add(r)
	b.SetBytes(int64(batch.Bytes()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1024 == 0 {
			batch.Reset()
		}
		batch.Add(r)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := typicalRecord(b)
	buf := r.AppendJSON(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = r.AppendJSON(buf[:0])
	}
}

// FuzzClassify feeds arbitrary bulk responses to the item classifier:
// it must not panic, and every record must end delivered, duplicate,
// queued for the dead letter, or queued for a retry — never lost.
func FuzzClassify(f *testing.F) {
	f.Add(`{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}},{"create":{"status":201}}]}`)
	f.Add(`{"errors":true,"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[x]: version conflict"}}},{"create":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},{"create":{"status":400,"error":"plain"}}]}`)
	f.Add(`{"errors":true,"items":[{"index":{"status":403,"error":{"type":"cluster_block_exception"}}},{},{"create":{"status":0}}]}`)
	f.Add(`{"items":[1,2,3]}`)
	f.Add(``)
	c := testClient(f, Config{})
	r := typicalRecord(f)
	b := c.NewBatch()
	for i := 0; i < 3; i++ {
		b.Add(r)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fl := &flush{c: c, b: b, st: &flushState{}}
		for i := range b.outcomes {
			b.outcomes[i] = Pending
		}
		fl.classify([]int{0, 1, 2}, []byte(body))
		retried := map[int]bool{}
		for _, i := range fl.retry {
			retried[i] = true
		}
		for i, o := range b.outcomes {
			if o == Pending && !retried[i] || o != Pending && retried[i] {
				t.Fatalf("record %d: outcome %v, retried %v", i, o, retried[i])
			}
		}
		for _, d := range fl.st.dead {
			if !json.Valid(d.err) || d.err[0] != '{' {
				t.Fatalf("dead letter error %q is not a JSON object", d.err)
			}
		}
	})
}

// TestTargetKeyBuckets: two times with the same key get the same index
// name (Add renders the name only when the key changes), around day and
// hour boundaries, before 1970 and in other zones too.
func TestTargetKeyBuckets(t *testing.T) {
	zone := time.FixedZone("z", -7*3600-1800)
	for _, pattern := range []string{"i-%Y.%m.%d", "i-%Y.%m.%d.%H", "i-%m", "i-%H"} {
		tgt, err := parseTarget(pattern)
		if err != nil {
			t.Fatal(err)
		}
		rnd := uint64(3)
		for _, base := range []time.Time{
			time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC),
			time.Date(2000, 1, 1, 0, 0, 0, 0, zone), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		} {
			prev := base
			for range 5000 {
				rnd = rnd*6364136223846793005 + 1442695040888963407
				ts := base.Add(time.Duration(rnd>>40) * time.Millisecond)
				if tgt.key(ts) == tgt.key(prev) {
					if a, b := string(tgt.append(nil, ts)), string(tgt.append(nil, prev)); a != b {
						t.Fatalf("%s: %v and %v share a key but name %s and %s", pattern, ts, prev, a, b)
					}
				}
				prev = ts
			}
		}
	}
}
