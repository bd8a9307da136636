package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/containerd/nri/pkg/api"
)

func TestCatalog(t *testing.T) {
	evs := Events()
	if len(evs) != 45 {
		t.Fatalf("%d events, want 45", len(evs))
	}
	names, msgs := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		if names[e.Name] || msgs[e.Message] {
			t.Errorf("duplicate %s / %q", e.Name, e.Message)
		}
		names[e.Name], msgs[e.Message] = true, true
		if !strings.HasPrefix(e.Message, string(e.Op)+" ") {
			t.Errorf("%s: op %q does not start %q", e.Name, e.Op, e.Message)
		}
		for _, f := range e.Fields {
			if _, ok := api.Field_value[f]; !ok {
				t.Errorf("%s: %q is not an api.Field name", e.Name, f)
			}
		}
		got, ok := Lookup(e.Message)
		if !ok || got.Name != e.Name {
			t.Errorf("Lookup(%q) = %v, %v", e.Message, got, ok)
		}
	}
	// Names whose text differs from the constant (format doc §1.3 notes).
	for msg, name := range map[string]string{
		"set process IO priority":          "SetLinuxIOPriority",
		"set process OOM score adjustment": "SetProcessOOMScoreAdj",
		"add environment variable":         "AddProcessEnv",
	} {
		if e, _ := Lookup(msg); e == nil || e.Name != name {
			t.Errorf("%q → %v, want %s", msg, e, name)
		}
	}
	if _, ok := Lookup("Add mount"); ok {
		t.Error("lookup must be exact")
	}
	// Events returns a copy.
	evs[0].Fields[0] = "X"
	if Events()[0].Fields[0] == "X" {
		t.Error("Events shares its slices")
	}
}

func TestParseOwners(t *testing.T) {
	tests := []struct {
		in             string
		names, indexes []string
		removal        bool
	}{
		{"10-device-injector", []string{"device-injector"}, []string{"10"}, false},
		{"-05-logger", []string{"logger"}, []string{"05"}, true},
		{"10-a,11-b", []string{"a", "b"}, []string{"10", "11"}, false},
		{"-10-a,-11-b", []string{"a", "b"}, []string{"10", "11"}, true},
		{"unknown", nil, nil, false},
		{"", nil, nil, false},
		{"10-a,unknown", []string{"a", "unknown"}, []string{"10", ""}, false},
		{"plain", []string{"plain"}, []string{""}, false},
		{"10-", []string{"10-"}, []string{""}, false},
	}
	for _, tt := range tests {
		o := ParseOwners(tt.in, nil, nil)
		if !reflect.DeepEqual(o.Names, tt.names) || !reflect.DeepEqual(o.Indexes, tt.indexes) || o.Removal != tt.removal {
			t.Errorf("%q: got %+v", tt.in, o)
		}
	}
}

func TestErrorPlugins(t *testing.T) {
	tests := map[string][]string{
		`NRI RunPodSandbox failed: plugin "10-policy": rpc error: code = Unknown desc = x`: {"10-policy"},
		`plugins "10-a" and "11-b" both tried to set Env FOO`:                              {"10-a", "11-b"},
		`validator "20-v" rejected container adjustment, reason: no`:                       {"20-v"},
		`validator plugin 20-v failed: deadline`:                                           {"20-v"},
		`closing plugin 10-x, failed to handle CreateContainer request: eof`:               {"10-x"},
		`plugin 05-logger failed to handle StopContainer request, proceeding without it`:   {"05-logger"},
		`plugin "10-x" connected and synchronized`:                                         nil,
		`connection to plugin "10-x" closed`:                                               nil,
		`the plugin manager failed`:                                                        nil,
		`myplugin "10-x": boom`:                                                            nil,
		`plugin "10-a": x; plugin "10-a": y; plugin "11-b": z`:                             {"10-a", "11-b"},
		`plugin "unterminated`:                                                             nil,
		`plugins "10-a" and`:                                                               nil,
	}
	for in, want := range tests {
		if got := ErrorPlugins(nil, in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func FuzzErrorPlugins(f *testing.F) {
	f.Add(`plugin "10-policy": rpc error`)
	f.Add(`plugins "a" and "b" both`)
	f.Add(`validator "x\"y" rejected`)
	f.Add(`closing plugin 1, failed`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range ErrorPlugins(nil, s) {
			if p == "" {
				t.Fatalf("%q: empty plugin", s)
			}
		}
	})
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	r := &Record{Timestamp: time.Date(2026, 2, 9, 16, 44, 32, 545908121, time.FixedZone("x", 3600))}
	r.AddString("a", "quote\" back\\ nl\n tab\t ctl\x01 <html>&")
	r.AddStrings("b", "x", "")
	r.AddBool("c", true)
	r.AddString("d", "bad\xffutf8")
	out := r.AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	want := map[string]any{
		"@timestamp": "2026-02-09T15:44:32.545908121Z",
		"a":          "quote\" back\\ nl\n tab\t ctl\x01 <html>&",
		"b":          []any{"x", ""},
		"c":          true,
		"d":          "bad\ufffdutf8",
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %v", m)
	}
	if strings.Contains(string(out), `\u003c`) {
		t.Error("HTML escaped")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\x1f\"\\\xff\xc3\x28é😀\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendJSONString(nil, s)
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 for %q", s)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, out, err)
		}
		// encoding/json repairs invalid UTF-8 byte by byte, as we do.
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w || got != ValidUTF8(s) {
			t.Fatalf("%q: got %q, encoding/json %q", s, got, w)
		}
	})
}

func TestAppendTimestamp(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 2, 9, 16, 44, 32, 5, time.UTC), "2026-02-09T16:44:32.000000005Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00.000000000Z"},
		{time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC), "12026-01-01T00:00:00.000000000Z"},
	} {
		if got := string(AppendTimestamp(nil, tc.t)); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func TestSanitizeKey(t *testing.T) {
	for in, want := range map[string]string{
		"nri.plugin": "plugin", "value.name": "value_name", "a-b/c d": "a_b_c_d",
		"x.nri.y": "x_nri_y", "nri.": "", "Mixed": "Mixed", "nri.nri.x": "nri_x",
	} {
		if got := SanitizeKey(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
		if !sanitizesTo(in, want) {
			t.Errorf("sanitizesTo(%q, %q) false", in, want)
		}
		if got := string(AppendSanitizedKey(nil, in)); got != want {
			t.Errorf("append %q → %q", in, got)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []*Policy{
		{Rules: []Rule{{Level: "Loud"}}},
		{Rules: []Rule{{Level: LevelNone, Events: []string{"NoSuchEvent"}}}},
		{Rules: []Rule{{Level: LevelNone, Ops: []string{"delete"}}}},
		{Rules: []Rule{{Level: LevelNone, Fields: []string{"Envs"}}}},
		{Rules: []Rule{{Level: LevelNone, Plugins: []string{"["}}}},
		{RedactKeys: []RedactKey{{Event: "AddProcessEnv"}}},
		{Replacement: "a\"b"},
		{DefaultLevel: "x"},
	}
	for i, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("policy %d accepted", i)
		}
	}
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRedact(t *testing.T) {
	p := DefaultPolicy()
	if v, ok := p.Redact("AddProcessEnv", "value_value", "s3cr3t"); !ok || v != Redacted {
		t.Error("env value not redacted")
	}
	for _, keep := range []string{"", ValueOmitted} {
		if _, ok := p.Redact("AddProcessEnv", "value_value", keep); ok {
			t.Errorf("%q redacted", keep)
		}
	}
	if _, ok := p.Redact("AddAnnotation", "value_value", "x"); ok {
		t.Error("annotation redacted by default")
	}
	p.RedactKeys = []RedactKey{{Event: "*", Key: "nri.token"}}
	if _, ok := p.Redact("", "token", "x"); !ok {
		t.Error("wildcard key not redacted")
	}
	p.RedactionDisabled = true
	if _, ok := p.Redact("AddProcessEnv", "value_value", "s3cr3t"); ok {
		t.Error("redaction not disabled")
	}
}

func TestPlainKeyEncoding(t *testing.T) {
	var r Record
	r.AddPlainString("plain", "v")
	r.AddString("needs \"escaping\"", "v")
	got := string(r.AppendJSON(nil))
	if !strings.HasSuffix(got, `,"plain":"v","needs \"escaping\"":"v"}`) {
		t.Fatalf("%s", got)
	}
	for k, want := range map[string]bool{"nri_a.b": true, `a"b`: false, `a\b`: false, "é": false, "\x01": false, "": true, "0123456789_ABCDEFG": true, "0123456789_ABCDEF\"": false} {
		if IsPlainKey(k) != want {
			t.Errorf("IsPlainKey(%q) = %v", k, !want)
		}
	}
}

// TestAppendTimestampMatchesTime compares the day arithmetic with package
// time over the whole range, boundaries of days, years and the range of
// four-digit years included, in several zones.
func TestAppendTimestampMatchesTime(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000000Z07:00"
	zones := []*time.Location{time.UTC, time.FixedZone("x", -11*3600-1800), time.FixedZone("y", 14*3600)}
	check := func(ts time.Time) {
		t.Helper()
		for _, z := range zones {
			ts := ts.In(z)
			if got, want := string(AppendTimestamp(nil, ts)), ts.UTC().Format(layout); got != want {
				t.Fatalf("%v: got %s, want %s", ts, got, want)
			}
		}
	}
	for _, y := range []int{-1, 0, 1, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2100, 2400, 9999, 10000} {
		for _, d := range []time.Time{
			time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 2, 28, 23, 59, 59, 999999999, time.UTC),
			time.Date(y, 2, 29, 12, 0, 0, 1, time.UTC), time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC),
			time.Date(y, 12, 31, 23, 59, 59, 999999999, time.UTC),
		} {
			check(d)
			check(d.Add(-time.Nanosecond))
		}
	}
	rnd := uint64(7)
	lo, hi := time.Date(-3, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(10003, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 300000 {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		sec := lo + int64(rnd>>1)%(hi-lo)
		rnd = rnd*6364136223846793005 + 1442695040888963407
		check(time.Unix(sec, int64(rnd>>34)%1e9))
	}
	check(time.Time{})
	check(time.Unix(1<<62, 0))
	check(time.Unix(-1<<62, 0))
}
