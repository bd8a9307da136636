package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestParseFormatDocExamples: every example line of the format doc §5,
// as journalctl -o json entries, yields its document (golden file).
func TestParseFormatDocExamples(t *testing.T) {
	in, err := os.ReadFile("testdata/format-doc-section5.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCmd(t, string(in), "parse", "--input", "journal-json")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if n := bytes.Count(in, []byte("\n")); len(lines) != n {
		t.Fatalf("%d documents for %d entries", len(lines), n)
	}
	for _, l := range lines {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if _, bad := d["nri_parse_error"]; bad {
			t.Errorf("parse error: %s", l)
		}
		if d["nri_runtime"] == nil || d["MESSAGE"] == nil || d["_HOSTNAME"] != "worker-1" {
			t.Errorf("journal fields missing: %s", l)
		}
	}
	golden := "testdata/format-doc-section5.golden"
	if *update {
		os.WriteFile(golden, []byte(out), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatalf("output differs from %s (go test ./cmd/nri-audit -update to accept)\n%s", golden, out)
	}
}

func TestParseRawAndBadInput(t *testing.T) {
	in := "time=\"2026-02-09T16:44:32.545908121Z\" level=info msg=\"add mount\" nri.plugin=10-a\n" +
		"panic: oops\n" +
		"\xff\xfe\n" +
		`level=info msg="unterminated` + "\n"
	code, out, _ := runCmd(t, in, "parse")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d documents, want 4:\n%s", len(lines), out)
	}
	if !strings.Contains(lines[0], `"nri_event":"AddMount"`) || !strings.Contains(lines[1], "nri_parse_error") ||
		!strings.Contains(lines[2], `\ufffd`) && !strings.Contains(lines[2], "\ufffd") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	// journal-json with lines that are not journal entries: shipped as MESSAGE.
	code, out, stderr := runCmd(t, "not json\n{\"MESSAGE\":\"level=info msg=ok\"}\n\n", "parse", "--input", "journal-json")
	if code != 0 || !strings.Contains(stderr, "line 1") || strings.Count(out, "\n") != 2 {
		t.Fatalf("exit %d stderr %q out %q", code, stderr, out)
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"parse", "--input", "xml"},
		{"parse", "--mode", "some"},
		{"parse", "--no-such-flag"},
		{"parse", "extra-arg"},
		{"parse", "--policy", "/nonexistent/policy.yaml"},
		{"no-such-command"},
		{},
	} {
		if code, _, stderr := runCmd(t, "", args...); code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, _, _ := runCmd(t, "", "parse", "-h"); code != 0 {
		t.Errorf("-h exit %d", code)
	}
	code, out, _ := runCmd(t, "level=info msg=\"add mount\" nri.plugin=10-a\nlevel=info msg=other\n", "parse", "--mode", "audit", "--key-prefix", "a_")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"a_event":"AddMount"`) {
		t.Fatalf("mode/prefix: exit %d out %q", code, out)
	}
}
