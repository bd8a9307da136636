package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/internal/journalgen"
)

const script = "../../generator.sh"

// scriptCommands returns the argument lists of the lines of generator.sh
// that run prog.
func scriptCommands(t *testing.T, prog string) [][]string {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSpace(l))
		if len(f) > 0 && f[0] == "exec" {
			f = f[1:]
		}
		if len(f) > 0 && f[0] == prog {
			out = append(out, f[1:])
		}
	}
	return out
}

// TestScriptFlags: the flags generator.sh passes exist, with values of the
// right type once the shell variables are replaced by their defaults.
func TestScriptFlags(t *testing.T) {
	cmds := scriptCommands(t, "nri-audit-demogen")
	if len(cmds) != 1 {
		t.Fatalf("generator.sh runs nri-audit-demogen %d times, want once", len(cmds))
	}
	args := strings.NewReplacer(`"$dir"`, "/tmp/j", `"$interval"`, "2s").Replace(strings.Join(cmds[0], " "))
	fs, o := newFlags(io.Discard)
	if err := fs.Parse(strings.Fields(args)); err != nil || fs.NArg() != 0 {
		t.Fatalf("generator.sh: nri-audit-demogen %s: %v", args, err)
	}
	if o.Dir != "/tmp/j" || o.Interval != 2*time.Second {
		t.Errorf("parsed %+v", o)
	}
	if code := run(context.Background(), []string{"--nope"}, io.Discard); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

// TestGeneratorScript runs generator.sh as the compose service does, with
// the real nri-audit and nri-audit-demogen binaries and
// systemd-journal-remote, and reads the journal it makes.
func TestGeneratorScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	if _, err := journalgen.RemoteBinary(); err != nil {
		t.Skip(err)
	}
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		t.Skip("journalctl not installed")
	}
	bin := t.TempDir()
	for pkg, name := range map[string]string{"../../../../cmd/nri-audit": "nri-audit", ".": "nri-audit-demogen"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	dir := filepath.Join(t.TempDir(), "journal")
	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "NRI_AUDIT_JOURNAL_DIR="+dir, "NRI_AUDIT_GEN_INTERVAL=300ms")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for both live files, then stop the generator as compose does.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, e1 := os.Stat(filepath.Join(dir, "worker-1.journal"))
		_, e2 := os.Stat(filepath.Join(dir, "worker-2.journal"))
		if e1 == nil && e2 == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no live journal after 30 s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("generator.sh: %v (SIGTERM must end it cleanly)\n%s", err, stderr.String())
	}

	out, err := exec.Command(jc, "--directory="+dir, "-o", "json", "--no-pager", "--output-fields=_HOSTNAME,SYSLOG_IDENTIFIER").Output()
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	count := map[string]int{}
	var first, last int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e struct {
			Host string `json:"_HOSTNAME"`
			ID   string `json:"SYSLOG_IDENTIFIER"`
			RT   string `json:"__REALTIME_TIMESTAMP"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		count[e.Host+"/"+e.ID]++
		us, _ := strconv.ParseInt(e.RT, 10, 64)
		if first == 0 || us < first {
			first = us
		}
		if us > last {
			last = us
		}
	}
	t.Logf("entries %v", count)
	if count["worker-1/containerd"]+count["worker-1/crio"] < 2500 {
		t.Errorf("worker-1 runtime entries %d: the hour of history is missing", count["worker-1/containerd"]+count["worker-1/crio"])
	}
	if count["worker-2/nri-audit"] == 0 {
		t.Error("no validator entries from worker-2")
	}
	now := time.Now().UnixMicro()
	if age := time.Duration(now-first) * time.Microsecond; age < 50*time.Minute || age > 70*time.Minute {
		t.Errorf("oldest entry is %s old, want about an hour", age)
	}
	if ahead := time.Duration(last-now) * time.Microsecond; ahead > time.Minute {
		t.Errorf("newest entry is %s in the future", ahead)
	}
	// A restart (compose restarts the service) keeps the history instead
	// of writing another hour of it.
	hist := filepath.Join(dir, "system.journal")
	before, err := os.Stat(hist)
	if err != nil {
		t.Fatal(err)
	}
	again := exec.Command("sh", script)
	again.Env = cmd.Env
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond)
	again.Process.Signal(syscall.SIGTERM)
	again.Wait()
	after, err := os.Stat(hist)
	if err != nil || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("system.journal rewritten on restart (%v)", err)
	}
}
