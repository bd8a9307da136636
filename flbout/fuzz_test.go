package flbout

import (
	"errors"
	"testing"

	"github.com/nri-audit/nri-audit/flbchunk"
)

// FuzzPipeline feeds arbitrary chunks through decode → build → encode (no
// network): never a panic, every decoded event is accounted for, and for
// a malformed chunk the dead-lettered tail starts at a boundary after
// exactly the events that were shipped.
func FuzzPipeline(f *testing.F) {
	good := flbchunk.InSystemdChunk(systemdEntries(3))
	f.Add(good)
	f.Add(append(append([]byte(nil), good...), 0x92, 0x92, 0xd7))
	f.Add(flbchunk.InSystemdChunk(genEntries(5, 1)))
	f.Add([]byte{0x92, 0xc1})
	f.Add([]byte("garbage"))
	cfg, err := ParseConfig(MapGetter{"url": "http://127.0.0.1:9", "stats_interval": "off"})
	if err != nil {
		f.Fatal(err)
	}
	o, err := New(f.Context(), cfg, quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	defer o.Close()
	f.Fuzz(func(t *testing.T, chunk []byte) {
		// parser.Build is super-linear on lines repeating one key
		// thousands of times (reported); keep inputs where that stays
		// well under the fuzzer's hang timeout.
		if len(chunk) > 4096 {
			return
		}
		s, err := o.getScratch()
		if err != nil {
			t.Fatal(err)
		}
		defer o.putScratch(s)
		n, err := o.build(s, chunk)
		if n.records != s.batch.Len()+n.dropped {
			t.Fatalf("%d records, %d in the batch, %d dropped", n.records, s.batch.Len(), n.dropped)
		}
		var cerr *flbchunk.Error
		if err == nil {
			if c, cerr := flbchunk.Count(chunk); cerr != nil || c != n.records {
				t.Fatalf("Count = %d, %v; decoded %d", c, cerr, n.records)
			}
			return
		}
		if !errors.As(err, &cerr) {
			t.Fatalf("build: %v", err)
		}
		if cerr.Events != n.records {
			t.Fatalf("error after %d events, %d decoded", cerr.Events, n.records)
		}
		at := badEventStart(chunk, cerr)
		if at > cerr.Offset || at > len(chunk) {
			t.Fatalf("tail starts at %d, error at %d, len %d", at, cerr.Offset, len(chunk))
		}
		if c, err := flbchunk.Count(chunk[:at]); err != nil || c != cerr.Events {
			t.Fatalf("the %d bytes before the tail hold %d events (%v), want %d", at, c, err, cerr.Events)
		}
	})
}

// FuzzParseConfig: any value of any key gives a config or an error naming
// a key, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add("url", "http://a:1,https://b", "max_batch_bytes", "5M")
	f.Add("flush_timeout", "1e400", "query_params", "%zz")
	f.Add("index", "%Y.%m", "health_check", "ON")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		_, err := ParseConfig(MapGetter{k1: v1, k2: v2, "policy_file": ""})
		if err != nil && !containsKeyName(err.Error()) {
			t.Fatalf("error names no key: %v", err)
		}
	})
}

func containsKeyName(msg string) bool {
	for _, k := range Keys() {
		if len(msg) > 0 && (contains(msg, "key "+k.Name+"=") || contains(msg, "key "+k.Name+"/")) {
			return true
		}
	}
	return contains(msg, "key keep_fields/drop_fields=")
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
