// Package flbout is the Fluent Bit output of nri-audit without cgo: the
// plugin (package plugin, out_nri_audit.so) only adapts Fluent Bit's calls
// to it.
//
// Input: an instance's configuration keys through a one-method Getter
// (ParseConfig), then Fluent Bit chunks (concatenated msgpack events, as
// in_systemd writes them) per flush. Output: per flush a Status — OK when
// every record was delivered, a duplicate, dead-lettered or dropped by the
// mode/policy; Retry when any record is not acknowledged (the chunk is
// re-delivered; deterministic document ids make that idempotent) — and
// documents in Elasticsearch through esbulk.
//
// A flush is synchronous and bounded by flush_timeout: decode (flbchunk,
// zero-copy) → build (parser) → batch → esbulk Flush. A chunk that cannot
// be decoded past some offset ships the events before it, dead-letters the
// rest with the reason and returns OK, since re-delivering the same bytes
// could never succeed. Output is safe for concurrent flushes (workers N).
package flbout
