// Package parser turns one journal entry into one Elasticsearch document
// (DESIGN.md §3): it decodes MESSAGE as a logrus text (logfmt) or JSON line,
// detected automatically, consumes `time` into @timestamp, prefixes and
// sanitizes the keys, classifies NRI audit events with the audit catalog,
// parses owners, attributes errors to plugins, applies the mode and the
// audit policy (levels, redaction), copies the journal fields and derives
// the deterministic document id.
//
// Input: *audit.Entry. Output: *audit.Record, built in place. No I/O.
package parser
