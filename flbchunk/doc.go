// Package flbchunk decodes the flush buffer Fluent Bit hands to a Go output
// plugin (a "chunk") into audit.Entry values, without reflection and
// without copying strings, and writes such chunks for tests.
//
// Input: a concatenation of msgpack log events, each one of
//
//	[[EventTime, {metadata}], {body}]   Fluent Bit >= 2.1 (metadata is skipped)
//	[EventTime, {body}]                 forward / Fluent Bit < 2.1
//	[uint seconds, {body}]              legacy forward
//	[float seconds, {body}]             accepted by Fluent Bit's own decoder
//
// with any header width (fixarray/fixmap, array16/map16, array32/map32 as
// in_systemd's encoder writes them). EventTime is ext type 0 with 8 bytes
// (big-endian uint32 seconds, uint32 nanoseconds) in any ext encoding.
// Events whose seconds are 0xFFFFFFFF or 0xFFFFFFFE are group start/end
// markers and are skipped.
//
// Output, per event: Entry.Realtime is the event time in UTC (nanoseconds),
// Entry.Cursor is empty (in_systemd does not expose it), and Entry.Fields
// holds the body keys in order, except address fields (keys starting with
// "__"). Values become strings so that a field never changes type:
//
//   - str and bin: the bytes as they are (invalid UTF-8 is passed through;
//     the document encoder repairs it);
//   - an array of scalars (a repeated journal field): JournalField.Value is
//     the first element, More the others; nil elements are dropped;
//   - integers and floats: decimal text; booleans: "true"/"false";
//   - maps and arrays holding maps or arrays: their JSON text, keys in the
//     order they come;
//   - an EventTime value: RFC 3339 text (UTC, nanoseconds);
//   - nil, an empty array, or an ext value of another type: the field is
//     absent.
//
// Strings from str/bin values and keys are views into the chunk (no copy);
// only the rare numeric and JSON values are allocated. Malformed input gives
// an *Error with the byte offset, never a panic.
//
// writer.go produces every one of these shapes (Writer, InSystemdChunk) for
// tests, benchmarks, fuzz seeds and the plugin's C-host tests.
package flbchunk
