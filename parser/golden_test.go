package parser_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/journalctl"
	"github.com/nri-audit/nri-audit/parser"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden runs every testdata/*.jsonl (journalctl -o json entries) through
// the default builder and compares with testdata/*.golden.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".jsonl")
		t.Run(name, func(t *testing.T) {
			got := buildFile(t, in, parser.Options{})
			golden := strings.TrimSuffix(in, ".jsonl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./parser -update)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) && i < len(wl); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs\n got: %s\nwant: %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("got %d lines, want %d", len(gl), len(wl))
			}
		})
	}
}

func buildFile(t *testing.T, path string, opts parser.Options) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := parser.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out bytes.Buffer
		e   audit.Entry
		r   audit.Record
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if err := journalctl.Decode(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !b.Build(&e, &r) {
			continue
		}
		doc := r.AppendJSON(nil)
		if !json.Valid(doc) {
			t.Fatalf("invalid JSON: %s", doc)
		}
		out.Write(doc)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// TestAllMessagesClassified checks that each fixture format carries every
// catalog message and that each one is classified.
func TestAllMessagesClassified(t *testing.T) {
	for _, in := range []string{"containerd-text", "containerd-json", "crio-text", "crio-text-v131", "crio-json"} {
		t.Run(in, func(t *testing.T) {
			seen := map[string]bool{}
			for _, line := range bytes.Split(bytes.TrimSpace(buildFile(t, "testdata/"+in+".jsonl", parser.Options{})), []byte("\n")) {
				var doc map[string]any
				if err := json.Unmarshal(line, &doc); err != nil {
					t.Fatal(err)
				}
				if ev, ok := doc["nri_event"].(string); ok {
					seen[ev] = true
				}
				if pe, ok := doc["nri_parse_error"]; ok {
					t.Errorf("unexpected parse error %v in %s", pe, line)
				}
				if _, ok := doc["nri_time"]; ok {
					t.Errorf("time not consumed in %s", line)
				}
			}
			for _, ev := range audit.Events() {
				if !seen[ev.Name] {
					t.Errorf("%s: event %s (%q) missing", in, ev.Name, ev.Message)
				}
			}
			if len(audit.Events()) != 45 {
				t.Errorf("catalog has %d events, want 45", len(audit.Events()))
			}
		})
	}
}

// TestRedactionScan scans every value of every document for the env
// secrets the fixtures contain in clear text, MESSAGE included.
func TestRedactionScan(t *testing.T) {
	secrets := []string{"tok-123", "/usr/local/sbin:/usr/bin"}
	inputs, _ := filepath.Glob("testdata/*.jsonl")
	for _, in := range inputs {
		out := buildFile(t, in, parser.Options{})
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatal(err)
			}
			for k, v := range doc {
				walkStrings(v, func(s string) {
					for _, secret := range secrets {
						if strings.Contains(s, secret) {
							t.Errorf("%s: secret %q in %s: %s", in, secret, k, s)
						}
					}
				})
			}
		}
	}
	// The same input with redaction turned off does show them: the scan is
	// not vacuous.
	off := &audit.Policy{DefaultLevel: audit.LevelFull, RedactionDisabled: true}
	out := buildFile(t, "testdata/containerd-text.jsonl", parser.Options{Policy: off})
	if !bytes.Contains(out, []byte("tok-123")) {
		t.Fatal("fixture lacks the secret; the scan proves nothing")
	}
}

func walkStrings(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case []any:
		for _, e := range v {
			walkStrings(e, fn)
		}
	case map[string]any:
		for _, e := range v {
			walkStrings(e, fn)
		}
	}
}
