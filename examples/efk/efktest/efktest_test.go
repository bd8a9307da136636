package efktest

import (
	"strings"
	"testing"
)

func TestParseDockerfile(t *testing.T) {
	d, err := ParseDockerfile([]byte(`# syntax=docker/dockerfile:1
ARG BASE=golang:1.26.8-bookworm
ARG RUNTIME=debian:bookworm-slim
FROM ${BASE} AS build
RUN --mount=type=cache,target=/go/pkg/mod \
    go build -o /out/x ./cmd/x \
 # a comment inside the continuation
 && echo done
FROM $RUNTIME
COPY --from=build /out/x /usr/local/bin/x
ENTRYPOINT ["/usr/local/bin/x", "--flag"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Stages) != 2 || d.Stages[0].Name != "build" || d.Stages[0].Image != "golang:1.26.8-bookworm" || d.Stages[1].Image != "debian:bookworm-slim" {
		t.Fatalf("stages %+v", d.Stages)
	}
	run := d.Stages[0].Instr[0]
	if run.Cmd != "RUN" || run.Flag("mount") != "type=cache,target=/go/pkg/mod" || !strings.Contains(strings.Join(run.Args, " "), "go build -o /out/x ./cmd/x && echo done") {
		t.Errorf("RUN %+v", run)
	}
	cp := d.Stages[1].Instr[0]
	if cp.Flag("from") != "build" || strings.Join(cp.Args, " ") != "/out/x /usr/local/bin/x" {
		t.Errorf("COPY %+v", cp)
	}
	if ep := d.Stages[1].Instr[1]; strings.Join(ep.Args, "|") != "/usr/local/bin/x|--flag" {
		t.Errorf("ENTRYPOINT %+v", ep)
	}
	for name, bad := range map[string]string{
		"no FROM":            "RUN true\n",
		"undefined ARG":      "FROM ${NOPE}\n",
		"bad JSON form":      "FROM x\nCMD [\"a\",\n",
		"dangling backslash": "FROM x\nRUN a \\\n",
		"FROM syntax":        "FROM a b\n",
	} {
		if _, err := ParseDockerfile([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

const goodConfig = `service:
  flush: 1
  storage.path: ${STATE}/storage
plugins:
  - /fluent-bit/plugins/out_nri_audit.so
pipeline:
  inputs:
    - name: systemd
      tag: nri.*
      systemd_filter:
        - SYSLOG_IDENTIFIER=containerd
        - SYSLOG_IDENTIFIER=crio
      db: ${STATE}/systemd.db
  outputs:
    - name: nri_audit
      match: nri.*
      workers: 1
      url: ${ES}
      index: nri-audit-%Y.%m.%d
`

func TestParseFluentBitYAML(t *testing.T) {
	env := map[string]string{"STATE": "/state", "ES": "http://es:9200"}
	cfg, err := ParseFluentBitYAML([]byte(goodConfig), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Service["storage.path"] != "/state/storage" || len(cfg.Plugins) != 1 || len(cfg.Inputs) != 1 || len(cfg.Outputs) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	in := cfg.Inputs[0]
	if len(in.Props["systemd_filter"]) != 2 || in.Get("db") != "/state/systemd.db" {
		t.Errorf("input %+v", in)
	}
	if strings.Join(cfg.Vars, ",") != "ES,STATE" {
		t.Errorf("vars %v", cfg.Vars)
	}
	c, err := CheckNRIAuditOutput(cfg.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ES.URLs) != 1 || c.ES.URLs[0] != "http://es:9200" {
		t.Errorf("parsed URLs %v", c.ES.URLs)
	}

	for name, tc := range map[string]struct {
		edit func(string) string
		want string
	}{
		"undefined variable": {func(s string) string { return strings.ReplaceAll(s, "${ES}", "${ES_URL}") }, "${ES_URL} is not defined"},
		"service typo":       {func(s string) string { return strings.Replace(s, "flush: 1", "flsh: 1", 1) }, `unknown key "flsh"`},
		"input typo":         {func(s string) string { return strings.Replace(s, "db: ", "dbx: ", 1) }, `unknown key "dbx"`},
		"relative plugin":    {func(s string) string { return strings.Replace(s, "/fluent-bit/plugins/", "", 1) }, "not an absolute .so path"},
		"flb- plugin name":   {func(s string) string { return strings.Replace(s, "out_nri_audit.so", "flb-out.so", 1) }, "must not start with flb-"},
		"section typo":       {func(s string) string { return strings.Replace(s, "pipeline:", "pipelines:", 1) }, "unknown top-level section"},
		"duplicate key":      {func(s string) string { return strings.Replace(s, "workers: 1", "workers: 1\n      workers: 2", 1) }, "twice"},
	} {
		if _, err := ParseFluentBitYAML([]byte(tc.edit(goodConfig)), env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}

func TestCheckNRIAuditOutputRejects(t *testing.T) {
	for name, props := range map[string]map[string][]string{
		"unknown key":       {"name": {"nri_audit"}, "es_url": {"http://es:9200"}},
		"bad url":           {"name": {"nri_audit"}, "url": {"es:9200"}},
		"password, no user": {"name": {"nri_audit"}, "password": {"x"}},
		"two auth methods":  {"name": {"nri_audit"}, "user": {"u"}, "api_key": {"k"}},
		"repeated key":      {"name": {"nri_audit"}, "index": {"a", "b"}},
	} {
		if _, err := CheckNRIAuditOutput(Section{Name: "nri_audit", Props: props}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Core keys never reach the plugin and are not checked against it.
	ok := Section{Name: "nri_audit", Props: map[string][]string{"name": {"nri_audit"}, "match": {"*"}, "retry_limit": {"no_limits"}, "tls.verify": {"on"}}}
	if _, err := CheckNRIAuditOutput(ok); err != nil {
		t.Errorf("core keys: %v", err)
	}
}

func TestMappingsResolve(t *testing.T) {
	m, err := ParseMappings(
		[]byte(`{"template":{"mappings":{
			"dynamic_templates":[
				{"nri_strings":{"match":"nri_*","match_mapping_type":"string","mapping":{"type":"keyword"}}},
				{"longs":{"match":"*_count","match_mapping_type":"long","mapping":{"type":"long"}}},
				{"catch_all":{"match_mapping_type":"string","mapping":{"type":"keyword"}}}],
			"properties":{"@timestamp":{"type":"date_nanos"},
				"nri_msg":{"type":"keyword","fields":{"text":{"type":"text"}}},
				"host":{"properties":{"name":{"type":"keyword"}}}}}}}`),
		[]byte(`{"template":{"mappings":{"properties":{"nri_removal":{"type":"boolean"}}}}}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"@timestamp":     "date_nanos/explicit",
		"nri_msg.text":   "text/explicit",
		"host.name":      "keyword/explicit",
		"nri_removal":    "boolean/explicit",
		"nri_value_name": "keyword/nri_strings",
		"other_field":    "", // only the catch-all matches: not "mapped"
		"nri_count":      "keyword/nri_strings",
	} {
		typ, src, ok := m.Resolve(field)
		got := ""
		if ok {
			got = typ + "/" + src
		}
		if got != want {
			t.Errorf("Resolve(%q) = %q, want %q", field, got, want)
		}
	}
	if _, ok := m.Explicit("nri_value_name"); ok {
		t.Error("a dynamically mapped field counts as explicit")
	}
	if _, err := ParseMappings([]byte(`{"template":{"mappings":{"properties":[]}}}`)); err == nil {
		t.Error("bad mappings accepted")
	}
	// Elasticsearch's defaults, and later templates overriding earlier ones.
	if !m.DateDetection || m.NumericDetection {
		t.Errorf("defaults: date_detection %v numeric_detection %v, want true false", m.DateDetection, m.NumericDetection)
	}
	m, err = ParseMappings(
		[]byte(`{"template":{"mappings":{"date_detection":false,"numeric_detection":true}}}`),
		[]byte(`{"template":{"mappings":{"numeric_detection":false}}}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if m.DateDetection || m.NumericDetection {
		t.Errorf("date_detection %v numeric_detection %v, want false false", m.DateDetection, m.NumericDetection)
	}
}

func FuzzParseDockerfile(f *testing.F) {
	f.Add([]byte("ARG A=x\nFROM ${A} AS b\nRUN a \\\n b\nCOPY --from=b /x /y\nCMD [\"a\"]\n"))
	f.Add([]byte("FROM x\nENV A=1 B=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDockerfile(data)
		if err == nil && len(d.Stages) == 0 {
			t.Fatal("no error and no stage")
		}
	})
}

func FuzzParseFluentBitYAML(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte("service: {flush: ${X}}\n"))
	f.Add([]byte("pipeline: {inputs: [{name: systemd, systemd_filter: [a, b]}]}\n"))
	env := map[string]string{"STATE": "/s", "ES": "http://es:9200", "X": "1"}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseFluentBitYAML(data, env)
		if err != nil {
			return
		}
		for _, o := range cfg.Outputs {
			if o.Name == "nri_audit" {
				_, _ = CheckNRIAuditOutput(o)
			}
		}
	})
}
