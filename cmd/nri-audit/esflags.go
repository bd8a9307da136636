package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
)

// Environment variables that give defaults to the Elasticsearch flags
// (kept out of the flag defaults so -h never prints a secret).
const (
	envURL      = "ES_URL"
	envUser     = "ES_USER"
	envPassword = "ES_PASSWORD"
	envAPIKey   = "ES_API_KEY"
)

const defaultESURL = "http://127.0.0.1:9200"

// esFlags are the Elasticsearch sink options shared by setup and ship.
type esFlags struct {
	urls, index, dataStream, pipeline   string
	user, password, apiKey, bearerToken string
	caFile, certFile, keyFile           string
	insecure, compress                  bool
	requestTimeout, retryBudget         time.Duration
	maxBatchBytes                       int
	deadLetterFile, deadLetterIndex     string
	headers, params                     kvFlag
	getenv                              func(string) string // os.Getenv; tests replace it
}

func (o *esFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.urls, "url", "", "Elasticsearch URL(s), comma-separated, tried round robin (default $"+envURL+" or "+defaultESURL+")")
	fs.StringVar(&o.index, "index", esbulk.DefaultIndex, "target index: a name, or a pattern with %Y %m %d %H from each record's @timestamp (UTC)")
	fs.StringVar(&o.dataStream, "data-stream", "", "target data stream instead of --index, e.g. logs-nri_audit-default")
	fs.StringVar(&o.pipeline, "pipeline", "", "ingest pipeline for every document")
	fs.StringVar(&o.user, "user", "", "basic auth user (default $"+envUser+")")
	fs.StringVar(&o.password, "password", "", "basic auth password (default $"+envPassword+"; prefer the variable: flags show in ps)")
	fs.StringVar(&o.apiKey, "api-key", "", "API key: the encoded value, or id:key (default $"+envAPIKey+")")
	fs.StringVar(&o.bearerToken, "bearer-token", "", "bearer token (service account token)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust besides the system ones")
	fs.StringVar(&o.certFile, "cert-file", "", "PEM client certificate (with --key-file)")
	fs.StringVar(&o.keyFile, "key-file", "", "PEM client key")
	fs.BoolVar(&o.insecure, "insecure-skip-verify", false, "do not verify the server certificate (tests only)")
	fs.BoolVar(&o.compress, "compress", true, "gzip request bodies")
	fs.DurationVar(&o.requestTimeout, "request-timeout", esbulk.DefaultRequestTimeout, "timeout of one HTTP request")
	fs.DurationVar(&o.retryBudget, "retry-budget", esbulk.DefaultRetryBudget, "time one flush may spend retrying before it reports the rest as failed")
	fs.IntVar(&o.maxBatchBytes, "max-batch-bytes", esbulk.DefaultMaxBatchBytes, "largest uncompressed bulk request body")
	fs.StringVar(&o.deadLetterFile, "dead-letter-file", "", "NDJSON file for documents Elasticsearch rejects for good")
	fs.StringVar(&o.deadLetterIndex, "dead-letter-index", "", "index for documents Elasticsearch rejects for good (e.g. nri-audit-dead-letter)")
	fs.Var(&o.headers, "es-header", "extra HTTP header `name=value` for every request (repeatable)")
	fs.Var(&o.params, "es-param", "extra bulk query parameter `name=value` (repeatable), e.g. _msg_field=nri_msg for VictoriaLogs")
}

// config builds the esbulk configuration; esbulk.New validates it. The
// caller sets Logger.
func (o *esFlags) config() esbulk.Config {
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	urls := o.urls
	if urls == "" {
		urls = getenv(envURL)
	}
	if urls == "" {
		urls = defaultESURL
	}
	user, password, apiKey := o.user, o.password, o.apiKey
	if user == "" && apiKey == "" && o.bearerToken == "" {
		if apiKey = getenv(envAPIKey); apiKey == "" {
			user = getenv(envUser)
		}
	}
	if user != "" && password == "" {
		password = getenv(envPassword)
	}
	cfg := esbulk.Config{
		URLs:               splitList(urls),
		Index:              o.index,
		DataStream:         o.dataStream,
		Pipeline:           o.pipeline,
		User:               user,
		Password:           password,
		APIKey:             apiKey,
		BearerToken:        o.bearerToken,
		CAFile:             o.caFile,
		CertFile:           o.certFile,
		KeyFile:            o.keyFile,
		InsecureSkipVerify: o.insecure,
		Compress:           o.compress,
		RequestTimeout:     o.requestTimeout,
		RetryBudget:        o.retryBudget,
		MaxBatchBytes:      o.maxBatchBytes,
		DeadLetterPath:     o.deadLetterFile,
		DeadLetterIndex:    o.deadLetterIndex,
		Headers:            o.headers.m,
		QueryParams:        o.params.m,
	}
	if cfg.DataStream != "" {
		cfg.Index = "" // --data-stream overrides --index
	}
	return cfg
}

// kvFlag is a repeatable name=value flag.
type kvFlag struct{ m map[string]string }

func (k *kvFlag) String() string {
	if k == nil || len(k.m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(k.m))
	for n := range k.m {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for i, n := range keys {
		keys[i] = n + "=" + k.m[n]
	}
	return strings.Join(keys, ",")
}

func (k *kvFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[strings.TrimSpace(name)] = value
	return nil
}
