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
// The package is pure Go and does no I/O.
package audit
