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
