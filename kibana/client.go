package kibana

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds what is read of any Kibana answer; import results for a
// few dozen objects are a few KiB.
const maxBody = 16 << 20

// Config says where Kibana is and how to authenticate.
type Config struct {
	// URL is Kibana's base URL, e.g. http://localhost:5601, including the
	// server.basePath if Kibana runs behind one.
	URL string
	// Space is the Kibana space to import into; empty means the default
	// space.
	Space string
	// Username and Password select HTTP basic auth.
	Username string
	Password string
	// APIKey is an Elasticsearch API key: the encoded form (base64 of
	// "id:api_key", what the create API key response calls "encoded") or
	// "id:api_key" itself, which is encoded here. Sent as
	// "Authorization: ApiKey <encoded>".
	APIKey string
	// HTTPClient sends the requests; nil means a client with a 60 s
	// timeout. Set its Transport for custom TLS.
	HTTPClient *http.Client
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// PollInterval is the first pause between status probes of WaitReady
	// (default 250 ms); it doubles after each probe, up to 5 s.
	PollInterval time.Duration
}

// Client talks to one Kibana. It is safe for concurrent use.
type Client struct {
	root   *url.URL // scheme://host[/basePath], no trailing slash
	space  string   // "" for the default space
	auth   string   // Authorization header value, or ""
	http   *http.Client
	logger *slog.Logger
	poll   time.Duration
}

// New checks the configuration and returns a client. It does not contact
// Kibana.
func New(cfg Config) (*Client, error) {
	raw := strings.TrimSpace(cfg.URL)
	if raw == "" {
		return nil, errors.New("kibana: no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("kibana: URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("kibana: URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("kibana: URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("kibana: URL %q: must not have a query or fragment", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("kibana: URL %q: put credentials in the user/password options, not the URL", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	space := strings.TrimSpace(cfg.Space)
	if space == "default" {
		space = ""
	}
	if strings.ContainsAny(space, "/?#% ") {
		return nil, fmt.Errorf("kibana: space %q: not a space id", space)
	}

	c := &Client{root: u, space: space, http: cfg.HTTPClient, logger: cfg.Logger, poll: cfg.PollInterval}
	if c.poll <= 0 {
		c.poll = 250 * time.Millisecond
	}
	switch {
	case cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, errors.New("kibana: give either an API key or a user and password, not both")
	case cfg.APIKey != "":
		key := cfg.APIKey
		if strings.Contains(key, ":") { // id:api_key; base64 has no ':'
			key = base64.StdEncoding.EncodeToString([]byte(key))
		}
		c.auth = "ApiKey " + key
	case cfg.Username != "":
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(cfg.Username, cfg.Password)
		c.auth = req.Header.Get("Authorization")
	case cfg.Password != "":
		return nil, errors.New("kibana: a password was given without a user")
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// URL returns the base URL of space-scoped requests (space included).
func (c *Client) URL() string { return c.endpoint("", nil, true) }

// HTTPError is a non-2xx answer from Kibana.
type HTTPError struct {
	Op         string // "status", "import"
	StatusCode int
	// Error and Message come from Kibana's JSON error body
	// ({"statusCode":401,"error":"Unauthorized","message":"..."}); Message
	// holds the start of the body when it was not JSON.
	Reason  string
	Message string
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kibana: %s: HTTP %d", e.Op, e.StatusCode)
	if e.Reason != "" {
		b.WriteString(" " + e.Reason)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// newHTTPError builds an HTTPError from a response body.
func newHTTPError(op string, code int, body []byte) *HTTPError {
	e := &HTTPError{Op: op, StatusCode: code}
	var kb struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
	}
	if json.Unmarshal(body, &kb) == nil && (kb.Error != "" || kb.Message != "") {
		e.Reason, e.Message = kb.Error, oneLine(kb.Message, 500)
		return e
	}
	e.Message = oneLine(string(body), 200)
	return e
}

// do sends req with the common headers and returns the status and the
// (bounded) body.
func (c *Client) do(req *http.Request) (int, []byte, string, error) {
	req.Header.Set("kbn-xsrf", "true")
	req.Header.Set("Accept", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return resp.StatusCode, nil, "", fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxBody {
		return resp.StatusCode, nil, "", fmt.Errorf("response larger than %d bytes", maxBody)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return resp.StatusCode, body, ct, nil
}

// endpoint builds a request URL; inSpace puts it under /s/<space> (the
// saved-objects APIs are per space, /api/status is not).
func (c *Client) endpoint(path string, q url.Values, inSpace bool) string {
	u := *c.root
	if inSpace && c.space != "" {
		u.Path += "/s/" + c.space
	}
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// oneLine squeezes whitespace and cuts s to at most n bytes (on a rune
// boundary) for error messages.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
