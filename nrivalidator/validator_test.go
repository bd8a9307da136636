package nrivalidator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/coreos/go-systemd/v22/journal"

	"github.com/nri-audit/nri-audit/adjustlog"
	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/nritest"
)

var quiet = slog.New(slog.DiscardHandler)

func newValidator(t testing.TB, o Options) *Validator {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet
	}
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// journalEntry is what a SendFunc received.
type journalEntry struct {
	message  string
	priority journal.Priority
	vars     map[string]string
}

type fakeJournal struct {
	mu      sync.Mutex
	entries []journalEntry
}

func (j *fakeJournal) send(message string, p journal.Priority, vars map[string]string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	cp := make(map[string]string, len(vars))
	for k, v := range vars {
		cp[k] = v
	}
	j.entries = append(j.entries, journalEntry{message, p, cp})
	return nil
}

func TestJournalSinkFields(t *testing.T) {
	rt := nritest.StartRuntime(t, "cri-o", "1.34.0")
	j := &fakeJournal{}
	v := newValidator(t, Options{Sink: NewJournalSink(FormatText, j.send)})
	rt.ConnectMutator("device-injector", "10", nritest.Injector)
	connectValidator(rt, v)
	if _, err := rt.Create("ctr-1"); err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) == 0 {
		t.Fatal("nothing sent to the journal")
	}
	for _, e := range j.entries {
		if e.priority != journal.PriInfo {
			t.Errorf("priority %d", e.priority)
		}
		want := map[string]string{
			"SYSLOG_IDENTIFIER": "nri-audit", "NRI_CONTAINER_ID": "ctr-1", "NRI_CONTAINER_NAME": "app",
			"NRI_POD_NAME": "web-0", "NRI_POD_NAMESPACE": "default", "NRI_POD_UID": nritest.Pod.Uid, "NRI_RUNTIME": "crio",
		}
		for k, w := range want {
			if e.vars[k] != w {
				t.Errorf("%s = %q, want %q", k, e.vars[k], w)
			}
		}
		if len(e.vars) != len(want) {
			t.Errorf("unexpected fields: %v", e.vars)
		}
		if strings.HasSuffix(e.message, "\n") || !strings.Contains(e.message, "runtime.name=crio") {
			t.Errorf("MESSAGE %q", e.message)
		}
	}
	// The journal fields travel with the document, next to the parsed keys.
	var extra []audit.JournalField
	for k, v := range j.entries[0].vars {
		if k != "SYSLOG_IDENTIFIER" {
			extra = append(extra, audit.JournalField{Name: k, Value: v})
		}
	}
	d := parseDocs(t, []string{j.entries[0].message}, extra...)[0]
	if d["NRI_POD_NAMESPACE"] != "default" || d["nri_pod_namespace"] != "default" || d["nri_runtime_name"] != "crio" {
		t.Errorf("document %v", d)
	}
}

// failingSink fails every write.
type failingSink struct{}

func (failingSink) Write([]adjustlog.Line, adjustlog.Identity) error {
	return errors.New("disk on fire")
}

func TestFailOpenAndFailClosed(t *testing.T) {
	for _, closed := range []bool{false, true} {
		rt := nritest.StartRuntime(t, "containerd", "v2.2.0")
		v := newValidator(t, Options{Sink: failingSink{}, FailClosed: closed})
		rt.ConnectMutator("device-injector", "10", nritest.Injector)
		connectValidator(rt, v)
		_, err := rt.Create("ctr-1")
		st := v.Stats()
		if st.Failed != 1 || st.Written != 0 {
			t.Errorf("fail-closed=%v: stats %+v", closed, st)
		}
		if !closed {
			if err != nil {
				t.Errorf("fail-open: CreateContainer failed: %v", err)
			}
			continue
		}
		if err == nil {
			t.Fatal("fail-closed: CreateContainer succeeded")
		}
		// The runtime names us, so the pipeline attributes the error.
		if !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("error %q", err)
		}
		if got := audit.ErrorPlugins(nil, err.Error()); len(got) != 1 || got[0] != "99-nri-audit-validator" {
			t.Errorf("error %q blames %v", err, got)
		}
	}
}

// blockingSink blocks until released.
type blockingSink struct{ release chan struct{} }

func (s blockingSink) Write([]adjustlog.Line, adjustlog.Identity) error {
	<-s.release
	return nil
}

// A sink slower than NRI's 2 s request timeout must not fail the container
// (the runtime fails creation when a validator times out).
func TestStuckSinkDoesNotBlockCreation(t *testing.T) {
	rt := nritest.StartRuntime(t, "containerd", "v2.2.0")
	sink := blockingSink{release: make(chan struct{})}
	v := newValidator(t, Options{Sink: sink, WriteTimeout: 50 * time.Millisecond, QueueSize: 1})
	defer close(sink.release) // before Close (cleanup) waits for the writer
	rt.ConnectMutator("device-injector", "10", nritest.Injector)
	connectValidator(rt, v)
	for i := 0; i < 3; i++ {
		if _, err := rt.Create("ctr-1"); err != nil {
			t.Fatalf("CreateContainer %d: %v", i, err)
		}
	}
	// 1st: written by nobody yet (timed out), 2nd: queued (timed out),
	// 3rd: queue full (dropped).
	if st := v.Stats(); st.TimedOut != 2 || st.Dropped != 1 || st.Requests != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestValidatorDirect(t *testing.T) {
	var out syncBuffer
	v := newValidator(t, Options{Sink: NewStreamSink(&out, FormatText), Clock: func() time.Time { return time.Unix(0, 0) }})
	ctx := context.Background()
	if _, err := v.Configure(ctx, "", "containerd", "v2.2.0"); err != nil {
		t.Fatal(err)
	}
	// No adjustment: nothing written, approved.
	if err := v.ValidateContainerAdjustment(ctx, &api.ValidateContainerAdjustmentRequest{Container: &api.Container{Id: "c"}}); err != nil {
		t.Fatal(err)
	}
	req := &api.ValidateContainerAdjustmentRequest{
		Container: &api.Container{Id: "c", Name: "n"},
		Adjust:    &api.ContainerAdjustment{Args: []string{"sh", "-c", "echo hi"}},
	}
	if err := v.ValidateContainerAdjustment(ctx, req); err != nil {
		t.Fatal(err)
	}
	want := `time="1970-01-01T00:00:00.000000000Z" level=info msg="set process arguments" args="sh -c echo hi" container.id=c container.name=n nri.plugin=unknown runtime.name=containerd`
	if got := out.Lines(); len(got) != 1 || got[0] != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	v.Close()
	// After Close: approved, not written.
	if err := v.ValidateContainerAdjustment(ctx, req); err != nil {
		t.Fatal(err)
	}
	if st := v.Stats(); st.Requests != 3 || st.Written != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestPredatesValidation(t *testing.T) {
	for _, tt := range []struct {
		runtime, version string
		old              bool
	}{
		{"containerd", "v2.1.4", true},
		{"containerd", "v2.2.0", false},
		{"containerd", "v1.7.20", true},
		{"cri-o", "v1.33.0", true},
		{"some-runtime", "v9", false},
		{"containerd", "not-a-version", false},
	} {
		if _, old := predatesValidation(tt.runtime, tt.version); old != tt.old {
			t.Errorf("%s %s: predates %v, want %v", tt.runtime, tt.version, old, tt.old)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Sink: failingSink{}, WriteTimeout: -1}, {Sink: failingSink{}, QueueSize: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	for in, want := range map[string]Format{"": FormatText, "text": FormatText, "JSON": FormatJSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("logfmt"); err == nil {
		t.Error("ParseFormat(logfmt) succeeded")
	}
}

// reconnecting tells each time the runtime (re)registers it.
type reconnecting struct {
	*Validator
	synced chan struct{}
}

func (r *reconnecting) Synchronize(ctx context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	u, err := r.Validator.Synchronize(ctx, pods, ctrs)
	r.synced <- struct{}{}
	return u, err
}

// proxy forwards unix connections to the socket in target; dropAll cuts
// them, as a runtime restart does.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  []net.Conn
}

func startProxy(t *testing.T, path string) *proxy {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.dropAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			up, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) setTarget(s string) {
	p.mu.Lock()
	p.target = s
	p.mu.Unlock()
}

func (p *proxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Serve waits for a runtime that is not there yet and reconnects after the
// runtime restarts.
func TestServeReconnects(t *testing.T) {
	dir, err := os.MkdirTemp("", "nri-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	px := startProxy(t, filepath.Join(dir, "proxy.sock"))
	px.setTarget(filepath.Join(dir, "nobody.sock"))

	var out syncBuffer
	v := newValidator(t, Options{Sink: NewStreamSink(&out, FormatText)})
	p := &reconnecting{Validator: v, synced: make(chan struct{}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, p, ServeOptions{SocketPath: filepath.Join(dir, "proxy.sock"), Logger: quiet,
			RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	}()
	time.Sleep(100 * time.Millisecond) // a few failed attempts first
	for round := 0; round < 2; round++ {
		rt := nritest.StartRuntime(t, "containerd", "v2.2.0")
		rt.ConnectMutator("device-injector", "10", nritest.Injector)
		px.setTarget(rt.Socket)
		select {
		case <-p.synced:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: validator did not connect", round)
		}
		rt.Registered()
		if _, err := rt.Create("ctr-1"); err != nil {
			t.Fatal(err)
		}
		// the runtime goes away
		px.setTarget(filepath.Join(dir, "nobody.sock"))
		px.dropAll()
		rt.NRI.Stop()
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if st := v.Stats(); st.Requests != 2 || st.Written == 0 || st.Written != st.Lines {
		t.Errorf("stats %+v", st)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("EPIPE") }

func TestSinkErrors(t *testing.T) {
	lines := []adjustlog.Line{{Time: time.Unix(0, 0), Msg: "m"}}
	if err := NewStreamSink(brokenWriter{}, FormatJSON).Write(lines, adjustlog.Identity{}); err == nil || !strings.Contains(err.Error(), "EPIPE") {
		t.Errorf("stream: %v", err)
	}
	calls := 0
	send := func(string, journal.Priority, map[string]string) error { calls++; return errors.New("ENOENT") }
	if err := NewJournalSink(FormatText, send).Write(append(lines, lines...), adjustlog.Identity{}); err == nil || !strings.Contains(err.Error(), "ENOENT") || calls != 1 {
		t.Errorf("journal: %v after %d sends", err, calls)
	}
	var buf syncBuffer
	if err := NewStreamSink(&buf, FormatJSON).Write(append(lines, lines...), adjustlog.Identity{}); err != nil {
		t.Fatal(err)
	}
	want := `{"level":"info","msg":"m","time":"` + time.Unix(0, 0).Format(adjustlog.TimeFormat) + `"}`
	if got := buf.Lines(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("stream lines %q, want 2× %s", got, want)
	}
}
