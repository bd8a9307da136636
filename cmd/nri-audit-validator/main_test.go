package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	nrilog "github.com/containerd/nri/pkg/log"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/internal/nritest"
	"github.com/nri-audit/nri-audit/journalctl"
	"github.com/nri-audit/nri-audit/parser"
)

func TestMain(m *testing.M) {
	nrilog.Set(nritest.QuietLogger{})
	os.Exit(m.Run())
}

func TestFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "-fail-closed"},
		{[]string{"-format", "xml"}, 2, "unknown format"},
		{[]string{"-env-values", "maybe"}, 2, "neither redact nor clear"},
		{[]string{"-output", "syslog"}, 2, "is not auto, journal, stdout or stderr"},
		{[]string{"-log-level", "loud"}, 2, "-log-level"},
		{[]string{"extra"}, 2, "unexpected arguments"},
		{[]string{"-no-such-flag"}, 2, "not defined"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), tt.args, io.Discard, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q lacks %q", tt.args, code, tt.code, stderr.String(), tt.want)
		}
	}
}

// run with a context that ends stops cleanly, whatever the runtime.
func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	dir := t.TempDir()
	if code := run(ctx, []string{"-output", "stdout", "-socket", filepath.Join(dir, "none.sock")}, io.Discard, &stderr); code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// The events the two test plugins of nritest (Injector, Policy) produce,
// in order.
var wantEvents = []string{
	"AddAnnotation", "AddProcessEnv", "AddProcessEnv", "AddOCIHook", "AddOCIHook", "InjectCDIDevices",
	"RemoveLinuxDevice", "AddLinuxDevice", "AddLinuxDeviceRule", "SetLinuxSysctl", "SetLinuxCPUShares",
	"SetLinuxCPUSetCPUs", "SetLinuxMemLimit", "SetLinuxMemSwapLimit", "SetLinuxHugepageLimit",
	"SetLinuxPidsLimit", "RemoveMount", "RemoveMount", "AddProcessRlimits",
}

// TestBinaryToJournal builds the command with go-systemd's journal socket
// pointed at a socket of the test, runs it as an external NRI plugin of an
// in-process runtime, turns the datagrams it sends (journal.Send's native
// protocol) into a real journal file with systemd-journal-remote, reads
// that back with journalctl -o json and parses it as the pipeline does.
func TestBinaryToJournal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	if _, err := journalgen.RemoteBinary(); err != nil {
		t.Skip(err)
	}
	journalctlBin, err := exec.LookPath("journalctl")
	if err != nil {
		t.Skip("journalctl not installed")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build with")
	}
	dir, err := os.MkdirTemp("", "nrv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "nri-audit-validator")
	jsock := filepath.Join(dir, "journal.sock")
	args := []string{"build", "-o", bin, "-ldflags", "-X github.com/coreos/go-systemd/v22/journal.journalSocket=" + jsock}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command(goBin, append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			runBinary(t, bin, jsock, journalctlBin, format)
		})
	}
}

func runBinary(t *testing.T, bin, jsock, journalctlBin, format string) {
	os.Remove(jsock)
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: jsock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	datagrams := make(chan []byte, 64)
	go func() {
		buf := make([]byte, 1<<20)
		for {
			n, _, err := srv.ReadFromUnix(buf)
			if err != nil {
				return
			}
			datagrams <- bytes.Clone(buf[:n])
		}
	}()

	rt := nritest.StartRuntime(t, "containerd", "v2.2.0")
	rt.ConnectMutator("device-injector", "10", nritest.Injector)
	rt.ConnectMutator("resource-policy", "90", nritest.Policy)

	cmd := exec.Command(bin, "-socket", rt.Socket, "-output", "journal", "-format", format)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var (
		logMu  sync.Mutex
		logBuf strings.Builder
	)
	synced := make(chan struct{})
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			logMu.Lock()
			logBuf.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if strings.Contains(sc.Text(), "synchronized with runtime") {
				once.Do(func() { close(synced) })
			}
		}
	}()
	log := func() string { logMu.Lock(); defer logMu.Unlock(); return logBuf.String() }
	select {
	case <-synced:
	case <-time.After(20 * time.Second):
		t.Fatalf("validator did not connect; its log:\n%s", log())
	}
	rt.Registered()
	if _, err := rt.Create("ctr-1"); err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}

	var entries []journalgen.Entry
	at := time.Now()
	for len(entries) < len(wantEvents) {
		select {
		case d := <-datagrams:
			fields, err := decodeNative(d)
			if err != nil {
				t.Fatalf("datagram %q: %v", d, err)
			}
			entries = append(entries, journalgen.Entry{Realtime: at.Add(time.Duration(len(entries)) * time.Microsecond), Fields: fields})
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d journal entries, want %d; log:\n%s", len(entries), len(wantEvents), log())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-logDone
	if err := cmd.Wait(); err != nil {
		t.Errorf("validator exit: %v; log:\n%s", err, log())
	}
	if !strings.Contains(log(), fmt.Sprintf("written=%d", len(wantEvents))) {
		t.Errorf("log lacks the final stats:\n%s", log())
	}

	// A real journal file, read back by journalctl.
	jfile := filepath.Join(filepath.Dir(jsock), "nri-audit-"+format+".journal")
	if _, err := journalgen.Make(context.Background(), jfile, journalgen.Entries(entries...)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(journalctlBin, "--file", jfile, "-o", "json", "--all", "--no-pager").Output()
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	b, err := parser.New(parser.Options{Mode: parser.ModeAudit})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var e audit.Entry
		if err := journalctl.Decode(line, &e); err != nil {
			t.Fatal(err)
		}
		var r audit.Record
		if !b.Build(&e, &r) {
			t.Fatalf("parser dropped %s", line)
		}
		var d map[string]any
		if err := json.Unmarshal(r.AppendJSON(nil), &d); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{
			"SYSLOG_IDENTIFIER": "nri-audit", "PRIORITY": "6",
			"NRI_CONTAINER_ID": "ctr-1", "NRI_POD_NAME": "web-0", "NRI_POD_NAMESPACE": "default", "NRI_RUNTIME": "containerd",
			"nri_container_id": "ctr-1", "nri_container_name": "app", "nri_pod_name": "web-0", "nri_pod_namespace": "default",
			"nri_pod_uid": nritest.Pod.Uid, "nri_runtime_name": "containerd", "nri_runtime": "nri-audit", "nri_level": "info",
		} {
			if d[k] != v {
				t.Errorf("%s = %v, want %q in %v", k, d[k], v, d)
			}
		}
		if _, bad := d["nri_parse_error"]; bad {
			t.Errorf("parse error: %v", d)
		}
		ev, _ := d["nri_event"].(string)
		events = append(events, ev)
		switch {
		case ev == "AddProcessEnv" && d["nri_value_name"] == "NEW_TOKEN":
			if d["nri_value_value"] != audit.Redacted {
				t.Errorf("env value written in clear: %v", d)
			}
		case ev == "RemoveMount" && d["nri_value_destination"] == "/data":
			if d["nri_plugin"] != "-90-resource-policy" || d["nri_removal"] != true {
				t.Errorf("removal owner: %v", d)
			}
		}
	}
	if strings.Join(events, " ") != strings.Join(wantEvents, " ") {
		t.Errorf("events\n got %v\nwant %v", events, wantEvents)
	}
}

// decodeNative decodes one datagram of the journal's native protocol:
// "NAME=value\n", or "NAME\n<le64 length><value>\n" for values with
// newlines.
func decodeNative(d []byte) ([]journalgen.Field, error) {
	var fields []journalgen.Field
	for len(d) > 0 {
		nl := bytes.IndexByte(d, '\n')
		if nl < 0 {
			return nil, errors.New("field without newline")
		}
		if eq := bytes.IndexByte(d[:nl], '='); eq >= 0 {
			fields = append(fields, journalgen.Field{Name: string(d[:eq]), Value: string(d[eq+1 : nl])})
			d = d[nl+1:]
			continue
		}
		name := string(d[:nl])
		d = d[nl+1:]
		if len(d) < 8 {
			return nil, fmt.Errorf("field %s: short length", name)
		}
		n := binary.LittleEndian.Uint64(d)
		d = d[8:]
		if uint64(len(d)) < n+1 || d[n] != '\n' {
			return nil, fmt.Errorf("field %s: bad length %d", name, n)
		}
		fields = append(fields, journalgen.Field{Name: name, Value: string(d[:n])})
		d = d[n+1:]
	}
	return fields, nil
}
