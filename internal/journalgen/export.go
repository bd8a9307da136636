package journalgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Field is one data field of an entry.
type Field struct {
	Name  string
	Value string
}

// Entry is one journal entry to write.
type Entry struct {
	// Realtime becomes __REALTIME_TIMESTAMP (µs precision); it must be set:
	// systemd-journal-remote drops entries without it.
	Realtime time.Time
	// Monotonic becomes __MONOTONIC_TIMESTAMP when not zero.
	Monotonic time.Duration
	Fields    []Field
}

// Get returns the value of the first field called name.
func (e *Entry) Get(name string) (string, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Source yields entries one at a time; Next fills e and reports whether it
// did. The Generator and Entries implement it.
type Source interface {
	Next(e *Entry) bool
}

// sliceSource yields a fixed list of entries.
type sliceSource struct {
	entries []Entry
	i       int
}

func (s *sliceSource) Next(e *Entry) bool {
	if s.i >= len(s.entries) {
		return false
	}
	*e = s.entries[s.i]
	s.i++
	return true
}

// Entries returns a Source over a fixed list.
func Entries(list ...Entry) Source { return &sliceSource{entries: list} }

// ValidFieldName reports whether name is acceptable to journald: 1–64
// characters of A–Z, 0–9 and _, not starting with a digit. Names starting
// with "__" are address fields, which an export carries only as the two
// timestamps written from Entry.
func ValidFieldName(name string) bool {
	if len(name) == 0 || len(name) > 64 || strings.HasPrefix(name, "__") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// needsBinary reports whether a value must use the export format's binary
// form: the text form ends at the first newline, and control bytes are
// safer length-prefixed.
func needsBinary(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// AppendExport appends e in Journal Export Format
// (https://systemd.io/JOURNAL_EXPORT_FORMAT/): the two timestamps, then
// one "NAME=value\n" per field, values with newlines or control bytes in
// the binary form "NAME\n<le64 length><bytes>\n", and the empty line that
// ends the entry.
func AppendExport(dst []byte, e *Entry) ([]byte, error) {
	if e.Realtime.IsZero() || e.Realtime.UnixMicro() <= 0 {
		return dst, fmt.Errorf("journalgen: entry has no realtime timestamp")
	}
	dst = append(dst, "__REALTIME_TIMESTAMP="...)
	dst = strconv.AppendInt(dst, e.Realtime.UnixMicro(), 10)
	dst = append(dst, '\n')
	if e.Monotonic > 0 {
		dst = append(dst, "__MONOTONIC_TIMESTAMP="...)
		dst = strconv.AppendInt(dst, e.Monotonic.Microseconds(), 10)
		dst = append(dst, '\n')
	}
	for _, f := range e.Fields {
		if !ValidFieldName(f.Name) {
			return dst, fmt.Errorf("journalgen: invalid field name %q", f.Name)
		}
		dst = append(dst, f.Name...)
		if needsBinary(f.Value) {
			dst = append(dst, '\n')
			dst = binary.LittleEndian.AppendUint64(dst, uint64(len(f.Value)))
		} else {
			dst = append(dst, '=')
		}
		dst = append(dst, f.Value...)
		dst = append(dst, '\n')
	}
	return append(dst, '\n'), nil
}

// WriteExport writes every entry of src to w in export format and returns
// how many it wrote.
func WriteExport(w io.Writer, src Source) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var (
		e   Entry
		buf []byte
		n   int
		err error
	)
	for src.Next(&e) {
		if buf, err = AppendExport(buf[:0], &e); err != nil {
			return n, fmt.Errorf("entry %d: %w", n, err)
		}
		if _, err := bw.Write(buf); err != nil {
			return n, fmt.Errorf("journalgen: write export: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("journalgen: write export: %w", err)
	}
	return n, nil
}
