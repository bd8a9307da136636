package main

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// templateES answers GET / and the ILM, component and index template
// APIs like Elasticsearch 8 (GET 404 when absent, PUT acknowledged, an
// index template refused when its component templates are missing).
type templateES struct {
	mu     sync.Mutex
	assets map[string]json.RawMessage
	puts   []string
	auth   string
}

func newTemplateES(t *testing.T) (*templateES, *httptest.Server) {
	es := &templateES{assets: map[string]json.RawMessage{}}
	srv := httptest.NewServer(es)
	t.Cleanup(srv.Close)
	return es, srv
}

func (es *templateES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	es.mu.Lock()
	defer es.mu.Unlock()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	es.auth = r.Header.Get("Authorization")
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == "" {
		io.WriteString(w, `{"name":"es01","cluster_name":"docker-cluster","version":{"number":"8.17.0","build_flavor":"default"},"tagline":"You Know, for Search"}`)
		return
	}
	var kind, name string
	for _, k := range []string{"_ilm/policy/", "_component_template/", "_index_template/"} {
		if n, ok := strings.CutPrefix(p, k); ok {
			kind, name = k, n
		}
	}
	if kind == "" {
		w.WriteHeader(400)
		io.WriteString(w, `{"error":"no handler found for uri [/`+p+`] and method [`+r.Method+`]"}`)
		return
	}
	stored, ok := es.assets[p]
	if r.Method == http.MethodGet {
		if !ok {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"not found"}],"type":"resource_not_found_exception","reason":"not found"},"status":404}`)
			return
		}
		var out any
		switch kind {
		case "_ilm/policy/":
			out = map[string]any{name: map[string]any{"version": 1, "policy": stored}}
		case "_component_template/":
			out = map[string]any{"component_templates": []any{map[string]any{"name": name, "component_template": stored}}}
		default:
			out = map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": stored}}}
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"type":"parse_exception","reason":"bad body"},"status":400}`)
		return
	}
	if kind == "_index_template/" {
		var tpl struct {
			ComposedOf []string `json:"composed_of"`
		}
		json.Unmarshal(body, &tpl)
		for _, c := range tpl.ComposedOf {
			if _, ok := es.assets["_component_template/"+c]; !ok {
				w.WriteHeader(400)
				io.WriteString(w, `{"error":{"type":"invalid_index_template_exception","reason":"component template [`+c+`] does not exist"},"status":400}`)
				return
			}
		}
	}
	if kind == "_ilm/policy/" {
		es.assets[p] = obj["policy"]
	} else {
		es.assets[p] = body
	}
	es.puts = append(es.puts, p)
	io.WriteString(w, `{"acknowledged":true}`)
}

func TestSetupInstallsOnceAndReports(t *testing.T) {
	es, srv := newTemplateES(t)
	code, out, stderr := runCmd(t, "", "setup", "--url", srv.URL, "--user", "elastic", "--password", "pw")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{
		"created   _ilm/policy/nri-audit-daily (version 1)",
		"created   _component_template/nri-audit-mappings (version 2)",
		"created   _component_template/nri-audit-settings (version 1)",
		"created   _index_template/nri-audit (version 1)",
		"created   _index_template/nri-audit-dead-letter (version 1)",
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("output:\n%s", out)
	}
	if es.auth != "Basic ZWxhc3RpYzpwdw==" {
		t.Errorf("auth %q", es.auth)
	}
	code, out, _ = runCmd(t, "", "setup", "--url", srv.URL)
	if code != 0 || strings.Count(out, "unchanged") != 5 || len(es.puts) != 5 {
		t.Errorf("second run: exit %d, %d PUTs:\n%s", code, len(es.puts), out)
	}
}

func TestSetupDataStream(t *testing.T) {
	es, srv := newTemplateES(t)
	code, out, stderr := runCmd(t, "", "setup", "--url", srv.URL, "--data-stream", "audit-prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "created   _index_template/nri-audit-ds") || strings.Contains(out, "_index_template/nri-audit ") {
		t.Errorf("output:\n%s", out)
	}
	var tpl struct {
		IndexPatterns []string       `json:"index_patterns"`
		DataStream    map[string]any `json:"data_stream"`
		Priority      int            `json:"priority"`
	}
	json.Unmarshal(es.assets["_index_template/nri-audit-ds"], &tpl)
	if !reflect.DeepEqual(tpl.IndexPatterns, []string{"audit-prod"}) || tpl.DataStream == nil || tpl.Priority <= 100 {
		t.Errorf("template %s", es.assets["_index_template/nri-audit-ds"])
	}
}

// TestSetupDeadLetterTemplate: the dead-letter index gets its own template
// (no lifecycle, above nri-audit), named after --dead-letter-index; a data
// stream setup installs it only when a dead-letter index is configured.
func TestSetupDeadLetterTemplate(t *testing.T) {
	type tpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Priority      int      `json:"priority"`
		Template      struct {
			Settings map[string]any `json:"settings"`
		} `json:"template"`
	}
	for _, tc := range []struct {
		args []string
		want []string // patterns of nri-audit-dead-letter, nil = not installed
	}{
		{[]string{"--index", "audit-%Y.%m.%d"}, []string{"nri-audit-dead-letter"}},
		{[]string{"--index", "audit-%Y.%m.%d", "--dead-letter-index", "audit-dlq"}, []string{"audit-dlq"}},
		{[]string{"--data-stream", "logs-nri_audit-default"}, nil},
		{[]string{"--data-stream", "logs-nri_audit-default", "--dead-letter-index", "nri-audit-dead-letter"}, []string{"nri-audit-dead-letter"}},
	} {
		es, srv := newTemplateES(t)
		code, out, stderr := runCmd(t, "", append([]string{"setup", "--url", srv.URL}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		body, ok := es.assets["_index_template/nri-audit-dead-letter"]
		if tc.want == nil {
			if ok {
				t.Errorf("%v: dead-letter template installed:\n%s", tc.args, out)
			}
			continue
		}
		var got tpl
		if err := json.Unmarshal(body, &got); err != nil || !ok {
			t.Fatalf("%v: dead-letter template %s %v:\n%s", tc.args, body, err, out)
		}
		if !reflect.DeepEqual(got.IndexPatterns, tc.want) || got.Priority <= 200 || got.Template.Settings["index.lifecycle.name"] != nil {
			t.Errorf("%v: dead-letter template %s", tc.args, body)
		}
		// The index patterns of nri-audit are not the dead letter's.
		var main tpl
		if b, ok := es.assets["_index_template/nri-audit"]; ok {
			json.Unmarshal(b, &main)
			if reflect.DeepEqual(main.IndexPatterns, got.IndexPatterns) {
				t.Errorf("%v: nri-audit and nri-audit-dead-letter both match %v", tc.args, got.IndexPatterns)
			}
		}
	}
}

func TestSetupPrint(t *testing.T) {
	code, out, stderr := runCmd(t, "", "setup", "--print", "--url", "http://127.0.0.1:1", "--index", "audit-%Y.%m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(out, "\nPUT ") != 4 || !strings.HasPrefix(out, "PUT _ilm/policy/nri-audit-daily\n{") ||
		!strings.Contains(out, `"audit-*"`) {
		t.Errorf("print:\n%s", out)
	}
}

func TestSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"setup", "--url", "http://127.0.0.1:1"}, 1, "cannot reach the server"},
		{[]string{"setup", "--url", "ftp://x"}, 2, "scheme must be http or https"},
		{[]string{"setup", "--es-header", "novalue"}, 2, "want name=value"},
		{[]string{"setup", "extra"}, 2, "unexpected argument"},
	} {
		code, _, stderr := runCmd(t, "", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

func TestESFlagsEnvironment(t *testing.T) {
	env := map[string]string{envURL: "http://a:9200,http://b:9200", envUser: "nri", envPassword: "pw", envAPIKey: ""}
	parse := func(args ...string) *esFlags {
		o := &esFlags{}
		o.getenv = func(k string) string { return env[k] }
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		o.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o
	}
	c := parse().config()
	if !reflect.DeepEqual(c.URLs, []string{"http://a:9200", "http://b:9200"}) || c.User != "nri" || c.Password != "pw" || c.APIKey != "" {
		t.Errorf("env: %+v", c)
	}
	if c.Index != "nri-audit-%Y.%m.%d" || !c.Compress {
		t.Errorf("defaults: %+v", c)
	}
	o := parse("--api-key", "k", "--url", "http://c:9200", "--data-stream", "logs-nri_audit-x", "--es-param", "_msg_field=nri_msg", "--es-header", "VL-Time-Field=@timestamp")
	c = o.config()
	if c.User != "" || c.APIKey != "k" || c.Index != "" || c.DataStream != "logs-nri_audit-x" || c.URLs[0] != "http://c:9200" ||
		c.QueryParams["_msg_field"] != "nri_msg" || c.Headers["VL-Time-Field"] != "@timestamp" {
		t.Errorf("flags: %+v", c)
	}
	env[envAPIKey] = "envkey"
	if c := parse().config(); c.APIKey != "envkey" || c.User != "" {
		t.Errorf("API key from env: %+v", c)
	}
	if c := parse("--user", "me").config(); c.User != "me" || c.Password != "pw" || c.APIKey != "" {
		t.Errorf("user flag, password from env: %+v", c)
	}
}

// TestSetupDataViewCoversWhatSetupPrepared: the data view's title is the
// --index pattern, the data stream, or both when setup prepares both.
func TestSetupDataViewCoversWhatSetupPrepared(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dashboards"}, "nri-audit-*"},
		{[]string{"--index-template", "--dashboards"}, "nri-audit-*"},
		{[]string{"--index", "audit-%Y.%m.%d", "--index-template", "--dashboards"}, "audit-*"},
		{[]string{"--data-stream", "logs-nri_audit-default", "--dashboards"}, "logs-nri_audit-*"},
		{[]string{"--index-template", "--data-stream", "logs-nri_audit-default", "--dashboards"}, "nri-audit-*,logs-nri_audit-*"},
		{[]string{"--index-template", "--data-stream", "audit-prod", "--dashboards"}, "nri-audit-*,audit-prod"},
	} {
		args := append([]string{"setup", "--print", "--url", "http://127.0.0.1:1", "--kibana-url", "http://127.0.0.1:1"}, tc.args...)
		code, out, stderr := runCmd(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		got := ""
		for _, l := range strings.Split(out, "\n") {
			var o struct {
				Type       string `json:"type"`
				Attributes struct {
					Title string `json:"title"`
				} `json:"attributes"`
			}
			if json.Unmarshal([]byte(l), &o) == nil && o.Type == "index-pattern" {
				got = o.Attributes.Title
			}
		}
		if got != tc.want {
			t.Errorf("%v: data view title %q, want %q", tc.args, got, tc.want)
		}
	}
}
