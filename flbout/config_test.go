package flbout

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/parser"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ES.URLs) != 1 || c.ES.URLs[0] != DefaultURL {
		t.Errorf("URLs = %v", c.ES.URLs)
	}
	if c.ES.Index != "" || c.ES.DataStream != "" {
		t.Errorf("index %q data stream %q: want esbulk's default", c.ES.Index, c.ES.DataStream)
	}
	if c.Parser.Prefix != "nri_" || c.Parser.MessageKey != "MESSAGE" || c.Parser.Mode != parser.ModeAll {
		t.Errorf("parser options %+v", c.Parser)
	}
	if c.FlushTimeout != DefaultFlushTimeout || c.ES.RequestTimeout != DefaultRequestTimeout || c.ES.RetryBudget != DefaultRetryBudget {
		t.Errorf("timeouts %v %v %v", c.FlushTimeout, c.ES.RequestTimeout, c.ES.RetryBudget)
	}
	if c.HealthCheck != HealthOff || c.LogLevel != slog.LevelInfo || c.ES.Compress || c.ES.InsecureSkipVerify {
		t.Errorf("health %v level %v compress %v insecure %v", c.HealthCheck, c.LogLevel, c.ES.Compress, c.ES.InsecureSkipVerify)
	}
}

func TestParseConfigAllKeys(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(pem, []byte("-"), 0o600); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("apiVersion: nri-audit/v1\nkind: Policy\ndefaultLevel: Metadata\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := MapGetter{
		"url": "http://a:9200, https://u:secret@b:9200/prefix", "data_stream": "logs-nri-default",
		"pipeline": "p1", "user": "", "api_key": "id:key", "ca_file": pem, "cert_file": pem, "key_file": pem,
		"insecure_skip_verify": "On", "compress": "yes", "query_params": "_msg_field=MESSAGE&_time_field=@timestamp",
		"key_prefix": "x_", "message_key": "MSG", "mode": "AUDIT", "policy_file": pol,
		"keep_fields": "MESSAGE, _HOSTNAME,_SYSTEMD_*", "drop_fields": "_CMDLINE",
		"dead_letter_path": filepath.Join(dir, "dl.ndjson"), "flush_timeout": "90",
		"request_timeout": "5s", "retry_budget": "1m", "max_batch_bytes": "2M", "max_conns": "8",
		"stats_interval": "off", "health_check": "warn", "plugin_log_level": "debug",
	}
	c, err := ParseConfig(g)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.ES.URLs, " "); got != "http://a:9200 https://u:secret@b:9200/prefix" {
		t.Errorf("URLs %q", got)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"data_stream", c.ES.DataStream == "logs-nri-default"},
		{"pipeline", c.ES.Pipeline == "p1"},
		{"api_key", c.ES.APIKey == "id:key"},
		{"tls files", c.ES.CAFile == pem && c.ES.CertFile == pem && c.ES.KeyFile == pem},
		{"insecure_skip_verify", c.ES.InsecureSkipVerify},
		{"compress", c.ES.Compress},
		{"query_params", c.ES.QueryParams["_msg_field"] == "MESSAGE" && c.ES.QueryParams["_time_field"] == "@timestamp"},
		{"key_prefix", c.Parser.Prefix == "x_"},
		{"message_key", c.Parser.MessageKey == "MSG"},
		{"mode", c.Parser.Mode == parser.ModeAudit},
		{"policy_file", c.Parser.Policy != nil && c.Parser.Policy.DefaultLevel == "Metadata"},
		{"keep_fields", strings.Join(c.Parser.KeepFields, "|") == "MESSAGE|_HOSTNAME|_SYSTEMD_*"},
		{"drop_fields", strings.Join(c.Parser.DropFields, "|") == "_CMDLINE"},
		{"dead_letter_path", strings.HasSuffix(c.ES.DeadLetterPath, "dl.ndjson")},
		{"flush_timeout", c.FlushTimeout == 90*time.Second},
		{"request_timeout", c.ES.RequestTimeout == 5*time.Second},
		{"retry_budget", c.ES.RetryBudget == time.Minute},
		{"max_batch_bytes", c.ES.MaxBatchBytes == 2<<20},
		{"max_conns", c.ES.MaxConns == 8},
		{"stats_interval", c.ES.StatsInterval < 0},
		{"health_check", c.HealthCheck == HealthWarn},
		{"plugin_log_level", c.LogLevel == slog.LevelDebug},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s not applied: %+v", ch.name, c)
		}
	}

	// The effective configuration masks secrets, including a URL password.
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).LogAttrs(t.Context(), slog.LevelInfo, "cfg", c.LogAttrs()...)
	line := b.String()
	for _, secret := range []string{"secret", "id:key"} {
		if strings.Contains(line, secret) {
			t.Errorf("effective config leaks %q: %s", secret, line)
		}
	}
	for _, want := range []string{"api_key=*****", "u:*****@b", "mode=audit", "health_check=warn", "flush_timeout=90"} {
		if !strings.Contains(line, want) {
			t.Errorf("effective config lacks %q: %s", want, line)
		}
	}
}

func TestParseConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	badPolicy := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badPolicy, []byte("defaultLevel: Loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		key string
		g   MapGetter
	}{
		{"url", MapGetter{"url": "ftp://x"}},
		{"url", MapGetter{"url": "http://"}},
		{"url", MapGetter{"url": "http://x:9200/?a=b"}},
		{"index", MapGetter{"index": "Upper"}},
		{"data_stream", MapGetter{"index": "a", "data_stream": "b"}},
		{"data_stream", MapGetter{"data_stream": "_bad"}},
		{"password", MapGetter{"password": "p"}},
		{"api_key", MapGetter{"user": "u", "api_key": "k"}},
		{"ca_file", MapGetter{"ca_file": filepath.Join(dir, "missing.pem")}},
		{"cert_file", MapGetter{"cert_file": badPolicy}},
		{"insecure_skip_verify", MapGetter{"insecure_skip_verify": "maybe"}},
		{"compress", MapGetter{"compress": "gzip"}},
		{"query_params", MapGetter{"query_params": "a=1&a=2"}},
		{"key_prefix", MapGetter{"key_prefix": `a"b`}},
		{"mode", MapGetter{"mode": "everything"}},
		{"policy_file", MapGetter{"policy_file": badPolicy}},
		{"policy_file", MapGetter{"policy_file": filepath.Join(dir, "nope.yaml")}},
		{"keep_fields", MapGetter{"keep_fields": "[x"}},
		{"dead_letter_index", MapGetter{"dead_letter_path": "/tmp/x", "dead_letter_index": "dl"}},
		{"dead_letter_index", MapGetter{"dead_letter_index": "Bad"}},
		{"flush_timeout", MapGetter{"flush_timeout": "soon"}},
		{"flush_timeout", MapGetter{"flush_timeout": "-1s"}},
		{"request_timeout", MapGetter{"request_timeout": "0"}},
		{"request_timeout", MapGetter{"request_timeout": "1m", "flush_timeout": "10s"}},
		{"retry_budget", MapGetter{"retry_budget": "x"}},
		{"retry_budget", MapGetter{"retry_budget": "1m", "flush_timeout": "30s"}},
		{"max_batch_bytes", MapGetter{"max_batch_bytes": "5X"}},
		{"max_batch_bytes", MapGetter{"max_batch_bytes": "10"}},
		{"max_conns", MapGetter{"max_conns": "0"}},
		{"stats_interval", MapGetter{"stats_interval": "often"}},
		{"health_check", MapGetter{"health_check": "sometimes"}},
		{"plugin_log_level", MapGetter{"plugin_log_level": "loud"}},
	}
	for _, tc := range cases {
		_, err := ParseConfig(tc.g)
		if err == nil {
			t.Errorf("%v: no error", tc.g)
			continue
		}
		if !strings.Contains(err.Error(), "key "+tc.key+"=") && !strings.Contains(err.Error(), "key "+tc.key+"/") {
			t.Errorf("%v: error does not name %s: %v", tc.g, tc.key, err)
		}
	}
}

func TestShortFlushTimeoutClampsDefaults(t *testing.T) {
	c, err := ParseConfig(MapGetter{"flush_timeout": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ES.RequestTimeout != 3*time.Second || c.ES.RetryBudget != 3*time.Second {
		t.Fatalf("request_timeout %v retry_budget %v", c.ES.RequestTimeout, c.ES.RetryBudget)
	}
}

func TestParseHelpers(t *testing.T) {
	for in, want := range map[string]int64{"5M": 5 << 20, "512k": 512 << 10, "1048576": 1 << 20, "2MiB": 2 << 20, "1GB": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "1.5": 1500 * time.Millisecond, "2m": 2 * time.Minute} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
}

// Every key named in the issue exists, and none is a key Fluent Bit's core
// consumes (those never reach the plugin).
func TestKeysNotReserved(t *testing.T) {
	have := map[string]bool{}
	for _, k := range Keys() {
		have[k.Name] = true
		lk := strings.ToLower(k.Name)
		switch {
		case lk == "name", lk == "routes", lk == "processors", lk == "match", lk == "match_regex",
			lk == "alias", lk == "log_level", lk == "log_suppress_interval", lk == "host", lk == "port",
			lk == "ipv6", lk == "retry_limit", lk == "tls", lk == "workers", lk == "storage.total_limit_size",
			strings.HasPrefix(lk, "net."), strings.HasPrefix(lk, "tls."), strings.HasPrefix(lk, "oauth2"):
			t.Errorf("key %s is reserved by Fluent Bit", k.Name)
		}
		if k.Name != lk || strings.ContainsAny(k.Name, " -.") {
			t.Errorf("key %s is not snake_case", k.Name)
		}
	}
	for _, k := range []string{"url", "index", "data_stream", "user", "password", "api_key", "bearer_token",
		"ca_file", "cert_file", "key_file", "insecure_skip_verify", "compress", "key_prefix", "message_key",
		"mode", "policy_file", "keep_fields", "drop_fields", "dead_letter_path", "dead_letter_index",
		"flush_timeout", "request_timeout", "max_batch_bytes", "plugin_log_level", "health_check"} {
		if !have[k] {
			t.Errorf("key %s missing", k)
		}
	}
	if esbulk.DefaultIndex == "" {
		t.Error("esbulk default index empty")
	}
}
