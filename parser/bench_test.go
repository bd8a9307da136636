package parser

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/go-logfmt/logfmt"
	jsoniter "github.com/json-iterator/go"

	"github.com/nri-audit/nri-audit/audit"
)

// A typical containerd text audit line (~170 bytes).
const benchText = `time="2026-02-09T16:44:32.545990081Z" level=info msg="add linux device" nri.plugin=10-device-injector value.major=195 value.minor=0 value.path=/dev/nvidia0 value.type=c`

const benchJSON = `{"level":"info","msg":"add mount","nri.plugin":"10-device-injector","time":"2026-02-09T16:44:32.546083516Z","value.destination":"/data","value.options":"rbind,ro","value.source":"/mnt/data","value.type":"bind"}`

func benchBuild(b *testing.B, line string) {
	bld, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := &audit.Entry{Realtime: time.Unix(1770655472, 0)}
	e.Add("SYSLOG_IDENTIFIER", "containerd")
	e.Add("MESSAGE", line)
	var r audit.Record
	bld.Build(e, &r) // warm the key cache and buffers
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !bld.Build(e, &r) {
			b.Fatal("dropped")
		}
	}
}

// BenchmarkBuildText: parse + classify + build for a text audit line.
// Target ≤ 1 µs and ≤ 4 allocs.
func BenchmarkBuildText(b *testing.B) { benchBuild(b, benchText) }

// BenchmarkBuildJSON: the same for a JSON line. Target ≤ 2 µs.
func BenchmarkBuildJSON(b *testing.B) { benchBuild(b, benchJSON) }

// BenchmarkDecodeLogfmt is the scan alone, our decoder.
func BenchmarkDecodeLogfmt(b *testing.B) {
	var pairs []pair
	var buf []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	for i := 0; i < b.N; i++ {
		pairs, buf, _ = decodeLogfmt(benchText, pairs[:0], buf)
	}
}

// BenchmarkDecodeGoLogfmt is the same scan with github.com/go-logfmt/logfmt
// (the DESIGN.md default), keys and values as strings, for comparison.
func BenchmarkDecodeGoLogfmt(b *testing.B) {
	line := []byte(benchText)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var keys, vals []string
	for i := 0; i < b.N; i++ {
		keys, vals = keys[:0], vals[:0]
		d := logfmt.NewDecoder(bytes.NewReader(line))
		for d.ScanRecord() {
			for d.ScanKeyval() {
				keys = append(keys, string(d.Key()))
				vals = append(vals, string(d.Value()))
			}
		}
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
	}
}

// BenchmarkDecodeJSONLine is our ordered JSON decoder.
func BenchmarkDecodeJSONLine(b *testing.B) {
	var pairs []pair
	var buf []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(benchJSON)))
	for i := 0; i < b.N; i++ {
		var err error
		pairs, buf, err = decodeJSON(benchJSON, pairs[:0], buf)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSONIterator is json-iterator's streaming Iterator over the
// same line, reading keys in order (the alternative DESIGN.md names).
func BenchmarkDecodeJSONIterator(b *testing.B) {
	line := []byte(benchJSON)
	it := jsoniter.NewIterator(jsoniter.ConfigDefault)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var keys, vals []string
	for i := 0; i < b.N; i++ {
		keys, vals = keys[:0], vals[:0]
		it.ResetBytes(line)
		for k := it.ReadObject(); k != ""; k = it.ReadObject() {
			keys = append(keys, k)
			vals = append(vals, it.ReadString())
		}
		if it.Error != nil {
			b.Fatal(it.Error)
		}
	}
}

// BenchmarkBuildJournalEntry: a full in_systemd-like entry (20 journal
// fields plus MESSAGE), the plugin's and the shipper's real input.
func BenchmarkBuildJournalEntry(b *testing.B) {
	bld, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := &audit.Entry{Realtime: time.Unix(1770655472, 546012000)}
	for _, kv := range [][2]string{
		{"_BOOT_ID", "41681935b56e4d14a0aa7c37b76e8663"}, {"_MACHINE_ID", "43de74c4fa4f4f42a4c7135659b796ab"},
		{"_HOSTNAME", "worker-1"}, {"PRIORITY", "6"}, {"SYSLOG_FACILITY", "3"}, {"SYSLOG_IDENTIFIER", "containerd"},
		{"_TRANSPORT", "stdout"}, {"_STREAM_ID", "beaceb8c1e84466481302a8a9c301e9a"}, {"_PID", "1043"}, {"_UID", "0"},
		{"_GID", "0"}, {"_COMM", "containerd"}, {"_EXE", "/usr/local/bin/containerd"}, {"_CMDLINE", "/usr/local/bin/containerd"},
		{"_CAP_EFFECTIVE", "1ffffffffff"}, {"_SYSTEMD_CGROUP", "/system.slice/containerd.service"},
		{"_SYSTEMD_UNIT", "containerd.service"}, {"_SYSTEMD_SLICE", "system.slice"},
		{"_SYSTEMD_INVOCATION_ID", "cbe1febb769f47d4bdfa66c975a08037"}, {"MESSAGE", benchText},
	} {
		e.Add(kv[0], kv[1])
	}
	var r audit.Record
	bld.Build(e, &r)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bld.Build(e, &r)
	}
}

// BenchmarkBuildRepeatedKeys: a hostile line repeating one key 2,000 times
// must stay linear (the _N suffix search is memoized).
func BenchmarkBuildRepeatedKeys(b *testing.B) {
	line := "level=info msg=m" + strings.Repeat(" a=1", 2000)
	benchBuild(b, line)
}
