package flbchunk

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// benchRecords is the number of records in the benchmark chunk.
const benchRecords = 1000

// auditLines are NRI audit lines as containerd logs them
// (/work/shared/nri-audit-format.md).
var auditLines = []string{
	`level=info msg="add annotation" nri.plugin=10-device-injector value.key=devices.example.com/gpu value.value=0`,
	`level=info msg="remove annotation" nri.plugin=-10-device-injector value.key=old.example.com/x`,
	`level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value="/usr/local/sbin:/usr/bin"`,
	`level=info msg="remove environment variable" nri.plugin=-05-logger value.name=HOSTNAME`,
	`level=info msg="add environment variable" nri.plugin=10-device-injector value.name=NEW_TOKEN value.value=tok-123`,
}

// benchEntries returns n entries shaped like in_systemd's records of
// containerd: 21 journal fields plus an audit MESSAGE.
func benchEntries(n int) []*audit.Entry {
	base := time.Date(2026, 2, 9, 16, 44, 32, 545908000, time.UTC)
	entries := make([]*audit.Entry, n)
	for i := range entries {
		t := base.Add(time.Duration(i) * 13 * time.Microsecond)
		e := &audit.Entry{Realtime: t}
		for _, kv := range [][2]string{
			{"_BOOT_ID", "6f1c3f0c2d9b4a4f9c1c2d6e4b0a9f11"},
			{"_MACHINE_ID", "3c1f2a7d9e8b4c6a8f0e1d2c3b4a5968"},
			{"_HOSTNAME", "worker-1"},
			{"_RUNTIME_SCOPE", "system"},
			{"PRIORITY", "6"},
			{"SYSLOG_FACILITY", "3"},
			{"_UID", "0"},
			{"_GID", "0"},
			{"_CAP_EFFECTIVE", "1ffffffffff"},
			{"_SELINUX_CONTEXT", "unconfined\n"},
			{"_SYSTEMD_SLICE", "system.slice"},
			{"_TRANSPORT", "stdout"},
			{"SYSLOG_IDENTIFIER", "containerd"},
			{"_PID", "1043"},
			{"_COMM", "containerd"},
			{"_EXE", "/usr/bin/containerd"},
			{"_CMDLINE", "/usr/bin/containerd"},
			{"_SYSTEMD_CGROUP", "/system.slice/containerd.service"},
			{"_SYSTEMD_UNIT", "containerd.service"},
			{"_SYSTEMD_INVOCATION_ID", "a1b2c3d4e5f60718293a4b5c6d7e8f90"},
			{"_STREAM_ID", "0d4c5e6f7a8b9c0d1e2f3a4b5c6d7e8f"},
		} {
			e.Add(kv[0], kv[1])
		}
		e.Add("MESSAGE", fmt.Sprintf(`time="%s" %s`, t.Format(time.RFC3339Nano), auditLines[i%len(auditLines)]))
		entries[i] = e
	}
	return entries
}

func benchChunk() []byte { return InSystemdChunk(benchEntries(benchRecords)) }

// reportPerRecord adds ns/record and allocs/record to a benchmark whose
// every iteration decodes a chunk of records. mallocs is the number of
// allocations made by all b.N iterations.
func reportPerRecord(b *testing.B, records int, mallocs uint64) {
	total := float64(b.N) * float64(records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/record")
	b.ReportMetric(float64(mallocs)/total, "allocs/record")
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkDecode decodes an in_systemd-shaped chunk of 1,000 records into
// audit.Entry values. Compare with BenchmarkFluentBitGoDecoder.
func BenchmarkDecode(b *testing.B) {
	chunk := benchChunk()
	var d Decoder
	fields := 0
	fn := func(e *audit.Entry) error { fields += len(e.Fields); return nil }
	if err := d.Decode(chunk, fn); err != nil { // warm-up
		b.Fatal(err)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	m0 := mallocs()
	for i := 0; i < b.N; i++ {
		if err := d.Decode(chunk, fn); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportPerRecord(b, benchRecords, mallocs()-m0)
	if fields == 0 {
		b.Fatal("no fields decoded")
	}
}

// BenchmarkCount counts the records of the same chunk.
func BenchmarkCount(b *testing.B) {
	chunk := benchChunk()
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	m0 := mallocs()
	for i := 0; i < b.N; i++ {
		if n, err := Count(chunk); err != nil || n != benchRecords {
			b.Fatal(n, err)
		}
	}
	b.StopTimer()
	reportPerRecord(b, benchRecords, mallocs()-m0)
}
