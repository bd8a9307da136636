// Package summary tallies shipped NRI audit documents: which plugin changed
// which field how often, and which plugin caused errors.
//
// Input: NDJSON documents as `nri-audit ship` or `nri-audit parse` write
// them (one JSON object per line, keys with the configured prefix, default
// nri_). Output: a Summary (counts per plugin and field, per operation;
// errors per plugin with a sample) and its text tables (Write). Lines that
// are not JSON objects are counted, never fatal.
package summary
