package summary

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/parser"
)

const sample = `{"@timestamp":"2026-02-09T16:44:32Z","nri_msg":"add mount","nri_event":"AddMount","nri_op":"add","nri_field":"Mounts","nri_plugin":"10-device-injector","nri_runtime":"containerd"}
{"@timestamp":"2026-02-09T16:44:32Z","nri_msg":"remove mount","nri_event":"RemoveMount","nri_op":"remove","nri_field":"Mounts","nri_plugin":"-10-device-injector","nri_removal":true,"nri_runtime":"crio"}
{"@timestamp":"2026-02-09T16:44:32Z","nri_msg":"add OCI hook","nri_event":"AddOCIHook","nri_op":"add","nri_field":"OciHooks","nri_plugin":"05-logger,10-device-injector","nri_runtime":"containerd"}
{"@timestamp":"2026-02-09T16:44:32Z","nri_msg":"clear linux RDT","nri_event":"ClearLinuxRdt","nri_op":"clear","nri_field":["RdtClosID","RdtSchemata"],"nri_runtime":"containerd"}
{"@timestamp":"2026-02-09T16:44:32Z","nri_msg":"RunPodSandbox failed","nri_error":"plugin \"10-policy\": rejected","nri_error_plugin":["10-policy"],"nri_runtime":"containerd"}
{"@timestamp":"2026-02-09T16:44:32Z","nri_msg":"plugin 05-logger failed to handle CreateContainer request","nri_error_plugin":["05-logger"]}
{"@timestamp":"2026-02-09T16:44:32Z","MESSAGE":"panic: boom","nri_parse_error":"no key=value pairs"}
not json at all

[1,2,3]
`

func TestReadSample(t *testing.T) {
	s, err := Read(strings.NewReader(sample), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Documents != 7 || s.AuditEvents != 4 || s.ParseErrors != 1 || s.BadLines != 2 || s.Runtimes["containerd"] != 4 || s.Runtimes["crio"] != 1 {
		t.Fatalf("%+v", s)
	}
	var b bytes.Buffer
	if err := s.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := `7 documents, 4 audit events, 1 unparseable messages (containerd 4, crio 1)
2 input lines were not JSON documents and were skipped

Adjustments by plugin and field
PLUGIN              FIELD        ADD  REMOVE  SET  CLEAR  INJECT  TOTAL
(none)              RdtClosID    -    -       -    1      -       1
                    RdtSchemata  -    -       -    1      -       1
05-logger           OciHooks     1    -       -    -      -       1
10-device-injector  Mounts       1    1       -    -      -       2
                    OciHooks     1    -       -    -      -       1

Errors by plugin
PLUGIN     ERRORS  FIRST ERROR
05-logger  1       plugin 05-logger failed to handle CreateContainer request
10-policy  1       plugin "10-policy": rejected
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	empty, _ := Read(strings.NewReader(""), "x_")
	b.Reset()
	empty.Write(&b)
	if !strings.Contains(b.String(), "0 documents") || strings.Count(b.String(), "(none)") != 2 {
		t.Errorf("empty summary:\n%s", b.String())
	}
}

// The whole chain: generated journal entries → parser → NDJSON → summary
// equals what the generator logged.
func TestSummaryOfGeneratedJournal(t *testing.T) {
	g := journalgen.New(journalgen.Options{Entries: 4000})
	b, err := parser.New(parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var nd []byte
	var je journalgen.Entry
	var rec audit.Record
	for g.Next(&je) {
		e := audit.Entry{Realtime: je.Realtime, Cursor: "c"}
		for _, f := range je.Fields {
			e.Add(f.Name, f.Value)
		}
		if id, _ := e.Get("SYSLOG_IDENTIFIER"); id == "kubelet" {
			continue
		}
		if b.Build(&e, &rec) {
			nd = append(rec.AppendJSON(nd), '\n')
		}
	}
	s, err := Read(bytes.NewReader(nd), "")
	if err != nil {
		t.Fatal(err)
	}
	st := g.Stats()
	fieldsOf := map[string][]string{}
	for _, ev := range audit.Events() {
		fieldsOf[ev.Name] = ev.Fields
	}
	want := map[adjKey]int{}
	for k, n := range st.ByOwnerEvent {
		for _, o := range owners(nil, k[0]) {
			for _, f := range fieldsOf[k[1]] {
				want[adjKey{o, f}] += n
			}
		}
	}
	got := map[adjKey]int{}
	for _, a := range s.Adjustments {
		got[adjKey{a.Plugin, a.Field}] = a.Total
	}
	if len(got) != len(want) {
		t.Errorf("%d plugin×field cells, want %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s × %s: %d, want %d", k.plugin, k.field, got[k], n)
		}
	}
	if s.AuditEvents != st.Audit || s.Documents != st.Matching {
		t.Errorf("%d audit events of %d documents, generator: %d of %d", s.AuditEvents, s.Documents, st.Audit, st.Matching)
	}
	if len(s.Errors) < 4 {
		t.Errorf("errors: %+v", s.Errors)
	}
}

func FuzzRead(f *testing.F) {
	for _, l := range strings.Split(sample, "\n") {
		f.Add(l)
	}
	f.Add(`{"nri_event":"X","nri_field":[1,null,"a"],"nri_plugin":",,-"}`)
	f.Add(`{"nri_error_plugin":"p","nri_runtime":7}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Read(strings.NewReader(in), "")
		if err != nil {
			t.Skip() // only a line over the scanner limit fails
		}
		if s.Documents+s.BadLines > strings.Count(in, "\n")+1 {
			t.Fatalf("%d documents + %d bad lines from %d lines", s.Documents, s.BadLines, strings.Count(in, "\n")+1)
		}
		var b bytes.Buffer
		if err := s.Write(&b); err != nil {
			t.Fatal(err)
		}
	})
}
