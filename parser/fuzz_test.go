package parser

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nri-audit/nri-audit/audit"
)

// seedMessages adds every MESSAGE of the golden inputs to the corpus.
func seedMessages(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jsonl")
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				if m, ok := e["MESSAGE"].(string); ok {
					f.Add(m)
				}
			}
		}
		fh.Close()
	}
	for _, s := range []string{"", "=", "a=", `a="`, `a="\`, `a="\x`, `a="\u12"`, `{`, `{"a":`, `[`, `{"a":[[[[`, "k=v\xff", `a=b"c`, "\x00=\x00"} {
		f.Add(s)
	}
}

// FuzzBuild: any MESSAGE yields one valid document with unique keys and no
// panic; nri_parse_error is the only sign of bad input.
func FuzzBuild(f *testing.F) {
	seedMessages(f)
	b, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		e := &audit.Entry{Realtime: time.Unix(1770655472, 0)}
		e.Add("SYSLOG_IDENTIFIER", "containerd")
		e.Add("MESSAGE", msg)
		var r audit.Record
		if !b.Build(e, &r) {
			t.Fatal("mode all dropped a line")
		}
		out := r.AppendJSON(nil)
		if !utf8.Valid(out) || !json.Valid(out) {
			t.Fatalf("invalid output %q", out)
		}
		seen := map[string]bool{}
		for _, f := range r.Fields {
			if seen[f.Key] {
				t.Fatalf("duplicate key %q", f.Key)
			}
			seen[f.Key] = true
		}
		if !seen["MESSAGE"] {
			t.Fatal("MESSAGE lost")
		}
	})
}

// FuzzLogfmtRoundTrip renders pairs the way logrus does and decodes them.
func FuzzLogfmtRoundTrip(f *testing.F) {
	f.Add("msg", "add mount", "value.options", "rbind,ro")
	f.Add("a", "", "b", "x\"y\\z\n\x01é")
	f.Add("k", "\xff\xfe", "nri.plugin", "-10-a,11-b")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		if !validKey(k1) || !validKey(k2) {
			return
		}
		line := k1 + "=" + logrusValue(v1) + " " + k2 + "=" + logrusValue(v2)
		pairs, _, err := decodeLogfmt(line, nil, nil)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if len(pairs) != 2 || pairs[0].key != k1 || pairs[1].key != k2 {
			t.Fatalf("%q: pairs %+v", line, pairs)
		}
		// strconv.Quote turns invalid bytes into \x escapes, which decode back
		// to the same bytes.
		if pairs[0].val != v1 || pairs[1].val != v2 {
			t.Fatalf("%q: got %q %q, want %q %q", line, pairs[0].val, pairs[1].val, v1, v2)
		}
	})
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return false
		}
	}
	return true
}

// logrusValue quotes like logrus' TextFormatter (needsQuoting + %q).
func logrusValue(v string) string {
	if v == "" {
		return ""
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._/@^+", c) >= 0) {
			return strconv.Quote(v)
		}
	}
	return v
}

// FuzzJSON compares the ordered decoder with encoding/json on validity and,
// for flat objects of strings, on values.
func FuzzJSON(f *testing.F) {
	seedMessages(f)
	f.Add(`{"a":"\ud800","b":"\u00e9\ud83d\ude00","c":1e5}`)
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{") {
			return
		}
		pairs, _, err := decodeJSON(s, nil, nil)
		valid := json.Valid([]byte(s))
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", s)
		}
		if err != nil {
			if valid && !strings.Contains(err.Error(), "nesting too deep") {
				t.Fatalf("rejected valid JSON %q: %v", s, err)
			}
			return
		}
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		for _, p := range pairs {
			if strings.Contains(p.key, "_") || p.isArray {
				continue // flattened or array: no direct counterpart
			}
			if want, ok := m[p.key].(string); ok && audit.ValidUTF8(p.val) != want {
				// Duplicate keys: encoding/json keeps the last one.
				if strings.Count(s, strconv.Quote(p.key)) == 1 {
					t.Fatalf("key %q: got %q, encoding/json %q", p.key, p.val, want)
				}
			}
		}
	})
}

var strictRFC3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// FuzzParseTime: whatever ParseTime accepts is a real instant that
// round-trips, and it agrees with time.Parse on RFC 3339 input.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-02-09T16:44:32.545908121Z", "2026-02-09T16:44:32.78883661Z", "2026-02-09 16:44:32.788820336Z",
		"2026-02-09T16:44:32Z", "2026-02-09T18:44:32.5+02:00", "2026-02-09T18:44:32-0130", "2024-02-29T00:00:00Z", "2026-02-30T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTime(s)
		// time.Parse is laxer (1-digit hours, year 0): compare on the strict
		// RFC 3339 shape only.
		if std, err := time.Parse(time.RFC3339Nano, s); err == nil && strictRFC3339.MatchString(s) && std.Year() >= 1 && std.UTC().Year() >= 1 && std.UTC().Year() <= 9999 {
			if !ok || !got.Equal(std) {
				t.Fatalf("%q: got %v %v, time.Parse %v", s, got, ok, std)
			}
		}
		if !ok {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: not UTC", s)
		}
		again, ok := ParseTime(got.Format("2006-01-02T15:04:05.000000000Z07:00"))
		if !ok || !again.Equal(got) {
			t.Fatalf("%q: round trip %v → %v", s, got, again)
		}
	})
}

// FuzzTimeCache: a cache that has seen other times parses each one as a
// fresh parse does, whatever came before it.
func FuzzTimeCache(f *testing.F) {
	f.Add("2026-02-09T16:44:32.545908121Z", "2026-02-09T16:44:59Z", "2026-02-09T16:44:32.5+02:00")
	f.Add("2026-02-09T16:44:32Z", "2026-02-09T16:44:3xZ", "2026-02-30T16:44:32Z")
	f.Add("2024-02-29T23:59:60Z", "2024-02-29 23:59:60.1Z", "2024-02-29t23:59:00-01:30")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var cache timeCache
		for _, s := range []string{a, b, c, a, c} {
			got, ok := cache.parse(s)
			want, wantOK := ParseTime(s)
			if ok != wantOK || !got.Equal(want) {
				t.Fatalf("%q after others: %v %v, fresh %v %v", s, got, ok, want, wantOK)
			}
		}
	})
}
