//go:build cgo

package flbchunk

import (
	"fmt"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/flbchunk/internal/fbgo"
)

// BenchmarkFluentBitGoDecoder decodes the chunk of BenchmarkDecode the way
// plugins built on fluent-bit-go do: output.NewDecoder over the C buffer
// (which copies it with C.GoBytes), GetRecord until it stops, and a
// toStringMap conversion of every record.
func BenchmarkFluentBitGoDecoder(b *testing.B) {
	chunk := benchChunk()
	buf := fbgo.NewBuffer(chunk)
	defer buf.Free()
	fields := 0
	fn := func(_ time.Time, rec map[string]any) { fields += len(rec) }
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	m0 := mallocs()
	for i := 0; i < b.N; i++ {
		if n, ret := fbgo.Decode(buf, fn); n != benchRecords || ret != -1 {
			b.Fatalf("fluent-bit-go decoded %d records, stopped with %d", n, ret)
		}
	}
	b.StopTimer()
	reportPerRecord(b, benchRecords, mallocs()-m0)
	if fields == 0 {
		b.Fatal("no fields decoded")
	}
}

// BenchmarkFluentBitGoGetRecord is BenchmarkFluentBitGoDecoder without the
// string conversion: only NewDecoder and GetRecord, the floor of any
// fluent-bit-go plugin.
func BenchmarkFluentBitGoGetRecord(b *testing.B) {
	chunk := benchChunk()
	buf := fbgo.NewBuffer(chunk)
	defer buf.Free()
	fields := 0
	fn := func(_ time.Time, rec map[any]any) { fields += len(rec) }
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	m0 := mallocs()
	for i := 0; i < b.N; i++ {
		if n, ret := fbgo.DecodeRaw(buf, fn); n != benchRecords || ret != -1 {
			b.Fatalf("fluent-bit-go decoded %d records, stopped with %d", n, ret)
		}
	}
	b.StopTimer()
	reportPerRecord(b, benchRecords, mallocs()-m0)
	if fields != b.N*benchRecords*22 {
		b.Fatalf("decoded %d fields, want 22 per record", fields)
	}
}

// TestAgreesWithFluentBitGo checks that both benchmarks do the same work:
// fluent-bit-go and Decode read the same times and fields from the chunk.
func TestAgreesWithFluentBitGo(t *testing.T) {
	entries := bigEntries(200)
	chunk := InSystemdChunk(entries)
	buf := fbgo.NewBuffer(chunk)
	defer buf.Free()
	var theirs []string
	n, ret := fbgo.Decode(buf, func(ts time.Time, rec map[string]any) {
		theirs = append(theirs, renderMap(ts, rec))
	})
	if n != len(entries) || ret != -1 {
		t.Fatalf("fluent-bit-go: %d records, ret %d", n, ret)
	}
	var d Decoder
	i := 0
	err := d.Decode(chunk, func(e *audit.Entry) error {
		if got := renderMap(e.Realtime, entryMap(e)); got != theirs[i] {
			t.Fatalf("record %d:\nflbchunk     %.400s\nfluent-bit-go %.400s", i, got, theirs[i])
		}
		i++
		return nil
	})
	if err != nil || i != n {
		t.Fatalf("Decode: %v after %d", err, i)
	}
}

// TestFluentBitGoStopsOnFloat documents why the plugin does not use
// fluent-bit-go's decoder: a float-second event ends its walk with -5
// and the rest of the chunk is silently dropped; Decode reads all of it.
func TestFluentBitGoStopsOnFloat(t *testing.T) {
	var chunk []byte
	chunk = AppendEventV2(chunk, time.Unix(1, 0), nil, StrKVs("n", "1"))
	chunk = Writer{}.AppendEventFloat(chunk, 2.5, StrKVs("n", "2"))
	chunk = AppendEventV2(chunk, time.Unix(3, 0), nil, StrKVs("n", "3"))
	buf := fbgo.NewBuffer(chunk)
	defer buf.Free()
	n, ret := fbgo.Decode(buf, func(time.Time, map[string]any) {})
	if n != 1 || ret != -5 {
		t.Fatalf("fluent-bit-go: %d records, ret %d; want 1, -5", n, ret)
	}
	if got, err := Count(chunk); got != 3 || err != nil {
		t.Fatalf("Count = %d, %v; want 3", got, err)
	}
}

func entryMap(e *audit.Entry) map[string]any {
	m := make(map[string]any, len(e.Fields))
	for _, f := range e.Fields {
		if !f.Repeated() {
			m[f.Name] = f.Value
			continue
		}
		vs := []any{f.Value}
		for _, v := range f.More {
			vs = append(vs, v)
		}
		m[f.Name] = vs
	}
	return m
}

// renderMap prints a record with sorted keys (fmt sorts map keys).
func renderMap(ts time.Time, m map[string]any) string {
	return fmt.Sprintf("%s %q", ts.UTC().Format(time.RFC3339Nano), m)
}
