package journalgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/parser"
)

var t0 = time.Date(2026, 2, 9, 16, 44, 32, 0, time.UTC)

func TestAppendExport(t *testing.T) {
	e := Entry{Realtime: t0.Add(1500 * time.Nanosecond), Monotonic: 2 * time.Second, Fields: []Field{
		{"MESSAGE", "one line"},
		{"MULTI", "a\nb"},
		{"EMPTY", ""},
	}}
	got, err := AppendExport(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	want.WriteString("__REALTIME_TIMESTAMP=1770655472000001\n__MONOTONIC_TIMESTAMP=2000000\nMESSAGE=one line\nMULTI\n")
	binary.Write(&want, binary.LittleEndian, uint64(3))
	want.WriteString("a\nb\nEMPTY=\n\n")
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("export:\n%q\nwant\n%q", got, want.Bytes())
	}
	for _, bad := range []Entry{
		{Fields: []Field{{"MESSAGE", "x"}}},
		{Realtime: t0, Fields: []Field{{"lower", "x"}}},
		{Realtime: t0, Fields: []Field{{"__CURSOR", "x"}}},
		{Realtime: t0, Fields: []Field{{"1ABC", "x"}}},
		{Realtime: t0, Fields: []Field{{"", "x"}}},
	} {
		if _, err := AppendExport(nil, &bad); err == nil {
			t.Errorf("AppendExport(%+v) accepted", bad)
		}
	}
}

func collectAll(g *Generator) []Entry {
	var out []Entry
	var e Entry
	for g.Next(&e) {
		out = append(out, e)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a := collectAll(New(Options{Entries: 500, Seed: 7}))
	b := collectAll(New(Options{Entries: 500, Seed: 7}))
	c := collectAll(New(Options{Entries: 500, Seed: 8}))
	if len(a) != 500 || !reflect.DeepEqual(a, b) {
		t.Fatal("same options, different entries")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same entries")
	}
}

// Every generated line is what the parser expects from the runtimes: audit
// lines classify as the event the generator meant, with its owner.
func TestContentParses(t *testing.T) {
	g := New(Options{Entries: 5000})
	b, err := parser.New(parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	styles := map[string]int{}
	var rec audit.Record
	var e Entry
	events, errorPlugins := map[string]int{}, map[string]int{}
	for g.Next(&e) {
		for _, f := range e.Fields {
			if strings.HasPrefix(f.Name, "\x00") {
				t.Fatalf("bookkeeping field %q leaked", f.Name)
			}
		}
		ae := audit.Entry{Realtime: e.Realtime, Cursor: "c"}
		for _, f := range e.Fields {
			ae.Add(f.Name, f.Value)
		}
		msg, _ := e.Get("MESSAGE")
		id, _ := e.Get("SYSLOG_IDENTIFIER")
		if id == "kubelet" {
			continue
		}
		switch {
		case strings.HasPrefix(msg, "{"):
			styles[id+" json"]++
		case strings.HasPrefix(msg, `time="2026-02-09 `):
			styles[id+" text (space)"]++
		case strings.HasPrefix(msg, `time="`):
			styles[id+" text"]++
		}
		if !b.Build(&ae, &rec) {
			t.Fatalf("not shipped: %q", msg)
		}
		if ev, ok := rec.GetString("nri_event"); ok {
			events[ev]++
		}
		if f, ok := rec.Get("nri_error_plugin"); ok {
			for _, p := range f.Strs {
				errorPlugins[p]++
			}
		}
		if pe, ok := rec.GetString("nri_parse_error"); ok && !strings.HasPrefix(msg, "panic:") {
			t.Errorf("parse error %s: %q", pe, msg)
		}
	}
	st := g.Stats()
	if !reflect.DeepEqual(events, st.Events) {
		t.Errorf("parser saw events %v\ngenerator made %v", events, st.Events)
	}
	if len(st.Events) != len(audit.Events()) {
		t.Errorf("%d of %d audit messages generated", len(st.Events), len(audit.Events()))
	}
	for _, s := range []string{"containerd text", "containerd json", "crio text", "crio text (space)", "crio json"} {
		if styles[s] == 0 {
			t.Errorf("no %s lines (%v)", s, styles)
		}
	}
	for _, p := range []string{PluginPolicy, PluginDevices, PluginResource, PluginLogger} {
		if errorPlugins[p] == 0 {
			t.Errorf("no error naming %s (%v)", p, errorPlugins)
		}
	}
	if st.Excluded == 0 || st.Multiline == 0 || st.PluginErrors == 0 || st.Entries != 5000 || st.Matching+st.Excluded != 5000 {
		t.Errorf("stats %+v", st)
	}
	owners := map[string]bool{}
	for k := range st.ByOwnerEvent {
		owners[k[0]] = true
	}
	for _, o := range []string{PluginDevices, "-" + PluginLogger, HookOwners, audit.UnknownOwner, ""} {
		if !owners[o] {
			t.Errorf("no audit line owned by %q", o)
		}
	}
}

func TestMakeJournal(t *testing.T) {
	if _, err := RemoteBinary(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("no journalctl")
	}
	dir := t.TempDir()
	paths, err := MakeFiles(context.Background(), dir, "system", New(Options{Entries: 700}), 2, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || filepath.Base(paths[1]) != "system.journal" || !strings.HasPrefix(filepath.Base(paths[0]), "system@") {
		t.Fatalf("paths %v", paths)
	}
	count := func(args ...string) int {
		out, err := exec.Command("journalctl", append(args, "-o", "export", "--no-pager")...).Output()
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(append([]byte("\n"), out...), []byte("\n__CURSOR="))
	}
	if n := count("--file=" + paths[0]); n != 300 {
		t.Errorf("archived file holds %d entries", n)
	}
	if n := count("--directory=" + dir); n != 700 {
		t.Errorf("directory holds %d entries", n)
	}
	// The multi-line MESSAGE survives (binary export form).
	out, err := exec.Command("journalctl", "--directory="+dir, "-o", "cat", "--no-pager", "MESSAGE_ID=none", "+", "SYSLOG_IDENTIFIER=containerd").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV")) {
		t.Error("multi-line MESSAGE not found whole")
	}
	// Make replaces, Append adds.
	p := filepath.Join(dir, "x.journal")
	one := Entries(Entry{Realtime: t0, Fields: []Field{{"MESSAGE", "a"}}})
	if _, err := Make(context.Background(), p, one); err != nil {
		t.Fatal(err)
	}
	if _, err := Make(context.Background(), p, Entries(Entry{Realtime: t0, Fields: []Field{{"MESSAGE", "b"}}})); err != nil {
		t.Fatal(err)
	}
	if _, err := Append(context.Background(), p, Entries(Entry{Realtime: t0.Add(time.Second), Fields: []Field{{"MESSAGE", "c"}}})); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command("journalctl", "--file="+p, "-o", "cat", "--no-pager").Output()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if strings.Join(lines, ",") != "b,c" {
		t.Errorf("after Make, Make, Append: %q", lines)
	}
	if _, err := Make(context.Background(), filepath.Join(dir, "bad.name"), one); err == nil {
		t.Error("accepted an output name without .journal")
	}
}
