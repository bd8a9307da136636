package audit

import (
	"encoding/base64"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the record as one JSON object (no newline): @timestamp
// first, then Fields in order. Strings are escaped as JSON requires (quote,
// backslash, control characters), without HTML escaping; each invalid UTF-8
// byte becomes U+FFFD, so the output is always valid UTF-8 JSON.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = AppendTimestamp(dst, r.Timestamp)
	dst = append(dst, '"')
	for i := range r.Fields {
		f := &r.Fields[i]
		if f.PlainKey {
			dst = append(dst, ',', '"')
			dst = append(dst, f.Key...)
			dst = append(dst, '"', ':')
		} else {
			dst = appendKey(dst, f.Key)
		}
		switch f.Kind {
		case String:
			dst = AppendJSONString(dst, f.Str)
		case Strings:
			dst = append(dst, '[')
			for j, s := range f.Strs {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = AppendJSONString(dst, s)
			}
			dst = append(dst, ']')
		case Bool:
			if f.BoolValue() {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		}
	}
	return append(dst, '}')
}

// AppendID appends the base64url (unpadded) form of the record id.
func (r *Record) AppendID(dst []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(dst, r.ID[:])
}

// AppendTimestamp appends t in UTC as RFC 3339 with 9 fractional digits,
// the form Elasticsearch's date_nanos keeps exactly.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000000000Z07:00")
	}
	hour, min, sec := t.Clock()
	ns := t.Nanosecond()
	var b [30]byte
	put := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, year)
	b[4] = '-'
	put(5, 2, int(month))
	b[7] = '-'
	put(8, 2, day)
	b[10] = 'T'
	put(11, 2, hour)
	b[13] = ':'
	put(14, 2, min)
	b[16] = ':'
	put(17, 2, sec)
	b[19] = '.'
	put(20, 9, ns)
	b[29] = 'Z'
	return append(dst, b[:]...)
}

const hexDigits = "0123456789abcdef"

// ValidUTF8 returns s with each invalid UTF-8 byte replaced by U+FFFD.
// It returns s itself (no allocation) when s is already valid.
func ValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
