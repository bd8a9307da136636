// Package shipper is the loop of `nri-audit ship`: journal batches in,
// documents out, cursor committed only behind the sink's acknowledgement.
//
// Input: batches of audit.Entry (from journald.Reader) on a channel.
// Each entry goes through a parser.Builder; shipped records are added to a
// Sink (Elasticsearch bulk, or NDJSON to a file or stdout). The pending
// batch is flushed when it reaches Config.BatchSize records or
// Config.BatchBytes bytes, or Config.FlushInterval after its first record.
// Output: the sink's deliveries and, after each fully acknowledged flush,
// the cursor of the last entry consumed (records the mode filtered out
// included) saved in the cursor store.
//
// A flush that is not fully acknowledged is retried with the same batch
// (document ids are deterministic, so a re-sent document is a duplicate
// the sink recognizes), with exponential backoff, as long as it takes: the
// cursor never moves past an unacknowledged entry, so a crash re-sends and
// never loses. When the run's context ends, reading stops, the pending
// batch is flushed (for at most Config.DrainTimeout) and the cursor saved.
package shipper
