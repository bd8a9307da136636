package flbchunk

import (
	"math"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// This file writes Fluent Bit chunks for tests, benchmarks, fuzz seeds and
// the plugin's C-host tests. It is not on the hot path.

// Width selects how map and array headers are encoded.
type Width uint8

const (
	// Compact uses the smallest header that fits (fixmap/fixarray, then 16,
	// then 32 bits), as msgpack-c's packer does.
	Compact Width = iota
	// Wide16 writes map16/array16 headers (de/dc), or 32-bit ones when the
	// count does not fit.
	Wide16
	// Wide32 writes map32/array32 headers (df/dd), as Fluent Bit's
	// dynamic-field encoder does for in_systemd records.
	Wide32
)

// Writer appends msgpack-encoded Fluent Bit events to a byte slice. The
// zero value writes compact headers, fixext8 EventTimes and str keys and
// values.
type Writer struct {
	// Envelope is the width of the event's own array headers, the outer
	// [header, body] and the [time, metadata] header.
	Envelope Width
	// Maps is the width of map headers (metadata, body, nested) and of the
	// headers of array values.
	Maps Width
	// Ext8Time writes EventTime as ext8 (c7 08 00) instead of fixext8 (d7 00).
	Ext8Time bool
	// BinKeys writes map keys as bin instead of str.
	BinKeys bool
	// BinValues writes Str and Strs values as bin instead of str.
	BinValues bool
}

// InSystemdWriter returns the Writer whose output matches in_systemd's
// records: [[EventTime, {}], {body}] with fixarray envelopes and map32 /
// array32 headers everywhere else (fluent-bit src/flb_mp.c forces the
// 32-bit form so the encoder can patch counts in place).
func InSystemdWriter() Writer { return Writer{Maps: Wide32} }

// KV is one key/value pair of a map.
type KV struct {
	Key   string
	Value Value
}

// StrKVs builds a map of str values from alternating keys and values
// ("MESSAGE", "hello", "PRIORITY", "6"); a missing last value is "".
func StrKVs(pairs ...string) []KV {
	kvs := make([]KV, 0, (len(pairs)+1)/2)
	for i := 0; i < len(pairs); i += 2 {
		kv := KV{Key: pairs[i]}
		if i+1 < len(pairs) {
			kv.Value = Str(pairs[i+1])
		} else {
			kv.Value = Str("")
		}
		kvs = append(kvs, kv)
	}
	return kvs
}

type valueKind uint8

const (
	kindNil valueKind = iota
	kindStr
	kindBin
	kindStrs
	kindBool
	kindInt
	kindUint
	kindFloat32
	kindFloat64
	kindMap
	kindArray
	kindTime
	kindExt
	kindRaw
)

// Value is one msgpack value to write; build it with Str, Bin, Strs, Int,
// Uint, Float, Float32, Bool, Nil, Map, Array, Time, Ext or Raw. The zero
// Value is nil.
type Value struct {
	kind valueKind
	s    string // str, bin, ext data, raw bytes
	strs []string
	n    uint64 // bool, int and uint bits, float bits, ext type
	kvs  []KV
	vs   []Value
	t    time.Time
}

// Str is a msgpack str (or bin with Writer.BinValues).
func Str(s string) Value { return Value{kind: kindStr, s: s} }

// Bin is a msgpack bin.
func Bin(b []byte) Value { return Value{kind: kindBin, s: string(b)} }

// Strs is an array of str, as in_systemd writes a repeated journal field.
func Strs(values ...string) Value { return Value{kind: kindStrs, strs: values} }

// Int is a signed integer, in the smallest encoding that fits.
func Int(i int64) Value { return Value{kind: kindInt, n: uint64(i)} }

// Uint is an unsigned integer, in the smallest encoding that fits.
func Uint(u uint64) Value { return Value{kind: kindUint, n: u} }

// Float is a float64.
func Float(f float64) Value { return Value{kind: kindFloat64, n: math.Float64bits(f)} }

// Float32 is a float32.
func Float32(f float32) Value { return Value{kind: kindFloat32, n: uint64(math.Float32bits(f))} }

// Bool is a msgpack boolean.
func Bool(b bool) Value {
	v := Value{kind: kindBool}
	if b {
		v.n = 1
	}
	return v
}

// Nil is msgpack nil.
func Nil() Value { return Value{} }

// Map is a nested map.
func Map(kvs ...KV) Value { return Value{kind: kindMap, kvs: kvs} }

// Array is an array of arbitrary values.
func Array(vs ...Value) Value { return Value{kind: kindArray, vs: vs} }

// Time is an EventTime value (ext type 0).
func Time(t time.Time) Value { return Value{kind: kindTime, t: t} }

// Ext is an ext value of the given type, in the smallest encoding.
func Ext(typ int8, data []byte) Value {
	return Value{kind: kindExt, n: uint64(uint8(typ)), s: string(data)}
}

// Raw is msgpack written verbatim, for hand-made odd shapes.
func Raw(b []byte) Value { return Value{kind: kindRaw, s: string(b)} }

// AppendEventV2 appends [[EventTime, meta], body], Fluent Bit >= 2.1's event.
func (w Writer) AppendEventV2(dst []byte, t time.Time, meta, body []KV) []byte {
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = w.appendTime(dst, t)
	dst = w.AppendMap(dst, meta)
	return w.AppendMap(dst, body)
}

// AppendEventV1 appends [EventTime, body] (forward protocol, Fluent Bit < 2.1).
func (w Writer) AppendEventV1(dst []byte, t time.Time, body []KV) []byte {
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = w.appendTime(dst, t)
	return w.AppendMap(dst, body)
}

// AppendEventUint appends [seconds, body] with integer seconds (legacy forward).
func (w Writer) AppendEventUint(dst []byte, sec uint64, body []KV) []byte {
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = appendUint(dst, sec)
	return w.AppendMap(dst, body)
}

// AppendEventFloat appends [seconds, body] with float64 seconds.
func (w Writer) AppendEventFloat(dst []byte, sec float64, body []KV) []byte {
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = appendFloat64(dst, sec)
	return w.AppendMap(dst, body)
}

// AppendGroupStart appends a group start marker [[EventTime(0xFFFFFFFF, 0),
// meta], attrs], as OpenTelemetry inputs write it.
func (w Writer) AppendGroupStart(dst []byte, meta, attrs []KV) []byte {
	return w.appendMarker(dst, groupStart, meta, attrs)
}

// AppendGroupEnd appends a group end marker [[EventTime(0xFFFFFFFE, 0), {}], {}].
func (w Writer) AppendGroupEnd(dst []byte) []byte {
	return w.appendMarker(dst, groupEnd, nil, nil)
}

func (w Writer) appendMarker(dst []byte, sec uint32, meta, attrs []KV) []byte {
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = appendArrayHeader(dst, 2, w.Envelope)
	dst = w.AppendEventTime(dst, sec, 0)
	dst = w.AppendMap(dst, meta)
	return w.AppendMap(dst, attrs)
}

// AppendEventTime appends an EventTime: ext type 0 holding big-endian
// uint32 seconds and nanoseconds.
func (w Writer) AppendEventTime(dst []byte, sec, nsec uint32) []byte {
	if w.Ext8Time {
		dst = append(dst, 0xc7, 8, 0)
	} else {
		dst = append(dst, 0xd7, 0)
	}
	dst = append32(dst, sec)
	return append32(dst, nsec)
}

// appendTime writes t as EventTime; t must lie between 1970 and 2106.
func (w Writer) appendTime(dst []byte, t time.Time) []byte {
	return w.AppendEventTime(dst, uint32(t.Unix()), uint32(t.Nanosecond()))
}

// AppendMap appends kvs as a map.
func (w Writer) AppendMap(dst []byte, kvs []KV) []byte {
	dst = appendMapHeader(dst, len(kvs), w.Maps)
	for _, kv := range kvs {
		if w.BinKeys {
			dst = appendBin(dst, kv.Key)
		} else {
			dst = appendStr(dst, kv.Key)
		}
		dst = w.AppendValue(dst, kv.Value)
	}
	return dst
}

// AppendValue appends one value.
func (w Writer) AppendValue(dst []byte, v Value) []byte {
	switch v.kind {
	case kindStr:
		return w.appendString(dst, v.s)
	case kindBin:
		return appendBin(dst, v.s)
	case kindStrs:
		dst = appendArrayHeader(dst, len(v.strs), w.Maps)
		for _, s := range v.strs {
			dst = w.appendString(dst, s)
		}
		return dst
	case kindBool:
		if v.n != 0 {
			return append(dst, 0xc3)
		}
		return append(dst, 0xc2)
	case kindInt:
		if i := int64(v.n); i < 0 {
			return appendInt(dst, i)
		}
		return appendUint(dst, v.n)
	case kindUint:
		return appendUint(dst, v.n)
	case kindFloat32:
		return append32(append(dst, 0xca), uint32(v.n))
	case kindFloat64:
		return append64(append(dst, 0xcb), v.n)
	case kindMap:
		return w.AppendMap(dst, v.kvs)
	case kindArray:
		dst = appendArrayHeader(dst, len(v.vs), w.Maps)
		for _, e := range v.vs {
			dst = w.AppendValue(dst, e)
		}
		return dst
	case kindTime:
		return w.appendTime(dst, v.t)
	case kindExt:
		return appendExt(dst, int8(v.n), v.s)
	case kindRaw:
		return append(dst, v.s...)
	}
	return append(dst, 0xc0)
}

func (w Writer) appendString(dst []byte, s string) []byte {
	if w.BinValues {
		return appendBin(dst, s)
	}
	return appendStr(dst, s)
}

// AppendEventV2 appends [[EventTime, meta], body] with compact headers.
func AppendEventV2(dst []byte, t time.Time, meta, body []KV) []byte {
	return Writer{}.AppendEventV2(dst, t, meta, body)
}

// AppendEventV1 appends [EventTime, body] with compact headers.
func AppendEventV1(dst []byte, t time.Time, body []KV) []byte {
	return Writer{}.AppendEventV1(dst, t, body)
}

// AppendInSystemd appends e exactly as Fluent Bit's in_systemd writes an
// entry: 92 92 d7 00 <sec> <nsec> df 00 00 00 00 df <n>, then every field as
// str key and str value, a repeated field (More) as an array32 of str.
// Fields keep e's order (in_systemd moves a repeated key to where its
// second value appeared, which an Entry does not record).
func AppendInSystemd(dst []byte, e *audit.Entry) []byte {
	w := InSystemdWriter()
	dst = append(dst, 0x92, 0x92)
	dst = w.appendTime(dst, e.Realtime)
	dst = appendMapHeader(dst, 0, Wide32)
	dst = appendMapHeader(dst, len(e.Fields), Wide32)
	for i := range e.Fields {
		f := &e.Fields[i]
		dst = appendStr(dst, f.Name)
		if len(f.More) == 0 {
			dst = appendStr(dst, f.Value)
			continue
		}
		dst = appendArrayHeader(dst, 1+len(f.More), Wide32)
		dst = appendStr(dst, f.Value)
		for _, m := range f.More {
			dst = appendStr(dst, m)
		}
	}
	return dst
}

// InSystemdChunk returns a chunk holding entries as in_systemd writes them
// (see AppendInSystemd). Entry.Cursor is not written: in_systemd does not
// export it.
func InSystemdChunk(entries []*audit.Entry) []byte {
	var dst []byte
	for _, e := range entries {
		dst = AppendInSystemd(dst, e)
	}
	return dst
}

func appendArrayHeader(dst []byte, n int, w Width) []byte {
	switch {
	case w == Compact && n < 16:
		return append(dst, 0x90|byte(n))
	case w != Wide32 && n <= math.MaxUint16:
		return append16(append(dst, 0xdc), uint16(n))
	}
	return append32(append(dst, 0xdd), uint32(n))
}

func appendMapHeader(dst []byte, n int, w Width) []byte {
	switch {
	case w == Compact && n < 16:
		return append(dst, 0x80|byte(n))
	case w != Wide32 && n <= math.MaxUint16:
		return append16(append(dst, 0xde), uint16(n))
	}
	return append32(append(dst, 0xdf), uint32(n))
}

// appendStr writes a str in the smallest encoding, as msgpack_pack_str does.
func appendStr(dst []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = append16(append(dst, 0xda), uint16(n))
	default:
		dst = append32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

func appendBin(dst []byte, s string) []byte {
	switch n := len(s); {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = append16(append(dst, 0xc5), uint16(n))
	default:
		dst = append32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, s...)
}

func appendUint(dst []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(dst, byte(u))
	case u <= math.MaxUint8:
		return append(dst, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append16(append(dst, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return append32(append(dst, 0xce), uint32(u))
	}
	return append64(append(dst, 0xcf), u)
}

// appendInt writes a negative integer.
func appendInt(dst []byte, i int64) []byte {
	switch {
	case i >= -32:
		return append(dst, byte(i))
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append16(append(dst, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return append32(append(dst, 0xd2), uint32(i))
	}
	return append64(append(dst, 0xd3), uint64(i))
}

func appendFloat64(dst []byte, f float64) []byte {
	return append64(append(dst, 0xcb), math.Float64bits(f))
}

func appendExt(dst []byte, typ int8, data string) []byte {
	// fixext 1, 2, 4, 8 and 16 are d4..d8.
	fixext := [17]byte{1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}
	switch n := len(data); {
	case n <= 16 && fixext[n] != 0:
		dst = append(dst, fixext[n], byte(typ))
	case n <= math.MaxUint8:
		dst = append(dst, 0xc7, byte(n), byte(typ))
	case n <= math.MaxUint16:
		dst = append(append16(append(dst, 0xc8), uint16(n)), byte(typ))
	default:
		dst = append(append32(append(dst, 0xc9), uint32(n)), byte(typ))
	}
	return append(dst, data...)
}

func append16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func append32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func append64(dst []byte, v uint64) []byte { return append32(append32(dst, uint32(v>>32)), uint32(v)) }
