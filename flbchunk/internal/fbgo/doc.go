// Package fbgo runs fluent-bit-go's own decoder (output.NewDecoder and
// output.GetRecord, version a7a013e) the way real Go output plugins do, so
// that flbchunk's benchmarks and tests can compare against it in the same
// run. It needs cgo: fluent-bit-go copies the flush buffer with C.GoBytes,
// and cgo is not allowed in _test.go files, hence this small package.
//
// Input: a chunk copied into C memory (NewBuffer), as Fluent Bit passes it
// to FLBPluginFlushCtx. Output: per record, the event time and the record
// converted to map[string]any with []byte values turned into strings
// (Loki's toStringMap pattern).
package fbgo
