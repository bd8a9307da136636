// Package victorialogs builds and runs a real VictoriaLogs server, a log
// store with an Elasticsearch-compatible bulk API, for integration tests of
// the Elasticsearch sink (there is no Elasticsearch on the test machines).
//
// Input: a testing.TB. Output: a *Server on a free 127.0.0.1 port with its
// own data directory (tb.TempDir), stopped by SIGTERM, then SIGKILL, in
// tb.Cleanup; and, through Query, the stored rows as []map[string]any.
//
//	s := victorialogs.Start(t)
//	http.Post(s.ESURL()+"/_bulk?_time_field=@timestamp&_msg_field=nri_msg,MESSAGE", "application/x-ndjson", body)
//	s.Flush()
//	rows, err := s.Query(ctx, `nri_event:AddProcessEnv`)
//
// # The binary
//
// BuildBinary builds Module@Version (app/victoria-logs) into
// <repo>/build/cache/victoria-logs-v1.121.0 once; later calls, and other test
// binaries running at the same time, reuse it (flock on a lock file plus an
// atomic rename). `go install` refuses the module (its go.mod has replace
// directives), so the build runs `go mod download -json` and builds in a
// writable copy of the module tree with GOFLAGS=-mod=mod (the module zip has
// no vendor/), GOWORK=off and CGO_ENABLED=0. The module asks for go 1.24.4,
// so Go 1.26 with GOTOOLCHAIN=local builds it as it is. Setting EnvBinary
// (NRI_AUDIT_VICTORIALOGS_BIN) to a prebuilt binary skips the build. When no
// binary can be had, Start skips the test, or fails it when CI=true.
//
// The server runs with -retentionPeriod=100y and -futureRetention=100y
// (with the defaults, 7d and 2d, rows with fixed fixture dates are dropped at
// ingestion while the bulk answer still says 201) and
// -insert.maxLineSizeBytes=16MiB (MaxLineSize; the 256 KiB default aborts a
// request with a larger document).
//
// # The Elasticsearch bulk API of VictoriaLogs v1.121.0
//
// Read from app/vlinsert/elasticsearch and app/vlinsert/insertutil of the
// module and pinned by this package's tests:
//
//   - Endpoint: POST ESURL()+"/_bulk" only. An index in the path
//     (/insert/elasticsearch/<index>/_bulk) is HTTP 400 "unsupported path".
//     The body must be sent as application/x-ndjson or application/json:
//     with application/x-www-form-urlencoded the server parses the body as a
//     form and answers 200 {"errors":false,"items":[]} having stored nothing.
//     Content-Encoding gzip, deflate, zstd and snappy are accepted.
//   - Query args, or the equivalent headers, each a comma list:
//     _time_field (VL-Time-Field, default "_time"), _msg_field
//     (VL-Msg-Field; the first listed field with a non-empty value becomes
//     _msg, else _msg is "missing _msg field; see ..."), _stream_fields
//     (VL-Stream-Fields, default none: stream "{}"), ignore_fields,
//     extra_fields (name=value), decolorize_fields, debug. For nri-audit:
//     ?_time_field=@timestamp&_msg_field=nri_msg,MESSAGE&_stream_fields=_HOSTNAME,nri_runtime.
//     Without _time_field=@timestamp, @timestamp stays an ordinary field and
//     _time is the ingestion time.
//   - Actions: a line containing "create" or "index" (the action's metadata,
//     _index and _id included, is ignored). Any other action, invalid JSON,
//     a bad timestamp or a line over -insert.maxLineSizeBytes ends the
//     request: HTTP 200 with an EMPTY body (not JSON), the lines before it
//     stored, the rest dropped, a warning in the server log (Server.Output).
//   - Success: HTTP 200, Content-Type application/json, header
//     X-Elastic-Product: Elasticsearch, body
//     {"took":N,"errors":false,"items":[{"create":{"status":201}},...]},
//     one item per document, always "create" (even for index actions), no
//     _id, _index or result. There is no deduplication: the same _id sent
//     twice is stored twice, and 409 never happens.
//   - Other ES paths answer fakes: GET ESURL() gives {"version":{"number":"8.9.0"}},
//     _license an active "oss" license; _index_template/*, _ilm/policy/*,
//     _ingest/*, _nodes answer {} whatever the method.
//   - Values: every value is stored as a string. Strings as they are;
//     numbers as written (1.50 stays "1.50", 18446744073709551615 stays);
//     booleans "true"/"false"; arrays as their JSON text (["a","b"] becomes
//     the string `["a","b"]`; a word filter still matches an element);
//     nested objects flattened with "." (o.a.b); null and "" are absent.
//   - Time: @timestamp as RFC 3339 with up to 9 fractional digits (10 or
//     more is an error), an offset (converted to UTC), a date, or Unix
//     seconds/milliseconds/microseconds/nanoseconds; "0" or "" mean now.
//     The time field is consumed: it comes back only as _time, RFC 3339 UTC
//     with nanoseconds and trailing zeros trimmed
//     ("2025-03-04T05:06:07.123456789Z", "2025-03-04T05:06:07Z").
//
// # Queries
//
// Query posts query=<LogsQL> to /select/logsql/query over all time; the
// answer is one JSON object per line with _time, _stream_id, _stream, _msg
// and the fields. Rows are visible to queries after Flush
// (/internal/force_flush); a bulk request's rows reach the storage before
// its answer.
package victorialogs
