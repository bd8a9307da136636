package flbchunk

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// Every fixture below is annotated byte by byte, the way fluent-bit-go's
// output/decoder_test.go does. ts2024 is EventTime 2024-01-01T00:00:00.123456789Z.
var ts2024 = []byte{0xd7, 0x00, /* fixext8, type 0 (EventTime) */
	0x65, 0x92, 0x00, 0x80, /* seconds 1704067200 */
	0x07, 0x5b, 0xcd, 0x15, /* nanoseconds 123456789 */
}

const t2024 = "2024-01-01T00:00:00.123456789Z"

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type fixture struct {
	name  string
	chunk []byte
	want  []string // one rendered entry per event, see render
}

var fixtures = []fixture{
	{
		name: "v1 [EventTime, map] (fluent-bit-go dummyRecord)",
		chunk: []byte{0x92, /* fixarray 2 */
			0xd7, 0x00, 0x5e, 0xa9, 0x17, 0xe0, 0x00, 0x00, 0x00, 0x00, /* EventTime 2020-04-29 06:00:00 */
			0x82,                                           /* fixmap 2 */
			0xa7, 0x63, 0x6f, 0x6d, 0x70, 0x61, 0x63, 0x74, /* fixstr 7 "compact" */
			0xc3,                                     /* true */
			0xa6, 0x73, 0x63, 0x68, 0x65, 0x6d, 0x61, /* fixstr 6 "schema" */
			0x01, /* positive fixint 1 */
		},
		want: []string{`2020-04-29T06:00:00Z "compact"="true" "schema"="1"`},
	},
	{
		name: "v2 [[EventTime, meta], map] with array32 envelopes (fluent-bit-go dummyV2Record)",
		chunk: []byte{0xdd, 0x00, 0x00, 0x00, 0x02, /* array32 2 */
			0xdd, 0x00, 0x00, 0x00, 0x02, /* array32 2 */
			0xd7, 0x00, 0x64, 0xbe, 0x0e, 0xeb, 0x16, 0x36, 0xe1, 0x28, /* EventTime 2023-07-24 05:40:59.372695336 */
			0x80,                                           /* fixmap 0: metadata */
			0x82,                                           /* fixmap 2 */
			0xa7, 0x63, 0x6f, 0x6d, 0x70, 0x61, 0x63, 0x74, /* fixstr 7 "compact" */
			0xc3,                                     /* true */
			0xa6, 0x73, 0x63, 0x68, 0x65, 0x6d, 0x61, /* fixstr 6 "schema" */
			0x01, /* positive fixint 1 */
		},
		want: []string{`2023-07-24T05:40:59.372695336Z "compact"="true" "schema"="1"`},
	},
	{
		name: "v2 encoder fast path, fixarray and fixmap",
		chunk: cat([]byte{0x92, /* fixarray 2: event */
			0x92, /* fixarray 2: header */
		}, ts2024, []byte{
			0x80,                                    /* fixmap 0: metadata */
			0x81,                                    /* fixmap 1: body */
			0xa7, 'M', 'E', 'S', 'S', 'A', 'G', 'E', /* fixstr 7 */
			0xa5, 'h', 'e', 'l', 'l', 'o', /* fixstr 5 */
		}),
		want: []string{t2024 + ` "MESSAGE"="hello"`},
	},
	{
		name: "in_systemd: map32 metadata and body, repeated field as array32 of str",
		chunk: cat([]byte{0x92, 0x92}, /* fixarray 2, fixarray 2 */
			ts2024, []byte{
				0xdf, 0x00, 0x00, 0x00, 0x00, /* map32 0: metadata */
				0xdf, 0x00, 0x00, 0x00, 0x03, /* map32 3: body */
				0xa8, 'P', 'R', 'I', 'O', 'R', 'I', 'T', 'Y', /* fixstr 8 */
				0xa1, '6', /* fixstr 1: every journal value is a str */
				0xa4, '_', 'P', 'I', 'D', /* fixstr 4: trusted field */
				0xa4, '1', '0', '4', '3',
				0xa3, 'T', 'A', 'G', /* a repeated field, moved last */
				0xdd, 0x00, 0x00, 0x00, 0x03, /* array32 3 */
				0xa1, 'a', 0xa1, 'b', 0xa0, /* "a", "b", "" */
			}),
		want: []string{t2024 + ` "PRIORITY"="6" "_PID"="1043" "TAG"=["a" "b" ""]`},
	},
	{
		name: "v1 with ext8 EventTime",
		chunk: []byte{0x92, /* fixarray 2 */
			0xc7, 0x08, 0x00, /* ext8, length 8, type 0 */
			0x65, 0x92, 0x00, 0x80, 0x07, 0x5b, 0xcd, 0x15, /* 1704067200 s, 123456789 ns */
			0x81, 0xa1, 'k', 0xa1, 'v', /* {"k":"v"} */
		},
		want: []string{t2024 + ` "k"="v"`},
	},
	{
		name: "v2 with ext16 and ext32 EventTime",
		chunk: []byte{0x92, 0x92, /* event, header */
			0xc8, 0x00, 0x08, 0x00, /* ext16, length 8, type 0 */
			0x65, 0x92, 0x00, 0x80, 0x07, 0x5b, 0xcd, 0x15,
			0x80, 0x80, /* {} {} */
			0x92, 0x92,
			0xc9, 0x00, 0x00, 0x00, 0x08, 0x00, /* ext32, length 8, type 0 */
			0x65, 0x92, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
			0x80, 0x80,
		},
		want: []string{t2024, "2024-01-01T00:00:00Z"},
	},
	{
		name: "legacy [uint seconds, map]: fixint, uint8, uint32, uint64, non-negative int32",
		chunk: []byte{
			0x92, 0x05, 0x80, /* [5, {}] */
			0x92, 0xcc, 0xff, 0x80, /* [uint8 255, {}] */
			0x92, 0xce, 0x5e, 0xa9, 0x17, 0xe0, 0x80, /* [uint32 1588140000, {}] */
			0x92, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x5e, 0xa9, 0x17, 0xe0, 0x80, /* [uint64 1588140000, {}] */
			0x92, 0xd2, 0x00, 0x00, 0x00, 0x07, 0x80, /* [int32 7, {}]: msgpack-c calls it a positive integer */
		},
		want: []string{"1970-01-01T00:00:05Z", "1970-01-01T00:04:15Z", "2020-04-29T06:00:00Z",
			"2020-04-29T06:00:00Z", "1970-01-01T00:00:07Z"},
	},
	{
		name: "float seconds: float64 1.5 and float32 2.25",
		chunk: []byte{
			0x92, 0xcb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* [float64 1.5, */
			0x81, 0xa1, 'k', 0xa1, 'v', /* {"k":"v"}] */
			0x92, 0xca, 0x40, 0x10, 0x00, 0x00, 0x80, /* [float32 2.25, {}] */
		},
		want: []string{`1970-01-01T00:00:01.5Z "k"="v"`, "1970-01-01T00:00:02.25Z"},
	},
	{
		name: "16-bit headers: array16 envelopes, map16 metadata and body, array16 value",
		chunk: cat([]byte{0xdc, 0x00, 0x02, /* array16 2 */
			0xdc, 0x00, 0x02, /* array16 2 */
		}, ts2024, []byte{
			0xde, 0x00, 0x00, /* map16 0 */
			0xde, 0x00, 0x02, /* map16 2 */
			0xa1, 'a', 0xa1, '1',
			0xa1, 'r', 0xdc, 0x00, 0x02, 0xa1, 'x', 0xa1, 'y', /* "r": array16 ["x","y"] */
		}),
		want: []string{t2024 + ` "a"="1" "r"=["x" "y"]`},
	},
	{
		name: "str8/16/32 and bin8/16/32 keys and values",
		chunk: cat([]byte{0x92, 0x92}, ts2024, []byte{0x80,
			0x86,                 /* fixmap 6 */
			0xd9, 0x02, 's', '8', /* str8 key "s8" */
			0xd9, 0x01, 'a', /* str8 value "a" */
			0xda, 0x00, 0x03, 's', '1', '6', /* str16 key */
			0xda, 0x00, 0x01, 'b', /* str16 value */
			0xdb, 0x00, 0x00, 0x00, 0x03, 's', '3', '2', /* str32 key */
			0xdb, 0x00, 0x00, 0x00, 0x01, 'c', /* str32 value */
			0xc4, 0x02, 'b', '8', /* bin8 key */
			0xc4, 0x01, 'd', /* bin8 value */
			0xc5, 0x00, 0x03, 'b', '1', '6', /* bin16 key */
			0xc5, 0x00, 0x00, /* empty bin16 value */
			0xc6, 0x00, 0x00, 0x00, 0x03, 'b', '3', '2', /* bin32 key */
			0xc6, 0x00, 0x00, 0x00, 0x01, 'f', /* bin32 value */
		}),
		want: []string{t2024 + ` "s8"="a" "s16"="b" "s32"="c" "b8"="d" "b16"="" "b32"="f"`},
	},
	{
		name: "group start and end markers are skipped",
		chunk: cat([]byte{0x92, 0x92, /* group start */
			0xd7, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, /* seconds 0xFFFFFFFF = -1 */
			0x81, 0xa8, 'r', 'e', 's', 'o', 'u', 'r', 'c', 'e', 0x80, /* {"resource":{}} */
			0x81, 0xa5, 's', 'c', 'o', 'p', 'e', 0xa1, 'x', /* attributes {"scope":"x"} */
			0x92, 0x92, /* a log event in the group */
		}, ts2024, []byte{0x80, 0x81, 0xa1, 'k', 0xa1, 'v',
			0x92, 0x92, /* group end */
			0xd7, 0x00, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00, /* seconds 0xFFFFFFFE = -2 */
			0x80, 0x80,
		}),
		want: []string{t2024 + ` "k"="v"`},
	},
	{
		name: "scalars become decimal text, nil is absent",
		chunk: cat([]byte{0x92}, ts2024, []byte{
			0xde, 0x00, 0x0d, /* map16 13 */
			0xa1, 'a', 0x7f, /* positive fixint 127 */
			0xa1, 'b', 0xff, /* negative fixint -1 */
			0xa1, 'c', 0xcd, 0x01, 0x00, /* uint16 256 */
			0xa1, 'd', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* uint64 max */
			0xa1, 'e', 0xd0, 0x80, /* int8 -128 */
			0xa1, 'f', 0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* int64 min */
			0xa1, 'g', 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, /* float64 0.1 */
			0xa1, 'h', 0xca, 0x3d, 0xcc, 0xcc, 0xcd, /* float32 0.1 */
			0xa1, 'i', 0xc2, /* false */
			0xa1, 'j', 0xc0, /* nil: absent */
			0xa1, 'k', 0xd1, 0xff, 0x00, /* int16 -256 */
			0xa1, 'l', 0xd2, 0x00, 0x01, 0x00, 0x00, /* int32 65536 */
			0xa1, 'm', 0xce, 0xff, 0xff, 0xff, 0xff, /* uint32 max */
		}),
		want: []string{t2024 + ` "a"="127" "b"="-1" "c"="256" "d"="18446744073709551615" "e"="-128"` +
			` "f"="-9223372036854775808" "g"="0.1" "h"="0.1" "i"="false" "k"="-256" "l"="65536" "m"="4294967295"`},
	},
	{
		name: "maps and arrays of containers become JSON text; arrays of scalars stay arrays",
		chunk: cat([]byte{0x92}, ts2024, []byte{
			0x86,            /* fixmap 6 */
			0xa1, 'm', 0x83, /* "m": fixmap 3 */
			0xa1, 'z', 0x01, /* "z":1 (order kept, not sorted) */
			0xa1, 'a', 0x93, 0xc3, 0xc0, 0xa2, 'x', '"', /* "a":[true,null,"x\""] */
			0x01, 0xa1, 'n', /* key 1 → "1" */
			0xa1, 'l', 0x92, 0x81, 0xa1, 'k', 0xa1, 'v', 0x90, /* "l": [{"k":"v"},[]] */
			0xa1, 's', 0x93, 0xa1, 'x', 0xc0, 0x05, /* "s": ["x",nil,5] → Value "x", More ["5"] */
			0xa1, 'e', 0x90, /* "e": [] → absent */
			0xa1, 'o', 0x91, 0xa1, 'y', /* "o": ["y"] → a single value */
			0xa1, 'f', 0x81, 0xa1, 'x', 0xcb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* {"x":NaN} */
		}),
		want: []string{t2024 + ` "m"="{\"z\":1,\"a\":[true,null,\"x\\\"\"],\"1\":\"n\"}"` +
			` "l"="[{\"k\":\"v\"},[]]" "s"=["x" "5"] "o"="y" "f"="{\"x\":null}"`},
	},
	{
		name: "ext values: EventTime becomes RFC 3339 text, other types are absent",
		chunk: cat([]byte{0x92}, ts2024, []byte{
			0x84,                                                                  /* fixmap 4 */
			0xa1, 't', 0xd7, 0x00, 0x65, 0x92, 0x00, 0x80, 0x00, 0x00, 0x00, 0x01, /* EventTime value */
			0xa1, 'x', 0xd4, 0x05, 0x2a, /* fixext1 type 5: absent */
			0xa1, 'y', 0xc7, 0x03, 0x07, 'a', 'b', 'c', /* ext8 type 7: absent */
			0xa1, 'j', 0x91, 0xd4, 0x05, 0x2a, /* [fixext1]: JSON with null */
		}),
		want: []string{t2024 + ` "t"="2024-01-01T00:00:00.000000001Z" "j"="[null]"`},
	},
	{
		name: "address fields are not copied",
		chunk: cat([]byte{0x92}, ts2024, []byte{
			0x84, /* fixmap 4 */
			0xa8, '_', '_', 'C', 'U', 'R', 'S', 'O', 'R', 0xa3, 's', '=', '1',
			0xa4, '_', 'P', 'I', 'D', 0xa1, '1',
			0xa4, '_', '_', 'X', 'X', 0x81, 0xa1, 'k', 0x90, /* any __ key, any value */
			0xa2, '_', '_', 0xc0,
		}),
		want: []string{t2024 + ` "_PID"="1"`},
	},
	{
		name: "non-UTF-8 bytes and newlines are passed through",
		chunk: cat([]byte{0x92}, ts2024, []byte{
			0x81, 0xa7, 'M', 'E', 'S', 'S', 'A', 'G', 'E',
			0xa5, 0xff, 0xfe, '\n', 'a', 0xc3, /* invalid UTF-8, a newline, a truncated sequence */
		}),
		want: []string{t2024 + ` "MESSAGE"="\xff\xfe\na\xc3"`},
	},
	{
		name: "non-empty metadata is skipped",
		chunk: cat([]byte{0x92, 0x92}, ts2024, []byte{
			0x82, 0xa1, 'a', 0x92, 0x01, 0x81, 0xa1, 'b', 0xc0, /* {"a":[1,{"b":nil}], */
			0xa1, 'c', 0xd7, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, /* "c": EventTime} */
			0x81, 0xa1, 'k', 0xa1, 'v',
		}),
		want: []string{t2024 + ` "k"="v"`},
	},
	{
		name: "empty body and an empty string as the chunk's last byte",
		chunk: cat([]byte{0x92}, ts2024, []byte{0x80,
			0x92}, ts2024, []byte{0x81, 0xa0, 0xa0 /* {"":""} */}),
		want: []string{t2024, t2024 + ` ""=""`},
	},
	{name: "empty chunk", chunk: []byte{}, want: nil},
}

// render prints an entry as `time "k"="v" "r"=["a" "b"]`, %q-quoted.
func render(e *audit.Entry) string {
	var b strings.Builder
	b.WriteString(e.Realtime.Format(time.RFC3339Nano))
	for _, f := range e.Fields {
		fmt.Fprintf(&b, " %q=", f.Name)
		if len(f.More) == 0 {
			fmt.Fprintf(&b, "%q", f.Value)
			continue
		}
		fmt.Fprintf(&b, "[%q", f.Value)
		for _, m := range f.More {
			fmt.Fprintf(&b, " %q", m)
		}
		b.WriteString("]")
	}
	return b.String()
}

func decodeRendered(d *Decoder, chunk []byte) ([]string, error) {
	var got []string
	err := d.Decode(chunk, func(e *audit.Entry) error {
		got = append(got, render(e))
		return nil
	})
	return got, err
}

func TestDecodeFixtures(t *testing.T) {
	var d Decoder // shared: reuse across chunks must not leak state
	for _, tc := range fixtures {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRendered(&d, tc.chunk)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Decode:\n got %q\nwant %q", got, tc.want)
			}
			n, err := Count(tc.chunk)
			if err != nil || n != len(tc.want) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(tc.want))
			}
		})
	}
}

func TestDecodeEntryShape(t *testing.T) {
	chunk := fixtures[3].chunk // in_systemd
	var d Decoder
	err := d.Decode(chunk, func(e *audit.Entry) error {
		if e.Realtime.Location() != time.UTC {
			t.Errorf("Realtime location = %v, want UTC", e.Realtime.Location())
		}
		if e.Cursor != "" {
			t.Errorf("Cursor = %q, want empty", e.Cursor)
		}
		f := e.Fields[2]
		if f.Name != "TAG" || !f.Repeated() || f.Value != "a" || !slices.Equal(f.More, []string{"b", ""}) {
			t.Errorf("repeated field = %+v", f)
		}
		if cap(f.More) != len(f.More) {
			t.Errorf("More has spare capacity %d > %d: an append would clobber the arena", cap(f.More), len(f.More))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecodeZeroCopy checks that str values are views into the chunk.
func TestDecodeZeroCopy(t *testing.T) {
	chunk := AppendEventV2(nil, time.Unix(1, 0), nil, StrKVs("MESSAGE", "hello world"))
	var d Decoder
	var got string
	if err := d.Decode(chunk, func(e *audit.Entry) error { got = e.Fields[0].Value; return nil }); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(chunk, []byte("hello world"))
	chunk[i] = 'J' // the view sees the change: nothing was copied
	if got != "Jello world" {
		t.Fatalf("value = %q, want a view into the chunk", got)
	}
}

type errFixture struct {
	name   string
	chunk  []byte
	offset int
	events int
	reason string // substring of Error.Reason
}

var errFixtures = []errFixture{
	{"root is a map (a metrics chunk)", []byte{0x81, 0xa1, 'k', 0x01}, 0, 0, "event is a map, not an array"},
	{"root array of 3", []byte{0x93, 0x01, 0x80, 0x80}, 0, 0, "array of 3 elements, not 2"},
	{"header array of 3", []byte{0x92, 0x93, 0x01, 0x80, 0x80, 0x80}, 1, 0, "not [time, metadata]"},
	{"timestamp is a string", []byte{0x92, 0xa1, '1', 0x80}, 1, 0, "event time is a string"},
	{"negative timestamp", []byte{0x92, 0xff, 0x80}, 1, 0, "negative event time -1"},
	{"uint64 timestamp beyond int64", []byte{0x92, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}, 1, 0, "out of range"},
	{"NaN timestamp", []byte{0x92, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 0x80}, 1, 0, "out of range"},
	{"EventTime of ext type 1", []byte{0x92, 0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}, 1, 0, "ext type 1 with 8 bytes"},
	{"EventTime of 4 bytes", []byte{0x92, 0xd6, 0x00, 0, 0, 0, 0, 0x80}, 1, 0, "ext type 0 with 4 bytes"},
	{"metadata is nil", cat([]byte{0x92, 0x92}, ts2024, []byte{0xc0, 0x80}), 12, 0, "metadata is nil, not a map"},
	{"body is an array", cat([]byte{0x92}, ts2024, []byte{0x90}), 11, 0, "body is an array, not a map"},
	{"body key is an int", cat([]byte{0x92}, ts2024, []byte{0x81, 0x01, 0x01}), 12, 0, "body key is a number, not a string"},
	{"reserved byte 0xc1 as a value", cat([]byte{0x92}, ts2024, []byte{0x81, 0xa1, 'k', 0xc1}), 14, 0, "reserved byte 0xc1"},
	{"reserved byte 0xc1 as the root", []byte{0xc1}, 0, 0, "reserved byte 0xc1"},
	{"array32 count beyond the chunk", cat([]byte{0x92}, ts2024, []byte{0x81, 0xa1, 'k', 0xdd, 0xff, 0xff, 0xff, 0xff}), 14, 0, "exceeds the chunk"},
	{"map32 count beyond the chunk", []byte{0x92, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1}, 2, 0, "exceeds the chunk"},
	{"str32 length beyond the chunk", cat([]byte{0x92}, ts2024, []byte{0x81, 0xdb, 0xff, 0xff, 0xff, 0xff}), 12, 0, "exceeds the chunk"},
	{"nesting deeper than maxDepth", cat([]byte{0x92}, ts2024, []byte{0x81, 0xa1, 'k'}, bytes.Repeat([]byte{0x91}, 100), []byte{0x01}), 14 + maxDepth + 1, 0, "deeper than 64"},
	{"second event truncated", cat([]byte{0x92}, ts2024, []byte{0x80, 0x92}, ts2024, []byte{0x81, 0xa1}), 23, 1, "body of 1 pairs exceeds the chunk"},
	{"a lone byte after an event", cat([]byte{0x92}, ts2024, []byte{0x80, 0x05}), 12, 1, "event is a number, not an array"},
}

func TestDecodeErrors(t *testing.T) {
	var d Decoder
	for _, tc := range errFixtures {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := d.Decode(tc.chunk, func(*audit.Entry) error { calls++; return nil })
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Decode error = %v, want *Error", err)
			}
			if de.Offset != tc.offset || de.Events != tc.events || !strings.Contains(de.Reason, tc.reason) {
				t.Fatalf("Decode error = %+v, want offset %d, events %d, reason containing %q", *de, tc.offset, tc.events, tc.reason)
			}
			if calls != tc.events {
				t.Fatalf("fn called %d times, want %d", calls, tc.events)
			}
			if !strings.HasPrefix(err.Error(), "flbchunk: malformed chunk at byte ") {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
}

// TestCountErrors: Count accepts bodies Decode rejects (it does not decode
// them) but never the other way round, and rejects every envelope error.
func TestCountErrors(t *testing.T) {
	for _, tc := range errFixtures {
		n, err := Count(tc.chunk)
		var de *Error
		switch {
		case err == nil:
			if !strings.Contains(tc.name, "body key") && !strings.Contains(tc.name, "nesting") {
				t.Errorf("%s: Count = %d, nil; want an error", tc.name, n)
			}
		case !errors.As(err, &de):
			t.Errorf("%s: Count error %v is not *Error", tc.name, err)
		case de.Events != n || n != tc.events:
			t.Errorf("%s: Count = %d, %+v; want %d events", tc.name, n, *de, tc.events)
		}
	}
}

func TestDecodeFnErrorStops(t *testing.T) {
	chunk := InSystemdChunk(benchEntries(5))
	stop := errors.New("stop")
	calls := 0
	var d Decoder
	err := d.Decode(chunk, func(*audit.Entry) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Fatalf("Decode = %v after %d calls, want the fn error unchanged after 3", err, calls)
	}
}

// TestTruncatedEverywhere cuts a chunk holding every fixture at every byte:
// a cut on an event boundary is a valid shorter chunk, any other cut is an
// *Error after exactly the events that are complete, never a panic.
func TestTruncatedEverywhere(t *testing.T) {
	var chunk []byte
	bounds := map[int]int{0: 0} // byte offset of a boundary → events before it
	events := 0
	for _, fx := range fixtures {
		for _, ev := range splitEvents(t, fx.chunk) {
			chunk = append(chunk, ev.bytes...)
			if ev.log {
				events++
			}
			bounds[len(chunk)] = events
		}
	}
	var d Decoder
	for cut := 0; cut <= len(chunk); cut++ {
		part := chunk[:cut]
		calls := 0
		err := d.Decode(part, func(*audit.Entry) error { calls++; return nil })
		n, cerr := Count(part)
		if want, ok := bounds[cut]; ok {
			if err != nil || cerr != nil || calls != want || n != want {
				t.Fatalf("cut %d (boundary): Decode %v after %d, Count %d, %v; want %d events", cut, err, calls, n, cerr, want)
			}
			continue
		}
		var de, ce *Error
		if !errors.As(err, &de) || !errors.As(cerr, &ce) {
			t.Fatalf("cut %d: Decode %v, Count %v; want *Error from both", cut, err, cerr)
		}
		if de.Events != calls || ce.Events != n || de.Offset > cut || ce.Offset > cut {
			t.Fatalf("cut %d: Decode %+v after %d calls, Count %d %+v", cut, *de, calls, n, *ce)
		}
	}
}

type rawEvent struct {
	bytes []byte
	log   bool // not a group marker
}

// splitEvents cuts a well-formed chunk into its top-level events.
func splitEvents(t *testing.T, chunk []byte) []rawEvent {
	t.Helper()
	var out []rawEvent
	c := cursor{b: chunk}
	for c.p < len(chunk) {
		start := c.p
		sec, _, n, ok := c.envelope()
		if !ok || !c.skip(2*n) {
			t.Fatalf("splitEvents: %v", c.err(0))
		}
		out = append(out, rawEvent{chunk[start:c.p], sec != groupStart && sec != groupEnd})
	}
	return out
}

// TestGarbage feeds random mutations of the fixtures and random bytes to
// Decode and Count (a deterministic complement of FuzzDecode).
func TestGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d Decoder
	for i := 0; i < 20000; i++ {
		var b []byte
		if i%4 == 0 {
			b = make([]byte, r.IntN(64))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		} else {
			b = slices.Clone(fixtures[r.IntN(len(fixtures))].chunk)
			for k := r.IntN(4) + 1; k > 0 && len(b) > 0; k-- {
				b[r.IntN(len(b))] = byte(r.Uint32())
			}
		}
		checkConsistent(t, &d, b)
	}
}

// checkConsistent is the property FuzzDecode checks: no panic; Count and
// Decode agree on well-formed input; errors are *Error with sane fields;
// and what Decode returns survives a re-encode in in_systemd's shape.
func checkConsistent(t *testing.T, d *Decoder, chunk []byte) {
	t.Helper()
	var entries []*audit.Entry
	err := d.Decode(chunk, func(e *audit.Entry) error {
		for _, f := range e.Fields {
			if strings.HasPrefix(f.Name, "__") {
				t.Fatalf("address field %q copied", f.Name)
			}
		}
		if e.Cursor != "" || e.Realtime.Location() != time.UTC {
			t.Fatalf("entry cursor %q, location %v", e.Cursor, e.Realtime.Location())
		}
		entries = append(entries, cloneEntry(e))
		return nil
	})
	// The general path alone decodes the same events, or fails the same way.
	general := Decoder{general: true}
	var gi int
	gerr := general.Decode(chunk, func(e *audit.Entry) error {
		if gi >= len(entries) || render(e) != render(entries[gi]) || len(e.Fields) != len(entries[gi].Fields) {
			t.Fatalf("general path: event %d differs: %s (chunk %x)", gi, render(e), chunk)
		}
		gi++
		return nil
	})
	if gi != len(entries) || fmt.Sprint(gerr) != fmt.Sprint(err) {
		t.Fatalf("general path: %d events, %v; fast: %d, %v (chunk %x)", gi, gerr, len(entries), err, chunk)
	}
	n, cerr := Count(chunk)
	if err == nil {
		if cerr != nil || n != len(entries) {
			t.Fatalf("Decode: %d events, nil; Count: %d, %v (chunk %x)", len(entries), n, cerr, chunk)
		}
	} else {
		var de *Error
		if !errors.As(err, &de) || de.Events != len(entries) || de.Offset < 0 || de.Offset > len(chunk) || de.Reason == "" {
			t.Fatalf("Decode error %#v after %d events (chunk %x)", err, len(entries), chunk)
		}
	}
	if cerr != nil {
		var ce *Error
		if !errors.As(cerr, &ce) || ce.Events != n || ce.Offset < 0 || ce.Offset > len(chunk) {
			t.Fatalf("Count error %#v, n %d (chunk %x)", cerr, n, chunk)
		}
		if err == nil {
			t.Fatalf("Count failed (%v) where Decode succeeded (chunk %x)", cerr, chunk)
		}
	}
	// Round trip: the entries, re-encoded as in_systemd would, decode back
	// to themselves (when their time fits an EventTime).
	for _, e := range entries {
		s := e.Realtime.Unix()
		if s < 0 || s >= groupEnd {
			return
		}
	}
	re := InSystemdChunk(entries)
	i := 0
	err = d.Decode(re, func(e *audit.Entry) error {
		if i >= len(entries) || render(e) != render(entries[i]) {
			t.Fatalf("round trip of event %d: got %s", i, render(e))
		}
		i++
		return nil
	})
	if err != nil || i != len(entries) {
		t.Fatalf("round trip: %v after %d of %d", err, i, len(entries))
	}
}

func cloneEntry(e *audit.Entry) *audit.Entry {
	c := &audit.Entry{Realtime: e.Realtime, Cursor: e.Cursor, Fields: slices.Clone(e.Fields)}
	for i := range c.Fields {
		c.Fields[i].More = slices.Clone(c.Fields[i].More)
	}
	return c
}

// TestWriterRoundTrip writes one body in every envelope and header width
// and checks each decodes to the same entry.
func TestWriterRoundTrip(t *testing.T) {
	at := time.Date(2026, 2, 9, 16, 44, 32, 545908121, time.UTC)
	body := []KV{
		{"MESSAGE", Str(`time="2026-02-09T16:44:32.545908121Z" level=info msg="add annotation" nri.plugin=10-device-injector`)},
		{"PRIORITY", Str("6")},
		{"BIG", Str(strings.Repeat("x", 70000))}, // str32
		{"MID", Str(strings.Repeat("y", 300))},   // str16
		{"REP", Strs("one", "two", "three")},
		{"BIN", Bin([]byte{0xff, 0x00, 'z'})},
		{"N", Int(-70000)},
		{"U", Uint(1 << 40)},
		{"F", Float(2.5)},
		{"B", Bool(true)},
		{"NIL", Nil()},
		{"NEST", Map(KV{"b", Array(Int(1), Str("s"), Map())})},
		{"T", Time(at)},
		{"X", Ext(9, []byte{1, 2, 3})},
		{"__SEQNUM", Str("7")},
	}
	want := at.Format(time.RFC3339Nano) + ` "MESSAGE"="time=\"2026-02-09T16:44:32.545908121Z\" level=info msg=\"add annotation\" nri.plugin=10-device-injector"` +
		` "PRIORITY"="6" "BIG"="` + strings.Repeat("x", 70000) + `" "MID"="` + strings.Repeat("y", 300) + `"` +
		` "REP"=["one" "two" "three"] "BIN"="\xff\x00z" "N"="-70000" "U"="1099511627776" "F"="2.5" "B"="true"` +
		` "NEST"="{\"b\":[1,\"s\",{}]}" "T"="2026-02-09T16:44:32.545908121Z"`
	wantSec := strings.Replace(want, at.Format(time.RFC3339Nano), "2026-02-09T16:44:32Z", 1)
	wantFloat := strings.Replace(want, at.Format(time.RFC3339Nano), "2026-02-09T16:44:32.5Z", 1)
	var d Decoder
	for _, env := range []Width{Compact, Wide16, Wide32} {
		for _, maps := range []Width{Compact, Wide16, Wide32} {
			for _, flags := range []int{0, 1, 2, 3, 4} {
				w := Writer{Envelope: env, Maps: maps, Ext8Time: flags&1 != 0, BinKeys: flags&2 != 0, BinValues: flags&4 != 0}
				var chunk []byte
				chunk = w.AppendGroupStart(chunk, StrKVs("m", "1"), StrKVs("a", "2"))
				chunk = w.AppendEventV2(chunk, at, StrKVs("meta", "x"), body)
				chunk = w.AppendEventV1(chunk, at, body)
				chunk = w.AppendEventUint(chunk, uint64(at.Unix()), body)
				chunk = w.AppendEventFloat(chunk, float64(at.Unix())+0.5, body)
				chunk = w.AppendGroupEnd(chunk)
				got, err := decodeRendered(&d, chunk)
				if err != nil {
					t.Fatalf("%+v: %v", w, err)
				}
				if !slices.Equal(got, []string{want, want, wantSec, wantFloat}) {
					t.Fatalf("%+v: got\n%q", w, got)
				}
			}
		}
	}
}

func TestWriterHeaders(t *testing.T) {
	at := time.Unix(0x65920080, 123456789)
	w := Writer{Envelope: Wide32, Maps: Wide16, Ext8Time: true}
	got := w.AppendEventV2(nil, at, nil, StrKVs("k", "v"))
	want := []byte{0xdd, 0, 0, 0, 2, 0xdd, 0, 0, 0, 2, /* array32 2, array32 2 */
		0xc7, 0x08, 0x00, 0x65, 0x92, 0x00, 0x80, 0x07, 0x5b, 0xcd, 0x15, /* ext8 EventTime */
		0xde, 0, 0, /* map16 0 */
		0xde, 0, 1, 0xa1, 'k', 0xa1, 'v', /* map16 1 */
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendEventV2 = % x\nwant % x", got, want)
	}
	// More than 65535 entries falls through to the 32-bit header.
	if h := appendMapHeader(nil, 70000, Wide16); h[0] != 0xdf {
		t.Fatalf("map16 header for 70000 pairs: % x", h)
	}
	if h := appendArrayHeader(nil, 16, Compact); h[0] != 0xdc {
		t.Fatalf("compact array header for 16 elements: % x", h)
	}
}

func TestInSystemdChunkShape(t *testing.T) {
	e := &audit.Entry{Realtime: time.Unix(0x65920080, 123456000).UTC(), Cursor: "s=ignored"}
	e.Add("PRIORITY", "6")
	e.Fields = append(e.Fields, audit.JournalField{Name: "TAG", Value: "a", More: []string{"b"}})
	got := InSystemdChunk([]*audit.Entry{e})
	want := []byte{0x92, 0x92, /* fixarray 2, fixarray 2 */
		0xd7, 0x00, 0x65, 0x92, 0x00, 0x80, 0x07, 0x5b, 0xca, 0x00, /* EventTime, µs precision as journald */
		0xdf, 0, 0, 0, 0, /* map32 0: metadata */
		0xdf, 0, 0, 0, 2, /* map32 2: body */
		0xa8, 'P', 'R', 'I', 'O', 'R', 'I', 'T', 'Y', 0xa1, '6',
		0xa3, 'T', 'A', 'G', 0xdd, 0, 0, 0, 2, 0xa1, 'a', 0xa1, 'b', /* array32 of str */
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("InSystemdChunk = % x\nwant % x", got, want)
	}
	var d Decoder
	rendered, err := decodeRendered(&d, got)
	if err != nil || len(rendered) != 1 || rendered[0] != `2024-01-01T00:00:00.123456Z "PRIORITY"="6" "TAG"=["a" "b"]` {
		t.Fatalf("decode: %q, %v", rendered, err)
	}
}

// bigEntries are in_systemd-shaped entries with the awkward values the
// plugin's tests need: a 64 KiB value, multi-line and non-UTF-8 messages,
// repeated fields.
func bigEntries(n int) []*audit.Entry {
	entries := benchEntries(n)
	for i, e := range entries {
		switch i % 100 {
		case 1:
			e.Add("BIG", strings.Repeat("v", 64<<10))
		case 2:
			e.Add("MESSAGE_ML", "panic: boom\ngoroutine 1 [running]:\nmain.main()")
		case 3:
			e.Add("RAW", "\xff\xfe bytes")
		case 4:
			e.Fields = append(e.Fields, audit.JournalField{Name: "DUP", Value: "1", More: []string{"2", "3"}})
		}
	}
	return entries
}

func TestLargeChunk(t *testing.T) {
	entries := bigEntries(2500)
	chunk := InSystemdChunk(entries)
	if len(chunk) < 2_000_000 || len(chunk) > 4_000_000 {
		t.Fatalf("chunk is %d bytes, want about 2 MB", len(chunk))
	}
	n, err := Count(chunk)
	if err != nil || n != len(entries) {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(entries))
	}
	var d Decoder
	i := 0
	err = d.Decode(chunk, func(e *audit.Entry) error {
		if got, want := render(e), render(entries[i]); got != want {
			t.Fatalf("event %d:\n got %.300s\nwant %.300s", i, got, want)
		}
		i++
		return nil
	})
	if err != nil || i != len(entries) {
		t.Fatalf("Decode: %v after %d events", err, i)
	}
}

// TestDecodeNoAllocs: after warm-up, decoding an in_systemd chunk does not
// allocate at all (the fn closure included).
func TestDecodeNoAllocs(t *testing.T) {
	chunk := InSystemdChunk(bigEntries(300))
	var d Decoder
	var fields int
	fn := func(e *audit.Entry) error { fields += len(e.Fields); return nil }
	allocs := testing.AllocsPerRun(20, func() {
		if err := d.Decode(chunk, fn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode allocates %v times per chunk of 300 records, want 0", allocs)
	}
}

// TestReleasesChunk: after Decode the Decoder holds no string into the chunk.
func TestReleasesChunk(t *testing.T) {
	var d Decoder
	if err := d.Decode(fixtures[3].chunk, func(*audit.Entry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, f := range d.e.Fields[:cap(d.e.Fields)] {
		if f.Name != "" || f.Value != "" || f.More != nil {
			t.Fatalf("Decoder keeps %+v after Decode", f)
		}
	}
	for _, s := range d.more[:cap(d.more)] {
		if s != "" {
			t.Fatalf("Decoder keeps %q in its arena", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(fx.chunk)
	}
	for _, fx := range errFixtures {
		f.Add(fx.chunk)
	}
	f.Add(InSystemdChunk(benchEntries(3)))
	var w Writer
	f.Add(w.AppendGroupEnd(w.AppendEventFloat(nil, 1.25, []KV{{"m", Map(KV{"k", Array(Nil(), Float32(1))})}})))
	f.Add([]byte{0x92, 0xcb, 0x41, 0xf0, 0, 0, 0, 0, 0, 0, 0x80}) // float seconds 2^32
	f.Add([]byte{0x92, 0x92, 0xce, 0xff, 0xff, 0xff, 0xff, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, chunk []byte) {
		var d Decoder
		checkConsistent(t, &d, chunk)
	})
}

// TestErrorString pins the message format the plugin logs.
func TestErrorString(t *testing.T) {
	e := &Error{Offset: 12, Events: 3, Reason: "body is an array, not a map"}
	want := "flbchunk: malformed chunk at byte 12 (after 3 events): body is an array, not a map"
	if e.Error() != want {
		t.Fatalf("Error() = %q", e.Error())
	}
}

// TestFloatNanoseconds: the fraction of float seconds becomes nanoseconds,
// truncated as Fluent Bit's decoder does.
func TestFloatNanoseconds(t *testing.T) {
	for _, sec := range []float64{0, 0.000000001, 1.5, 1704067200.25, math.Nextafter(1, 2)} {
		chunk := Writer{}.AppendEventFloat(nil, sec, nil)
		var d Decoder
		err := d.Decode(chunk, func(e *audit.Entry) error {
			whole := math.Floor(sec)
			want := time.Unix(int64(whole), int64((sec-whole)*1e9)).UTC()
			if !e.Realtime.Equal(want) {
				t.Errorf("%s: Realtime %v, want %v", strconv.FormatFloat(sec, 'g', -1, 64), e.Realtime, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
