package esbulk_test

import (
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/parser"
)

// formatLines are MESSAGE values as containerd writes them
// (nri-audit-format.md §3), plus an error line and an unparseable one.
var formatLines = []string{
	`time="2026-02-09T16:44:32.545908121Z" level=info msg="add annotation" nri.plugin=10-device-injector value.key=devices.example.com/gpu value.value=0`,
	`time="2026-02-09T16:44:32.545920114Z" level=info msg="remove annotation" nri.plugin=-10-device-injector value.key=old.example.com/x`,
	`time="2026-02-09T16:44:32.545931002Z" level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value="/usr/local/sbin:/usr/bin"`,
	`time="2026-02-09T16:44:32.545963401Z" level=info msg="set process arguments" args="/bin/sh -c sleep 1000" nri.plugin=05-logger`,
	`time="2026-02-09T16:44:32.545970020Z" level=info msg="add OCI hook" nri.plugin="10-a,11-b" value.path=/usr/local/bin/gpu-hook value.type=PreStart`,
	`time="2026-02-09T16:44:32.545990081Z" level=info msg="add linux device" nri.plugin=10-device-injector value.major=195 value.minor=0 value.path=/dev/nvidia0 value.type=c`,
	`time="2026-02-09T16:44:32.546002115Z" level=info msg="set process OOM score adjustment" nri.plugin=90-resource-policy value=-998`,
	`time="2026-02-09T16:44:32.546035100Z" level=info msg="add linux net device" nri.plugin=10-device-injector value.containerif="name:\"net1\"" value.hostif=eth1`,
	`time="2026-02-09T16:44:32.546041233Z" level=info msg="set linux cpuset CPUs" nri.plugin=90-resource-policy value=2-3`,
	`time="2026-02-09T16:44:32.546046590Z" level=info msg="set linux memory limit" nri.plugin=90-resource-policy value=536870912`,
	`time="2026-02-09T16:44:32.546067702Z" level=info msg="clear linux RDT"`,
	`time="2026-02-09T16:44:32.546072911Z" level=info msg="set linux RDT schemata" nri.plugin=90-resource-policy value="[L3:0=ff MB:0=50]"`,
	`time="2026-02-09T16:44:32.546083516Z" level=info msg="add mount" nri.plugin=10-device-injector value.destination=/data value.options="rbind,ro" value.source=/mnt/data value.type=bind`,
	`time="2026-02-09T16:44:32.545908121Z" level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web-0,Uid:0c6e2c7e,Namespace:default,Attempt:0,} failed, error" error="NRI RunPodSandbox failed: plugin \"10-foo\": rpc error: code = Unknown desc = policy check failed"`,
	"panic: runtime error: invalid memory address \xff\xfe",
}

// makeRecords builds n distinct records (one journal entry each, cursor
// i) from the format lines, encoded at once into a batch.
func makeRecords(t testing.TB, n int) []*audit.Record {
	t.Helper()
	b, err := parser.New(parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*audit.Record, 0, n)
	base := time.Date(2026, 2, 9, 16, 44, 32, 0, time.UTC)
	for i := 0; i < n; i++ {
		var e audit.Entry
		fillEntry(&e, i, base)
		r := new(audit.Record)
		if !b.Build(&e, r) {
			t.Fatalf("record %d not built", i)
		}
		// Strings in r point into e; keep e alive by not reusing it.
		out = append(out, r)
	}
	return out
}

func fillEntry(e *audit.Entry, i int, base time.Time) {
	e.Reset()
	e.Add("_HOSTNAME", "worker-1")
	e.Add("_BOOT_ID", "0123456789abcdef0123456789abcdef")
	e.Add("_MACHINE_ID", "fedcba9876543210fedcba9876543210")
	e.Add("SYSLOG_IDENTIFIER", "containerd")
	e.Add("_SYSTEMD_UNIT", "containerd.service")
	e.Add("_PID", "1043")
	e.Add("PRIORITY", "6")
	e.Add("_TRANSPORT", "stdout")
	e.Add("MESSAGE", formatLines[i%len(formatLines)])
	e.Realtime = base.Add(time.Duration(i) * time.Millisecond)
	e.Add("_SOURCE_REALTIME_TIMESTAMP", strconv.FormatInt(e.Realtime.UnixMicro(), 10))
	e.Cursor = "s=6f2d;i=" + strconv.Itoa(i) + ";b=0123456789abcdef0123456789abcdef"
}

func newClient(t testing.TB, cfg esbulk.Config) *esbulk.Client {
	t.Helper()
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = 5 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 50 * time.Millisecond
	}
	c, err := esbulk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func fillBatch(t testing.TB, c *esbulk.Client, recs []*audit.Record) *esbulk.Batch {
	t.Helper()
	b := c.NewBatch()
	for _, r := range recs {
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func idOf(r *audit.Record) string { return string(r.AppendID(nil)) }

func wantResult(t *testing.T, got esbulk.Result, want esbulk.Result) {
	t.Helper()
	g, w := got, want
	g.FirstError, w.FirstError, g.Retried, w.Retried = "", "", 0, 0
	if g != w {
		t.Errorf("result %+v, want %+v", got, fmt.Sprintf("%+v", want))
	}
}
