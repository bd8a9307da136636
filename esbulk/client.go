package esbulk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends batches to Elasticsearch. It is safe for concurrent use;
// several goroutines may Flush different batches at once.
type Client struct {
	cfg       Config
	endpoints []endpoint
	target    target
	http      *http.Client
	transport *http.Transport
	auth      string // Authorization header value, "" for none
	log       *slog.Logger

	next     atomic.Uint64 // round robin position
	counters counters
	dl       *deadLetter

	flushPool sync.Pool // *flushState
	gzPool    sync.Pool // *gzip.Writer

	stop     chan struct{}
	stopped  chan struct{}
	closeMu  sync.Mutex
	isClosed bool
}

// New validates cfg and builds the client and its HTTP transport. It does
// not contact Elasticsearch; call Check for that.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: cfg.Logger}
	name := cfg.Index
	if cfg.DataStream != "" {
		name = cfg.DataStream
		if strings.HasPrefix(name, ".ds-") || strings.Contains(name, "%") {
			return nil, fmt.Errorf("esbulk: config: data stream %q: must not start with .ds- or hold date directives", name)
		}
	}
	if c.target, err = parseTarget(name); err != nil {
		return nil, fmt.Errorf("esbulk: config: index: %w", err)
	}

	query := "filter_path=errors,items.*.status,items.*.error"
	extra := url.Values{}
	if cfg.Pipeline != "" {
		extra.Set("pipeline", cfg.Pipeline)
	}
	for k, v := range cfg.QueryParams {
		extra.Set(k, v)
	}
	if len(extra) > 0 {
		query += "&" + extra.Encode()
	}
	for _, raw := range cfg.URLs {
		ep, err := parseEndpoint(raw)
		if err != nil {
			return nil, err
		}
		ep.bulk = ep.base + "/_bulk?" + query
		c.endpoints = append(c.endpoints, ep)
	}

	switch {
	case cfg.User != "":
		c.auth = basicAuth(cfg.User, cfg.Password)
	case cfg.APIKey != "":
		key := cfg.APIKey
		if strings.Contains(key, ":") {
			key = base64.StdEncoding.EncodeToString([]byte(key))
		}
		c.auth = "ApiKey " + key
	case cfg.BearerToken != "":
		c.auth = "Bearer " + cfg.BearerToken
	}

	tlsConf, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.transport = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          cfg.MaxConns * len(c.endpoints),
		MaxIdleConnsPerHost:   cfg.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Responses are JSON we decode ourselves; a transparent gzip
		// layer would only add a copy.
		DisableCompression: true,
	}
	c.http = &http.Client{
		Transport: c.transport,
		// Elasticsearch does not redirect; following one would resend a
		// bulk body to an unknown place.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.DeadLetterPath != "" {
		if c.dl, err = openDeadLetter(cfg.DeadLetterPath); err != nil {
			return nil, err
		}
	}
	c.stop = make(chan struct{})
	c.stopped = make(chan struct{})
	if cfg.StatsInterval > 0 {
		go c.summaryLoop(cfg.StatsInterval)
	} else {
		close(c.stopped)
	}
	return c, nil
}

// Close stops the summary logger (logging a last summary), closes the dead
// letter file and idle connections. It does not wait for running Flushes.
func (c *Client) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.isClosed {
		return nil
	}
	c.isClosed = true
	close(c.stop)
	<-c.stopped
	c.transport.CloseIdleConnections()
	if c.dl != nil {
		return c.dl.close()
	}
	return nil
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("esbulk: config: CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("esbulk: config: CA file %s: no PEM certificate found", cfg.CAFile)
		}
		conf.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("esbulk: config: client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// pick returns the endpoint for the next request, round robin.
func (c *Client) pick() int {
	return int((c.next.Add(1) - 1) % uint64(len(c.endpoints)))
}

// setHeaders sets auth and the configured headers on a request.
func (c *Client) setHeaders(req *http.Request, ep *endpoint) {
	switch {
	case c.auth != "":
		req.Header.Set("Authorization", c.auth)
	case ep.hasUser:
		req.Header.Set("Authorization", basicAuth(ep.user, ep.password))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "nri-audit-esbulk")
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
}

// response is a finished HTTP exchange: status, headers and the body read
// into a buffer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errTransport marks failures below HTTP (connect, reset, timeout, TLS).
type transportError struct {
	url string
	err error
}

func (e *transportError) Error() string { return fmt.Sprintf("%s: %v", e.url, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// trackedBody is a request body whose buffer must not be reused before
// the transport closed every reader of it: net/http may still be writing
// the body when a response (e.g. an early 413) has already arrived.
type trackedBody struct {
	data []byte
	wg   sync.WaitGroup
}

type trackedReader struct {
	*bytes.Reader
	once sync.Once
	t    *trackedBody
}

func (r *trackedReader) Close() error {
	r.once.Do(r.t.wg.Done)
	return nil
}

func (t *trackedBody) reader() io.ReadCloser {
	t.wg.Add(1)
	return &trackedReader{Reader: bytes.NewReader(t.data), t: t}
}

// wait blocks until the transport released the body; false when it did
// not within d (the buffer must then be abandoned, not reused).
func (t *trackedBody) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// do sends one request to endpoint ep and reads the whole response into
// respBuf (reused). body may be nil. It returns a *transportError for
// failures below HTTP. The returned bool is false when the body buffer
// must not be reused.
func (c *Client) do(ctx context.Context, ep *endpoint, method, rawURL string, body []byte, gzipped bool, contentType string, respBuf []byte) (response, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var tb *trackedBody
	var rd io.Reader
	if body != nil {
		tb = &trackedBody{data: body}
		rd = tb.reader()
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		if tb != nil {
			rd.(io.Closer).Close()
		}
		return response{}, true, fmt.Errorf("esbulk: request %s: %w", redactURL(rawURL), err)
	}
	c.setHeaders(req, ep)
	if tb != nil {
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return tb.reader(), nil }
		// Create with an _id is idempotent: let net/http replay the request
		// on a keep-alive connection the server closed meanwhile. A nil
		// value marks it without sending the header.
		req.Header["Idempotency-Key"] = nil
		req.Header.Set("Content-Type", contentType)
		if gzipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}
	resp, err := c.http.Do(req)
	reusable := true
	release := func() {
		if tb != nil && !tb.wait(5*time.Second) {
			reusable = false
		}
	}
	if err != nil {
		release()
		// Callers tell their own context's end apart from this
		// request's timeout by checking their context.
		return response{}, reusable, &transportError{url: ep.base, err: unwrapURLError(err)}
	}
	limit := int64(c.cfg.MaxResponseBytes)
	buf := bytes.NewBuffer(respBuf[:0])
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	resp.Body.Close()
	release()
	r := response{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
	if err != nil {
		return r, reusable, &transportError{url: ep.base, err: fmt.Errorf("reading response: %w", err)}
	}
	if n > limit {
		return r, reusable, &transportError{url: ep.base, err: fmt.Errorf("response larger than %d bytes", limit)}
	}
	return r, reusable, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// gzipInto compresses src into dst (reused) at BestSpeed.
func (c *Client) gzipInto(dst *bytes.Buffer, src []byte) error {
	dst.Reset()
	zw, _ := c.gzPool.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(dst, gzip.BestSpeed)
	} else {
		zw.Reset(dst)
	}
	defer c.gzPool.Put(zw)
	if _, err := zw.Write(src); err != nil {
		return fmt.Errorf("esbulk: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("esbulk: gzip: %w", err)
	}
	return nil
}

// esErrorReason renders an Elasticsearch error body ({"error":{...}} or a
// bare {"type","reason"}) as "type: reason", falling back to the text.
func esErrorReason(body []byte) string {
	var wrapped struct {
		Error any `json:"error"`
	}
	if err := jsonUnmarshal(body, &wrapped); err == nil && wrapped.Error != nil {
		switch e := wrapped.Error.(type) {
		case string:
			return e
		case map[string]any:
			return describeErrorMap(e)
		}
	}
	var bare map[string]any
	if err := jsonUnmarshal(body, &bare); err == nil {
		if _, ok := bare["type"]; ok {
			return describeErrorMap(bare)
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func describeErrorMap(m map[string]any) string {
	typ, _ := m["type"].(string)
	reason, _ := m["reason"].(string)
	s := typ
	if reason != "" {
		if s != "" {
			s += ": "
		}
		s += reason
	}
	if cb, ok := m["caused_by"].(map[string]any); ok {
		s += " (caused by " + describeErrorMap(cb) + ")"
	}
	if s == "" {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s = "error with keys " + strings.Join(keys, ",")
	}
	return s
}
