// Package esbulk is the Elasticsearch sink of nri-audit: it encodes
// audit.Record values into bulk NDJSON, sends them with the _bulk API and
// accounts for every document.
//
// Input: *audit.Record values added to a Batch (encoded at once, so callers
// may reuse the record). Output: a Result per Flush that counts each record
// as delivered (2xx), duplicate (409 on create: already indexed),
// dead-lettered (a permanent per-document failure, written with its reason
// to an NDJSON file or a dead-letter index) or failed (still retryable when
// the retry budget ran out; the caller must re-send, e.g. FLB_RETRY, and must
// not commit its source cursor).
//
// Every document is sent with the create action and the record's
// deterministic _id, so re-sending a batch never duplicates data. Item 429
// and 5xx are retried for those items only, with exponential backoff and
// jitter inside Config.RetryBudget; HTTP 413 splits the request in halves
// down to single documents; HTTP 429/5xx and transport errors retry the
// request; an HTTP 400 dead-letters the request. Setup installs index
// templates and lifecycle policies idempotently (version in _meta).
//
// The package uses only net/http; a Client is safe for concurrent use, a
// Batch is not.
package esbulk
