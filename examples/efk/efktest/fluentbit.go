package efktest

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nri-audit/nri-audit/flbout"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Section is one input or output of a Fluent Bit YAML configuration, with
// ${VAR} references already substituted. Multi-valued keys (a YAML list,
// e.g. systemd_filter) keep every value.
type Section struct {
	Name  string
	Props map[string][]string
}

// Get returns the first value of key, or "".
func (s Section) Get(key string) string {
	if v := s.Props[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// FluentBitConfig is a parsed Fluent Bit YAML configuration.
type FluentBitConfig struct {
	Service map[string]string
	Plugins []string
	Inputs  []Section
	Outputs []Section
	// Vars are the ${VAR} names the file uses, sorted.
	Vars []string
}

var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// Keys Fluent Bit itself consumes on an output: they never reach the plugin
// (fluent/fluent-bit src/flb_output.c flb_output_set_property).
func isCoreOutputKey(k string) bool {
	switch k {
	case "name", "match", "match_regex", "alias", "log_level", "log_suppress_interval",
		"host", "port", "ipv6", "retry_limit", "workers", "storage.total_limit_size", "processors":
		return true
	}
	return strings.HasPrefix(k, "tls") || strings.HasPrefix(k, "net.") || strings.HasPrefix(k, "oauth2")
}

var serviceKeys = set("flush", "grace", "daemon", "log_level", "log_file", "http_server", "http_listen",
	"http_port", "health_check", "hc_errors_count", "hc_retry_failure_count", "hc_period",
	"storage.path", "storage.sync", "storage.checksum", "storage.backlog.mem_limit",
	"storage.max_chunks_up", "storage.metrics", "storage.delete_irrecoverable_chunks",
	"parsers_file", "plugins_file", "hot_reload", "coro_stack_size", "scheduler.base",
	"scheduler.cap", "dns.mode", "dns.resolver", "streams_file")

// in_systemd's config map (plugins/in_systemd/systemd.c) plus the input
// keys of the core.
var systemdKeys = set("name", "tag", "alias", "log_level", "threaded", "path", "systemd_filter",
	"systemd_filter_type", "read_from_tail", "db", "db.sync", "strip_underscores", "lowercase",
	"max_fields", "max_entries", "storage.type", "mem_buf_limit", "storage.pause_on_chunks_overlimit")

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// ParseFluentBitYAML parses a Fluent Bit YAML configuration and substitutes
// ${VAR} from env. A variable missing from env is an error: every variable
// the file uses must be defined where it runs (image ENV, compose
// environment, DaemonSet env). Unknown service keys, unknown top-level
// sections and unknown in_systemd keys are errors too (typos).
func ParseFluentBitYAML(data []byte, env map[string]string) (*FluentBitConfig, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("fluent-bit yaml: %w", err)
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("fluent-bit yaml: top level is not a mapping")
	}
	cfg := &FluentBitConfig{Service: map[string]string{}}
	vars := map[string]bool{}
	subst := func(n *yaml.Node) (string, error) {
		if n.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("line %d: want a scalar", n.Line)
		}
		var missing []string
		v := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := m[2 : len(m)-1]
			vars[name] = true
			val, ok := env[name]
			if !ok {
				missing = append(missing, name)
			}
			return val
		})
		if len(missing) > 0 {
			return "", fmt.Errorf("line %d: ${%s} is not defined", n.Line, strings.Join(missing, "}, ${"))
		}
		return v, nil
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i].Value, top.Content[i+1]
		switch key {
		case "service":
			props, err := mapping(val, subst)
			if err != nil {
				return nil, fmt.Errorf("fluent-bit yaml: service: %w", err)
			}
			for k, v := range props {
				if !serviceKeys[k] {
					return nil, fmt.Errorf("fluent-bit yaml: service: unknown key %q", k)
				}
				cfg.Service[k] = v[0]
			}
		case "plugins":
			if val.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("fluent-bit yaml: line %d: plugins must be a list of .so paths", val.Line)
			}
			for _, p := range val.Content {
				s, err := subst(p)
				if err != nil {
					return nil, fmt.Errorf("fluent-bit yaml: plugins: %w", err)
				}
				if !path.IsAbs(s) || !strings.HasSuffix(s, ".so") {
					return nil, fmt.Errorf("fluent-bit yaml: plugins: %q is not an absolute .so path", s)
				}
				if strings.HasPrefix(path.Base(s), "flb-") {
					// Fluent Bit takes flb-*.so for its own C plugins.
					return nil, fmt.Errorf("fluent-bit yaml: plugins: %q: a Go plugin file must not start with flb-", s)
				}
				cfg.Plugins = append(cfg.Plugins, s)
			}
		case "pipeline":
			if val.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("fluent-bit yaml: line %d: pipeline must be a mapping", val.Line)
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				kind := val.Content[j].Value
				list := val.Content[j+1]
				if kind != "inputs" && kind != "filters" && kind != "outputs" {
					return nil, fmt.Errorf("fluent-bit yaml: pipeline: unknown section %q", kind)
				}
				if list.Kind != yaml.SequenceNode {
					return nil, fmt.Errorf("fluent-bit yaml: pipeline.%s must be a list", kind)
				}
				for _, item := range list.Content {
					props, err := mapping(item, subst)
					if err != nil {
						return nil, fmt.Errorf("fluent-bit yaml: pipeline.%s: %w", kind, err)
					}
					s := Section{Name: first(props["name"]), Props: props}
					if s.Name == "" {
						return nil, fmt.Errorf("fluent-bit yaml: line %d: pipeline.%s entry without name", item.Line, kind)
					}
					switch kind {
					case "inputs":
						cfg.Inputs = append(cfg.Inputs, s)
					case "outputs":
						cfg.Outputs = append(cfg.Outputs, s)
					}
				}
			}
		case "env", "includes", "parsers", "multiline_parsers", "customs":
		default:
			return nil, fmt.Errorf("fluent-bit yaml: line %d: unknown top-level section %q", top.Content[i].Line, key)
		}
	}
	for _, in := range cfg.Inputs {
		if in.Name != "systemd" {
			continue
		}
		for k := range in.Props {
			if !systemdKeys[k] {
				return nil, fmt.Errorf("fluent-bit yaml: systemd input: unknown key %q", k)
			}
		}
	}
	for v := range vars {
		cfg.Vars = append(cfg.Vars, v)
	}
	sort.Strings(cfg.Vars)
	return cfg, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// mapping reads a flat mapping; a list value gives several values.
func mapping(n *yaml.Node, subst func(*yaml.Node) (string, error)) (map[string][]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping", n.Line)
	}
	props := map[string][]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := strings.ToLower(n.Content[i].Value)
		if _, dup := props[k]; dup {
			return nil, fmt.Errorf("line %d: key %q twice", n.Content[i].Line, k)
		}
		v := n.Content[i+1]
		if v.Kind == yaml.SequenceNode {
			for _, item := range v.Content {
				s, err := subst(item)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				props[k] = append(props[k], s)
			}
			continue
		}
		s, err := subst(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		props[k] = []string{s}
	}
	return props, nil
}

// CheckNRIAuditOutput validates an nri_audit output section the way the
// plugin will: every key that reaches the plugin must be one it reads
// (flbout.Keys), and flbout.ParseConfig must accept the values.
func CheckNRIAuditOutput(out Section) (flbout.Config, error) {
	known := map[string]bool{}
	for _, k := range flbout.Keys() {
		known[k.Name] = true
	}
	g := flbout.MapGetter{}
	for k, v := range out.Props {
		if isCoreOutputKey(k) {
			continue
		}
		if !known[k] {
			return flbout.Config{}, fmt.Errorf("output %s: key %q is not an nri_audit key", out.Name, k)
		}
		if len(v) != 1 {
			return flbout.Config{}, fmt.Errorf("output %s: key %q given %d times", out.Name, k, len(v))
		}
		g[k] = v[0]
	}
	c, err := flbout.ParseConfig(g)
	if err != nil {
		return c, fmt.Errorf("output %s: %w", out.Name, err)
	}
	return c, nil
}
