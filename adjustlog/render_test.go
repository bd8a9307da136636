package adjustlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/sirupsen/logrus"
)

// containerdText and containerdJSON are the formatters containerd installs
// (format doc §3.1); CRI-O's differ only in the timestamp layout.
func containerdText() logrus.Formatter {
	return &logrus.TextFormatter{TimestampFormat: TimeFormat, FullTimestamp: true}
}

func containerdJSON() logrus.Formatter {
	return &logrus.JSONFormatter{TimestampFormat: TimeFormat}
}

// logrusLine renders one entry through a real logrus logger.
func logrusLine(t testing.TB, f logrus.Formatter, at time.Time, msg string, fields logrus.Fields) string {
	t.Helper()
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(f)
	l.WithFields(fields).WithTime(at).Info(msg)
	return buf.String()
}

// goValue is the Go value the PoC hands logrus for v.
func goValue(v Value) any {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindInt:
		return v.Int
	case KindUint:
		return v.Uint
	case KindBool:
		return v.Bool
	case KindStrings:
		return v.Strs
	case KindNetDevice:
		if v.Null {
			return (*api.LinuxNetDevice)(nil)
		}
		return &api.LinuxNetDevice{Name: v.Str}
	case KindIntPtr:
		if v.Null {
			return (*int64)(nil)
		}
		i := v.Int
		return &i
	}
	return nil
}

func logrusFields(l *Line) logrus.Fields {
	m := logrus.Fields{}
	for _, f := range l.Fields {
		m[f.Key] = goValue(f.Value)
	}
	return m
}

// protoSpace undoes protobuf-go's deliberately unstable text output (it
// may put a space after "name:"), so text lines compare stably.
func protoSpace(s string) string { return strings.ReplaceAll(s, `name: \"`, `name:\"`) }

var tricky = []string{
	"", "plain", "rbind,ro", "<value omitted>", "a b", "key=value", "100%",
	"/usr/local/sbin:/usr/bin", "10-device-injector", "-05-logger", "2MB",
	"é", "日本語", "tab\there", "new\nline", "cr\rret", "quote\"d", `back\slash`,
	"\x00nul", "\x01\x1f", "\x7f", "\b\f", "bad\xffutf8", "\xc3", "\u2028\u2029",
	"&<>", "+@^._-/", "{\"json\":1}", "[L3:0=ff MB:0=50]", " lead", "trail ",
	"\U0001F600", "\ufffd", "\xed\xa0\x80",
}

func TestTextMatchesLogrus(t *testing.T) {
	at := time.Date(2026, 2, 9, 16, 44, 32, 545908121, time.UTC)
	var lines []Line
	for _, s := range tricky {
		lines = append(lines,
			Line{Time: at, Msg: "add mount", Fields: []Field{{"value.x", String(s)}}},
			Line{Time: at, Msg: s, Fields: []Field{{"nri.plugin", String("10-a")}}},
		)
	}
	lines = append(lines,
		Line{Time: at, Msg: "set linux RDT schemata", Fields: []Field{
			{"nri.plugin", String("90-resource-policy")},
			{"value", Strings([]string{"L3:0=ff", "MB:0=50"})},
		}},
		Line{Time: at, Msg: "x", Fields: []Field{{"value", Strings(nil)}, {"value.e", Strings([]string{})}, {"value.q", Strings([]string{"a\"b", ""})}}},
		Line{Time: at, Msg: "add linux net device", Fields: []Field{
			{"nri.plugin", String("10-device-injector")},
			{"value.containerif", NetDevice(&api.LinuxNetDevice{Name: "net1"})},
			{"value.empty", NetDevice(&api.LinuxNetDevice{})},
			{"value.hostif", String("eth1")},
			{"value.nil", NetDevice(nil)},
			{"value.odd", NetDevice(&api.LinuxNetDevice{Name: "n\"é\x01'"})},
		}},
		Line{Time: at, Msg: "set linux scheduler", Fields: []Field{
			{"args", String("/bin/sh -c sleep 1000")},
			{"value.b", Bool(false)},
			{"value.i", Int(-998)},
			{"value.max", Uint(18446744073709551615)},
			{"value.min", Int(-9223372036854775808)},
			{"value.t", Bool(true)},
		}},
		Line{Time: at, Msg: "add linux device rule", Fields: []Field{{"value.major", IntPtr(nil)}}},
		Line{Time: at.In(time.FixedZone("x", 3600)), Msg: "zone", Fields: nil},
	)
	for _, l := range lines {
		want := protoSpace(logrusLine(t, containerdText(), l.Time, l.Msg, logrusFields(&l)))
		got := string(l.AppendText(nil)) + "\n"
		if got != want {
			t.Errorf("text line differs from logrus\n got: %q\nwant: %q", got, want)
		}
	}
}

func TestJSONMatchesLogrus(t *testing.T) {
	at := time.Date(2026, 2, 9, 16, 44, 32, 545908121, time.UTC)
	var lines []Line
	for _, s := range tricky {
		lines = append(lines,
			Line{Time: at, Msg: "add environment variable", Fields: []Field{
				{"args", String(s)}, {"container.id", String("c1")}, {"nri.plugin", String("unknown")},
				{"pod.uid", String("u")}, {"value.value", String(s)},
			}},
			Line{Time: at, Msg: s},
		)
	}
	lines = append(lines,
		Line{Time: at, Msg: "m", Fields: []Field{
			{"a", Strings(nil)}, {"b", Strings([]string{})}, {"c", Strings([]string{"L3:0=ff", "<&>"})},
			{"d", NetDevice(nil)}, {"e", NetDevice(&api.LinuxNetDevice{})}, {"f", NetDevice(&api.LinuxNetDevice{Name: "net1"})},
			{"g", IntPtr(nil)}, {"h", IntPtr(func() *int64 { i := int64(10); return &i }())},
			{"i", Int(-1)}, {"j", Uint(18446744073709551615)}, {"k", Bool(true)},
			// keys around level, msg and time
			{"lev", String("x")}, {"level.x", String("x")}, {"mr", String("x")}, {"ms", String("x")},
			{"msg.a", String("x")}, {"t", String("x")}, {"time.x", String("x")}, {"ti", String("x")}, // unsorted on purpose
			{"timex", String("x")}, {"value", String("v")},
		}},
	)
	for _, l := range lines {
		want := logrusLine(t, containerdJSON(), l.Time, l.Msg, logrusFields(&l))
		got := string(l.AppendJSON(nil)) + "\n"
		if got != want {
			t.Errorf("JSON line differs from logrus\n got: %s\nwant: %s", got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON: %s", got)
		}
	}
}

// FuzzRenderMatchesLogrus checks both renderings against logrus for any
// message and value.
func FuzzRenderMatchesLogrus(f *testing.F) {
	for _, s := range tricky {
		f.Add(s, s)
	}
	at := time.Date(2026, 2, 9, 16, 44, 32, 1, time.UTC)
	f.Fuzz(func(t *testing.T, msg, value string) {
		l := Line{Time: at, Msg: msg, Fields: []Field{
			{"nri.plugin", String(value)},
			{"value", Strings([]string{value, msg})},
			{"value.containerif", NetDevice(&api.LinuxNetDevice{Name: value})},
			{"value.value", String(value)},
		}}
		fields := logrusFields(&l)
		if got, want := string(l.AppendJSON(nil))+"\n", logrusLine(t, containerdJSON(), at, msg, fields); got != want {
			t.Fatalf("JSON differs\n got: %s\nwant: %s", got, want)
		}
		// The protobuf text form of a net device is protobuf-go's own
		// string quoting, which only matches strconv.Quote for valid
		// UTF-8; check it separately from the rest.
		delete(fields, "value.containerif")
		l.Fields = append(l.Fields[:2], l.Fields[3])
		if got, want := string(l.AppendText(nil))+"\n", logrusLine(t, containerdText(), at, msg, fields); got != want {
			t.Fatalf("text differs\n got: %q\nwant: %q", got, want)
		}
	})
}
