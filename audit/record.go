package audit

import (
	"time"
)

// Kind is the JSON type of a record value.
type Kind uint8

const (
	// String is a JSON string; every nri_* value from a line is one.
	String Kind = iota
	// Strings is a JSON array of strings.
	Strings
	// Bool is a JSON boolean (only nri_removal uses it).
	Bool
)

// Field is one key of a document: Str holds a String value, Strs a Strings
// value, and a Bool value is Str == "true".
type Field struct {
	Key  string
	Str  string
	Strs []string
	Kind Kind
	// PlainKey promises that Key needs no JSON escaping (see IsPlainKey),
	// so the encoder copies it without scanning. Builders set it for keys
	// they checked once and cached.
	PlainKey bool
}

// IsPlainKey reports whether k is ASCII without control characters, '"'
// or '\\', i.e. can be written into JSON as it is. It checks eight bytes at
// a time, like the encoder.
func IsPlainKey(k string) bool { return cleanPrefix(k) == len(k) }

// BoolValue returns the value of a Bool field.
func (f *Field) BoolValue() bool { return f.Kind == Bool && f.Str == "true" }

// IDSize is the number of bytes of a document id before base64url encoding.
const IDSize = 20

// Record is one Elasticsearch document: @timestamp plus ordered fields.
// It is built in place and reused (Reset) so the hot path does not allocate;
// strings it holds may point into the entry it was built from, so a Record
// must be encoded before that entry is released.
type Record struct {
	// Timestamp becomes @timestamp (always written in UTC, 9 fractional digits).
	Timestamp time.Time
	// ID is the deterministic document id (see parser.Builder).
	ID [IDSize]byte
	// Fields holds the document keys in output order; keys are unique.
	Fields []Field

	strs []string // arena for Strings values, reused across Reset
}

// Reset empties the record, keeping its buffers. Old entries are not
// cleared: every append overwrites a whole Field, and clearing kilobytes per
// record shows in the hot path.
func (r *Record) Reset() {
	r.Timestamp = time.Time{}
	r.ID = [IDSize]byte{}
	r.Fields = r.Fields[:0]
	r.strs = r.strs[:0]
}

// AddString appends a string field. The caller guarantees key uniqueness.
func (r *Record) AddString(key, value string) {
	f := r.next()
	f.Key, f.Str, f.Strs, f.Kind, f.PlainKey = key, value, nil, String, false
}

// AddPlainString is AddString for a key the caller knows IsPlainKey.
func (r *Record) AddPlainString(key, value string) {
	f := r.next()
	f.Key, f.Str, f.Strs, f.Kind, f.PlainKey = key, value, nil, String, true
}

// AddStrings appends an array-of-strings field, copying values into the
// record's arena so the caller may reuse its slice.
func (r *Record) AddStrings(key string, values ...string) {
	start := len(r.strs)
	r.strs = append(r.strs, values...)
	f := r.next()
	f.Key, f.Str, f.Strs, f.Kind, f.PlainKey = key, "", r.strs[start:len(r.strs):len(r.strs)], Strings, false
}

// AddBool appends a boolean field.
func (r *Record) AddBool(key string, value bool) {
	v := "false"
	if value {
		v = "true"
	}
	f := r.next()
	f.Key, f.Str, f.Strs, f.Kind, f.PlainKey = key, v, nil, Bool, false
}

// next extends Fields by one and returns the new field, whose every member
// the caller sets (Reset leaves old values). Writing in place instead of
// appending a composite literal avoids building the 64-byte Field on the
// stack and copying it, a store-forwarding stall per field in the hot path.
func (r *Record) next() *Field {
	n := len(r.Fields)
	if n == cap(r.Fields) {
		r.Fields = append(r.Fields, Field{})
	} else {
		r.Fields = r.Fields[:n+1]
	}
	return &r.Fields[n]
}

// Index returns the position of key in Fields, or -1.
func (r *Record) Index(key string) int {
	for i := range r.Fields {
		if r.Fields[i].Key == key {
			return i
		}
	}
	return -1
}

// Get returns the field named key.
func (r *Record) Get(key string) (Field, bool) {
	if i := r.Index(key); i >= 0 {
		return r.Fields[i], true
	}
	return Field{}, false
}

// GetString returns the value of a String field, "" and false otherwise.
func (r *Record) GetString(key string) (string, bool) {
	f, ok := r.Get(key)
	if !ok || f.Kind != String {
		return "", false
	}
	return f.Str, true
}

// Delete removes the field named key, keeping the order of the others.
func (r *Record) Delete(key string) bool {
	i := r.Index(key)
	if i < 0 {
		return false
	}
	copy(r.Fields[i:], r.Fields[i+1:])
	r.Fields[len(r.Fields)-1] = Field{}
	r.Fields = r.Fields[:len(r.Fields)-1]
	return true
}
