package audit

import (
	"fmt"
	"path"
	"strings"
)

// Level says how much of a line a policy keeps, as in the Kubernetes audit
// Policy.
type Level string

// Policy levels.
const (
	// LevelNone drops the line: no document is written.
	LevelNone Level = "None"
	// LevelMetadata keeps who changed what (event, op, field, plugin,
	// runtime, context keys) but drops the values (value, value.*, args).
	LevelMetadata Level = "Metadata"
	// LevelFull keeps everything, subject to redaction.
	LevelFull Level = "Full"
)

// ParseLevel accepts a level name in any case.
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{LevelNone, LevelMetadata, LevelFull} {
		if strings.EqualFold(s, string(l)) {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown level %q (want None, Metadata or Full)", s)
}

// Rule matches lines by event, op, field, plugin and runtime; an empty list
// matches anything. Lists are ORs, the lists together an AND. Event, op and
// field lists only match audit events. Plugins are glob patterns (path.Match)
// tried against each owner ("10-device-injector", "unknown") and its name.
type Rule struct {
	Level    Level
	Events   []string
	Ops      []string
	Fields   []string
	Plugins  []string
	Runtimes []string
	// Line is where the rule starts in its policy file (0 if built in code).
	Line int
}

// RedactKey names a value to redact: a line key as logged ("value.value",
// "args") of one audit event (by name, or "*" for every line).
type RedactKey struct {
	Event string
	Key   string
}

// DefaultRedactKeys are the values redacted unless the policy disables
// redaction: env values, which the runtime logs in clear text for new and
// pre-existing variables (format doc §1.4).
var defaultRedactKeys = []RedactKey{{Event: "AddProcessEnv", Key: "value.value"}}

// DefaultRedactKeys returns the built-in redaction list.
func DefaultRedactKeys() []RedactKey { return append([]RedactKey(nil), defaultRedactKeys...) }

// Redacted is the replacement text of a redacted value.
const Redacted = "<redacted>"

// ValueOmitted is what the runtime itself logs instead of an overridden env
// value; it is not a secret and is kept as is.
const ValueOmitted = "<value omitted>"

// Policy decides, per line, the level and which values are redacted.
// First matching rule wins; no match means DefaultLevel.
type Policy struct {
	Rules        []Rule
	DefaultLevel Level
	// RedactionDisabled turns all redaction off.
	RedactionDisabled bool
	// RedactKeys are redacted in addition to DefaultRedactKeys.
	RedactKeys []RedactKey
	// Replacement replaces redacted values; Redacted when empty.
	Replacement string
}

// DefaultPolicy keeps every line in full and redacts env values.
func DefaultPolicy() *Policy { return &Policy{DefaultLevel: LevelFull} }

// Validate checks levels, event names, ops and fields against the catalog
// and the glob syntax of plugin patterns.
func (p *Policy) Validate() error {
	if p.DefaultLevel != "" {
		if _, err := ParseLevel(string(p.DefaultLevel)); err != nil {
			return fmt.Errorf("defaultLevel: %w", err)
		}
	}
	for i, r := range p.Rules {
		where := fmt.Sprintf("rule %d", i+1)
		if r.Line > 0 {
			where = fmt.Sprintf("rule %d (line %d)", i+1, r.Line)
		}
		if _, err := ParseLevel(string(r.Level)); err != nil {
			return fmt.Errorf("%s: level: %w", where, err)
		}
		for _, e := range r.Events {
			if !knownEventName(e) {
				return fmt.Errorf("%s: unknown event %q (want a catalog name such as AddProcessEnv)", where, e)
			}
		}
		for _, o := range r.Ops {
			switch Op(o) {
			case OpAdd, OpRemove, OpSet, OpClear, OpInject:
			default:
				return fmt.Errorf("%s: unknown op %q (want add, remove, set, clear or inject)", where, o)
			}
		}
		for _, f := range r.Fields {
			if !knownField(f) {
				return fmt.Errorf("%s: unknown field %q (want an NRI api.Field name such as Env or Mounts)", where, f)
			}
		}
		for _, pat := range r.Plugins {
			if _, err := path.Match(pat, ""); err != nil {
				return fmt.Errorf("%s: plugin pattern %q: %w", where, pat, err)
			}
		}
	}
	for _, c := range p.Replacement {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("redaction replacement %q: use printable ASCII without quotes or backslashes", p.Replacement)
		}
	}
	for i, k := range p.RedactKeys {
		if k.Key == "" {
			return fmt.Errorf("redaction key %d: empty key", i+1)
		}
		if k.Event != "*" && !knownEventName(k.Event) {
			return fmt.Errorf("redaction key %d: unknown event %q (want a catalog name or \"*\")", i+1, k.Event)
		}
	}
	return nil
}

func knownEventName(name string) bool {
	for i := range events {
		if events[i].Name == name {
			return true
		}
	}
	return false
}

func knownField(name string) bool {
	for i := range events {
		for _, f := range events[i].Fields {
			if f == name {
				return true
			}
		}
	}
	return false
}

// Subject is what a policy rule is matched against.
type Subject struct {
	Event   *Event // nil for non-audit lines
	Owners  string // raw nri.plugin value, "" when absent
	Runtime string
}

// Level returns the level for a line.
func (p *Policy) Level(s Subject) Level {
	for i := range p.Rules {
		if p.Rules[i].matches(s) {
			return p.Rules[i].Level
		}
	}
	if p.DefaultLevel == "" {
		return LevelFull
	}
	return p.DefaultLevel
}

func (r *Rule) matches(s Subject) bool {
	if len(r.Events) > 0 || len(r.Ops) > 0 || len(r.Fields) > 0 {
		if s.Event == nil {
			return false
		}
		if len(r.Events) > 0 && !contains(r.Events, s.Event.Name) {
			return false
		}
		if len(r.Ops) > 0 && !contains(r.Ops, string(s.Event.Op)) {
			return false
		}
		if len(r.Fields) > 0 && !anyContains(r.Fields, s.Event.Fields) {
			return false
		}
	}
	if len(r.Runtimes) > 0 && !contains(r.Runtimes, s.Runtime) {
		return false
	}
	if len(r.Plugins) > 0 && !r.matchesPlugin(s.Owners) {
		return false
	}
	return true
}

func (r *Rule) matchesPlugin(owners string) bool {
	if owners == "" {
		return false
	}
	for _, owner := range strings.Split(owners, ",") {
		owner = strings.TrimPrefix(owner, "-")
		name, _ := splitOwner(owner)
		for _, pat := range r.Plugins {
			if ok, _ := path.Match(pat, owner); ok {
				return true
			}
			if ok, _ := path.Match(pat, name); ok {
				return true
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func anyContains(list, of []string) bool {
	for _, s := range of {
		if contains(list, s) {
			return true
		}
	}
	return false
}

// Redact reports whether the value of line key (sanitized, without prefix,
// e.g. "value_value") of event eventName must be redacted, and returns the
// replacement. The literal "<value omitted>" and "" are never redacted.
func (p *Policy) Redact(eventName, sanitizedKey, value string) (string, bool) {
	if p.RedactionDisabled || value == "" || value == ValueOmitted {
		return "", false
	}
	if matchRedact(defaultRedactKeys, eventName, sanitizedKey) || matchRedact(p.RedactKeys, eventName, sanitizedKey) {
		if p.Replacement != "" {
			return p.Replacement, true
		}
		return Redacted, true
	}
	return "", false
}

func matchRedact(keys []RedactKey, eventName, sanitizedKey string) bool {
	for _, k := range keys {
		if (k.Event == "*" || k.Event == eventName) && sanitizesTo(k.Key, sanitizedKey) {
			return true
		}
	}
	return false
}

// IsValueKey reports whether a sanitized, unprefixed line key carries a
// changed value (dropped at LevelMetadata): value, value_*, args.
func IsValueKey(sanitizedKey string) bool {
	return sanitizedKey == "value" || sanitizedKey == "args" || strings.HasPrefix(sanitizedKey, "value_")
}
