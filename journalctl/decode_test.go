package journalctl

import (
	"reflect"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

func TestDecode(t *testing.T) {
	line := `{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1770655472546012","__MONOTONIC_TIMESTAMP":"1","__SEQNUM":"5",` +
		`"_HOSTNAME":"worker-1","MESSAGE":[116,105,109,101,255],"TAG":["a","b"],"BIG":null,"MIX":[[104,105],"x"],"PID":"1"}`
	var e audit.Entry
	if err := Decode([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	if e.Cursor != "s=1;i=2" || !e.Realtime.Equal(time.UnixMicro(1770655472546012)) {
		t.Fatalf("cursor %q time %v", e.Cursor, e.Realtime)
	}
	want := []audit.JournalField{
		{Name: "_HOSTNAME", Value: "worker-1"},
		{Name: "MESSAGE", Value: "time\xff"},
		{Name: "TAG", Value: "a", More: []string{"b"}},
		{Name: "MIX", Value: "hi", More: []string{"x"}},
		{Name: "PID", Value: "1"},
	}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Fatalf("fields %+v", e.Fields)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"a":`, `{"a":"b"} x`, `{"__REALTIME_TIMESTAMP":"x"}`, `{"a":[256]}`, `{"a":[{"b":1}]}`, `{"a":[[1,"x"]]}`} {
		var e audit.Entry
		if err := Decode([]byte(in), &e); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"MESSAGE":"level=info msg=x","__CURSOR":"c","A":[1,2],"B":["x",[3]]}`))
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"99999999999999999999"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e audit.Entry
		if Decode(data, &e) != nil {
			return
		}
		for _, fld := range e.Fields {
			if len(fld.Name) >= 2 && fld.Name[:2] == "__" {
				t.Fatalf("address field %q copied", fld.Name)
			}
		}
	})
}

// TestDecodeValues: every value shape journalctl -o json writes (§3.1
// rule 13), and the ones a hand-made line may hold.
func TestDecodeValues(t *testing.T) {
	tests := []struct {
		in   string
		want []audit.JournalField
	}{
		{`{"A":"x"}`, []audit.JournalField{{Name: "A", Value: "x"}}},
		{`{"A":null,"B":"y"}`, []audit.JournalField{{Name: "B", Value: "y"}}},
		{`{"A":[104,105]}`, []audit.JournalField{{Name: "A", Value: "hi"}}},
		{`{"A":[255,0,10]}`, []audit.JournalField{{Name: "A", Value: "\xff\x00\n"}}},
		{`{"A":["x","y","z"]}`, []audit.JournalField{{Name: "A", Value: "x", More: []string{"y", "z"}}}},
		{`{"A":[[104],[105]]}`, []audit.JournalField{{Name: "A", Value: "h", More: []string{"i"}}}},
		{`{"A":[null,"x"]}`, []audit.JournalField{{Name: "A", Value: "x"}}},
		{`{"A":[null]}`, nil},
		{`{"A":[]}`, nil},
		{`{"MESSAGE":["level=info msg=a","level=info msg=b"]}`, []audit.JournalField{{Name: "MESSAGE", Value: "level=info msg=a", More: []string{"level=info msg=b"}}}},
		// Duplicate names stay separate fields here; the builder merges them.
		{`{"A":"1","A":"2"}`, []audit.JournalField{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}},
		{`{"N":5,"B":true,"F":1.5e3}`, []audit.JournalField{{Name: "N", Value: "5"}, {Name: "B", Value: "true"}, {Name: "F", Value: "1.5e3"}}},
		{`{"S":"\u00e9\ud83d\ude00\ud800"}`, []audit.JournalField{{Name: "S", Value: "é😀\ufffd"}}},
		// Address fields are not data; _SOURCE_REALTIME_TIMESTAMP is.
		{`{"__CURSOR":"c","__SEQNUM":"1","__SEQNUM_ID":"x","__MONOTONIC_TIMESTAMP":"2","_SOURCE_REALTIME_TIMESTAMP":"3"}`,
			[]audit.JournalField{{Name: "_SOURCE_REALTIME_TIMESTAMP", Value: "3"}}},
	}
	for _, tt := range tests {
		var e audit.Entry
		if err := Decode([]byte(tt.in), &e); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if len(e.Fields) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(e.Fields, tt.want) {
			t.Errorf("%s: fields %+v, want %+v", tt.in, e.Fields, tt.want)
		}
	}
}
