package esbulk_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fakeES is an Elasticsearch stand-in on 127.0.0.1: it answers _bulk,
// GET / and the template/ILM APIs with Elasticsearch 8's response bodies,
// honours filter_path the way Elasticsearch does, stores documents by
// index and _id (so create on an existing id is a 409), and checks every
// request it gets; violations fail the test at cleanup.
type fakeES struct {
	t   testing.TB
	srv *httptest.Server

	mu sync.Mutex
	// expectations
	wantAuth         string // exact Authorization value; "" accepts none
	wantGzip         bool
	maxContentLength int               // uncompressed body limit (413 above); default 100 MiB
	typed            map[string]string // field → "long": documents whose value is not a number get a parsing error
	typedErrType     string            // document_parsing_exception (default) or mapper_parsing_exception
	wantParams       map[string]string // query parameters every bulk request must carry

	// failure injection
	httpFail       []int                                   // statuses for the next bulk requests (0: normal)
	drop           int                                     // next N bulk requests: connection closed, nothing indexed
	dropAfterIndex int                                     // next N bulk requests: indexed, then connection closed
	itemFail       func(index, id string, attempt int) int // per-item status to inject (0: normal)
	onBulk         func(n int)                             // called with the bulk request number (1-based)

	// state and observations
	docs       map[string]map[string][]byte // index → _id → source
	seq        int
	assets     map[string]json.RawMessage // API path → stored body
	ilmVersion map[string]int
	puts       map[string]int // API path → PUT count
	requests   int            // requests received
	bulks      int            // bulk requests past authentication
	reqIDs     [][]string     // ids per bulk request that reached indexing
	attempts   map[string]int // id → times it reached indexing
	statuses   map[int]int    // item status → count
	status413  int
	violations []string
}

func newFakeES(t testing.TB) *fakeES {
	f := &fakeES{
		t:          t,
		docs:       map[string]map[string][]byte{},
		assets:     map[string]json.RawMessage{},
		ilmVersion: map[string]int{},
		puts:       map[string]int{},
		attempts:   map[string]int{},
		statuses:   map[int]int{},
	}
	f.srv = httptest.NewUnstartedServer(f)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, v := range f.violations {
			t.Errorf("fake Elasticsearch: bad request: %s", v)
		}
	})
	return f
}

func (f *fakeES) start() *fakeES { f.srv.Start(); return f }

func (f *fakeES) URL() string { return f.srv.URL }

func (f *fakeES) violate(format string, args ...any) {
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

// count returns the number of stored documents.
func (f *fakeES) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.docs {
		n += len(m)
	}
	return n
}

func (f *fakeES) doc(index, id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.docs[index][id]
	return d, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// esError is Elasticsearch's whole-request error body.
func esError(status int, typ, reason string, extra map[string]any) map[string]any {
	cause := map[string]any{"type": typ, "reason": reason}
	for k, v := range extra {
		cause[k] = v
	}
	top := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		top[k] = v
	}
	return map[string]any{"error": top, "status": status}
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Elasticsearch 8 sends this on every response, errors included.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	f.mu.Lock()
	f.requests++
	wantAuth := f.wantAuth
	f.mu.Unlock()
	if wantAuth != "" && r.Header.Get("Authorization") != wantAuth {
		w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", "ApiKey")
		reason := "missing authentication credentials for REST request [" + r.URL.RequestURI() + "]"
		if r.Header.Get("Authorization") != "" {
			reason = "unable to authenticate user [elastic] for REST request [" + r.URL.RequestURI() + "]"
		}
		writeJSON(w, 401, esError(401, "security_exception", reason, map[string]any{
			"header": map[string]any{"WWW-Authenticate": []string{`Basic realm="security", charset="UTF-8"`, "ApiKey"}},
		}))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case path == "" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{
			"name": "es01", "cluster_name": "docker-cluster", "cluster_uuid": "3kB2Yb0nTkaRH2tGaxpRZg",
			"version": map[string]any{
				"number": "8.17.0", "build_flavor": "default", "build_type": "docker",
				"build_hash": "2b6a7fed44faa321997703718f07ee0420804b41", "build_date": "2024-12-11T12:08:05.663969764Z",
				"build_snapshot": false, "lucene_version": "9.12.0",
				"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0",
			},
			"tagline": "You Know, for Search",
		})
	case path == "_bulk":
		f.bulk(w, r)
	case strings.HasPrefix(path, "_component_template/"), strings.HasPrefix(path, "_index_template/"), strings.HasPrefix(path, "_ilm/policy/"):
		f.asset(w, r, path)
	default:
		writeJSON(w, 400, map[string]any{"error": "no handler found for uri [" + r.URL.Path + "] and method [" + r.Method + "]"})
	}
}

func (f *fakeES) readBody(r *http.Request) ([]byte, bool) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.violate("reading body: %v", err)
		return nil, false
	}
	if r.ContentLength >= 0 && int64(len(raw)) != r.ContentLength {
		f.violate("Content-Length %d but %d bytes", r.ContentLength, len(raw))
	}
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "":
		if f.wantGzip {
			f.violate("%s %s: body not gzipped", r.Method, r.URL.Path)
		}
		return raw, true
	case "gzip":
		if !f.wantGzip {
			f.violate("%s %s: unexpected gzip", r.Method, r.URL.Path)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			f.violate("gzip: %v", err)
			return nil, false
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			f.violate("gzip: %v", err)
			return nil, false
		}
		return b, true
	default:
		f.violate("unsupported Content-Encoding %q", enc)
		return nil, false
	}
}

func hijackClose(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

type bulkOp struct {
	index, id string
	source    []byte
	fields    map[string]any
}

func (f *fakeES) bulk(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bulks++
	if f.onBulk != nil {
		f.onBulk(f.bulks)
	}
	if r.Method != http.MethodPost {
		f.violate("bulk with method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		f.violate("bulk Content-Type %q", ct)
	}
	q := r.URL.Query()
	if fp := q.Get("filter_path"); fp != "errors,items.*.status,items.*.error" {
		f.violate("bulk filter_path %q", fp)
	}
	for k, v := range f.wantParams {
		if q.Get(k) != v {
			f.violate("bulk query %s=%q, want %q", k, q.Get(k), v)
		}
	}
	body, ok := f.readBody(r)
	if !ok {
		writeJSON(w, 400, esError(400, "parse_exception", "request body is required", nil))
		return
	}
	limit := f.maxContentLength
	if limit == 0 {
		limit = 100 << 20
	}
	if len(body) > limit {
		// Elasticsearch answers 413 with an empty body.
		f.status413++
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if len(f.httpFail) > 0 {
		s := f.httpFail[0]
		f.httpFail = f.httpFail[1:]
		if s != 0 {
			writeHTTPFailure(w, s)
			return
		}
	}
	if f.drop > 0 {
		f.drop--
		hijackClose(w)
		return
	}
	ops, err := parseBulkBody(body)
	if err != nil {
		f.violate("bulk body: %v", err)
		writeJSON(w, 400, esError(400, "illegal_argument_exception", err.Error(), nil))
		return
	}
	items := make([]any, 0, len(ops))
	errorsSeen := false
	var ids []string
	for _, op := range ops {
		ids = append(ids, op.id)
		f.attempts[op.id]++
		item, status := f.index(op)
		f.statuses[status]++
		if status >= 300 {
			errorsSeen = true
		}
		items = append(items, map[string]any{"create": item})
	}
	f.reqIDs = append(f.reqIDs, ids)
	if f.dropAfterIndex > 0 {
		f.dropAfterIndex--
		hijackClose(w)
		return
	}
	var resp any = map[string]any{"took": 3, "errors": errorsSeen, "items": items}
	if fp := q.Get("filter_path"); fp != "" {
		resp = filterPath(resp, strings.Split(fp, ","))
	}
	writeJSON(w, 200, resp)
}

// index applies one create and returns Elasticsearch's item result.
func (f *fakeES) index(op bulkOp) (map[string]any, int) {
	fail := func(status int, e map[string]any) (map[string]any, int) {
		return map[string]any{"_index": op.index, "_id": op.id, "status": status, "error": e}, status
	}
	if f.itemFail != nil {
		switch s := f.itemFail(op.index, op.id, f.attempts[op.id]); s {
		case 0:
		case 429:
			return fail(429, map[string]any{"type": "es_rejected_execution_exception",
				"reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, replica_bytes=0, all_bytes=104857600, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=107374182]"})
		case 503:
			return fail(503, map[string]any{"type": "unavailable_shards_exception",
				"reason": "[" + op.index + "][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[" + op.index + "][0]] containing [1] requests]"})
		case 403:
			return fail(403, map[string]any{"type": "cluster_block_exception",
				"reason": "index [" + op.index + "] blocked by: [FORBIDDEN/8/index write (api)];"})
		case 404:
			return fail(404, map[string]any{"type": "index_not_found_exception", "reason": "no such index [" + op.index + "]",
				"resource.type": "index_or_alias", "resource.id": op.index, "index_uuid": "_na_", "index": op.index})
		default:
			return fail(s, map[string]any{"type": "illegal_argument_exception", "reason": "injected status " + strconv.Itoa(s)})
		}
	}
	for field, typ := range f.typed {
		v, ok := op.fields[field]
		if !ok || typ != "long" {
			continue
		}
		s, _ := v.(string)
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			et := f.typedErrType
			if et == "" {
				et = "document_parsing_exception"
			}
			col := bytes.Index(op.source, []byte(`"`+field+`"`)) + len(field) + 4
			return fail(400, map[string]any{
				"type": et,
				"reason": fmt.Sprintf("[1:%d] failed to parse field [%s] of type [long] in document with id '%s'. Preview of field's value: '%s'",
					col, field, op.id, s),
				"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": fmt.Sprintf("For input string: %q", s)},
			})
		}
	}
	m := f.docs[op.index]
	if m == nil {
		m = map[string][]byte{}
		f.docs[op.index] = m
	}
	if _, exists := m[op.id]; exists {
		return fail(409, map[string]any{
			"type":       "version_conflict_engine_exception",
			"reason":     "[" + op.id + "]: version conflict, document already exists (current version [1])",
			"index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": op.index,
		})
	}
	m[op.id] = op.source
	f.seq++
	return map[string]any{
		"_index": op.index, "_id": op.id, "_version": 1, "result": "created",
		"_shards": map[string]any{"total": 2, "successful": 1, "failed": 0},
		"_seq_no": f.seq - 1, "_primary_term": 1, "status": 201,
	}, 201
}

func writeHTTPFailure(w http.ResponseWriter, status int) {
	switch status {
	case 503:
		writeJSON(w, 503, esError(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];", nil))
	case 429:
		writeJSON(w, 429, esError(429, "circuit_breaking_exception",
			"[parent] Data too large, data for [<http_request>] would be [1021054976/973.7mb], which is larger than the limit of [1020054732/972.7mb]",
			map[string]any{"bytes_wanted": 1021054976, "bytes_limit": 1020054732, "durability": "TRANSIENT"}))
	case 400:
		writeJSON(w, 400, esError(400, "illegal_argument_exception",
			"Malformed action/metadata line [1], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", nil))
	case 403:
		writeJSON(w, 403, esError(403, "security_exception",
			"action [indices:data/write/bulk] is unauthorized for user [nri] with effective roles [viewer], this action is granted by the cluster privileges [all]", nil))
	case 404:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		io.WriteString(w, "<html><body>404 Not Found</body></html>")
	default:
		writeJSON(w, status, esError(status, "exception", "injected failure", nil))
	}
}

// parseBulkBody checks the NDJSON the way Elasticsearch does and returns
// the create operations.
func parseBulkBody(body []byte) ([]bulkOp, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("request body is required")
	}
	if body[len(body)-1] != '\n' {
		return nil, fmt.Errorf("The bulk request must be terminated by a newline [\\n]")
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("body is not valid UTF-8")
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 200<<20)
	var ops []bulkOp
	line := 0
	for sc.Scan() {
		line++
		var action map[string]map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&action); err != nil || dec.More() {
			return nil, fmt.Errorf("Malformed action/metadata line [%d]: %v", line, err)
		}
		meta, ok := action["create"]
		if len(action) != 1 || !ok {
			return nil, fmt.Errorf("line %d: want exactly one create action, got %s", line, sc.Bytes())
		}
		index, _ := meta["_index"].(string)
		id, _ := meta["_id"].(string)
		if index == "" || id == "" || len(meta) != 2 {
			return nil, fmt.Errorf("line %d: create needs _index and _id only: %s", line, sc.Bytes())
		}
		if !sc.Scan() {
			return nil, fmt.Errorf("Validation Failed: 1: no requests added; action line %d has no source", line)
		}
		line++
		src := append([]byte(nil), sc.Bytes()...)
		var fields map[string]any
		dec = json.NewDecoder(bytes.NewReader(src))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil || dec.More() {
			return nil, fmt.Errorf("line %d: source is not one JSON object: %v: %q", line, err, src)
		}
		if _, ok := fields["@timestamp"].(string); !ok {
			return nil, fmt.Errorf("line %d: no @timestamp string", line)
		}
		ops = append(ops, bulkOp{index: index, id: id, source: src, fields: fields})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ops, nil
}

// filterPath applies Elasticsearch's filter_path to a decoded response:
// dotted paths with * wildcards; arrays are transparent; objects left
// empty are dropped.
func filterPath(v any, paths []string) any {
	var segs [][]string
	for _, p := range paths {
		segs = append(segs, strings.Split(p, "."))
	}
	out, _ := filterValue(v, segs)
	if out == nil {
		return map[string]any{}
	}
	return out
}

func filterValue(v any, segs [][]string) (any, bool) {
	for _, s := range segs {
		if len(s) == 0 {
			return v, true // a path ended here: keep the whole subtree
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range x {
			var next [][]string
			for _, s := range segs {
				if s[0] == "*" || s[0] == k {
					next = append(next, s[1:])
				}
			}
			if len(next) == 0 {
				continue
			}
			if fv, ok := filterValue(child, next); ok {
				out[k] = fv
			}
		}
		if len(out) == 0 {
			return nil, false
		}
		return out, true
	case []any:
		var out []any
		for _, e := range x {
			if fv, ok := filterValue(e, segs); ok {
				out = append(out, fv)
			}
		}
		if len(out) == 0 {
			return nil, false
		}
		return out, true
	}
	return nil, false // a leaf with path segments left does not match
}

// asset serves the component template, index template and ILM APIs.
func (f *fakeES) asset(w http.ResponseWriter, r *http.Request, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kind, name, _ := strings.Cut(path, "/")
	if kind == "_ilm" {
		kind, name = "_ilm/policy", strings.TrimPrefix(path, "_ilm/policy/")
	}
	stored, ok := f.assets[path]
	switch r.Method {
	case http.MethodGet:
		if !ok {
			reason := map[string]string{
				"_component_template": "component template matching [" + name + "] not found",
				"_index_template":     "index template matching [" + name + "] not found",
				"_ilm/policy":         "Lifecycle policy not found: " + name,
			}[kind]
			writeJSON(w, 404, esError(404, "resource_not_found_exception", reason, nil))
			return
		}
		switch kind {
		case "_component_template":
			writeJSON(w, 200, map[string]any{"component_templates": []any{map[string]any{"name": name, "component_template": stored}}})
		case "_index_template":
			writeJSON(w, 200, map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": stored}}})
		default:
			writeJSON(w, 200, map[string]any{name: map[string]any{
				"version": f.ilmVersion[name], "modified_date": "2026-02-09T16:44:32.545Z", "policy": stored,
				"in_use_by": map[string]any{"indices": []any{}, "data_streams": []any{}, "composable_templates": []any{}},
			}})
		}
	case http.MethodPut:
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.violate("PUT %s Content-Type %q", path, ct)
		}
		body, okBody := f.readBody(r)
		var obj map[string]json.RawMessage
		if !okBody || json.Unmarshal(body, &obj) != nil {
			f.violate("PUT %s: body is not a JSON object", path)
			writeJSON(w, 400, esError(400, "parse_exception", "request body is required", nil))
			return
		}
		switch kind {
		case "_ilm/policy":
			p, ok := obj["policy"]
			if !ok {
				writeJSON(w, 400, esError(400, "parse_exception", "required [policy]", nil))
				return
			}
			f.assets[path] = p
			f.ilmVersion[name]++
		case "_component_template":
			if _, ok := obj["template"]; !ok {
				writeJSON(w, 400, esError(400, "x_content_parse_exception", "[1:2] [component_template] failed to parse field [template]", nil))
				return
			}
			f.assets[path] = body
		case "_index_template":
			var tpl struct {
				IndexPatterns []string `json:"index_patterns"`
				ComposedOf    []string `json:"composed_of"`
			}
			json.Unmarshal(body, &tpl)
			if len(tpl.IndexPatterns) == 0 {
				writeJSON(w, 400, esError(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;", nil))
				return
			}
			var missing []string
			for _, c := range tpl.ComposedOf {
				if _, ok := f.assets["_component_template/"+c]; !ok {
					missing = append(missing, c)
				}
			}
			if len(missing) > 0 {
				writeJSON(w, 400, esError(400, "invalid_index_template_exception",
					"index_template ["+name+"] invalid, cause [index template ["+name+"] specifies component templates "+fmt.Sprint(missing)+" that do not exist]", nil))
				return
			}
			f.assets[path] = body
		}
		f.puts[path]++
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	default:
		writeJSON(w, 405, map[string]any{"error": "Incorrect HTTP method for uri [/" + path + "] and method [" + r.Method + "], allowed: [GET, PUT, DELETE]", "status": 405})
	}
}
