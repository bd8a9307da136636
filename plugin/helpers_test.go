package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/flbchunk"
	"github.com/nri-audit/nri-audit/flbout"
	"github.com/nri-audit/nri-audit/internal/flbhost"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/parser"
)

// Built once per test binary by TestMain.
var (
	soPath  string // out_nri_audit.so
	hostNew string // host with Fluent Bit 5.1.1 layouts
	hostOld string // host with the 32-byte definition of Fluent Bit <= 4.2.2
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "nri-audit-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if soPath, err = flbhost.BuildPlugin(ctx, dir, "./plugin"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if hostNew, err = flbhost.BuildHost(ctx, dir, flbhost.ABINew); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if hostOld, err = flbhost.BuildHost(ctx, dir, flbhost.ABIOld); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// run executes a scenario on the 5.1.1-layout host and fails the test if
// the host itself failed (crash, ABI violation) unless wantExit says so.
func run(t *testing.T, s *flbhost.Scenario, wantExit int, onLine func(flbhost.Line)) *flbhost.Result {
	t.Helper()
	return runOn(t, hostNew, s, wantExit, onLine)
}

func runOn(t *testing.T, host string, s *flbhost.Scenario, wantExit int, onLine func(flbhost.Line)) *flbhost.Result {
	t.Helper()
	if s.Plugin == "" {
		s.Plugin = soPath
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	res, err := flbhost.Run(ctx, host, t.TempDir(), s, nil, onLine)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != wantExit {
		t.Fatalf("host exit %d, want %d\n%s", res.ExitCode, wantExit, res)
	}
	if strings.Contains(res.Stderr, "panic recovered") || strings.Contains(res.Stderr, "panic in flush") {
		t.Fatalf("the plugin panicked\n%s", res)
	}
	return res
}

// writeChunk stores a chunk file and returns its path.
func writeChunk(t *testing.T, chunk []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "chunk-*.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(chunk); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// genEntries returns n realistic containerd/CRI-O journal entries, as
// in_systemd forwards them (address fields absent, repeated fields as
// arrays, µs receive time).
func genEntries(n int, seed uint64) []*audit.Entry {
	g := journalgen.New(journalgen.Options{Entries: n, Seed: seed, Start: time.Date(2026, 2, 9, 16, 44, 32, 0, time.UTC).Add(time.Duration(seed) * time.Hour)})
	var out []*audit.Entry
	var je journalgen.Entry
	for g.Next(&je) {
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
				}
			}
			if !found {
				e.Add(f.Name, f.Value)
			}
		}
		out = append(out, e)
	}
	return out
}

// edgeEntries are the in_systemd shapes a real journal produces besides
// plain lines: a repeated field (array of str), non-UTF-8 bytes, a
// multi-line MESSAGE, a 64 KiB value, an unparseable MESSAGE.
func edgeEntries() []*audit.Entry {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	base := func(i int, msg string) *audit.Entry {
		e := &audit.Entry{Realtime: t0.Add(time.Duration(i) * time.Millisecond)}
		e.Add("_HOSTNAME", "worker-9")
		e.Add("_MACHINE_ID", "43de74c4fa4f4f42a4c7135659b796ab")
		e.Add("_BOOT_ID", "41681935b56e4d14a0aa7c37b76e8663")
		e.Add("SYSLOG_IDENTIFIER", "containerd")
		e.Add("_SYSTEMD_UNIT", "containerd.service")
		e.Add("PRIORITY", "6")
		e.Add("MESSAGE", msg)
		return e
	}
	rep := base(0, `time="2026-03-01T10:00:00.5Z" level=info msg="add mount" nri.plugin=20-cdi-injector value.destination=/dev/shm`)
	rep.Fields = append(rep.Fields, audit.JournalField{Name: "CONTAINER_TAG", Value: "a", More: []string{"b", "c"}})
	bad := base(1, "level=warning msg=\"bytes \xff\xfe here\" nri.plugin=10-x")
	bad.Add("BINARY_FIELD", "\x00\x01\xff")
	multi := base(2, "panic: runtime error\ngoroutine 1 [running]:\nmain.main()")
	huge := base(3, `level=info msg="add annotation" nri.plugin=10-device-injector value.key=k value.value=`+strings.Repeat("v", 64<<10))
	free := base(4, "Started containerd container runtime.")
	return []*audit.Entry{rep, bad, multi, huge, free}
}

// expected builds what the parser makes of entries with opts, by id.
func expected(t *testing.T, opts parser.Options, entries []*audit.Entry) map[string]map[string]any {
	t.Helper()
	b, err := parser.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	var r audit.Record
	for _, e := range entries {
		if !b.Build(e, &r) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
			t.Fatal(err)
		}
		out[string(r.AppendID(nil))] = m
	}
	return out
}

// parserOptions is what the plugin builds from the given keys.
func parserOptions(t *testing.T, keys flbout.MapGetter) parser.Options {
	t.Helper()
	c, err := flbout.ParseConfig(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c.Parser
}

func chunkOf(entries []*audit.Entry) []byte { return flbchunk.InSystemdChunk(entries) }

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameDoc compares a stored document with the expected one field by field.
func sameDoc(got, want map[string]any) error {
	if len(got) != len(want) {
		var missing, extra []string
		for k := range want {
			if _, ok := got[k]; !ok {
				missing = append(missing, k)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				extra = append(extra, k)
			}
		}
		return fmt.Errorf("%d fields, want %d (missing %v, extra %v)", len(got), len(want), missing, extra)
	}
	for k, w := range want {
		if asJSON(got[k]) != asJSON(w) {
			return fmt.Errorf("field %s = %s, want %s", k, asJSON(got[k]), asJSON(w))
		}
	}
	return nil
}

func results(r *flbhost.Result) map[string]int {
	out := map[string]int{}
	for _, l := range r.Of("flush") {
		out[l.Get("result")]++
	}
	return out
}

func tempPath(t *testing.T, name string) string { return filepath.Join(t.TempDir(), name) }

// groupChunk wraps entries in an OpenTelemetry-style log group.
func groupChunk(entries []*audit.Entry) []byte {
	w := flbchunk.InSystemdWriter()
	out := w.AppendGroupStart(nil, flbchunk.StrKVs("schema", "otlp", "resource_id", "0"), flbchunk.StrKVs("service.name", "containerd"))
	out = append(out, chunkOf(entries)...)
	return w.AppendGroupEnd(out)
}

func readFileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
