package esbulk_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
)

// BenchmarkFlush measures the client side of a Flush (body, HTTP
// round trip on 127.0.0.1, response decoding, classification) against a
// server that only counts the documents and answers 201 for each, 1000
// records per Flush.
func BenchmarkFlush(b *testing.B) {
	const item = `{"create":{"status":201}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte("\n")) / 2
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		io.WriteString(w, `{"errors":false,"items":[`+strings.Repeat(item+",", n-1)+item+`]}`)
	}))
	defer srv.Close()
	recs := makeRecords(b, 1000)
	c := newClient(b, esbulk.Config{URLs: []string{srv.URL}, Index: "nri-audit"})
	batch := fillBatch(b, c, recs)
	b.SetBytes(int64(batch.Bytes()))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := c.Flush(context.Background(), batch)
		if err != nil || res.Delivered != len(recs) {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/time.Since(start).Seconds(), "records/s")
}
