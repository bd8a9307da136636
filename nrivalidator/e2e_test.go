package nrivalidator

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/containerd/nri/pkg/api"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/nritest"
	"github.com/nri-audit/nri-audit/parser"
)

type doc map[string]any

// parseDocs runs lines through the pipeline's parser as journal entries of
// the nri-audit identifier.
func parseDocs(t *testing.T, lines []string, extra ...audit.JournalField) []doc {
	t.Helper()
	b, err := parser.New(parser.Options{Mode: parser.ModeAudit})
	if err != nil {
		t.Fatal(err)
	}
	var docs []doc
	for _, line := range lines {
		e := &audit.Entry{Fields: append([]audit.JournalField{{Name: "SYSLOG_IDENTIFIER", Value: JournalIdentifier}, {Name: "MESSAGE", Value: line}}, extra...)}
		var r audit.Record
		if !b.Build(e, &r) {
			t.Fatalf("parser dropped %q", line)
		}
		var d doc
		if err := json.Unmarshal(r.AppendJSON(nil), &d); err != nil {
			t.Fatal(err)
		}
		if pe, ok := d["nri_parse_error"]; ok {
			t.Fatalf("parse error %v on %q", pe, line)
		}
		docs = append(docs, d)
	}
	return docs
}

// want is what one document must hold; strs are array values.
type want struct {
	event  string
	plugin string   // nri_plugin; "" means absent
	names  []string // nri_plugin_name
	remove bool     // nri_removal
	values map[string]string
}

func checkDoc(t *testing.T, i int, d doc, w want) {
	t.Helper()
	str := func(k string) string { s, _ := d[k].(string); return s }
	if got := str("nri_event"); got != w.event {
		t.Errorf("doc %d: nri_event %q, want %q (%v)", i, got, w.event, d)
		return
	}
	for k, v := range map[string]string{
		"nri_container_id": "ctr-1", "nri_container_name": "app", "nri_pod_name": "web-0",
		"nri_pod_namespace": "default", "nri_pod_uid": "0c6e2c7e-1a8e-4d8e-9a53-6a1f1d0c2b11",
		"nri_runtime_name": "containerd", "nri_level": "info", "SYSLOG_IDENTIFIER": "nri-audit",
	} {
		if got := str(k); got != v {
			t.Errorf("doc %d (%s): %s = %q, want %q", i, w.event, k, got, v)
		}
	}
	if got := str("nri_plugin"); got != w.plugin {
		t.Errorf("doc %d (%s): nri_plugin %q, want %q", i, w.event, got, w.plugin)
	}
	var names []string
	if a, ok := d["nri_plugin_name"].([]any); ok {
		for _, n := range a {
			names = append(names, n.(string))
		}
	}
	if strings.Join(names, ",") != strings.Join(w.names, ",") {
		t.Errorf("doc %d (%s): nri_plugin_name %v, want %v", i, w.event, names, w.names)
	}
	if got, _ := d["nri_removal"].(bool); got != w.remove {
		t.Errorf("doc %d (%s): nri_removal %v, want %v", i, w.event, got, w.remove)
	}
	for k, v := range w.values {
		if got := str(k); got != v {
			t.Errorf("doc %d (%s): %s = %q, want %q", i, w.event, k, got, v)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	inj := []string{"device-injector"}
	pol := []string{"resource-policy"}
	// What NRI v0.12.5 hands a validator for these two plugins, as the
	// runtime's generator would log it.
	expected := []want{
		{event: "AddAnnotation", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value_key": "devices.example.com/gpu", "nri_value_value": "0"}},
		{event: "AddProcessEnv", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value_name": "DB_PASSWORD", "nri_value_value": "<value omitted>"}},
		{event: "AddProcessEnv", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value_name": "NEW_TOKEN", "nri_value_value": "<redacted>"}},
		{event: "AddOCIHook", plugin: "10-device-injector,90-resource-policy", names: []string{"device-injector", "resource-policy"}, values: map[string]string{"nri_value_path": "/usr/local/bin/gpu-hook", "nri_value_type": "PreStart"}},
		{event: "AddOCIHook", plugin: "10-device-injector,90-resource-policy", names: []string{"device-injector", "resource-policy"}, values: map[string]string{"nri_value_path": "/usr/local/bin/policy-hook"}},
		{event: "InjectCDIDevices", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value": "vendor.com/gpu=0"}},
		{event: "RemoveLinuxDevice", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value_path": "/dev/nvidia0"}},
		{event: "AddLinuxDevice", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value_major": "195", "nri_value_minor": "0", "nri_value_type": "c"}},
		{event: "AddLinuxDeviceRule", plugin: "10-device-injector", names: inj, values: map[string]string{"nri_value_access": "rw", "nri_value_allow": "true"}},
		{event: "SetLinuxSysctl", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value_key": "net.core.somaxconn", "nri_value_value": "4096"}},
		{event: "SetLinuxCPUShares", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value": "512"}},
		{event: "SetLinuxCPUSetCPUs", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value": "2-3"}},
		{event: "SetLinuxMemLimit", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value": "536870912"}},
		{event: "SetLinuxMemSwapLimit", plugin: "unknown", values: map[string]string{"nri_value": "536870912"}},
		{event: "SetLinuxHugepageLimit", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value_pagesize": "2MB", "nri_value_limit": "4194304"}},
		{event: "SetLinuxPidsLimit", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value": "1024"}},
		// NRI records no owner for the removal of a spec mount.
		{event: "RemoveMount", plugin: "unknown", values: map[string]string{"nri_value_destination": "/old"}},
		// The policy removed the injector's mount: the owner carries the
		// removal marker.
		{event: "RemoveMount", plugin: "-90-resource-policy", names: pol, remove: true, values: map[string]string{"nri_value_destination": "/data"}},
		{event: "AddProcessRlimits", plugin: "90-resource-policy", names: pol, values: map[string]string{"nri_value_type": "RLIMIT_NOFILE", "nri_value_soft": "1024", "nri_value_hard": "65536"}},
	}
	for _, format := range []Format{FormatText, FormatJSON} {
		t.Run(string(format), func(t *testing.T) {
			rt := nritest.StartRuntime(t, "containerd", "v2.2.0")
			var out syncBuffer
			v := newValidator(t, Options{Sink: NewStreamSink(&out, format)})
			rt.ConnectMutator("device-injector", "10", nritest.Injector)
			rt.ConnectMutator("resource-policy", "90", nritest.Policy)
			connectValidator(rt, v)

			rpl, err := rt.Create("ctr-1")
			if err != nil {
				t.Fatalf("CreateContainer: %v", err)
			}
			if rpl.GetAdjust() == nil {
				t.Fatal("no adjustment came back")
			}
			lines := out.Lines()
			if testing.Verbose() {
				t.Logf("lines:\n%s", strings.Join(lines, "\n"))
			}
			for _, l := range lines {
				if format == FormatJSON && !json.Valid([]byte(l)) {
					t.Errorf("not JSON: %s", l)
				}
			}
			docs := parseDocs(t, lines)
			if len(docs) != len(expected) {
				t.Errorf("got %d lines, want %d:\n%s", len(docs), len(expected), strings.Join(lines, "\n"))
			}
			for i := 0; i < min(len(docs), len(expected)); i++ {
				checkDoc(t, i, docs[i], expected[i])
			}
			if st := v.Stats(); st.Requests != 1 || st.Written != uint64(len(lines)) || st.Failed+st.Dropped+st.TimedOut != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// NRI v0.12 keeps the removal of a spec env variable or device out of the
// adjustment it hands the runtime and the validators (it only drops the
// item from the plugins' view), so there is no line for it; mount and
// annotation removals do come through. The docs say so; this pins it.
func TestRemovalsNRIPasses(t *testing.T) {
	rt := nritest.StartRuntime(t, "containerd", "v2.2.0")
	var out syncBuffer
	v := newValidator(t, Options{Sink: NewStreamSink(&out, FormatText)})
	rt.ConnectMutator("remover", "10", func(*api.Container) *api.ContainerAdjustment {
		a := &api.ContainerAdjustment{}
		a.RemoveEnv("HOSTNAME")
		a.RemoveDevice("/dev/fuse")
		a.RemoveMount("/old")
		a.RemoveAnnotation("spec.example.com/x")
		return a
	})
	connectValidator(rt, v)
	if _, err := rt.Create("ctr-1"); err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, d := range parseDocs(t, out.Lines()) {
		events = append(events, d["nri_event"].(string))
	}
	if got := strings.Join(events, " "); got != "RemoveAnnotation RemoveMount" {
		t.Errorf("events %q", got)
	}
}
