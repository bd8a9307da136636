// Package audit is the domain of nri-audit: the catalog of the 45 NRI audit
// messages (message → event name, op, api.Field), owner parsing of the
// nri.plugin value, error attribution (which plugin an error line blames),
// the audit policy and redaction rules, the key schema, and the two data
// types every other package exchanges:
//
//   - Entry: one journal entry (ordered data fields, receive time, cursor),
//     as a journald reader, a `journalctl -o json` line or a Fluent Bit
//     in_systemd record produces it;
//   - Record: one Elasticsearch document (@timestamp, deterministic id,
//     ordered unique fields), with AppendJSON as its canonical encoding.
//
// The package does no I/O. AppendJSON writes runs of plain fields with one
// SSE2 assembly call on amd64 (fields_amd64.s, shared macros in
// sse_amd64.h); other architectures use the portable Go twin the tests hold
// it to byte for byte.
package audit
