//go:build cgo

package fbgo

/*
#include <stdlib.h>
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

// Buffer is a chunk in C memory, like the data pointer Fluent Bit passes to
// a Go plugin's flush callback. Free it when done.
type Buffer struct {
	ptr unsafe.Pointer
	n   int
}

// NewBuffer copies b into freshly malloc'd C memory.
func NewBuffer(b []byte) *Buffer {
	p := C.malloc(C.size_t(max(len(b), 1)))
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return &Buffer{ptr: p, n: len(b)}
}

// Free releases the C memory; the Buffer must not be used afterwards.
func (b *Buffer) Free() {
	C.free(b.ptr)
	b.ptr, b.n = nil, 0
}

// Decode decodes every record of buf with fluent-bit-go and calls fn with
// its time and its string-keyed map. It stops, as plugins do, at the first
// GetRecord result other than 0 and returns the number of records and that
// result (-1 at the end of the buffer, other negatives on bad records).
func Decode(buf *Buffer, fn func(ts time.Time, rec map[string]any)) (records, ret int) {
	return DecodeRaw(buf, func(ts time.Time, rec map[any]any) { fn(ts, toStringMap(rec)) })
}

// DecodeRaw is Decode without the string conversion: fn gets the record as
// GetRecord returns it, with []byte values. It is the least work a plugin
// built on fluent-bit-go can do per record.
func DecodeRaw(buf *Buffer, fn func(ts time.Time, rec map[any]any)) (records, ret int) {
	dec := output.NewDecoder(buf.ptr, buf.n)
	for {
		ret, ts, rec := output.GetRecord(dec)
		if ret != 0 {
			return records, ret
		}
		var t time.Time
		switch v := ts.(type) {
		case output.FLBTime:
			t = v.Time
		case uint64:
			t = time.Unix(int64(v), 0)
		default:
			t = time.Now()
		}
		fn(t, rec)
		records++
	}
}

// toStringMap converts a decoded record to string keys and string values:
// fluent-bit-go returns str and bin values alike as []byte.
func toStringMap(rec map[any]any) map[string]any {
	m := make(map[string]any, len(rec))
	for k, v := range rec {
		key, ok := k.(string)
		if !ok {
			continue
		}
		m[key] = toStringValue(v)
	}
	return m
}

func toStringValue(v any) any {
	switch t := v.(type) {
	case []byte:
		return string(t)
	case map[any]any:
		return toStringMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toStringValue(e)
		}
		return out
	}
	return v
}
