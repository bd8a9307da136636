package esbulk_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/internal/testenv/victorialogs"
)

// vlConfig points a client at VictoriaLogs' Elasticsearch bulk API: its
// time and message fields must be named (query args; headers work too).
func vlConfig(s *victorialogs.Server) esbulk.Config {
	return esbulk.Config{
		URLs:  []string{s.ESURL()},
		Index: "nri-audit",
		QueryParams: map[string]string{
			"_time_field":    "@timestamp",
			"_msg_field":     "nri_msg,MESSAGE",
			"_stream_fields": "_HOSTNAME,nri_runtime",
		},
	}
}

// vlValue is how VictoriaLogs stores a record value: a string, arrays as
// their JSON text, booleans as true/false.
func vlValue(f *audit.Field) string {
	switch f.Kind {
	case audit.Strings:
		b := []byte{'['}
		for j, s := range f.Strs {
			if j > 0 {
				b = append(b, ',')
			}
			b = audit.AppendJSONString(b, s)
		}
		return string(append(b, ']'))
	case audit.Bool:
		return strconv.FormatBool(f.BoolValue())
	}
	return audit.ValidUTF8(f.Str) // what the encoder writes
}

func TestVictoriaLogsRoundTrip(t *testing.T) {
	s := victorialogs.Start(t)
	cfg := vlConfig(s)
	cfg.Compress = true
	c := newClient(t, cfg)
	ctx := context.Background()
	if err := c.Check(ctx); err != nil {
		t.Fatalf("VictoriaLogs passes the product check: %v", err)
	}

	recs := makeRecords(t, 2*len(formatLines))
	b := fillBatch(t, c, recs)
	res, err := c.Flush(ctx, b)
	if err != nil || res.Delivered != len(recs) {
		t.Fatalf("%+v %v", res, err)
	}
	s.Flush()
	rows, err := s.Query(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(recs) {
		t.Fatalf("%d rows for %d records\nserver output:\n%s", len(rows), len(recs), s.Output())
	}
	byKey := map[string]map[string]any{}
	for _, row := range rows {
		k, _ := row["_SOURCE_REALTIME_TIMESTAMP"].(string)
		byKey[k] = row
	}
	for i, r := range recs {
		key, _ := r.GetString("_SOURCE_REALTIME_TIMESTAMP")
		row := byKey[key]
		if row == nil {
			t.Fatalf("record %d (%s) not found", i, key)
		}
		want := map[string]string{}
		for j := range r.Fields {
			if v := vlValue(&r.Fields[j]); v != "" {
				want[r.Fields[j].Key] = v
			}
		}
		// The first non-empty of nri_msg, MESSAGE becomes _msg.
		if m, ok := want["nri_msg"]; ok {
			want["_msg"] = m
			delete(want, "nri_msg")
		} else {
			want["_msg"] = want["MESSAGE"]
			delete(want, "MESSAGE")
		}
		for k, v := range want {
			if row[k] != v {
				t.Errorf("record %d field %s = %q, want %q", i, k, row[k], v)
			}
		}
		for k := range row {
			switch k {
			case "_time", "_stream", "_stream_id":
				continue
			}
			if _, ok := want[k]; !ok {
				t.Errorf("record %d: unexpected field %s=%v", i, k, row[k])
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, row["_time"].(string))
		if err != nil || !ts.Equal(r.Timestamp) {
			t.Errorf("record %d _time %v, want %v (%v)", i, row["_time"], r.Timestamp, err)
		}
		if row["_stream"] != `{_HOSTNAME="worker-1",nri_runtime="containerd"}` {
			t.Errorf("record %d _stream %v", i, row["_stream"])
		}
	}

	// A word filter over a parsed, derived array field.
	rows, err = s.Query(ctx, `nri_event:AddMount`)
	if err != nil || len(rows) != 2 {
		t.Errorf("nri_event:AddMount → %d rows (%v)", len(rows), err)
	}
	// The unparseable line: MESSAGE, repaired to valid UTF-8, is _msg.
	rows, err = s.Query(ctx, `nri_parse_error:*`)
	if err != nil || len(rows) != 2 || rows[0]["_msg"] != audit.ValidUTF8(formatLines[len(formatLines)-1]) {
		t.Errorf("parse errors: %v %v", rows, err)
	}
}

// BenchmarkVictoriaLogsBulk measures records/s from Batch.Add to
// acknowledged by a local VictoriaLogs, 1000 records per Flush.
func BenchmarkVictoriaLogsBulk(b *testing.B) {
	s := victorialogs.Start(b)
	recs := makeRecords(b, 1000)
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			cfg := vlConfig(s)
			cfg.Compress = compress
			c := newClient(b, cfg)
			batch := c.NewBatch()
			for _, r := range recs {
				batch.Add(r)
			}
			b.SetBytes(int64(batch.Bytes()))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				batch.Reset()
				for _, r := range recs {
					batch.Add(r)
				}
				res, err := c.Flush(context.Background(), batch)
				if err != nil || res.Delivered != len(recs) {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.ReportMetric(float64(b.N*len(recs))/time.Since(start).Seconds(), "records/s")
		})
	}
}
