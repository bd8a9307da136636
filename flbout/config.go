package flbout

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/parser"
	"github.com/nri-audit/nri-audit/policy"
)

// Getter reads one configuration key of an output instance; "" means unset.
// In the plugin it wraps output.FLBPluginConfigKey (case-insensitive,
// ${ENV} already substituted by Fluent Bit); tests pass a map.
type Getter interface {
	Get(key string) string
}

// MapGetter is a Getter over a map, for tests and tools.
type MapGetter map[string]string

// Get implements Getter.
func (m MapGetter) Get(key string) string { return m[key] }

// Defaults of the keys that have one.
const (
	DefaultURL            = "http://127.0.0.1:9200"
	DefaultFlushTimeout   = 30 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultRetryBudget    = 20 * time.Second
	DefaultMessageKey     = "MESSAGE"
)

// Key describes one configuration key of the output.
type Key struct {
	Name    string
	Default string // as a user would write it; "" = unset
	Secret  bool   // masked in the effective-config log line
	Doc     string
}

// Keys lists every key the output reads, in documentation order. None is
// one Fluent Bit's core consumes (host, port, tls*, workers, match, alias,
// retry_limit, log_level, ...): those never reach the plugin.
var keys = []Key{
	{"url", DefaultURL, false, "Elasticsearch base URLs, comma-separated (round robin; a path prefix is kept; user:password@ in a URL is basic auth)"},
	{"index", esbulk.DefaultIndex, false, "target index, fixed or a date pattern of @timestamp in UTC (%Y %m %d %H); ignored when data_stream is set"},
	{"data_stream", "", false, "target data stream instead of index"},
	{"pipeline", "", false, "ingest pipeline (?pipeline=)"},
	{"user", "", false, "basic auth user"},
	{"password", "", true, "basic auth password"},
	{"api_key", "", true, "API key: the encoded value, or id:api_key"},
	{"bearer_token", "", true, "bearer token (service account or OAuth)"},
	{"ca_file", "", false, "PEM file of CAs trusted in addition to the system pool"},
	{"cert_file", "", false, "PEM client certificate (with key_file)"},
	{"key_file", "", false, "PEM client key (with cert_file)"},
	{"insecure_skip_verify", "off", false, "skip TLS certificate verification (testing only)"},
	{"compress", "off", false, "gzip request bodies"},
	{"query_params", "", false, "extra bulk query parameters, URL query syntax (a=1&b=2), e.g. for VictoriaLogs _msg_field"},
	{"key_prefix", audit.DefaultPrefix, false, "prefix of the keys parsed from the message"},
	{"message_key", DefaultMessageKey, false, "record key holding the log line (exact case; in_systemd writes MESSAGE unless Lowercase On)"},
	{"mode", string(parser.ModeAll), false, "all, audit (the 45 audit events and NRI errors) or nri (lines with nri.* keys too)"},
	{"policy_file", "", false, "audit policy YAML (levels, redaction); default: keep all, redact env values"},
	{"keep_fields", "", false, "comma-separated journal fields to keep (glob patterns); default all"},
	{"drop_fields", "", false, "comma-separated journal fields to drop (glob patterns)"},
	{"dead_letter_path", "", false, "NDJSON file for documents Elasticsearch rejects permanently and undecodable chunk data"},
	{"dead_letter_index", "", false, "index for those instead of a file"},
	{"flush_timeout", DefaultFlushTimeout.String(), false, "upper bound of one flush (decode, send, retries); then FLB_RETRY"},
	{"request_timeout", DefaultRequestTimeout.String(), false, "upper bound of one HTTP request"},
	{"retry_budget", DefaultRetryBudget.String(), false, "time one flush may spend backing off before retrying failed items"},
	{"max_batch_bytes", "5M", false, "largest bulk request body (uncompressed); larger batches are split"},
	{"max_conns", strconv.Itoa(esbulk.DefaultMaxConns), false, "keep-alive connections per Elasticsearch host"},
	{"stats_interval", esbulk.DefaultStatsInterval.String(), false, "period of the delivery summary log line; off disables it"},
	{"health_check", "off", false, "on: Init fails unless Elasticsearch answers; warn: log a warning instead"},
	{"plugin_log_level", "info", false, "debug, info, warn or error (the core log_level key is invisible to plugins)"},
}

// Keys returns the documented configuration keys.
func Keys() []Key { return append([]Key(nil), keys...) }

// HealthCheck is what Init does with an Elasticsearch probe.
type HealthCheck string

// Health check modes.
const (
	HealthOff  HealthCheck = "off"
	HealthOn   HealthCheck = "on"
	HealthWarn HealthCheck = "warn"
)

// Config is the parsed configuration of one output instance.
type Config struct {
	ES           esbulk.Config // Logger is left nil; New sets it
	Parser       parser.Options
	PolicyFile   string
	FlushTimeout time.Duration
	HealthCheck  HealthCheck
	LogLevel     slog.Level
	raw          map[string]string // effective values, for LogAttrs
}

// keyError names the key in every configuration error.
func keyError(key, value, format string, args ...any) error {
	return fmt.Errorf("flbout: key %s=%q: %s", key, value, fmt.Sprintf(format, args...))
}

// ParseConfig reads and validates every key through g. Errors name the key.
func ParseConfig(g Getter) (Config, error) {
	c := Config{raw: make(map[string]string, len(keys))}
	get := func(k string) string {
		v := strings.TrimSpace(g.Get(k))
		if v != "" {
			c.raw[k] = v
		}
		return v
	}
	for _, k := range keys {
		if k.Default != "" {
			c.raw[k.Name] = k.Default
		}
	}
	var err error

	urls := get("url")
	if urls == "" {
		urls = DefaultURL
	}
	for _, u := range splitList(urls) {
		if err := checkURL(u); err != nil {
			return c, keyError("url", redactURL(urls), "%v", err)
		}
		c.ES.URLs = append(c.ES.URLs, u)
	}
	if len(c.ES.URLs) == 0 {
		return c, keyError("url", urls, "no URL")
	}
	c.raw["url"] = redactURL(urls)

	c.ES.Index = get("index")
	c.ES.DataStream = get("data_stream")
	if c.ES.Index != "" && c.ES.DataStream != "" {
		return c, keyError("data_stream", c.ES.DataStream, "set index or data_stream, not both")
	}
	if c.ES.DataStream != "" {
		delete(c.raw, "index")
		if err := checkIndexName(c.ES.DataStream); err != nil {
			return c, keyError("data_stream", c.ES.DataStream, "%v", err)
		}
	} else if c.ES.Index != "" {
		if err := checkIndexName(strings.NewReplacer("%Y", "y", "%m", "m", "%d", "d", "%H", "h", "%%", "p").Replace(c.ES.Index)); err != nil {
			return c, keyError("index", c.ES.Index, "%v", err)
		}
	}
	c.ES.Pipeline = get("pipeline")

	c.ES.User = get("user")
	c.ES.Password = get("password")
	c.ES.APIKey = get("api_key")
	c.ES.BearerToken = get("bearer_token")
	if c.ES.Password != "" && c.ES.User == "" {
		return c, keyError("password", "*****", "password without user")
	}
	auth := []string{}
	if c.ES.User != "" {
		auth = append(auth, "user")
	}
	if c.ES.APIKey != "" {
		auth = append(auth, "api_key")
	}
	if c.ES.BearerToken != "" {
		auth = append(auth, "bearer_token")
	}
	if len(auth) > 1 {
		return c, keyError(auth[1], "*****", "set only one of user/password, api_key and bearer_token (got %s)", strings.Join(auth, " and "))
	}

	c.ES.CAFile = get("ca_file")
	c.ES.CertFile = get("cert_file")
	c.ES.KeyFile = get("key_file")
	for _, k := range []struct{ key, path string }{{"ca_file", c.ES.CAFile}, {"cert_file", c.ES.CertFile}, {"key_file", c.ES.KeyFile}} {
		if k.path == "" {
			continue
		}
		if _, err := os.Stat(k.path); err != nil {
			return c, keyError(k.key, k.path, "%v", err)
		}
	}
	if (c.ES.CertFile == "") != (c.ES.KeyFile == "") {
		if c.ES.CertFile == "" {
			return c, keyError("key_file", c.ES.KeyFile, "needs cert_file too")
		}
		return c, keyError("cert_file", c.ES.CertFile, "needs key_file too")
	}
	if c.ES.InsecureSkipVerify, err = parseBool(get("insecure_skip_verify"), false); err != nil {
		return c, keyError("insecure_skip_verify", g.Get("insecure_skip_verify"), "%v", err)
	}
	if c.ES.Compress, err = parseBool(get("compress"), false); err != nil {
		return c, keyError("compress", g.Get("compress"), "%v", err)
	}
	if qp := get("query_params"); qp != "" {
		vals, err := url.ParseQuery(qp)
		if err != nil {
			return c, keyError("query_params", qp, "%v (want a=1&b=2)", err)
		}
		c.ES.QueryParams = make(map[string]string, len(vals))
		for k, v := range vals {
			if k == "" || len(v) != 1 {
				return c, keyError("query_params", qp, "parameter %q must appear once with a name", k)
			}
			c.ES.QueryParams[k] = v[0]
		}
	}

	c.Parser.Prefix = get("key_prefix")
	if c.Parser.Prefix == "" {
		c.Parser.Prefix = audit.DefaultPrefix
	}
	c.Parser.MessageKey = get("message_key")
	if c.Parser.MessageKey == "" {
		c.Parser.MessageKey = DefaultMessageKey
	}
	if c.Parser.Mode, err = parser.ParseMode(get("mode")); err != nil {
		return c, keyError("mode", g.Get("mode"), "%v", err)
	}
	c.raw["mode"] = string(c.Parser.Mode)
	c.Parser.KeepFields = splitList(get("keep_fields"))
	c.Parser.DropFields = splitList(get("drop_fields"))
	if c.PolicyFile = get("policy_file"); c.PolicyFile != "" {
		p, err := policy.LoadFile(c.PolicyFile)
		if err != nil {
			return c, keyError("policy_file", c.PolicyFile, "%v", err)
		}
		c.Parser.Policy = p
	}
	// Let the parser validate prefix, patterns and policy now, not per flush.
	if _, err := parser.New(c.Parser); err != nil {
		key := "key_prefix"
		switch {
		case strings.Contains(err.Error(), "pattern"):
			key = "keep_fields/drop_fields"
		case strings.Contains(err.Error(), "policy"):
			key = "policy_file"
		}
		return c, keyError(key, g.Get(strings.Split(key, "/")[0]), "%v", err)
	}

	c.ES.DeadLetterPath = get("dead_letter_path")
	c.ES.DeadLetterIndex = get("dead_letter_index")
	if c.ES.DeadLetterPath != "" && c.ES.DeadLetterIndex != "" {
		return c, keyError("dead_letter_index", c.ES.DeadLetterIndex, "set dead_letter_path or dead_letter_index, not both")
	}
	if c.ES.DeadLetterIndex != "" {
		if err := checkIndexName(c.ES.DeadLetterIndex); err != nil {
			return c, keyError("dead_letter_index", c.ES.DeadLetterIndex, "%v", err)
		}
	}

	durations := []struct {
		key string
		dst *time.Duration
		def time.Duration
	}{
		{"flush_timeout", &c.FlushTimeout, DefaultFlushTimeout},
		{"request_timeout", &c.ES.RequestTimeout, DefaultRequestTimeout},
		{"retry_budget", &c.ES.RetryBudget, DefaultRetryBudget},
	}
	set := map[string]bool{}
	for _, d := range durations {
		v := get(d.key)
		if v == "" {
			*d.dst = d.def
			continue
		}
		set[d.key] = true
		if *d.dst, err = parseDuration(v); err != nil {
			return c, keyError(d.key, v, "%v", err)
		}
		if *d.dst <= 0 {
			return c, keyError(d.key, v, "must be positive")
		}
	}
	// Defaults never exceed an explicit, shorter flush_timeout.
	for _, k := range []struct {
		key string
		v   *time.Duration
	}{{"request_timeout", &c.ES.RequestTimeout}, {"retry_budget", &c.ES.RetryBudget}} {
		if *k.v <= c.FlushTimeout {
			continue
		}
		if set[k.key] {
			return c, keyError(k.key, k.v.String(), "longer than flush_timeout %v, which bounds the whole flush", c.FlushTimeout)
		}
		*k.v = c.FlushTimeout
		c.raw[k.key] = c.FlushTimeout.String()
	}
	if v := get("stats_interval"); v != "" {
		if b, berr := parseBool(v, true); berr == nil && !b {
			c.ES.StatsInterval = -1
		} else if c.ES.StatsInterval, err = parseDuration(v); err != nil || c.ES.StatsInterval <= 0 {
			return c, keyError("stats_interval", v, "want a positive duration or off")
		}
	}

	if v := get("max_batch_bytes"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return c, keyError("max_batch_bytes", v, "%v", err)
		}
		if n < 1024 {
			return c, keyError("max_batch_bytes", v, "must be at least 1K")
		}
		c.ES.MaxBatchBytes = int(n)
	}
	if v := get("max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return c, keyError("max_conns", v, "want an integer from 1 to 1024")
		}
		c.ES.MaxConns = n
	}

	switch hc := HealthCheck(strings.ToLower(get("health_check"))); hc {
	case "":
		c.HealthCheck = HealthOff
	case HealthOn, HealthOff, HealthWarn:
		c.HealthCheck = hc
	default:
		if b, err := parseBool(string(hc), false); err == nil {
			c.HealthCheck = HealthOff
			if b {
				c.HealthCheck = HealthOn
			}
		} else {
			return c, keyError("health_check", g.Get("health_check"), "want on, off or warn")
		}
	}
	c.raw["health_check"] = string(c.HealthCheck)

	switch v := strings.ToLower(get("plugin_log_level")); v {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug", "trace":
		c.LogLevel = slog.LevelDebug
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error", "off":
		c.LogLevel = slog.LevelError
	default:
		return c, keyError("plugin_log_level", v, "want debug, info, warn or error")
	}
	return c, nil
}

// LogAttrs returns the effective configuration, secrets masked, one
// attribute per key in documentation order.
func (c Config) LogAttrs() []slog.Attr {
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		v, ok := c.raw[k.Name]
		if !ok {
			continue
		}
		if k.Secret {
			v = "*****"
		}
		attrs = append(attrs, slog.String(k.Name, v))
	}
	return attrs
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseBool accepts Fluent Bit's spellings (flb_utils_bool).
func parseBool(s string, def bool) (bool, error) {
	switch strings.ToLower(s) {
	case "":
		return def, nil
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("want on or off")
}

// parseDuration accepts Go durations (30s, 1m30s) and plain seconds (30).
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n > 1e9 {
			return 0, fmt.Errorf("too large")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 30s or 1m, or seconds")
	}
	return d, nil
}

// parseSize accepts bytes with an optional K, M or G suffix (binary
// multiples; KB/KiB spellings too).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a size such as 5M, 512K or 1048576")
	}
	return n * mult, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("URL %q: %v", redactURL(raw), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", redactURL(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q: no host", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("URL %q: no query or fragment (use query_params)", redactURL(raw))
	}
	return nil
}

// redactURL masks passwords in a comma-separated URL list.
func redactURL(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "*****")
			}
			parts[i] = u.String()
			// url.String escapes the mask; keep it readable.
			parts[i] = strings.Replace(parts[i], "%2A%2A%2A%2A%2A", "*****", 1)
		} else {
			parts[i] = p
		}
	}
	return strings.Join(parts, ",")
}

// checkIndexName applies Elasticsearch's index naming rules.
func checkIndexName(name string) error {
	switch {
	case name == "." || name == "..":
		return fmt.Errorf("not a valid index name")
	case len(name) > 255:
		return fmt.Errorf("longer than 255 bytes")
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("must not start with -, _ or +")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("must be lowercase")
		case c < 0x20 || c == 0x7f || strings.IndexByte(`\/*?"<>| ,#:`, c) >= 0:
			return fmt.Errorf("must not contain %q", string(c))
		}
	}
	return nil
}
