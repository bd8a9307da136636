// Package fakees is an in-process fake of the Elasticsearch endpoints
// nri-audit uses, for tests: GET / (product check), POST /_bulk and
// /{index}/_bulk with create semantics (201, 409 on an existing _id), gzip
// request bodies, http.max_content_length (413), strict duplicate-key
// detection and object/concrete-value mapping conflicts (400
// mapper_parsing_exception), like a real cluster. Hooks inject item and
// request failures and delays.
//
// Input: HTTP requests from a client under test. Output: the stored
// documents (Docs) and counters (Stats). It listens on 127.0.0.1 on a free
// port (or a given address, to model a server that is down, then up).
package fakees

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Item is one bulk item as a hook sees it.
type Item struct {
	Action string // create or index
	Index  string
	ID     string
	Doc    map[string]any
	// Seq counts bulk items seen by the server (from 0), rejected or not.
	Seq int
}

// ItemFailure makes an item fail: Status (e.g. 429, 400, 503), Type and
// Reason as Elasticsearch writes them. A zero Status lets it through.
type ItemFailure struct {
	Status int
	Type   string
	Reason string
}

// Request is one bulk request as a hook sees it.
type Request struct {
	Seq        int // bulk requests seen (from 0)
	Path       string
	Items      int
	BodyBytes  int // uncompressed
	Compressed bool
}

// RequestFailure answers a whole request with Status and Body (JSON) after
// Delay. A zero Status (and Delay) lets it through.
type RequestFailure struct {
	Status int
	Body   string
	Delay  time.Duration
}

// Doc is a stored document.
type Doc struct {
	Index  string
	ID     string
	Source map[string]any
	Raw    json.RawMessage
}

// Stats counts what the server saw.
type Stats struct {
	BulkRequests int
	Items        int
	Created      int
	Conflicts    int // 409 answered
	Rejected     int // item failures answered (hooks, mapping, duplicates)
	TooLarge     int // 413 answered
	Gzipped      int // requests with a gzip body
}

// Server is a running fake.
type Server struct {
	URL  string
	Addr string

	ln  net.Listener
	srv *http.Server

	mu           sync.Mutex
	docs         map[string]map[string]*Doc // index → id → doc
	order        []*Doc
	kinds        map[string]map[string]kind // index → field path → kind
	stats        Stats
	itemHook     func(Item) ItemFailure
	requestHook  func(Request) RequestFailure
	maxBody      int
	authHeader   string
	discard      bool
	lastAuth     string
	itemSeq, req int
}

type kind uint8

const (
	kindConcrete kind = iota + 1
	kindObject
)

// Start runs a server on a free 127.0.0.1 port, closed at cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("fakees: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// StartAt runs a server on addr (see FreeAddr), closed at cleanup.
func StartAt(tb testing.TB, addr string) *Server {
	tb.Helper()
	var s *Server
	var err error
	// The port was free a moment ago; a lingering socket may need a beat.
	for i := 0; i < 50; i++ {
		if s, err = Listen(addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("fakees: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// FreeAddr returns a 127.0.0.1 address nothing listens on (a server that
// is down: connections are refused).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("fakees: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Listen runs a server on addr.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakees: listen: %w", err)
	}
	s := &Server{
		ln:      ln,
		Addr:    ln.Addr().String(),
		URL:     "http://" + ln.Addr().String(),
		docs:    map[string]map[string]*Doc{},
		kinds:   map[string]map[string]kind{},
		maxBody: 100 << 20, // http.max_content_length default
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.handle)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and drops its connections.
func (s *Server) Close() { s.srv.Close() }

// SetItemHook installs fn, called per bulk item before it is stored.
func (s *Server) SetItemHook(fn func(Item) ItemFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.itemHook = fn
}

// SetRequestHook installs fn, called per bulk request before parsing.
func (s *Server) SetRequestHook(fn func(Request) RequestFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestHook = fn
}

// SetMaxContentLength sets http.max_content_length (uncompressed bytes).
func (s *Server) SetMaxContentLength(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxBody = n
}

// SetDiscard makes the server answer 201 to every item without parsing or
// storing it (for load tests: memory and CPU stay flat, no 409s). Hooks,
// when set, still see parsed items.
func (s *Server) SetDiscard(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discard = on
}

// RequireAuth makes every request without this Authorization header a 401.
func (s *Server) RequireAuth(header string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authHeader = header
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Docs returns the documents of index ("" for all), in creation order.
func (s *Server) Docs(index string) []Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Doc
	for _, d := range s.order {
		if index == "" || d.Index == index {
			out = append(out, *d)
		}
	}
	return out
}

// Indices returns the names of the indices holding documents, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.docs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func esError(status int, typ, reason string) string {
	b, _ := json.Marshal(map[string]any{
		"error":  map[string]any{"type": typ, "reason": reason, "root_cause": []any{map[string]any{"type": typ, "reason": reason}}},
		"status": status,
	})
	return string(b)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	auth := s.authHeader
	s.lastAuth = r.Header.Get("Authorization")
	s.mu.Unlock()
	if auth != "" && r.Header.Get("Authorization") != auth {
		writeJSON(w, http.StatusUnauthorized, esError(401, "security_exception", "missing authentication credentials"))
		return
	}
	path := strings.TrimRight(r.URL.Path, "/")
	switch {
	case path == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		writeJSON(w, http.StatusOK, `{"name":"fakees","cluster_name":"fakees","cluster_uuid":"x","version":{"number":"8.15.0","build_flavor":"default","lucene_version":"9.11.1"},"tagline":"You Know, for Search"}`)
	case strings.HasSuffix(path, "/_bulk") && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		s.bulk(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/"), "_bulk"))
	default:
		writeJSON(w, http.StatusNotFound, esError(404, "no_handler_found_exception", "no handler for "+r.Method+" "+r.URL.Path))
	}
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, defIndex string) {
	defIndex = strings.TrimSuffix(defIndex, "/")
	var body io.Reader = r.Body
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			writeJSON(w, 400, esError(400, "parse_exception", "bad gzip body: "+err.Error()))
			return
		}
		body = zr
	}
	s.mu.Lock()
	limit := s.maxBody
	s.mu.Unlock()
	raw, err := io.ReadAll(io.LimitReader(body, int64(limit)+1))
	if err != nil {
		writeJSON(w, 400, esError(400, "parse_exception", "reading body: "+err.Error()))
		return
	}
	s.mu.Lock()
	if s.discard && s.itemHook == nil && s.requestHook == nil && len(raw) <= limit {
		s.mu.Unlock()
		s.discardBulk(w, raw, gz)
		return
	}
	s.mu.Unlock()
	lines := splitLines(raw)
	s.mu.Lock()
	s.stats.BulkRequests++
	if gz {
		s.stats.Gzipped++
	}
	req := Request{Seq: s.req, Path: r.URL.Path, Items: len(lines) / 2, BodyBytes: len(raw), Compressed: gz}
	s.req++
	hook := s.requestHook
	s.mu.Unlock()
	if hook != nil {
		if f := hook(req); f.Status != 0 || f.Delay > 0 {
			if f.Delay > 0 {
				select {
				case <-time.After(f.Delay):
				case <-r.Context().Done():
					return
				}
			}
			if f.Status != 0 {
				body := f.Body
				if body == "" {
					body = esError(f.Status, "injected_failure", fmt.Sprintf("injected HTTP %d", f.Status))
				}
				writeJSON(w, f.Status, body)
				return
			}
		}
	}
	if len(raw) > limit {
		s.mu.Lock()
		s.stats.TooLarge++
		s.mu.Unlock()
		writeJSON(w, http.StatusRequestEntityTooLarge, esError(413, "content_too_long_exception", fmt.Sprintf("entity content is too long [%d] for the configured buffer limit [%d]", len(raw), limit)))
		return
	}
	if len(lines)%2 != 0 {
		writeJSON(w, 400, esError(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"))
		return
	}
	var out bytes.Buffer
	out.WriteString(`{"took":1,"errors":`)
	items := make([]string, 0, len(lines)/2)
	anyErr := false
	for i := 0; i+1 < len(lines); i += 2 {
		res, failed := s.item(lines[i], lines[i+1], defIndex)
		anyErr = anyErr || failed
		items = append(items, res)
	}
	fmt.Fprintf(&out, "%t,\"items\":[%s]}", anyErr, strings.Join(items, ","))
	writeJSON(w, http.StatusOK, out.String())
}

// discardBulk answers 201 for every action line without parsing or
// storing documents: a load-test sink whose own cost stays small.
func (s *Server) discardBulk(w http.ResponseWriter, raw []byte, gz bool) {
	n := 0
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			i = len(raw)
		}
		if len(bytes.TrimSpace(raw[:i])) > 0 {
			n++
		}
		raw = raw[min(i+1, len(raw)):]
	}
	items := n / 2
	out := make([]byte, 0, 32+items*24)
	out = append(out, `{"took":1,"errors":false,"items":[`...)
	for i := 0; i < items; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"create":{"status":201}}`...)
	}
	out = append(out, "]}"...)
	s.mu.Lock()
	s.stats.BulkRequests++
	s.stats.Items += items
	s.stats.Created += items
	if gz {
		s.stats.Gzipped++
	}
	s.req++
	s.itemSeq += items
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, string(out))
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func itemJSON(action, index, id string, status int, extra string) string {
	b, _ := json.Marshal(index)
	c, _ := json.Marshal(id)
	return fmt.Sprintf(`{%q:{"_index":%s,"_id":%s,"status":%d%s}}`, action, b, c, status, extra)
}

func itemError(typ, reason string) string {
	b, _ := json.Marshal(map[string]string{"type": typ, "reason": reason})
	return `,"error":` + string(b)
}

// item handles one action/document pair and returns its response item.
func (s *Server) item(actionLine, docLine []byte, defIndex string) (string, bool) {
	var action map[string]struct {
		Index string `json:"_index"`
		ID    string `json:"_id"`
	}
	if err := json.Unmarshal(actionLine, &action); err != nil || len(action) != 1 {
		return itemJSON("create", "", "", 400, itemError("illegal_argument_exception", "Malformed action/metadata line")), true
	}
	var name, index, id string
	for k, v := range action {
		name, index, id = k, v.Index, v.ID
	}
	if index == "" {
		index = defIndex
	}
	s.mu.Lock()
	seq := s.itemSeq
	s.itemSeq++
	s.stats.Items++
	hook := s.itemHook
	s.mu.Unlock()
	fail := func(status int, typ, reason string) (string, bool) {
		s.mu.Lock()
		s.stats.Rejected++
		s.mu.Unlock()
		return itemJSON(name, index, id, status, itemError(typ, reason)), true
	}
	if name != "create" && name != "index" {
		return fail(400, "illegal_argument_exception", "action "+name+" not supported by fakees")
	}
	s.mu.Lock()
	_, exists := s.docs[index][id]
	discard := s.discard
	s.mu.Unlock()
	if exists && name == "create" && hook == nil {
		s.mu.Lock()
		s.stats.Conflicts++
		s.mu.Unlock()
		return itemJSON(name, index, id, 409, itemError("version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", id))), true
	}
	if discard {
		if !json.Valid(docLine) {
			return fail(400, "mapper_parsing_exception", "failed to parse: invalid JSON")
		}
		s.mu.Lock()
		s.stats.Created++
		s.mu.Unlock()
		return itemJSON(name, index, id, 201, `,"result":"created","_version":1`), false
	}
	if err := checkDuplicates(docLine); err != nil {
		return fail(400, "mapper_parsing_exception", "failed to parse: "+err.Error())
	}
	var doc map[string]any
	if err := json.Unmarshal(docLine, &doc); err != nil {
		return fail(400, "mapper_parsing_exception", "failed to parse: "+err.Error())
	}
	if hook != nil {
		if f := hook(Item{Action: name, Index: index, ID: id, Doc: doc, Seq: seq}); f.Status != 0 {
			return fail(f.Status, f.Type, f.Reason)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = fmt.Sprintf("auto-%d", seq)
	}
	if _, exists := s.docs[index][id]; exists && name == "create" {
		s.stats.Conflicts++
		return itemJSON(name, index, id, 409, itemError("version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", id))), true
	}
	if err := s.checkMapping(index, "", doc); err != nil {
		s.stats.Rejected++
		return itemJSON(name, index, id, 400, itemError("document_parsing_exception", err.Error())), true
	}
	s.learnMapping(index, "", doc)
	if s.docs[index] == nil {
		s.docs[index] = map[string]*Doc{}
	}
	d := &Doc{Index: index, ID: id, Source: doc, Raw: append(json.RawMessage(nil), docLine...)}
	s.docs[index][id] = d
	s.order = append(s.order, d)
	s.stats.Created++
	return itemJSON(name, index, id, 201, `,"result":"created","_version":1`), false
}

// checkDuplicates rejects a JSON object with a repeated key at any depth,
// as Elasticsearch's strict duplicate detection does.
func checkDuplicates(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var walk func() error
	walk = func() error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if seen[k] {
					return fmt.Errorf("Duplicate field '%s'", k)
				}
				seen[k] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the document")
	}
	return nil
}

// fieldKinds maps dotted paths to object or concrete, expanding dotted
// keys the way Elasticsearch does ("a.b": 1 is the object a with b).
func walkFields(prefix string, v map[string]any, fn func(path string, k kind)) {
	for key, val := range v {
		parts := strings.Split(key, ".")
		p := prefix
		for i, part := range parts {
			if p != "" {
				p += "."
			}
			p += part
			if i < len(parts)-1 {
				fn(p, kindObject)
			}
		}
		switch x := val.(type) {
		case map[string]any:
			fn(p, kindObject)
			walkFields(p, x, fn)
		case []any:
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					fn(p, kindObject)
					walkFields(p, m, fn)
				} else if e != nil {
					fn(p, kindConcrete)
				}
			}
		case nil:
		default:
			fn(p, kindConcrete)
		}
	}
}

func (s *Server) checkMapping(index, prefix string, doc map[string]any) error {
	var err error
	known := s.kinds[index]
	seen := map[string]kind{}
	walkFields(prefix, doc, func(path string, k kind) {
		if err != nil {
			return
		}
		if prev, ok := seen[path]; ok && prev != k {
			err = fmt.Errorf("[1:1] failed to parse field [%s]: object and concrete value in one document", path)
		}
		seen[path] = k
		if prev, ok := known[path]; ok && prev != k {
			if prev == kindObject {
				err = fmt.Errorf("[1:1] object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", path, path)
			} else {
				err = fmt.Errorf("[1:1] failed to parse field [%s] of type [keyword] in document: Can't get text on a START_OBJECT", path)
			}
		}
	})
	return err
}

func (s *Server) learnMapping(index, prefix string, doc map[string]any) {
	if s.kinds[index] == nil {
		s.kinds[index] = map[string]kind{}
	}
	walkFields(prefix, doc, func(path string, k kind) {
		if _, ok := s.kinds[index][path]; !ok {
			s.kinds[index][path] = k
		}
	})
}
