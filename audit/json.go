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
		dst = append(dst, ',')
		dst = AppendJSONString(dst, f.Key)
		dst = append(dst, ':')
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

// AppendJSONString appends s as a JSON string literal.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

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
