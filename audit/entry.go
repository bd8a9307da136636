package audit

import "time"

// JournalField is one data field of a journal entry. A field that the entry
// repeats (journald allows it) has its first value in Value and the others
// in More; the document then carries it as an array.
type JournalField struct {
	Name  string
	Value string
	More  []string
}

// Repeated reports whether the field had more than one value.
func (f *JournalField) Repeated() bool { return len(f.More) > 0 }

// Entry is one journal entry as any reader produces it: the sdjournal
// reader, a `journalctl -o json` line, or a Fluent Bit in_systemd record.
// Address fields (__CURSOR, __REALTIME_TIMESTAMP, ...) are not in Fields.
type Entry struct {
	// Fields are the entry's data fields in the order they came.
	Fields []JournalField
	// Realtime is when journald received the entry (or the Fluent Bit event
	// time); it is @timestamp when MESSAGE carries no usable time.
	Realtime time.Time
	// Cursor is the journal cursor, when the reader has one.
	Cursor string
}

// Reset empties the entry, keeping its buffers.
func (e *Entry) Reset() {
	clear(e.Fields)
	e.Fields = e.Fields[:0]
	e.Realtime = time.Time{}
	e.Cursor = ""
}

// Add appends a single-valued field.
func (e *Entry) Add(name, value string) {
	e.Fields = append(e.Fields, JournalField{Name: name, Value: value})
}

// Get returns the first value of the named field.
func (e *Entry) Get(name string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// AddressFields are journal fields that locate an entry rather than describe
// it; readers drop them from Fields (the cursor feeds the document id).
func IsAddressField(name string) bool {
	switch name {
	case "__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP",
		"__SEQNUM", "__SEQNUM_ID":
		return true
	}
	return false
}
