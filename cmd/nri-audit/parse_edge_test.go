package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParseJournalJSONShapes: byte arrays, null, repeated fields and a
// repeated MESSAGE through the whole command (DESIGN.md §3.1 rule 13).
func TestParseJournalJSONShapes(t *testing.T) {
	in := `{"MESSAGE":[108,101,118,101,108,61,105,110,102,111,32,109,115,103,61,120,255],"SYSLOG_IDENTIFIER":"containerd","__REALTIME_TIMESTAMP":"1770655472546012","__CURSOR":"c"}` + "\n" +
		`{"MESSAGE":["level=info msg=\"add mount\" nri.plugin=10-a","level=info msg=second"],"_SYSTEMD_UNIT":"crio.service","TAG":["a","b"],"BIG":null}` + "\n" +
		`{"MESSAGE":"level=info msg=first","MESSAGE":"level=info msg=second","SYSLOG_IDENTIFIER":"crio"}` + "\n" +
		`{"MESSAGE":null,"_HOSTNAME":"h"}` + "\n"
	code, out, stderr := runCmd(t, in, "parse", "--input", "journal-json")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	var docs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		docs = append(docs, d)
	}
	if len(docs) != 4 {
		t.Fatalf("%d documents", len(docs))
	}
	checks := []map[string]any{
		{"MESSAGE": "level=info msg=x\ufffd", "nri_msg": "x\ufffd", "@timestamp": "2026-02-09T16:44:32.546012000Z", "nri_runtime": "containerd", "__CURSOR": nil, "__REALTIME_TIMESTAMP": nil},
		{"MESSAGE": `level=info msg="add mount" nri.plugin=10-a`, "nri_event": "AddMount", "nri_runtime": "crio", "BIG": nil},
		{"MESSAGE": "level=info msg=first", "nri_msg": "first"},
		{"MESSAGE": nil, "nri_parse_error": "no MESSAGE field", "_HOSTNAME": "h"},
	}
	for i, c := range checks {
		for k, v := range c {
			got, ok := docs[i][k]
			if v == nil {
				if ok {
					t.Errorf("doc %d: %s = %v, want absent", i, k, got)
				}
				continue
			}
			if got != v {
				t.Errorf("doc %d: %s = %#v, want %#v", i, k, got, v)
			}
		}
	}
	if tag, _ := docs[1]["TAG"].([]any); len(tag) != 2 {
		t.Errorf("repeated TAG = %v, want an array of 2", docs[1]["TAG"])
	}
}

// TestParseExitZeroOnAnyContent: rule 17. Lines longer than the limit are
// reported and skipped; they do not end the input.
func TestParseExitZeroOnAnyContent(t *testing.T) {
	old := maxLine
	maxLine = 64
	defer func() { maxLine = old }()
	in := "level=info msg=a\r\n" +
		strings.Repeat("x", 200) + "\n" +
		"\x00\xff\n" +
		"{\"msg\":\n" +
		"\n" +
		"level=info msg=last"
	code, out, stderr := runCmd(t, in, "parse")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(stderr, "line 2: longer than 64 bytes") {
		t.Fatalf("%d documents, stderr %q:\n%s", len(lines), stderr, out)
	}
	if !strings.Contains(lines[0], `"MESSAGE":"level=info msg=a"`) || !strings.Contains(lines[4], `"nri_msg":"last"`) {
		t.Fatalf("unexpected output:\n%s", out)
	}
	for _, args := range [][]string{{"parse", "--input", "journal-json"}, {"parse", "--mode", "audit"}, {"parse", "--mode", "nri"}} {
		if code, _, _ := runCmd(t, in, args...); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
