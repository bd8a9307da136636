package flbout

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
)

// genEntries returns n realistic containerd/CRI-O journal entries (the 45
// audit messages, plugin errors, ordinary and multi-line lines, kubelet
// noise) as in_systemd would forward them.
func genEntries(n int, seed uint64) []*audit.Entry {
	g := journalgen.New(journalgen.Options{Entries: n, Seed: seed})
	var out []*audit.Entry
	var je journalgen.Entry
	for g.Next(&je) {
		out = append(out, toAudit(&je))
	}
	return out
}

func toAudit(je *journalgen.Entry) *audit.Entry {
	e := &audit.Entry{Realtime: je.Realtime.UTC().Truncate(time.Microsecond)}
	for _, f := range je.Fields {
		if audit.IsAddressField(f.Name) {
			continue
		}
		found := false
		for i := range e.Fields {
			if e.Fields[i].Name == f.Name {
				e.Fields[i].More = append(e.Fields[i].More, f.Value)
				found = true
				break
			}
		}
		if !found {
			e.Add(f.Name, f.Value)
		}
	}
	return e
}

var benchAuditLines = []string{
	`level=info msg="add annotation" nri.plugin=10-device-injector value.key=devices.example.com/gpu value.value=0`,
	`level=info msg="remove annotation" nri.plugin=-10-device-injector value.key=old.example.com/x`,
	`level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value="/usr/local/sbin:/usr/bin"`,
	`level=info msg="add mount" nri.plugin=20-cdi-injector value.destination=/dev/shm value.source=shm value.type=tmpfs`,
	`level=info msg="set linux memory limit" nri.plugin=90-resource-policy value=536870912`,
}

// systemdEntries returns n entries shaped like in_systemd's containerd
// records: 21 journal fields plus an audit MESSAGE.
func systemdEntries(n int) []*audit.Entry {
	base := time.Date(2026, 2, 9, 16, 44, 32, 545908000, time.UTC)
	out := make([]*audit.Entry, n)
	for i := range out {
		t := base.Add(time.Duration(i) * 13 * time.Microsecond)
		e := &audit.Entry{Realtime: t}
		for _, kv := range [][2]string{
			{"_BOOT_ID", "6f1c3f0c2d9b4a4f9c1c2d6e4b0a9f11"}, {"_MACHINE_ID", "3c1f2a7d9e8b4c6a8f0e1d2c3b4a5968"},
			{"_HOSTNAME", "worker-1"}, {"_RUNTIME_SCOPE", "system"}, {"PRIORITY", "6"}, {"SYSLOG_FACILITY", "3"},
			{"_UID", "0"}, {"_GID", "0"}, {"_CAP_EFFECTIVE", "1ffffffffff"}, {"_SELINUX_CONTEXT", "unconfined\n"},
			{"_SYSTEMD_SLICE", "system.slice"}, {"_TRANSPORT", "stdout"}, {"SYSLOG_IDENTIFIER", "containerd"},
			{"_PID", "1043"}, {"_COMM", "containerd"}, {"_EXE", "/usr/bin/containerd"}, {"_CMDLINE", "/usr/bin/containerd"},
			{"_SYSTEMD_CGROUP", "/system.slice/containerd.service"}, {"_SYSTEMD_UNIT", "containerd.service"},
			{"_SYSTEMD_INVOCATION_ID", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}, {"_STREAM_ID", fmt.Sprintf("%032x", i)},
		} {
			e.Add(kv[0], kv[1])
		}
		e.Add("MESSAGE", fmt.Sprintf(`time="%s" %s`, t.Format(time.RFC3339Nano), benchAuditLines[i%len(benchAuditLines)]))
		out[i] = e
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testLogger logs to t at warn level and above, to make failures readable.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
