package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/flbout"
	"github.com/nri-audit/nri-audit/internal/flbhost"
	"github.com/nri-audit/nri-audit/internal/testenv/victorialogs"
)

// The real .so through the C host into a real store with an
// Elasticsearch bulk API: every stored row is the document the parser
// builds, field by field, in VictoriaLogs' representation (all values
// strings, arrays as JSON text, @timestamp consumed into _time, the first
// non-empty _msg_field moved into _msg).
func TestVictoriaLogsEndToEnd(t *testing.T) {
	vl := victorialogs.Start(t)
	entries := append(genEntries(300, 21), edgeEntries()...)
	keys := flbout.MapGetter{"url": vl.ESURL(), "index": "nri-audit",
		"query_params": "_time_field=@timestamp&_msg_field=nri_msg,MESSAGE&_stream_fields=_HOSTNAME,nri_runtime"}
	o := flbhost.Output{Chunks: []flbhost.Chunk{
		{Path: writeChunk(t, chunkOf(entries[:150]))},
		{Path: writeChunk(t, chunkOf(entries[150:]))},
	}}
	for _, k := range []string{"url", "index", "query_params"} {
		o.Set(k, keys[k])
	}
	o.Set("workers", "2").Set("compress", "on")
	res := run(t, &flbhost.Scenario{StackSize: 24 << 10, Outputs: []flbhost.Output{o}}, 0, nil)
	if r := results(res); r["OK"] != 2 {
		t.Fatalf("results %v\n%s", r, res)
	}
	vl.Flush()
	rows, err := vl.Query(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}
	want := expected(t, parserOptions(t, keys), entries)
	if len(rows) != len(want) {
		t.Fatalf("%d rows stored, want %d\n%s", len(rows), len(want), vl.Output())
	}
	// Rows carry no _id: match them by content.
	pending := map[string]int{}
	for _, doc := range want {
		pending[vlKey(vlRow(t, doc))]++
	}
	for _, row := range rows {
		got := map[string]string{}
		for k, v := range row {
			if k == "_stream" || k == "_stream_id" {
				continue
			}
			got[k] = fmt.Sprint(v)
		}
		k := vlKey(got)
		if pending[k] == 0 {
			t.Fatalf("stored row matches no expected document:\n%s\nclosest expected:\n%s", k, closest(want, got, t))
		}
		pending[k]--
	}
	// The stream fields made it into the stream.
	if s := fmt.Sprint(rows[0]["_stream"]); !strings.Contains(s, "_HOSTNAME=") || !strings.Contains(s, "nri_runtime=") {
		t.Fatalf("_stream %s", s)
	}
}

// vlRow is doc as VictoriaLogs stores and returns it.
func vlRow(t *testing.T, doc map[string]any) map[string]string {
	t.Helper()
	row := map[string]string{}
	for k, v := range doc {
		switch x := v.(type) {
		case string:
			if k == "@timestamp" {
				ts, err := time.Parse(time.RFC3339Nano, x)
				if err != nil {
					t.Fatal(err)
				}
				row["_time"] = ts.UTC().Format(time.RFC3339Nano)
				continue
			}
			if x != "" {
				row[k] = x
			}
		case bool:
			row[k] = fmt.Sprint(x)
		case []any:
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.Encode(x)
			row[k] = strings.TrimSuffix(b.String(), "\n")
		default:
			t.Fatalf("field %s: unexpected %T", k, v)
		}
	}
	for _, f := range []string{"nri_msg", "MESSAGE"} {
		if v := row[f]; v != "" {
			row["_msg"] = v // the _msg_field is moved, not copied
			delete(row, f)
			break
		}
	}
	return row
}

func vlKey(row map[string]string) string {
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, row[k])
	}
	return b.String()
}

// closest finds the expected row sharing _time with got, for a readable
// failure.
func closest(want map[string]map[string]any, got map[string]string, t *testing.T) string {
	for _, doc := range want {
		r := vlRow(t, doc)
		if r["_time"] == got["_time"] && r["_msg"] == got["_msg"] {
			var diff []string
			for k, v := range r {
				if got[k] != v {
					diff = append(diff, fmt.Sprintf("%s: want %q got %q", k, v, got[k]))
				}
			}
			for k, v := range got {
				if _, ok := r[k]; !ok {
					diff = append(diff, fmt.Sprintf("%s: unexpected %q", k, v))
				}
			}
			return strings.Join(diff, "\n")
		}
	}
	return "(none with the same _time and _msg)"
}
