package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/nri-audit/nri-audit/audit"
)

// Default is the policy used when none is configured, as a file.
const Default = `# nri-audit default policy: keep every line in full, redact env values.
apiVersion: nri-audit/v1
kind: Policy
# Level for lines no rule matches: None, Metadata or Full.
defaultLevel: Full
redaction:
  # false turns every redaction off, the built-in one included.
  enabled: true
  # Built in, always on while enabled: value.value of AddProcessEnv
  # (env values; "<value omitted>" and "" are kept as logged).
  # Add more keys here, e.g. process arguments and annotation values:
  keys: []
  #  - {event: SetProcessArgs, key: args}
  #  - {event: AddAnnotation, key: value.value}
  #  - {event: SetLinuxSysctl, key: value.value}
  replacement: "<redacted>"
# Ordered rules; the first match wins. An empty list matches anything.
rules: []
#  - level: None                 # drop the swap-limit echo of every memory limit
#    events: [SetLinuxMemSwapLimit]
#  - level: Metadata             # who changed annotations, not the values
#    fields: [Annotations]
#  - level: Full
#    plugins: ["*-device-injector"]
#    runtimes: [containerd, crio]
`

type file struct {
	APIVersion   string      `yaml:"apiVersion"`
	Kind         string      `yaml:"kind"`
	DefaultLevel string      `yaml:"defaultLevel"`
	Redaction    *redaction  `yaml:"redaction"`
	Rules        []yaml.Node `yaml:"rules"`
}

type redaction struct {
	Enabled     *bool       `yaml:"enabled"`
	Keys        []redactKey `yaml:"keys"`
	Replacement string      `yaml:"replacement"`
}

type redactKey struct {
	Event string `yaml:"event"`
	Key   string `yaml:"key"`
}

type rule struct {
	Level    string   `yaml:"level"`
	Events   []string `yaml:"events"`
	Ops      []string `yaml:"ops"`
	Fields   []string `yaml:"fields"`
	Plugins  []string `yaml:"plugins"`
	Runtimes []string `yaml:"runtimes"`
}

// LoadFile reads and validates a policy file.
func LoadFile(path string) (*audit.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a policy document. Unknown keys are errors.
func Parse(data []byte) (*audit.Policy, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w", err)
	}
	if f.Kind != "" && f.Kind != "Policy" {
		return nil, fmt.Errorf("kind %q: want Policy", f.Kind)
	}
	p := &audit.Policy{DefaultLevel: audit.LevelFull}
	if f.DefaultLevel != "" {
		l, err := audit.ParseLevel(f.DefaultLevel)
		if err != nil {
			return nil, fmt.Errorf("defaultLevel: %w", err)
		}
		p.DefaultLevel = l
	}
	if r := f.Redaction; r != nil {
		if r.Enabled != nil && !*r.Enabled {
			p.RedactionDisabled = true
		}
		p.Replacement = r.Replacement
		for _, k := range r.Keys {
			event := k.Event
			if event == "" {
				event = "*"
			}
			p.RedactKeys = append(p.RedactKeys, audit.RedactKey{Event: event, Key: k.Key})
		}
	}
	for i := range f.Rules {
		n := &f.Rules[i]
		var r rule
		if err := n.Decode(&r); err != nil {
			return nil, fmt.Errorf("rule %d (line %d): %w", i+1, n.Line, err)
		}
		if err := knownKeys(n); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		if r.Level == "" {
			return nil, fmt.Errorf("rule %d (line %d): level is required", i+1, n.Line)
		}
		l, err := audit.ParseLevel(r.Level)
		if err != nil {
			return nil, fmt.Errorf("rule %d (line %d): level: %w", i+1, n.Line, err)
		}
		p.Rules = append(p.Rules, audit.Rule{
			Level: l, Events: r.Events, Ops: r.Ops, Fields: r.Fields,
			Plugins: r.Plugins, Runtimes: r.Runtimes, Line: n.Line,
		})
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// knownKeys rejects misspelled rule keys, which Node.Decode does not check.
func knownKeys(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a rule must be a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch k.Value {
		case "level", "events", "ops", "fields", "plugins", "runtimes":
		default:
			return fmt.Errorf("line %d: unknown key %q (want level, events, ops, fields, plugins or runtimes)", k.Line, k.Value)
		}
	}
	return nil
}
