package audit

import (
	"bytes"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestFieldLayout holds the offsets fields_amd64.s reads to the struct.
func TestFieldLayout(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the assembly is amd64 only")
	}
	var f Field
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"Key", unsafe.Offsetof(f.Key), 0},
		{"Str", unsafe.Offsetof(f.Str), 16},
		{"Kind", unsafe.Offsetof(f.Kind), 56},
		{"PlainKey", unsafe.Offsetof(f.PlainKey), 57},
		{"size", unsafe.Sizeof(f), 64},
	} {
		if c.got != c.want {
			t.Errorf("Field %s at %d, fields_amd64.s expects %d", c.name, c.got, c.want)
		}
	}
}

// fieldsFrom turns fuzz bytes into fields of every kind, with keys and
// values of every length up to 70 bytes (around each copy width of the
// assembly), taken from the input so they hold any byte.
func fieldsFrom(data []byte) []Field {
	var fs []Field
	take := func(n int) string {
		n = min(n, len(data))
		s := string(data[:n])
		data = data[n:]
		return s
	}
	for len(data) >= 3 {
		c, kl, vl := data[0], int(data[1]%40), int(data[2]%71)
		data = data[3:]
		f := Field{Key: take(kl), Str: take(vl)}
		switch c % 4 {
		case 2:
			// Arrays of zero to three elements cut from the value.
			v := f.Str
			f.Kind, f.Str = Strings, ""
			for k := 0; k < int(c>>3)%4; k++ {
				cut := min(len(v), int(c>>5)+k)
				f.Strs = append(f.Strs, v[:cut])
				v = v[cut:]
			}
		case 3:
			f.Kind, f.Str = Bool, "true"
		}
		// PlainKey is the caller's promise: only for keys that keep it.
		f.PlainKey = c&4 != 0 && IsPlainKey(f.Key)
		fs = append(fs, f)
	}
	return fs
}

// eligible reports whether appendPlainFields writes f (room permitting).
func eligible(f *Field) bool {
	if !f.PlainKey {
		return false
	}
	switch f.Kind {
	case String:
		return quotableASCII(f.Str)
	case Strings:
		for _, s := range f.Strs {
			if !quotableASCII(s) {
				return false
			}
		}
		return true
	}
	return false
}

func quotableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// referenceRecordJSON is AppendJSON field by field with the reference
// escaper.
func referenceRecordJSON(r *Record) []byte {
	dst := append([]byte(`{"@timestamp":"`), AppendTimestamp(nil, r.Timestamp)...)
	dst = append(dst, '"')
	for _, f := range r.Fields {
		dst = append(dst, ',')
		dst = referenceAppendJSONString(dst, f.Key)
		dst = append(dst, ':')
		switch f.Kind {
		case String:
			dst = referenceAppendJSONString(dst, f.Str)
		case Strings:
			elems := make([]string, len(f.Strs))
			for i, s := range f.Strs {
				elems[i] = string(referenceAppendJSONString(nil, s))
			}
			dst = append(dst, "["+strings.Join(elems, ",")+"]"...)
		case Bool:
			dst = append(dst, f.Str...)
		}
	}
	return append(dst, '}')
}

// FuzzAppendPlainFields holds the assembly to the portable Go form: the
// same length, count and bytes, never a byte past the promised capacity;
// and the whole document to the reference encoder.
func FuzzAppendPlainFields(f *testing.F) {
	f.Add([]byte("\x04\x05\x0a_HOSTworker-1abc"), uint8(3), uint8(0))
	f.Add([]byte("\x04\x08\x11SYSLOG_IcontainerdX\"y\x04\x01\x00K"), uint8(0), uint8(5))
	f.Add([]byte(strings.Repeat("\x04\x27\x46"+strings.Repeat("k", 39)+strings.Repeat("v", 70), 3)), uint8(17), uint8(0))
	f.Add([]byte("\x04\x03\x10abcdefghijklmnop\xffq\x06\x02\x02zzyy\x07\x01\x01a1"), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, pre uint8, short uint8) {
		fields := fieldsFrom(data)
		budget := 0
		for i := range fields {
			budget += fieldBudget(&fields[i])
		}
		// Capacity short of the budget by up to 255 bytes: the run must
		// stop before a field that might not fit, and never write past it.
		room := max(budget-int(short), 0)
		const guard = 64
		run := func(fn func([]byte, []Field) (int, int)) ([]byte, int, int) {
			mem := bytes.Repeat([]byte{0xA5}, int(pre)+room+guard)
			dst := mem[: pre : int(pre)+room]
			n, done := fn(dst, fields)
			for i, c := range mem[int(pre)+room:] {
				if c != 0xA5 {
					t.Fatalf("byte %d past the capacity written", i)
				}
			}
			if n < int(pre) || n > int(pre)+room {
				t.Fatalf("length %d outside [%d, %d]", n, pre, int(pre)+room)
			}
			return mem[:n], n, done
		}
		gotB, gotN, gotDone := run(appendPlainFields)
		wantB, wantN, wantDone := run(appendPlainFieldsGo)
		if gotN != wantN || gotDone != wantDone || !bytes.Equal(gotB, wantB) {
			t.Fatalf("appendPlainFields = %d, %d, %q; portable = %d, %d, %q", gotN, gotDone, gotB, wantN, wantDone, wantB)
		}
		if gotDone < len(fields) {
			if f := &fields[gotDone]; eligible(f) && fieldBudget(f) <= int(pre)+room-gotN {
				t.Fatalf("stopped before field %d (%+v), which fits and needs no more escaping", gotDone, *f)
			}
		}
		r := &Record{Timestamp: time.Unix(1770655472, 545908000), Fields: fields}
		if got, want := r.AppendJSON(nil), referenceRecordJSON(r); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON\n got %q\nwant %q", got, want)
		}
	})
}

// TestAppendPlainFieldsLengths runs every key length to 40 and value
// length to 70 with distinct bytes, clean and with a byte that needs
// escaping at each position, through both forms.
func TestAppendPlainFieldsLengths(t *testing.T) {
	text := func(n, seed int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."[(i*7+seed)%64]
		}
		return string(b)
	}
	check := func(fields []Field) {
		t.Helper()
		budget := 0
		for i := range fields {
			budget += fieldBudget(&fields[i])
		}
		// With room for every field, with just the budget of the last one
		// after the others, and one byte short of that.
		before, _ := appendPlainFieldsGo(make([]byte, 3, 3+budget), fields[:len(fields)-1])
		exact := before - 3 + fieldBudget(&fields[len(fields)-1])
		for _, room := range []int{budget, exact, exact - 1} {
			a := make([]byte, 3, 3+room)
			b := make([]byte, 3, 3+room)
			n1, d1 := appendPlainFields(a, fields)
			n2, d2 := appendPlainFieldsGo(b, fields)
			if n1 != n2 || d1 != d2 || string(a[:n1]) != string(b[:n2]) {
				t.Fatalf("%+v, room %d: assembly %d, %d, %q; portable %d, %d, %q", fields, room, n1, d1, a[:n1], n2, d2, b[:n2])
			}
		}
	}
	for kl := 0; kl <= 40; kl++ {
		for vl := 0; vl <= 70; vl++ {
			key, val := text(kl, kl), text(vl, vl+1)
			next := Field{Key: "next", Str: "1", PlainKey: true}
			check([]Field{{Key: key, Str: val, PlainKey: true}, next})
			array := Field{Key: key, Kind: Strings, Strs: []string{val, val[:vl/2], ""}, PlainKey: true}
			check([]Field{array, next})
			check([]Field{next, array}) // last: the one-byte-short room stops before it
			for _, bad := range []byte{'"', '\\', '\n', 0x00, 0x1f, 0x80, 0xff} {
				for i := 0; i < vl; i++ {
					dirty := val[:i] + string([]byte{bad}) + val[i+1:]
					check([]Field{next, {Key: key, Str: dirty, PlainKey: true}, next})
					check([]Field{next, {Key: key, Kind: Strings, Strs: []string{val, dirty}, PlainKey: true}, next})
				}
			}
		}
	}
}

// TestAppendIDMatchesBase64: the unrolled id encoding is base64url without
// padding, for ids of every byte value at every position.
func TestAppendIDMatchesBase64(t *testing.T) {
	var r Record
	for pos := 0; pos < IDSize; pos++ {
		for v := 0; v < 256; v++ {
			for i := range r.ID {
				r.ID[i] = byte(i*37 + pos)
			}
			r.ID[pos] = byte(v)
			if got, want := string(r.AppendID([]byte("x"))), "x"+base64.RawURLEncoding.EncodeToString(r.ID[:]); got != want {
				t.Fatalf("id %x: %s, want %s", r.ID, got, want)
			}
		}
	}
}
