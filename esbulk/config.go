package esbulk

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by New to zero Config values.
const (
	DefaultIndex          = "nri-audit-%Y.%m.%d"
	DefaultRequestTimeout = 30 * time.Second
	DefaultRetryBudget    = 30 * time.Second
	DefaultBackoffBase    = 250 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultMaxBatchBytes  = 5 << 20
	DefaultMaxConns       = 4
	DefaultStatsInterval  = time.Minute
	// DefaultMaxResponseBytes bounds a bulk response; with filter_path an
	// item costs about 30 bytes, so this allows millions of items.
	DefaultMaxResponseBytes = 64 << 20
)

// Config configures a Client. The zero value of every field but URLs is a
// documented default.
type Config struct {
	// URLs are the Elasticsearch base URLs (a path prefix is kept, e.g.
	// VictoriaLogs' http://host:9428/insert/elasticsearch). Requests go round
	// robin; a URL that fails at the transport level is skipped for the next
	// one in the same attempt. User info in a URL is used as basic auth.
	URLs []string

	// Index is the target index: a fixed name ("nri-audit") or a date
	// pattern expanded from each record's @timestamp in UTC (%Y, %m, %d,
	// %H, %%). Default DefaultIndex when DataStream is empty.
	Index string
	// DataStream, when set, is the target instead of Index (create is the
	// only action a data stream accepts, and the only one esbulk sends).
	DataStream string
	// Pipeline is an ingest pipeline name sent as ?pipeline=.
	Pipeline string

	// Authentication: at most one of basic auth, API key and bearer token.
	User, Password string
	// APIKey is the "encoded" value returned by POST /_security/api_key, or
	// "id:api_key", which is encoded here. Sent as "Authorization: ApiKey".
	APIKey string
	// BearerToken is a service account token or OAuth token.
	BearerToken string

	// TLS: CAFile (PEM) adds trusted roots to the system pool; CertFile and
	// KeyFile (PEM) are a client certificate. Verification is on unless
	// InsecureSkipVerify.
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool

	// Compress gzips request bodies (level 1). Elasticsearch's
	// http.max_content_length applies to the uncompressed size.
	Compress bool

	// RequestTimeout bounds one HTTP request, response included
	// (default 30s).
	RequestTimeout time.Duration
	// RetryBudget is the total time one Flush may spend waiting to retry
	// (default 30s); when it is spent the remaining records are Failed. A
	// Flush can last up to RetryBudget plus one RequestTimeout.
	RetryBudget time.Duration
	// BackoffBase and BackoffMax shape the exponential backoff between
	// attempts: base·2ⁿ capped at max, half of it random (defaults 250ms, 5s).
	BackoffBase, BackoffMax time.Duration
	// MaxBatchBytes is the largest uncompressed bulk body Flush sends; a
	// larger batch goes out in several requests, a larger document alone
	// (default 5 MiB).
	MaxBatchBytes int
	// MaxConns is the number of keep-alive connections kept per host
	// (default 4).
	MaxConns int
	// MaxResponseBytes bounds the bulk response read (default 64 MiB).
	MaxResponseBytes int

	// Permanent failures go to DeadLetterPath (an NDJSON file, appended,
	// created 0600) or DeadLetterIndex (documents created in that index),
	// not both. With neither, each one is logged at error level with its
	// document: never dropped silently.
	DeadLetterPath  string
	DeadLetterIndex string

	// Headers are added to every request (e.g. VictoriaLogs' VL-Msg-Field).
	Headers map[string]string
	// QueryParams are added to every bulk request (e.g. VictoriaLogs'
	// _msg_field, _time_field, _stream_fields).
	QueryParams map[string]string

	// Logger receives the per-interval summary and warnings; nil means
	// slog.Default().
	Logger *slog.Logger
	// StatsInterval is the period of the summary log line (default 1m);
	// a negative value disables it.
	StatsInterval time.Duration
}

// withDefaults returns cfg with zero values replaced, validated.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.URLs) == 0 {
		return cfg, errors.New("esbulk: config: no URL")
	}
	if cfg.Index != "" && cfg.DataStream != "" {
		return cfg, errors.New("esbulk: config: set Index or DataStream, not both")
	}
	if cfg.Index == "" && cfg.DataStream == "" {
		cfg.Index = DefaultIndex
	}
	auth := 0
	if cfg.User != "" || cfg.Password != "" {
		auth++
	}
	if cfg.APIKey != "" {
		auth++
	}
	if cfg.BearerToken != "" {
		auth++
	}
	if auth > 1 {
		return cfg, errors.New("esbulk: config: set only one of user/password, API key and bearer token")
	}
	if cfg.Password != "" && cfg.User == "" {
		return cfg, errors.New("esbulk: config: password without user")
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return cfg, errors.New("esbulk: config: client certificate needs both CertFile and KeyFile")
	}
	if cfg.DeadLetterPath != "" && cfg.DeadLetterIndex != "" {
		return cfg, errors.New("esbulk: config: set DeadLetterPath or DeadLetterIndex, not both")
	}
	if cfg.DeadLetterIndex != "" {
		if err := validIndexName(cfg.DeadLetterIndex); err != nil {
			return cfg, fmt.Errorf("esbulk: config: dead letter index: %w", err)
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"RequestTimeout", &cfg.RequestTimeout, DefaultRequestTimeout},
		{"RetryBudget", &cfg.RetryBudget, DefaultRetryBudget},
		{"BackoffBase", &cfg.BackoffBase, DefaultBackoffBase},
		{"BackoffMax", &cfg.BackoffMax, DefaultBackoffMax},
	} {
		if *d.v < 0 {
			return cfg, fmt.Errorf("esbulk: config: %s %v is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	for _, n := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxBatchBytes", &cfg.MaxBatchBytes, DefaultMaxBatchBytes},
		{"MaxConns", &cfg.MaxConns, DefaultMaxConns},
		{"MaxResponseBytes", &cfg.MaxResponseBytes, DefaultMaxResponseBytes},
	} {
		if *n.v < 0 {
			return cfg, fmt.Errorf("esbulk: config: %s %d is negative", n.name, *n.v)
		}
		if *n.v == 0 {
			*n.v = n.def
		}
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	for k := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return cfg, fmt.Errorf("esbulk: config: header name %q is invalid", k)
		}
	}
	for k := range cfg.QueryParams {
		if k == "" {
			return cfg, errors.New("esbulk: config: empty query parameter name")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// endpoint is one parsed base URL.
type endpoint struct {
	base     string // scheme://host[:port][/prefix], no trailing slash, no user info
	bulk     string // full bulk URL with query
	user     string // from the URL's user info, if any
	password string
	hasUser  bool
}

// parseEndpoint validates one base URL.
func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return endpoint{}, fmt.Errorf("esbulk: config: URL %q: %w", redactURL(raw), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("esbulk: config: URL %q: scheme must be http or https", redactURL(raw))
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("esbulk: config: URL %q: no host", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("esbulk: config: URL %q: query and fragment are not allowed (use QueryParams)", redactURL(raw))
	}
	var ep endpoint
	if u.User != nil {
		ep.user = u.User.Username()
		ep.password, _ = u.User.Password()
		ep.hasUser = true
		u.User = nil
	}
	ep.base = strings.TrimRight(u.String(), "/")
	return ep, nil
}

// redactURL hides the password of a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.Index(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "xxxxx" + raw[i:]
			}
		}
		return raw
	}
	return u.Redacted()
}

// validIndexName applies Elasticsearch's index and data stream naming rules.
func validIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid name", name)
	case len(name) > 255:
		return fmt.Errorf("name %q is longer than 255 bytes", name)
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("name %q must not start with -, _ or +", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("name %q must be lowercase", name)
		case c < 0x20 || c == 0x7f || strings.IndexByte(`\/*?"<>| ,#:`, c) >= 0:
			return fmt.Errorf("name %q must not contain %q", name, string(c))
		}
	}
	return nil
}
