package flbout

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/flbchunk"
)

// TestPipelineOutputStable pushes the benchmark's records and a generated
// journal through decode, build and encode, and compares a digest of every
// bulk document with testdata/pipeline.digest, made by the v1 code: the
// hot path may get faster, its output must not change.
func TestPipelineOutputStable(t *testing.T) {
	cfg, err := ParseConfig(MapGetter{"url": "http://127.0.0.1:9", "stats_interval": "off"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(t.Context(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var got strings.Builder
	for _, c := range []struct {
		name    string
		entries []*audit.Entry
	}{{"systemd", systemdEntries(300)}, {"generated", genEntries(2000, 7)}} {
		chunk := flbchunk.InSystemdChunk(c.entries)
		s, err := o.getScratch()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.build(s, chunk); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		for i := range s.batch.Len() {
			fmt.Fprintf(h, "%s\n", s.batch.Document(i))
		}
		fmt.Fprintf(&got, "%s %d %d %x\n", c.name, s.batch.Len(), s.batch.Bytes(), h.Sum(nil))
		o.putScratch(s)
	}
	const golden = "testdata/pipeline.digest"
	if os.Getenv("UPDATE_PIPELINE_DIGEST") != "" {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("bulk documents differ from the v1 ones:\ngot:\n%swant:\n%s", got.String(), want)
	}
}
