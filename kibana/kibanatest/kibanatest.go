// Package kibanatest is a fake Kibana for tests: an httptest server on
// 127.0.0.1 that answers GET /api/status and
// POST [/s/<space>]/api/saved_objects/_import the way Kibana 8.x does
// (headers, auth, multipart checks, per-object reference resolution,
// conflicts, partial failures with HTTP 200 and "success":false).
//
// Input: requests from a client under test. Output: Kibana-shaped JSON
// answers, and the objects it stored, for assertions.
package kibanatest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
)

// Object is a saved object as stored by the fake.
type Object struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Attributes json.RawMessage `json:"attributes"`
	References []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"references"`
}

// Title returns attributes.title, or "".
func (o Object) Title() string {
	var a struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal(o.Attributes, &a)
	return a.Title
}

// Server is the fake Kibana. Set the fields before the first request.
type Server struct {
	*httptest.Server

	// Version is reported by /api/status (default "8.19.0").
	Version string
	// NotReadyCalls is how many /api/status calls answer 503 before Kibana
	// is available: the first half with the plain-text "Kibana server is
	// not ready yet", the rest with JSON level "unavailable".
	NotReadyCalls int
	// Users (name → password) and APIKeys (encoded keys) turn security on:
	// every request then needs one of them, else 401.
	Users   map[string]string
	APIKeys []string
	// ForbiddenUsers get 403 on import (authenticated, no privileges).
	ForbiddenUsers []string
	// Types accepted by import; default index-pattern, lens, dashboard,
	// search, visualization, tag, config.
	Types []string

	mu          sync.Mutex
	statusCalls int
	imports     []Import
	objects     map[string]map[string]Object // space → type/id → object
}

// Import records one import request the fake received.
type Import struct {
	Space     string
	Filename  string
	Overwrite bool
	Header    http.Header
	Objects   []Object
}

// NewServer starts a fake Kibana over HTTP; it is closed when the test
// ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{objects: map[string]map[string]Object{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// NewTLSServer starts a fake Kibana over HTTPS with a self-signed
// certificate (Server.Certificate()).
func NewTLSServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{objects: map[string]map[string]Object{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Imports returns the import requests received so far.
func (s *Server) Imports() []Import {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Import(nil), s.imports...)
}

// StatusCalls returns how many /api/status requests were made.
func (s *Server) StatusCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusCalls
}

// Stored returns the object of that type and id in a space ("" = default).
func (s *Server) Stored(space, typ, id string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[space][typ+"/"+id]
	return o, ok
}

// Put stores an object as if it had been created before (for conflicts
// and references to existing objects).
func (s *Server) Put(space string, o Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects[space] == nil {
		s.objects[space] = map[string]Object{}
	}
	s.objects[space][o.Type+"/"+o.ID] = o
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func kbnError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"statusCode": code, "error": http.StatusText(code), "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	user, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	space, rest := "", r.URL.Path
	if strings.HasPrefix(rest, "/s/") {
		i := strings.IndexByte(rest[3:], '/')
		if i < 0 {
			kbnError(w, http.StatusNotFound, "Not Found")
			return
		}
		space, rest = rest[3:3+i], rest[3+i:]
	}
	switch {
	case rest == "/api/status" && space == "" && r.Method == http.MethodGet:
		s.status(w)
	case rest == "/api/saved_objects/_import" && r.Method == http.MethodPost:
		for _, f := range s.ForbiddenUsers {
			if f == user {
				kbnError(w, http.StatusForbidden, "Unable to bulk_create index-pattern,lens,dashboard,search")
				return
			}
		}
		s.importObjects(w, r, space)
	default:
		kbnError(w, http.StatusNotFound, "Not Found")
	}
}

// authenticate returns the user name ("" for an API key or no security).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if len(s.Users) == 0 && len(s.APIKeys) == 0 {
		return "", true
	}
	h := r.Header.Get("Authorization")
	fail := func(msg string) (string, bool) {
		w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
		kbnError(w, http.StatusUnauthorized, "[security_exception\n\tRoot causes:\n\t\tsecurity_exception: "+msg+"]: "+msg)
		return "", false
	}
	switch {
	case h == "":
		return fail("missing authentication credentials for REST request [/_security/_authenticate]")
	case strings.HasPrefix(h, "ApiKey "):
		for _, k := range s.APIKeys {
			if h == "ApiKey "+k {
				return "", true
			}
		}
		return fail("unable to authenticate with provided credentials and anonymous access is not allowed for this request")
	case strings.HasPrefix(h, "Basic "):
		raw, err := base64.StdEncoding.DecodeString(h[len("Basic "):])
		if err == nil {
			u, p, _ := strings.Cut(string(raw), ":")
			if pw, ok := s.Users[u]; ok && pw == p {
				return u, true
			}
			return fail(fmt.Sprintf("unable to authenticate user [%s] for REST request [/_security/_authenticate]", u))
		}
	}
	return fail("unable to authenticate with provided credentials")
}

func (s *Server) status(w http.ResponseWriter) {
	s.mu.Lock()
	s.statusCalls++
	n := s.statusCalls
	s.mu.Unlock()
	version := s.Version
	if version == "" {
		version = "8.19.0"
	}
	level, code := "available", http.StatusOK
	if n <= s.NotReadyCalls {
		if n <= (s.NotReadyCalls+1)/2 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "Kibana server is not ready yet")
			return
		}
		level, code = "unavailable", http.StatusServiceUnavailable
	}
	lvl := func(l, summary string) map[string]any { return map[string]any{"level": l, "summary": summary} }
	writeJSON(w, code, map[string]any{
		"name":    "kibana",
		"uuid":    "5b2de169-2785-441b-ae8c-186a1936b17d",
		"version": map[string]any{"number": version, "build_flavor": "default", "build_snapshot": false},
		"status": map[string]any{
			"overall": lvl(level, "All services and plugins are "+level),
			"core": map[string]any{
				"elasticsearch": lvl(level, "Elasticsearch is "+level),
				"savedObjects":  lvl(level, "SavedObjects service has completed migrations and is "+level),
			},
			"plugins": map[string]any{},
		},
	})
}

func (s *Server) importObjects(w http.ResponseWriter, r *http.Request, space string) {
	if r.Header.Get("kbn-xsrf") == "" {
		kbnError(w, http.StatusBadRequest, "Request must contain a kbn-xsrf header.")
		return
	}
	q := r.URL.Query()
	overwrite := q.Get("overwrite") == "true"
	if overwrite && q.Get("createNewCopies") == "true" {
		kbnError(w, http.StatusBadRequest, "[request query]: cannot use [overwrite] with [createNewCopies]")
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		kbnError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		kbnError(w, http.StatusBadRequest, err.Error())
		return
	}
	files := r.MultipartForm.File["file"]
	if len(files) != 1 {
		kbnError(w, http.StatusBadRequest, "[request body.file]: expected value of type [Stream] but got [undefined]")
		return
	}
	fh := files[0]
	if ext := path.Ext(fh.Filename); ext != ".ndjson" {
		kbnError(w, http.StatusBadRequest, "Invalid file extension "+ext)
		return
	}
	f, err := fh.Open()
	if err != nil {
		kbnError(w, http.StatusBadRequest, err.Error())
		return
	}
	defer f.Close()
	data, _ := io.ReadAll(f)

	var objs []Object
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 32<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(line, &probe); err != nil {
			kbnError(w, http.StatusBadRequest, "Unexpected token in JSON: "+err.Error())
			return
		}
		if _, ok := probe["exportedCount"]; ok {
			continue // the export summary line
		}
		var o Object
		if err := json.Unmarshal(line, &o); err != nil || o.Type == "" || o.ID == "" {
			kbnError(w, http.StatusBadRequest, fmt.Sprintf("invalid saved object: %s", line))
			return
		}
		objs = append(objs, o)
	}

	types := s.Types
	if len(types) == 0 {
		types = []string{"index-pattern", "lens", "dashboard", "search", "visualization", "tag", "config"}
	}
	known := map[string]bool{}
	for _, t := range types {
		known[t] = true
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.imports = append(s.imports, Import{Space: space, Filename: fh.Filename, Overwrite: overwrite, Header: r.Header.Clone(), Objects: objs})
	if s.objects[space] == nil {
		s.objects[space] = map[string]Object{}
	}
	store := s.objects[space]
	inFile := map[string]bool{}
	for _, o := range objs {
		if known[o.Type] {
			inFile[o.Type+"/"+o.ID] = true
		}
	}

	type ref struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	meta := func(o Object) map[string]any { return map[string]any{"title": o.Title(), "icon": o.Type + "App"} }
	var (
		errs      []map[string]any
		successes []map[string]any
	)
	for _, o := range objs {
		key := o.Type + "/" + o.ID
		base := map[string]any{"type": o.Type, "id": o.ID, "title": o.Title(), "meta": meta(o)}
		if !known[o.Type] {
			base["error"] = map[string]any{"type": "unsupported_type"}
			errs = append(errs, base)
			continue
		}
		var missing []ref
		for _, rf := range o.References {
			k := rf.Type + "/" + rf.ID
			if _, exists := store[k]; !inFile[k] && !exists {
				missing = append(missing, ref{rf.Type, rf.ID})
			}
		}
		if len(missing) > 0 {
			base["error"] = map[string]any{"type": "missing_references", "references": missing}
			errs = append(errs, base)
			continue
		}
		_, exists := store[key]
		if exists && !overwrite {
			base["error"] = map[string]any{"type": "conflict"}
			errs = append(errs, base)
			continue
		}
		res := map[string]any{"type": o.Type, "id": o.ID, "meta": meta(o)}
		if exists {
			res["overwrite"] = true
		}
		successes = append(successes, res)
	}
	// Kibana writes the objects without errors even when others failed.
	for _, o := range objs {
		failed := false
		for _, e := range errs {
			if e["type"] == o.Type && e["id"] == o.ID {
				failed = true
			}
		}
		if !failed {
			store[o.Type+"/"+o.ID] = o
		}
	}
	if errs == nil {
		errs = []map[string]any{}
	}
	if successes == nil {
		successes = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success":        len(errs) == 0,
		"successCount":   len(successes),
		"successResults": successes,
		"errors":         errs,
		"warnings":       []any{},
	})
}
