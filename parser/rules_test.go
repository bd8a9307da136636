package parser_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/parser"
)

var journalTime = time.Date(2026, 2, 9, 16, 0, 0, 123456000, time.UTC)

// doc builds the document of one containerd entry whose MESSAGE is msg.
func doc(t *testing.T, opts parser.Options, msg string, extra ...string) (map[string]any, bool) {
	t.Helper()
	b, err := parser.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &audit.Entry{Realtime: journalTime}
	e.Add("_HOSTNAME", "worker-1")
	e.Add("SYSLOG_IDENTIFIER", "containerd")
	e.Add("MESSAGE", msg)
	for i := 0; i+1 < len(extra); i += 2 {
		e.Add(extra[i], extra[i+1])
	}
	var r audit.Record
	if !b.Build(e, &r) {
		return nil, false
	}
	raw := r.AppendJSON(nil)
	// The same builder again: the entry's shape is now known, and the
	// document must not change (parser/shape.go).
	var again audit.Record
	if !b.Build(e, &again) {
		t.Fatalf("second build dropped what the first kept: %s", raw)
	}
	if raw2 := again.AppendJSON(nil); string(raw2) != string(raw) || again.ID != r.ID {
		t.Fatalf("second build differs:\n first %s\nsecond %s", raw, raw2)
	}
	if !json.Valid(raw) {
		t.Fatalf("invalid JSON %s", raw)
	}
	// Duplicate keys would be silently merged by Unmarshal: count them.
	if n := strings.Count(string(raw), `":`); n < len(r.Fields)+1 {
		t.Fatalf("key count mismatch in %s", raw)
	}
	seen := map[string]bool{}
	for _, f := range r.Fields {
		if seen[f.Key] {
			t.Fatalf("duplicate key %q in %s", f.Key, raw)
		}
		seen[f.Key] = true
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m, true
}

type want map[string]any // nil value: key must be absent

// docCase is one line through the builder and what its document must hold.
type docCase struct {
	name string
	opts parser.Options
	msg  string
	want want
}

// runDocCases runs each case as a subtest: the line is shipped, and its
// document holds want.
func runDocCases(t *testing.T, cases []docCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := doc(t, tt.opts, tt.msg)
			if !ok {
				t.Fatal("dropped")
			}
			check(t, got, tt.want)
		})
	}
}

func check(t *testing.T, got map[string]any, w want) {
	t.Helper()
	for k, v := range w {
		g, ok := got[k]
		if v == nil {
			if ok {
				t.Errorf("%s = %#v, want absent", k, g)
			}
			continue
		}
		if !ok {
			t.Errorf("%s absent, want %#v", k, v)
			continue
		}
		if !reflect.DeepEqual(normalize(g), normalize(v)) {
			t.Errorf("%s = %#v, want %#v", k, g, v)
		}
	}
}

func normalize(v any) any {
	if s, ok := v.([]string); ok {
		out := make([]any, len(s))
		for i := range s {
			out[i] = s[i]
		}
		return out
	}
	return v
}

func TestContractRules(t *testing.T) {
	tests := []docCase{
		{"removal marker is a JSON true", parser.Options{},
			`time="2026-02-09T16:44:32.545940311Z" level=info msg="remove environment variable" nri.plugin=-05-logger value.name=HOSTNAME`,
			want{"nri_plugin": "-05-logger", "nri_removal": true, "nri_plugin_name": []string{"logger"}, "nri_plugin_index": []string{"05"},
				"nri_event": "RemoveProcessEnv", "nri_op": "remove", "nri_field": "Env", "nri_value_name": "HOSTNAME",
				"@timestamp": "2026-02-09T16:44:32.545940311Z", "nri_time": nil}},
		{"no removal marker, no nri_removal", parser.Options{},
			`level=info msg="add mount" nri.plugin=10-device-injector value.destination=/data`,
			want{"nri_removal": nil, "nri_plugin_name": []string{"device-injector"}, "nri_plugin_index": []string{"10"}}},
		{"comma owners stay positional", parser.Options{},
			`level=info msg="add OCI hook" nri.plugin="10-a,11-b,10-a" value.path=/h value.type=PreStart`,
			want{"nri_plugin": "10-a,11-b,10-a", "nri_plugin_name": []string{"a", "b", "a"}, "nri_plugin_index": []string{"10", "11", "10"}, "nri_field": "OciHooks"}},
		{"unknown owner", parser.Options{},
			`level=info msg="set linux swap limit" nri.plugin=unknown value=536870912`,
			want{"nri_plugin": "unknown", "nri_plugin_name": nil, "nri_plugin_index": nil, "nri_value": "536870912", "nri_field": "MemSwapLimit"}},
		{"clear linux RDT: array field, no owner", parser.Options{},
			`level=info msg="clear linux RDT"`,
			want{"nri_field": []string{"RdtClosID", "RdtSchemata", "RdtEnableMonitoring"}, "nri_op": "clear", "nri_plugin": nil}},
		{"root propagation is Mounts", parser.Options{},
			`level=info msg="set linux root propagation" nri.plugin=10-x value=rslave`,
			want{"nri_field": "Mounts", "nri_event": "SetLinuxRootPropagation"}},
		{"legacy device rule: Devices, pointers as text", parser.Options{},
			`level=info msg="add linux device rule" value.access=rwm value.allow=false value.major=0x3ecf80914538 value.minor="<nil>" value.type=a`,
			want{"nri_field": "Devices", "nri_value_major": "0x3ecf80914538", "nri_value_minor": "<nil>", "nri_value_allow": "false", "nri_plugin": nil}},
		{"error plugins in line order", parser.Options{},
			`level=error msg="CreateContainer failed" error="failed to get NRI adjustment: plugins \"10-a\" and \"11-b\" both tried to set Env FOO"`,
			want{"nri_error_plugin": []string{"10-a", "11-b"}, "nri_event": nil}},
		{"error attribution at info level too", parser.Options{},
			`level=info msg="plugin 05-logger failed to handle StopContainer request, proceeding without it: closed"`,
			want{"nri_error_plugin": []string{"05-logger"}}},
		{"lifecycle line blames nobody", parser.Options{},
			`level=info msg="plugin \"10-x\" connected and synchronized"`,
			want{"nri_error_plugin": nil}},
		{"reserved key gets a suffix", parser.Options{},
			`level=info msg="shim" runtime=io.containerd.runc.v2 event=x op=y field=z error_plugin=w parse_error=p removal=r`,
			want{"nri_runtime": "containerd", "nri_runtime_2": "io.containerd.runc.v2", "nri_event_2": "x", "nri_op_2": "y",
				"nri_field_2": "z", "nri_error_plugin_2": "w", "nri_parse_error_2": "p", "nri_removal_2": "r", "nri_event": nil}},
		{"duplicate keys: first free suffix", parser.Options{},
			`level=info msg=m a=1 a=2 a_2=3 a=4`,
			want{"nri_a": "1", "nri_a_2": "2", "nri_a_2_2": "3", "nri_a_3": "4"}},
		{"sanitizing: nri. only at the start", parser.Options{},
			`level=info msg=m x.nri.y=1 nri.a-b/c=2 Mixed.Case=3`,
			want{"nri_x_nri_y": "1", "nri_a_b_c": "2", "nri_Mixed_Case": "3"}},
		{"unparseable time kept as nri_time", parser.Options{},
			`time="yesterday" level=info msg=m`,
			want{"nri_time": "yesterday", "@timestamp": "2026-02-09T16:00:00.123456000Z"}},
		{"CRI-O <= 1.31 time with a space", parser.Options{},
			`time="2026-02-09 16:44:32.788820336Z" level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.788820336Z"}},
		{"CRI-O trimmed nanoseconds", parser.Options{},
			`time="2026-02-09T16:44:32.78883661Z" level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.788836610Z"}},
		{"zone offset converted to UTC", parser.Options{},
			`time="2026-02-09T18:44:32.5+02:00" level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.500000000Z"}},
		{"bare words only: unparseable", parser.Options{},
			`goroutine 1 [running]:`,
			want{"nri_parse_error": "logfmt: no key=value pair", "MESSAGE": "goroutine 1 [running]:", "@timestamp": "2026-02-09T16:00:00.123456000Z"}},
		{"broken pair keeps the pairs before", parser.Options{},
			`time="2026-02-09T16:44:32Z" level=info msg="add mount" nri.plugin=10-a value.destination="/data`,
			want{"nri_parse_error": `logfmt: unterminated quoted value in pair "value.destination" at byte 71`, "nri_event": "AddMount",
				"nri_plugin": "10-a", "@timestamp": "2026-02-09T16:44:32.000000000Z", "nri_value_destination": nil}},
		{"bad escape is a syntax error", parser.Options{},
			`level=info msg="a\qb"`,
			want{"nri_level": "info", "nri_msg": nil, "nri_parse_error": `logfmt: unknown escape \q in pair "msg" at byte 11`}},
		{"JSON not an object", parser.Options{},
			`["a"]`,
			want{"nri_parse_error": "json: value is not an object at byte 0", "MESSAGE": `["a"]`}},
		{"JSON syntax error: unparseable as a whole", parser.Options{},
			`{"level":"info","msg":"add mount",}`,
			want{"nri_parse_error": "json: expected a string key at byte 34", "nri_level": nil}},
		{"JSON null, empty, exact numbers, nesting", parser.Options{},
			`{"a":null,"b":[],"c":{},"d":"","e":18446744073709551615,"f":1.50,"g":{"h":{"i":true}},"j":[1,"x",null,{"k":1}]}`,
			want{"nri_a": nil, "nri_b": nil, "nri_c": nil, "nri_d": "", "nri_e": "18446744073709551615", "nri_f": "1.50",
				"nri_g": nil, "nri_g_h": nil, "nri_g_h_i": "true", "nri_j": []string{"1", "x", `{"k":1}`}}},
		{"JSON keys in order, duplicates suffixed", parser.Options{},
			`{"z":"1","a":"2","z":"3","msg":"m"}`,
			want{"nri_z": "1", "nri_a": "2", "nri_z_2": "3", "nri_msg": "m"}},
		{"JSON escapes and HTML escapes decoded", parser.Options{},
			`{"msg":"add environment variable","nri.plugin":"10-x","value.name":"A","value.value":"\u003cvalue omitted\u003e","s":"\ud83d\ude00\t"}`,
			want{"nri_value_value": "<value omitted>", "nri_s": "😀\t", "nri_event": "AddProcessEnv"}},
		{"text renderings stay strings", parser.Options{},
			`level=info msg="set linux RDT schemata" nri.plugin=90-rp value="[L3:0=ff MB:0=50]"`,
			want{"nri_value": "[L3:0=ff MB:0=50]"}},
		{"protobuf text value", parser.Options{},
			`level=info msg="add linux net device" nri.plugin=10-d value.containerif="name:\"net1\"" value.hostif=eth1`,
			want{"nri_value_containerif": `name:"net1"`, "nri_value_hostif": "eth1"}},
		{"env value redacted, omitted kept", parser.Options{},
			`level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value="/usr/bin"`,
			want{"nri_value_value": "<redacted>", "MESSAGE": `level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value="<redacted>"`}},
		{"empty env value kept", parser.Options{},
			`level=info msg="add environment variable" nri.plugin=unknown value.name=E value.value=`,
			want{"nri_value_value": ""}},
		{"annotation values are not redacted by default", parser.Options{},
			`level=info msg="add annotation" nri.plugin=10-x value.key=k value.value=v`,
			want{"nri_value_value": "v"}},
		{"redaction added by policy", parser.Options{Policy: &audit.Policy{RedactKeys: []audit.RedactKey{{Event: "SetProcessArgs", Key: "args"}}}},
			`level=info msg="set process arguments" args="/bin/sh -c secret" nri.plugin=05-logger`,
			want{"nri_args": "<redacted>", "MESSAGE": `level=info msg="set process arguments" args="<redacted>" nri.plugin=05-logger`}},
		{"redaction off", parser.Options{Policy: &audit.Policy{RedactionDisabled: true}},
			`level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value=/usr/bin`,
			want{"nri_value_value": "/usr/bin"}},
		{"metadata level drops values everywhere", parser.Options{Policy: &audit.Policy{Rules: []audit.Rule{{Level: audit.LevelMetadata, Fields: []string{"Annotations"}}}}},
			`level=info msg="add annotation" nri.plugin=10-x value.key=k value.value=secret`,
			want{"nri_value_key": nil, "nri_value_value": nil, "nri_event": "AddAnnotation", "nri_plugin": "10-x",
				"MESSAGE": `level=info msg="add annotation" nri.plugin=10-x value.key="<redacted>" value.value="<redacted>"`}},
		{"invalid UTF-8 repaired, \\x decoded", parser.Options{},
			"level=info msg=\"a\\xffb\" raw=c\xfed",
			want{"nri_msg": "a\ufffdb", "nri_raw": "c\ufffdd", "nri_parse_error": nil}},
		{"prefix configurable", parser.Options{Prefix: "x_"},
			`level=info msg="add mount" nri.plugin=10-a`,
			want{"x_msg": "add mount", "x_event": "AddMount", "x_plugin_name": []string{"a"}, "nri_msg": nil}},
		{"warning stays warning", parser.Options{},
			`level=warning msg=m`,
			want{"nri_level": "warning"}},
		{"bare key= is an empty string", parser.Options{},
			`level=info msg=m empty=`,
			want{"nri_empty": ""}},
	}
	runDocCases(t, tests)
}

func TestHugeValueKeptWhole(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	got, _ := doc(t, parser.Options{}, `level=info msg="add annotation" nri.plugin=10-a value.key=k value.value=`+big)
	if got["nri_value_value"] != big {
		t.Fatalf("value cut: %d bytes", len(got["nri_value_value"].(string)))
	}
}

func TestRuntimeDetection(t *testing.T) {
	b, _ := parser.New(parser.Options{})
	cases := []struct {
		fields []string
		want   any
	}{
		{[]string{"SYSLOG_IDENTIFIER", "containerd"}, "containerd"},
		{[]string{"SYSLOG_IDENTIFIER", "crio"}, "crio"},
		{[]string{"SYSLOG_IDENTIFIER", "k3s", "_SYSTEMD_UNIT", "containerd.service"}, "k3s"},
		{[]string{"_SYSTEMD_UNIT", "cri-o.service"}, "crio"},
		{[]string{"_SYSTEMD_UNIT", "containerd.service"}, "containerd"},
		{[]string{"_SYSTEMD_UNIT", "other.service"}, nil},
		{[]string{}, nil},
	}
	for _, c := range cases {
		e := &audit.Entry{Realtime: journalTime}
		for i := 0; i < len(c.fields); i += 2 {
			e.Add(c.fields[i], c.fields[i+1])
		}
		e.Add("MESSAGE", "level=info msg=m")
		var r audit.Record
		b.Build(e, &r)
		f, ok := r.Get("nri_runtime")
		if c.want == nil {
			if ok {
				t.Errorf("%v: nri_runtime = %q, want absent", c.fields, f.Str)
			}
			continue
		}
		if !ok || f.Str != c.want {
			t.Errorf("%v: nri_runtime = %q, want %q", c.fields, f.Str, c.want)
		}
	}
}

func TestModes(t *testing.T) {
	lines := map[string]string{
		"audit":    `level=info msg="add mount" nri.plugin=10-a`,
		"nri":      `level=info msg="something else" nri.plugin=10-a`,
		"error":    `level=error msg="RunPodSandbox failed" error="NRI RunPodSandbox failed: rpc error"`,
		"blamed":   `level=info msg="x" error="plugin \"10-p\": boom"`,
		"ordinary": `level=info msg="starting cri plugin"`,
		"garbage":  `goroutine 1 [running]:`,
	}
	wantKept := map[parser.Mode][]string{
		parser.ModeAll:   {"audit", "nri", "error", "blamed", "ordinary", "garbage"},
		parser.ModeAudit: {"audit", "error", "blamed", "garbage"},
		parser.ModeNRI:   {"audit", "nri", "error", "blamed", "garbage"},
	}
	for mode, kept := range wantKept {
		for name, line := range lines {
			_, ok := doc(t, parser.Options{Mode: mode}, line)
			wantOK := false
			for _, k := range kept {
				wantOK = wantOK || k == name
			}
			if ok != wantOK {
				t.Errorf("mode %s, line %s: kept=%v, want %v", mode, name, ok, wantOK)
			}
		}
	}
}

func TestPolicyLevels(t *testing.T) {
	p := &audit.Policy{Rules: []audit.Rule{
		{Level: audit.LevelNone, Events: []string{"SetLinuxMemSwapLimit"}},
		{Level: audit.LevelNone, Plugins: []string{"05-*"}},
		{Level: audit.LevelNone, Runtimes: []string{"crio"}},
		{Level: audit.LevelFull, Plugins: []string{"logger"}}, // shadowed by the 05-* rule
	}}
	if _, ok := doc(t, parser.Options{Policy: p}, `level=info msg="set linux swap limit" nri.plugin=unknown value=1`); ok {
		t.Error("event rule did not drop")
	}
	if _, ok := doc(t, parser.Options{Policy: p}, `level=info msg="set process arguments" args=x nri.plugin=05-logger`); ok {
		t.Error("plugin glob did not drop")
	}
	if _, ok := doc(t, parser.Options{Policy: p}, `level=info msg="add mount" nri.plugin=10-a`); !ok {
		t.Error("unmatched line dropped")
	}
	b, _ := parser.New(parser.Options{Policy: p})
	e := &audit.Entry{Realtime: journalTime}
	e.Add("SYSLOG_IDENTIFIER", "crio")
	e.Add("MESSAGE", `level=info msg="add mount" nri.plugin=10-a`)
	if b.Build(e, &audit.Record{}) {
		t.Error("runtime rule did not drop")
	}
	bad := &audit.Policy{Rules: []audit.Rule{{Level: "Loud"}}}
	if _, err := parser.New(parser.Options{Policy: bad}); err == nil {
		t.Error("invalid policy accepted")
	}
}

func TestJournalFieldSelection(t *testing.T) {
	got, _ := doc(t, parser.Options{KeepFields: []string{"_HOSTNAME", "X_*"}}, `level=info msg=m`, "X_A", "1", "Y", "2")
	check(t, got, want{"_HOSTNAME": "worker-1", "X_A": "1", "Y": nil, "MESSAGE": nil, "SYSLOG_IDENTIFIER": nil, "nri_runtime": "containerd"})
	got, _ = doc(t, parser.Options{DropFields: []string{"MESSAGE"}}, `not logfmt`)
	check(t, got, want{"MESSAGE": "not logfmt", "nri_parse_error": "logfmt: no key=value pair"})
}

func TestMissingMessage(t *testing.T) {
	b, _ := parser.New(parser.Options{})
	e := &audit.Entry{Realtime: journalTime}
	e.Add("SYSLOG_IDENTIFIER", "containerd")
	var r audit.Record
	if !b.Build(e, &r) {
		t.Fatal("dropped")
	}
	if v, _ := r.GetString("nri_parse_error"); v != "no MESSAGE field" {
		t.Fatalf("parse error %q", v)
	}
}

func TestDeterministicID(t *testing.T) {
	b, _ := parser.New(parser.Options{})
	mk := func(cursor, msg string) [audit.IDSize]byte {
		e := &audit.Entry{Realtime: journalTime, Cursor: cursor}
		e.Add("_BOOT_ID", "b")
		e.Add("MESSAGE", msg)
		var r audit.Record
		b.Build(e, &r)
		return r.ID
	}
	a, a2 := mk("c1", "msg=x"), mk("c1", "msg=x")
	if a != a2 {
		t.Fatal("same entry, different ids")
	}
	if a == mk("c2", "msg=x") || a == mk("c1", "msg=y") {
		t.Fatal("different entries share an id")
	}
	// Host identity counts; field selection does not.
	other := &audit.Entry{Realtime: journalTime, Cursor: "c1"}
	other.Add("_BOOT_ID", "other-boot")
	other.Add("MESSAGE", "msg=x")
	var r audit.Record
	b.Build(other, &r)
	if r.ID == a {
		t.Fatal("another boot, same id")
	}
	dropping, _ := parser.New(parser.Options{DropFields: []string{"_BOOT_ID"}})
	same := &audit.Entry{Realtime: journalTime, Cursor: "c1"}
	same.Add("_BOOT_ID", "b")
	same.Add("MESSAGE", "msg=x")
	dropping.Build(same, &r)
	if r.ID != a {
		t.Fatal("drop_fields changed the id")
	}
}

func TestJournalTimeFallbackToNow(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b, _ := parser.New(parser.Options{Now: func() time.Time { return now }})
	e := &audit.Entry{}
	e.Add("MESSAGE", "level=info msg=m")
	var r audit.Record
	b.Build(e, &r)
	if !r.Timestamp.Equal(now) {
		t.Fatalf("timestamp %v", r.Timestamp)
	}
}

func TestRepeatedJournalField(t *testing.T) {
	b, _ := parser.New(parser.Options{})
	e := &audit.Entry{Realtime: journalTime}
	e.Fields = append(e.Fields,
		audit.JournalField{Name: "MESSAGE", Value: "level=info msg=first", More: []string{"second"}},
		audit.JournalField{Name: "TAG", Value: "a", More: []string{"b"}})
	var r audit.Record
	b.Build(e, &r)
	m, _ := r.Get("MESSAGE")
	tag, _ := r.Get("TAG")
	if m.Kind != audit.String || m.Str != "level=info msg=first" || tag.Kind != audit.Strings || len(tag.Strs) != 2 {
		t.Fatalf("MESSAGE %+v TAG %+v", m, tag)
	}
	if v, _ := r.GetString("nri_msg"); v != "first" {
		t.Fatalf("nri_msg %q", v)
	}
}

func TestIDIndependentOfFieldOrder(t *testing.T) {
	b, _ := parser.New(parser.Options{})
	fields := [][2]string{{"_BOOT_ID", "b"}, {"MESSAGE", "msg=x"}, {"_HOSTNAME", "h"}, {"PRIORITY", "6"}, {"_PID", "1"}}
	var ids [][audit.IDSize]byte
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}} {
		e := &audit.Entry{Realtime: journalTime}
		for _, i := range order {
			e.Add(fields[i][0], fields[i][1])
		}
		var r audit.Record
		b.Build(e, &r)
		ids = append(ids, r.ID)
	}
	if ids[0] != ids[1] || ids[0] != ids[2] {
		t.Fatal("id depends on field order")
	}
}

func TestDuplicateJournalNamesMerged(t *testing.T) {
	got, _ := doc(t, parser.Options{}, `level=info msg=m`, "CONTAINER_TAG", "a", "CONTAINER_TAG", "b", "CONTAINER_TAG", "c")
	check(t, got, want{"CONTAINER_TAG": []string{"a", "b", "c"}})
}

func TestManyRepeatedKeys(t *testing.T) {
	// BenchmarkBuildRepeatedKeys tracks the cost; this checks the suffixes.
	got, _ := doc(t, parser.Options{}, "level=info msg=m"+strings.Repeat(" a=1", 3000))
	check(t, got, want{"nri_a": "1", "nri_a_2": "1", "nri_a_3000": "1", "nri_a_3001": nil})
}
