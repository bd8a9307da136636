package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
)

func TestDefaultParses(t *testing.T) {
	p, err := Parse([]byte(Default))
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultLevel != audit.LevelFull || p.RedactionDisabled || len(p.Rules) != 0 {
		t.Fatalf("default policy %+v", p)
	}
}

func TestParse(t *testing.T) {
	p, err := Parse([]byte(`
defaultLevel: metadata
redaction:
  enabled: true
  keys:
    - {event: SetProcessArgs, key: args}
    - {key: token}
rules:
  - level: None
    events: [SetLinuxMemSwapLimit]
  - level: Full
    plugins: ["*-device-injector"]
    runtimes: [crio]
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultLevel != audit.LevelMetadata || len(p.Rules) != 2 || p.Rules[1].Line != 11 {
		t.Fatalf("%+v", p)
	}
	if p.RedactKeys[1].Event != "*" {
		t.Fatalf("empty event should mean every line: %+v", p.RedactKeys)
	}
	if p.Level(audit.Subject{Owners: "10-device-injector", Runtime: "crio"}) != audit.LevelFull {
		t.Error("rule 2 not matched")
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	tests := map[string]string{
		"rules:\n  - level: Loud\n":                          "rule 1 (line 2): level",
		"rules:\n  - level: None\n    evnts: [X]\n":          "line 3: unknown key \"evnts\"",
		"rules:\n  - events: [AddMount]\n":                   "rule 1 (line 2): level is required",
		"rules:\n  - level: None\n    events: [Nope]\n":      "rule 1 (line 2): unknown event \"Nope\"",
		"defaultLevel: Loud\n":                               "defaultLevel",
		"kind: Deployment\n":                                 "kind \"Deployment\"",
		"redaction:\n  enabld: false\n":                      "line 2",
		"rules: [\n":                                         "line",
		"redaction:\n  keys:\n    - {event: Nope, key: x}\n": "unknown event \"Nope\"",
	}
	for in, want := range tests {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", in, err, want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte("redaction: {enabled: false}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(path)
	if err != nil || !p.RedactionDisabled {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Default))
	f.Add([]byte("rules:\n  - level: None\n    plugins: ['[']\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err == nil {
			if verr := p.Validate(); verr != nil {
				t.Fatalf("parsed policy fails validation: %v", verr)
			}
		}
	})
}
