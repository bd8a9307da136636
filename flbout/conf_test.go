package flbout

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nri-audit/nri-audit/policy"
)

// confDir holds the shipped Fluent Bit configuration.
const confDir = "../conf"

// coreOutputKeys are consumed by Fluent Bit's core for every output
// (flb_output_set_property) and never reach the plugin; the same list as
// internal/flbhost's is_core_key.
func isCoreOutputKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "name", "routes", "match", "match_regex", "alias", "log_level", "log_suppress_interval", "host",
		"port", "ipv6", "retry_limit", "tls", "workers", "storage.total_limit_size":
		return true
	}
	return strings.HasPrefix(k, "net.") || strings.HasPrefix(k, "tls.") || strings.HasPrefix(k, "oauth2.")
}

type section struct {
	name  string
	props [][2]string
}

func (s section) get(key string) []string {
	var out []string
	for _, p := range s.props {
		if strings.EqualFold(p[0], key) {
			out = append(out, p[1])
		}
	}
	return out
}

// parseClassic reads a classic-format file: [SECTION] headers and
// "Key value" lines; '#' starts a comment line.
func parseClassic(t *testing.T, path string) []section {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []section
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			out = append(out, section{name: strings.ToUpper(line[1 : len(line)-1])})
		default:
			if len(out) == 0 {
				t.Fatalf("%s:%d: property outside a section", path, n)
			}
			k, v, _ := strings.Cut(line, " ")
			out[len(out)-1].props = append(out[len(out)-1].props, [2]string{k, strings.TrimSpace(v)})
		}
	}
	return out
}

// yamlSections returns the pipeline's inputs and outputs of a YAML file as
// sections (lists of scalars become repeated properties) and its plugins.
func yamlSections(t *testing.T, path string) (inputs, outputs []section, plugins []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Plugins  []string `yaml:"plugins"`
		Pipeline struct {
			Inputs  []map[string]any `yaml:"inputs"`
			Outputs []map[string]any `yaml:"outputs"`
		} `yaml:"pipeline"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	conv := func(list []map[string]any, kind string) []section {
		var out []section
		for _, m := range list {
			s := section{name: kind}
			for k, v := range m {
				switch x := v.(type) {
				case []any:
					for _, e := range x {
						s.props = append(s.props, [2]string{k, fmt.Sprint(e)})
					}
				case bool:
					// yaml.v3 reads on/off as strings; true/false as bools.
					s.props = append(s.props, [2]string{k, map[bool]string{true: "on", false: "off"}[x]})
				default:
					s.props = append(s.props, [2]string{k, fmt.Sprint(x)})
				}
			}
			out = append(out, s)
		}
		return out
	}
	return conv(doc.Pipeline.Inputs, "INPUT"), conv(doc.Pipeline.Outputs, "OUTPUT"), doc.Plugins
}

// checkOutput verifies one of our [OUTPUT] sections: every plugin key
// exists, and the values parse (with ${ENV} and file paths replaced).
func checkOutput(t *testing.T, where string, s section) {
	t.Helper()
	known := map[string]bool{}
	for _, k := range Keys() {
		known[k.Name] = true
	}
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(policy.Default), 0o600); err != nil {
		t.Fatal(err)
	}
	g := MapGetter{}
	for _, p := range s.props {
		k, v := p[0], p[1]
		if isCoreOutputKey(k) {
			continue
		}
		if !known[k] {
			t.Errorf("%s: key %q is not a key of the plugin (flbout.Keys)", where, k)
			continue
		}
		if k != strings.ToLower(k) {
			t.Errorf("%s: key %q: write plugin keys in lower case", where, k)
		}
		switch {
		case strings.HasPrefix(v, "${"):
			v = map[string]string{"url": "https://es.example:9200", "api_key": "id:secret"}[k]
		case k == "policy_file":
			v = pol
		case strings.HasSuffix(k, "_path"):
			v = filepath.Join(dir, filepath.Base(v))
		}
		g[k] = v
	}
	if _, err := ParseConfig(g); err != nil {
		t.Errorf("%s: the values do not parse: %v", where, err)
	}
	for _, want := range [][2]string{{"workers", "1"}, {"retry_limit", "no_limits"}} {
		if got := s.get(want[0]); len(got) != 1 || !strings.EqualFold(got[0], want[1]) {
			t.Errorf("%s: %s = %v, want %s", where, want[0], got, want[1])
		}
	}
}

// checkInput verifies the systemd input: the runtime filters, a cursor
// database, filesystem buffering, starting at the tail.
func checkInput(t *testing.T, where string, s section) {
	t.Helper()
	filters := strings.Join(s.get("systemd_filter"), " ")
	for _, id := range []string{"containerd", "crio", "nri-audit"} {
		if !strings.Contains(filters, "SYSLOG_IDENTIFIER="+id) {
			t.Errorf("%s: no Systemd_Filter SYSLOG_IDENTIFIER=%s (have %q)", where, id, filters)
		}
	}
	for _, want := range [][2]string{{"storage.type", "filesystem"}, {"read_from_tail", "on"}} {
		if got := s.get(want[0]); len(got) != 1 || !strings.EqualFold(got[0], want[1]) {
			t.Errorf("%s: %s = %v, want %s", where, want[0], got, want[1])
		}
	}
	if db := s.get("db"); len(db) != 1 || !filepath.IsAbs(db[0]) {
		t.Errorf("%s: DB = %v, want an absolute path", where, db)
	}
	// The plugin reads MESSAGE, SYSLOG_IDENTIFIER, _SYSTEMD_UNIT, _HOSTNAME...
	// by the journal's names; these in_systemd options rename the fields.
	for _, k := range []string{"strip_underscores", "lowercase"} {
		for _, v := range s.get(k) {
			if on, err := parseBool(v, false); err != nil || on {
				t.Errorf("%s: %s = %q, want off: the plugin expects the journal's field names", where, k, v)
			}
		}
	}
	// Every key is one in_systemd (plugins/in_systemd/systemd.c config_map)
	// or the input core knows; an unknown key makes Fluent Bit refuse the
	// input.
	known := map[string]bool{}
	for _, k := range []string{"name", "tag", "alias", "log_level", "log_suppress_interval", "threaded",
		"mem_buf_limit", "storage.type", "storage.pause_on_chunks_overlimit", "routable",
		"path", "max_fields", "max_entries", "systemd_filter_type", "systemd_filter", "read_from_tail",
		"lowercase", "strip_underscores", "db", "db.sync"} {
		known[k] = true
	}
	for _, p := range s.props {
		if !known[strings.ToLower(p[0])] {
			t.Errorf("%s: %q is not a key of Fluent Bit's systemd input", where, p[0])
		}
	}
	for _, v := range s.get("systemd_filter_type") {
		if !strings.EqualFold(v, "or") && !strings.EqualFold(v, "and") {
			t.Errorf("%s: Systemd_Filter_Type %q, want and or or", where, v)
		}
	}
	for _, v := range s.get("db.sync") {
		switch strings.ToLower(v) {
		case "extra", "full", "normal", "off":
		default:
			t.Errorf("%s: DB.Sync %q, want extra, full, normal or off", where, v)
		}
	}
}

// serviceKeys are [SERVICE] keys of Fluent Bit (src/flb_config.c
// service_configs, the ones a node configuration may use). Fluent Bit
// ignores an unknown one silently, so a typo would quietly turn off, e.g.,
// filesystem buffering.
var serviceKeys = map[string]bool{}

func init() {
	for _, k := range []string{"flush", "grace", "daemon", "log_level", "log_file", "http_server",
		"http_listen", "http_port", "health_check", "hc_errors_count", "hc_retry_failure_count",
		"hc_period", "storage.path", "storage.sync", "storage.checksum", "storage.backlog.mem_limit",
		"storage.max_chunks_up", "storage.metrics", "storage.delete_irrecoverable_chunks",
		"storage.keep.rejected", "storage.rejected.path", "storage.backlog.flush_on_shutdown",
		"storage.trim_files", "storage.type", "storage.inherit", "parsers_file", "plugins_file",
		"streams_file", "hot_reload", "hot_reload.ensure_thread_safety", "hot_reload.timeout",
		"coro_stack_size", "multiline_buffer_limit", "scheduler.base", "scheduler.cap", "dns.mode",
		"dns.resolver", "dns.prefer_ipv4", "dns.prefer_ipv6"} {
		serviceKeys[k] = true
	}
}

func checkService(t *testing.T, where string, keys []string) {
	t.Helper()
	for _, k := range keys {
		if !serviceKeys[strings.ToLower(k)] {
			t.Errorf("%s: %q is not a Fluent Bit service key", where, k)
		}
	}
}

func TestConfClassic(t *testing.T) {
	secs := parseClassic(t, filepath.Join(confDir, "fluent-bit.conf"))
	var outputs, inputs int
	for _, s := range secs {
		switch s.name {
		case "SERVICE":
			var keys []string
			for _, p := range s.props {
				keys = append(keys, p[0])
			}
			checkService(t, "fluent-bit.conf [SERVICE]", keys)
			if pf := s.get("plugins_file"); len(pf) != 1 || pf[0] != "plugins.conf" {
				t.Errorf("[SERVICE] Plugins_File = %v", pf)
			}
			if sp := s.get("storage.path"); len(sp) != 1 {
				t.Errorf("[SERVICE] storage.path = %v", sp)
			}
		case "INPUT":
			if n := s.get("name"); len(n) == 1 && n[0] == "systemd" {
				inputs++
				checkInput(t, "fluent-bit.conf [INPUT]", s)
			}
		case "OUTPUT":
			if n := s.get("name"); len(n) == 1 && n[0] == "nri_audit" {
				outputs++
				checkOutput(t, "fluent-bit.conf [OUTPUT]", s)
			}
		case "PLUGINS":
			t.Error("fluent-bit.conf: keep [PLUGINS] in plugins.conf")
		}
	}
	if outputs != 1 || inputs != 1 {
		t.Fatalf("fluent-bit.conf: %d nri_audit outputs, %d systemd inputs", outputs, inputs)
	}
	plugins := parseClassic(t, filepath.Join(confDir, "plugins.conf"))
	if len(plugins) != 1 || plugins[0].name != "PLUGINS" {
		t.Fatalf("plugins.conf: sections %v", plugins)
	}
	paths := plugins[0].get("path")
	if len(paths) != 1 || !filepath.IsAbs(paths[0]) || filepath.Base(paths[0]) != "out_nri_audit.so" {
		t.Fatalf("plugins.conf: Path = %v", paths)
	}
}

func TestConfYAML(t *testing.T) {
	inputs, outputs, plugins := yamlSections(t, filepath.Join(confDir, "fluent-bit.yaml"))
	b, err := os.ReadFile(filepath.Join(confDir, "fluent-bit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for k := range top {
		switch k {
		case "service", "plugins", "pipeline", "parsers", "multiline_parsers", "includes", "env", "customs":
		default:
			t.Errorf("fluent-bit.yaml: unknown top-level section %q", k)
		}
	}
	var svc struct {
		Service map[string]any `yaml:"service"`
	}
	if err := yaml.Unmarshal(b, &svc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range svc.Service {
		keys = append(keys, k)
	}
	checkService(t, "fluent-bit.yaml service", keys)
	if len(plugins) != 1 || !filepath.IsAbs(plugins[0]) || filepath.Base(plugins[0]) != "out_nri_audit.so" {
		t.Fatalf("plugins: %v", plugins)
	}
	n := 0
	for _, s := range outputs {
		if len(s.get("name")) == 1 && s.get("name")[0] == "nri_audit" {
			n++
			checkOutput(t, "fluent-bit.yaml outputs", s)
		}
	}
	m := 0
	for _, s := range inputs {
		if len(s.get("name")) == 1 && s.get("name")[0] == "systemd" {
			m++
			checkInput(t, "fluent-bit.yaml inputs", s)
		}
	}
	if n != 1 || m != 1 {
		t.Fatalf("fluent-bit.yaml: %d nri_audit outputs, %d systemd inputs", n, m)
	}
}

// The two formats configure the same output.
func TestConfFormatsAgree(t *testing.T) {
	var classic section
	for _, s := range parseClassic(t, filepath.Join(confDir, "fluent-bit.conf")) {
		if s.name == "OUTPUT" {
			classic = s
		}
	}
	_, outputs, _ := yamlSections(t, filepath.Join(confDir, "fluent-bit.yaml"))
	norm := func(s section) map[string]string {
		m := map[string]string{}
		for _, p := range s.props {
			m[strings.ToLower(p[0])] = strings.ToLower(p[1])
		}
		return m
	}
	a, b := norm(classic), norm(outputs[0])
	for k, v := range a {
		if b[k] != v {
			t.Errorf("output key %s: classic %q, YAML %q", k, v, b[k])
		}
	}
	if len(a) != len(b) {
		t.Errorf("classic output has %d keys, YAML %d", len(a), len(b))
	}
}
