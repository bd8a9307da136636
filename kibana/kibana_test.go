package kibana_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/kibana"
	"github.com/nri-audit/nri-audit/kibana/kibanatest"
)

const sample = `{"type":"index-pattern","id":"dv","attributes":{"title":"nri-audit-*","timeFieldName":"@timestamp"},"references":[]}
{"type":"lens","id":"by-plugin","attributes":{"title":"By plugin"},"references":[{"type":"index-pattern","id":"dv","name":"indexpattern-datasource-layer-l1"}]}
{"type":"dashboard","id":"overview","attributes":{"title":"Overview"},"references":[{"type":"lens","id":"by-plugin","name":"p1:panel_p1"}]}
{"exportedCount":3,"missingRefCount":0,"missingReferences":[]}
`

func newClient(t *testing.T, cfg kibana.Config) *kibana.Client {
	t.Helper()
	c, err := kibana.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestImportSuccess(t *testing.T) {
	srv := kibanatest.NewServer(t)
	c := newClient(t, kibana.Config{URL: srv.URL + "/"})
	res, err := c.Import(context.Background(), "nri-audit.ndjson", []byte(sample), kibana.ImportOptions{Overwrite: true})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if !res.Success || res.SuccessCount != 3 || len(res.Errors) != 0 {
		t.Fatalf("result = %+v", res)
	}
	imps := srv.Imports()
	if len(imps) != 1 {
		t.Fatalf("imports = %d", len(imps))
	}
	if imp := imps[0]; !imp.Overwrite || imp.Filename != "nri-audit.ndjson" || imp.Header.Get("kbn-xsrf") == "" || len(imp.Objects) != 3 {
		t.Fatalf("import request = %+v", imp)
	}
	if _, ok := srv.Stored("", "dashboard", "overview"); !ok {
		t.Fatal("dashboard not stored")
	}
	// A second import overwrites: still a success, flagged as overwrite.
	res, err = c.Import(context.Background(), "nri-audit.ndjson", []byte(sample), kibana.ImportOptions{Overwrite: true})
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	for _, r := range res.SuccessResults {
		if !r.Overwrite {
			t.Errorf("%s/%s not flagged as overwritten", r.Type, r.ID)
		}
	}
}

func TestImportConflictWithoutOverwrite(t *testing.T) {
	srv := kibanatest.NewServer(t)
	c := newClient(t, kibana.Config{URL: srv.URL})
	if _, err := c.Import(context.Background(), "a.ndjson", []byte(sample), kibana.ImportOptions{}); err != nil {
		t.Fatalf("first import: %v", err)
	}
	res, err := c.Import(context.Background(), "a.ndjson", []byte(sample), kibana.ImportOptions{})
	var ie *kibana.ImportError
	if !errors.As(err, &ie) || res == nil || ie.Result != res {
		t.Fatalf("err = %v, res = %v; want *ImportError with the result", err, res)
	}
	if len(res.Errors) != 3 || res.Errors[0].Error.Type != "conflict" {
		t.Fatalf("errors = %+v", res.Errors)
	}
	if !strings.Contains(err.Error(), `index-pattern/dv "nri-audit-*": conflict`) {
		t.Errorf("error text = %q", err)
	}
}

func TestImportMissingReferences(t *testing.T) {
	srv := kibanatest.NewServer(t)
	c := newClient(t, kibana.Config{URL: srv.URL})
	ndjson := `{"type":"lens","id":"orphan","attributes":{"title":"Orphan chart"},"references":[{"type":"index-pattern","id":"gone","name":"indexpattern-datasource-layer-l1"}]}
{"type":"index-pattern","id":"dv","attributes":{"title":"nri-audit-*"},"references":[]}
{"type":"canvas-workpad","id":"w","attributes":{"title":"Workpad"},"references":[]}
`
	res, err := c.Import(context.Background(), "x.ndjson", []byte(ndjson), kibana.ImportOptions{Overwrite: true})
	var ie *kibana.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *ImportError", err)
	}
	if res.Success || res.SuccessCount != 1 || len(res.Errors) != 2 {
		t.Fatalf("result = %+v", res)
	}
	msg := err.Error()
	for _, want := range []string{
		"2 object(s) refused, 1 imported",
		`lens/orphan "Orphan chart": missing_references [index-pattern/gone]`,
		`canvas-workpad/w "Workpad": unsupported_type`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// Kibana's import is not atomic: the valid object was written.
	if _, ok := srv.Stored("", "index-pattern", "dv"); !ok {
		t.Error("valid object not stored")
	}
	if _, ok := srv.Stored("", "lens", "orphan"); ok {
		t.Error("object with a missing reference stored")
	}
}

func TestAuth(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.Users = map[string]string{"elastic": "s3cret", "viewer": "v"}
	srv.APIKeys = []string{"aWQ6a2V5"}
	srv.ForbiddenUsers = []string{"viewer"}
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		cfg  kibana.Config
		code int // 0 = success
	}{
		{"basic", kibana.Config{Username: "elastic", Password: "s3cret"}, 0},
		{"api key", kibana.Config{APIKey: "aWQ6a2V5"}, 0},
		{"api key as id:key", kibana.Config{APIKey: "id:key"}, 0},
		{"no credentials", kibana.Config{}, 401},
		{"wrong password", kibana.Config{Username: "elastic", Password: "nope"}, 401},
		{"wrong key", kibana.Config{APIKey: "bm9wZQ=="}, 401},
		{"no privileges", kibana.Config{Username: "viewer", Password: "v"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.URL = srv.URL
			c := newClient(t, tc.cfg)
			res, err := c.Import(ctx, "a.ndjson", []byte(sample), kibana.ImportOptions{Overwrite: true})
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				return
			}
			var he *kibana.HTTPError
			if !errors.As(err, &he) || he.StatusCode != tc.code || res != nil {
				t.Fatalf("err = %v (res %v), want HTTP %d", err, res, tc.code)
			}
			if !kibana.IsUnauthorized(err) {
				t.Error("IsUnauthorized = false")
			}
			if tc.code == 401 && !strings.Contains(err.Error(), "HTTP 401 Unauthorized: [security_exception") {
				t.Errorf("error text = %q", err)
			}
			// The status API is protected too and a wrong credential
			// ends the wait at once instead of running into the timeout.
			start := time.Now()
			if _, err := c.WaitReady(ctx, 30*time.Second); tc.code == 401 && !kibana.IsUnauthorized(err) {
				t.Errorf("WaitReady: %v, want 401", err)
			}
			if time.Since(start) > 5*time.Second {
				t.Error("WaitReady kept polling after 401")
			}
		})
	}
}

func TestSpaceAndBasePath(t *testing.T) {
	srv := kibanatest.NewServer(t)
	var paths []string
	proxy := httptest.NewServer(http.StripPrefix("/kibana", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		srv.Config.Handler.ServeHTTP(w, r)
	})))
	defer proxy.Close()
	c := newClient(t, kibana.Config{URL: proxy.URL + "/kibana/", Space: "security"})
	if _, err := c.WaitReady(context.Background(), 10*time.Second); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if _, err := c.Import(context.Background(), "a.ndjson", []byte(sample), kibana.ImportOptions{Overwrite: true}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	want := []string{"/api/status", "/s/security/api/saved_objects/_import"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths = %q, want %q", paths, want)
	}
	if _, ok := srv.Stored("security", "lens", "by-plugin"); !ok {
		t.Error("not stored in the space")
	}
	if got := c.URL(); got != proxy.URL+"/kibana/s/security" {
		t.Errorf("URL() = %q", got)
	}
}

func TestWaitReady(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.NotReadyCalls = 4
	srv.Version = "8.19.3"
	c := newClient(t, kibana.Config{URL: srv.URL, PollInterval: 10 * time.Millisecond})
	st, err := c.WaitReady(context.Background(), 30*time.Second)
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if !st.Ready() || st.Version != "8.19.3" || st.Level != "available" {
		t.Errorf("status = %+v", st)
	}
	if n := srv.StatusCalls(); n != 5 {
		t.Errorf("status calls = %d, want 5", n)
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.NotReadyCalls = 1 << 30
	c := newClient(t, kibana.Config{URL: srv.URL})
	start := time.Now()
	_, err := c.WaitReady(context.Background(), 1200*time.Millisecond)
	if err == nil {
		t.Fatal("WaitReady succeeded against a Kibana that never gets ready")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want about the timeout", d)
	}
	if !strings.Contains(err.Error(), "not ready after 1.2s") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("error = %q", err)
	}
}

func TestWaitReadyCanceled(t *testing.T) {
	c := newClient(t, kibana.Config{URL: "http://127.0.0.1:1"}) // nothing listens on port 1
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := c.WaitReady(ctx, time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStatusDegraded(t *testing.T) {
	for _, tc := range []struct {
		st   kibana.Status
		want bool
	}{
		{kibana.Status{Level: "available"}, true},
		{kibana.Status{Level: "degraded", SavedObjects: "available", Elasticsearch: "available"}, true},
		{kibana.Status{Level: "degraded", SavedObjects: "degraded", Elasticsearch: "available"}, false},
		{kibana.Status{Level: "unavailable", SavedObjects: "available", Elasticsearch: "available"}, false},
		{kibana.Status{Level: "critical"}, false},
		{kibana.Status{}, false},
	} {
		if got := tc.st.Ready(); got != tc.want {
			t.Errorf("%+v.Ready() = %v", tc.st, got)
		}
	}
}

func TestUnexpectedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		code           int
		want           string
	}{
		{"html page", "text/html", "<html><body>Welcome to nginx</body></html>", 200, "not a JSON object"},
		{"json without success", "application/json", `{"statusCode":200}`, 200, `no "success"`},
		{"success not bool", "application/json", `{"success":"yes"}`, 200, "not a boolean"},
		{"payload too large", "application/json", `{"statusCode":413,"error":"Request Entity Too Large","message":"Payload content length greater than maximum allowed: 26214400"}`, 413, "HTTP 413 Request Entity Too Large: Payload content length greater"},
		{"bad gateway", "text/plain", "upstream connect error", 502, "HTTP 502 Bad Gateway: upstream connect error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ct)
				w.WriteHeader(tc.code)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := newClient(t, kibana.Config{URL: srv.URL})
			res, err := c.Import(context.Background(), "a.ndjson", []byte(sample), kibana.ImportOptions{})
			if err == nil || res != nil {
				t.Fatalf("Import = %v, %v; want an error", res, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestImportRejectsBadInput(t *testing.T) {
	c := newClient(t, kibana.Config{URL: "http://127.0.0.1:1"})
	for _, tc := range []struct{ name, file, data string }{
		{"extension", "a.json", sample},
		{"path", "../a.ndjson", sample},
		{"quote", `a".ndjson`, sample},
		{"empty", "a.ndjson", " \n"},
	} {
		if _, err := c.Import(context.Background(), tc.file, []byte(tc.data), kibana.ImportOptions{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []kibana.Config{
		{},
		{URL: "localhost:5601"},
		{URL: "ftp://kibana:5601"},
		{URL: "http://"},
		{URL: "http://kibana:5601?x=1"},
		{URL: "http://elastic:pw@kibana:5601"},
		{URL: "http://kibana:5601", Space: "a/b"},
		{URL: "http://kibana:5601", APIKey: "k", Username: "u"},
		{URL: "http://kibana:5601", Password: "p"},
	} {
		if _, err := kibana.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestObjectErrorString(t *testing.T) {
	e := kibana.ObjectError{Type: "dashboard", ID: "d", Meta: kibana.Meta{Title: "From meta"},
		Error: kibana.ErrorDetail{Type: "unknown", Message: "boom\n  at x", StatusCode: 500}}
	if got, want := e.String(), `dashboard/d "From meta": unknown: boom at x`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	e = kibana.ObjectError{Type: "lens", ID: "l", Error: kibana.ErrorDetail{Type: "conflict", DestinationID: "other"}}
	if got, want := e.String(), `lens/l: conflict (existing object other)`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzDecodeImportResult(f *testing.F) {
	f.Add([]byte(`{"success":true,"successCount":1,"successResults":[{"type":"lens","id":"a","meta":{"title":"t"}}]}`))
	f.Add([]byte(`{"success":false,"successCount":0,"errors":[{"id":"a","type":"lens","title":"t","error":{"type":"missing_references","references":[{"type":"index-pattern","id":"x"}]}}]}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"success":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := kibana.DecodeImportResult(body)
		if err != nil {
			if res != nil {
				t.Fatal("result with an error")
			}
			return
		}
		for _, e := range res.Errors {
			_ = e.String()
		}
		_ = (&kibana.ImportError{Result: res}).Error()
	})
}
