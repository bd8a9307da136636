// Package journalgen makes systemd journal files for tests, benchmarks and
// demos: realistic containerd and CRI-O entries (the 45 NRI audit messages
// in text and JSON form, several plugins, plugin errors, ordinary lines, a
// multi-line panic, kubelet entries that the default matches exclude).
//
// Input: Options (entry count, start time, seed, host identity) or a slice
// of hand-made entries. Output: Journal Export Format bytes (AppendExport,
// WriteExport) and real journal files, written by piping that format into
// systemd-journal-remote (Make, Append). Generation is deterministic for a
// given Options, so document ids are stable across runs.
//
// Binary journal files are never committed: tests make them in a temporary
// directory.
package journalgen
