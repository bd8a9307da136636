// Package parser turns one journal entry into one Elasticsearch document
// (DESIGN.md §3): it decodes MESSAGE as a logrus text (logfmt) or JSON line,
// detected automatically, consumes `time` into @timestamp, prefixes and
// sanitizes the keys, classifies NRI audit events with the audit catalog,
// parses owners, attributes errors to plugins, applies the mode and the
// audit policy (levels, redaction), copies the journal fields and derives
// the deterministic document id.
//
// A Builder remembers the field names of the last entry (shape.go) and the
// minute of the last line time, so the entries of one unit skip the work
// that depends on names alone; the document does not change (the tests
// build every case twice).
//
// Input: *audit.Entry. Output: *audit.Record, built in place. No I/O.
package parser
