package demogen_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/examples/efk/demogen"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/journalctl"
	"github.com/nri-audit/nri-audit/parser"
)

// fakeClock advances by step on every call, so a short real run covers
// minutes of demo time.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// documents reads the journal files of dir with journalctl and builds the
// documents nri-audit would ship, as `nri-audit parse --input journal-json`.
func documents(t *testing.T, dir string) []map[string]any {
	t.Helper()
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		t.Skip("journalctl not installed")
	}
	out, err := exec.Command(jc, "--directory="+dir, "-o", "json", "--no-pager").Output()
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	b, err := parser.New(parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		docs []map[string]any
		e    audit.Entry
		r    audit.Record
	)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if err := journalctl.Decode(sc.Bytes(), &e); err != nil {
			t.Fatalf("decode %s: %v", sc.Bytes(), err)
		}
		if !b.Build(&e, &r) {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(r.AppendJSON(nil), &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	return docs
}

func has(d map[string]any, k string) bool {
	v, ok := d[k]
	return ok && v != ""
}

func str(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

// TestRunFillsEveryPanel runs the generator against real
// systemd-journal-remote and checks the documents made from its journal
// carry every field the demo dashboard charts, from both nodes.
func TestRunFillsEveryPanel(t *testing.T) {
	if _, err := journalgen.RemoteBinary(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	clock := &fakeClock{t: start, step: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	st, err := demogen.Run(ctx, demogen.Options{Dir: dir, Interval: 500 * time.Millisecond, Flush: 40 * time.Millisecond, Seed: 7, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if st.Writes < 4 || st.Entries[demogen.RuntimeNode] == 0 || st.Entries[demogen.ValidatorNode] == 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, f := range []string{demogen.RuntimeNode + ".journal", demogen.ValidatorNode + ".journal"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	docs := documents(t, dir)
	if len(docs) < st.Entries[demogen.ValidatorNode] {
		t.Fatalf("%d documents for %v entries", len(docs), st.Entries)
	}

	byHost := map[string][]map[string]any{}
	for _, d := range docs {
		byHost[str(d, "_HOSTNAME")] = append(byHost[str(d, "_HOSTNAME")], d)
	}
	// Entries are stamped with the demo clock: nothing before the start or
	// after the last tick (the dashboards show "the last hour").
	end := clock.now()
	for _, d := range docs {
		ts, err := time.Parse(time.RFC3339Nano, str(d, "@timestamp"))
		if err != nil || ts.Before(start.Add(-time.Second)) || ts.After(end) {
			t.Errorf("@timestamp %q (%v) outside %s..%s", str(d, "@timestamp"), err, start, end)
			break
		}
	}

	// Every charted field, and where it must come from.
	need := map[string]func(d map[string]any) bool{
		"adjustment by a named plugin": func(d map[string]any) bool {
			return has(d, "nri_event") && has(d, "nri_plugin_name") && has(d, "nri_field")
		},
		"container name":         func(d map[string]any) bool { return has(d, "nri_container_name") },
		"pod name and namespace": func(d map[string]any) bool { return has(d, "nri_pod_name") && has(d, "nri_pod_namespace") },
		"runtime":                func(d map[string]any) bool { return has(d, "nri_runtime") },
		"env injection": func(d map[string]any) bool {
			return str(d, "nri_event") == "AddProcessEnv" && has(d, "nri_plugin_name")
		},
		"mount injection":  func(d map[string]any) bool { return str(d, "nri_event") == "AddMount" },
		"device injection": func(d map[string]any) bool { return str(d, "nri_event") == "AddLinuxDevice" },
		"hook injection":   func(d map[string]any) bool { return str(d, "nri_event") == "AddOCIHook" },
		"CDI injection":    func(d map[string]any) bool { return str(d, "nri_event") == "InjectCDIDevices" },
	}
	for what, ok := range need {
		found := false
		for _, d := range byHost[demogen.ValidatorNode] {
			found = found || ok(d)
		}
		if !found {
			t.Errorf("%s: no document has %s", demogen.ValidatorNode, what)
		}
	}
	var runtimeAudit, errorsFound bool
	for _, d := range byHost[demogen.RuntimeNode] {
		runtimeAudit = runtimeAudit || (has(d, "nri_event") && has(d, "nri_plugin_name"))
		errorsFound = errorsFound || has(d, "nri_error_plugin")
	}
	if !runtimeAudit || !errorsFound {
		t.Errorf("%s: audit lines %v, plugin errors %v; want both", demogen.RuntimeNode, runtimeAudit, errorsFound)
	}

	// The validator's identity is real per pod, and env values never
	// appear in clear.
	pods := map[string]bool{}
	for _, d := range byHost[demogen.ValidatorNode] {
		if str(d, "SYSLOG_IDENTIFIER") != "nri-audit" {
			t.Fatalf("validator entry with SYSLOG_IDENTIFIER %q", str(d, "SYSLOG_IDENTIFIER"))
		}
		pods[str(d, "nri_pod_namespace")+"/"+str(d, "nri_pod_name")] = true
		if str(d, "nri_event") == "AddProcessEnv" && has(d, "nri_plugin_name") {
			if v := str(d, "nri_value_value"); v != audit.Redacted {
				t.Errorf("env %s value %q, want %q", str(d, "nri_value_name"), v, audit.Redacted)
			}
		}
	}
	if len(pods) < 5 {
		t.Errorf("only %d distinct pods", len(pods))
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := demogen.Run(context.Background(), demogen.Options{}); err == nil {
		t.Error("no directory accepted")
	}
	if _, err := journalgen.RemoteBinary(); err != nil {
		t.Skip(err)
	}
	// A directory that cannot be written: the first append fails and Run
	// says so instead of spinning.
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.MkdirAll(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// root writes anyway: use a file where the directory should be.
		dir = filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(dir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := demogen.Run(ctx, demogen.Options{Dir: dir, Interval: 10 * time.Millisecond, Flush: 10 * time.Millisecond})
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "demogen") {
		t.Errorf("err = %v, want a demogen error", err)
	}
}
