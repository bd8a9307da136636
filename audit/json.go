package audit

import (
	"slices"
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
	fields := r.Fields
	for len(fields) > 0 {
		n, done := appendPlainFields(dst, fields)
		dst = dst[:n]
		if done == len(fields) {
			break
		}
		f := &fields[done]
		if b := fieldBudget(f); f.PlainKey && (f.Kind == String || f.Kind == Strings) && cap(dst)-len(dst) < b {
			dst = slices.Grow(dst, b) // it stopped for room: grow, go on
			fields = fields[done:]
			continue
		}
		// A field that needs more escaping, a key that does, a boolean.
		dst = appendField(dst, f)
		fields = fields[done+1:]
	}
	return append(dst, '}')
}

// AppendID appends the base64url (unpadded) form of the record id.
func (r *Record) AppendID(dst []byte) []byte {
	// base64.RawURLEncoding for exactly IDSize (20) bytes, unrolled: six
	// 3-byte groups and a 2-byte tail; TestAppendIDMatchesBase64 holds it
	// to the package.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	id := &r.ID
	var out [27]byte
	for g := 0; g < 6; g++ {
		v := uint(id[3*g])<<16 | uint(id[3*g+1])<<8 | uint(id[3*g+2])
		out[4*g] = alphabet[v>>18&0x3f]
		out[4*g+1] = alphabet[v>>12&0x3f]
		out[4*g+2] = alphabet[v>>6&0x3f]
		out[4*g+3] = alphabet[v&0x3f]
	}
	v := uint(id[18])<<8 | uint(id[19])
	out[24] = alphabet[v>>10&0x3f]
	out[25] = alphabet[v>>4&0x3f]
	out[26] = alphabet[v<<2&0x3f]
	return append(dst, out[:]...)
}

// AppendTimestamp appends t in UTC as RFC 3339 with 9 fractional digits,
// the form Elasticsearch's date_nanos keeps exactly.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	days, rem := sec/secondsPerDay, sec%secondsPerDay
	if rem < 0 {
		days, rem = days-1, rem+secondsPerDay
	}
	year, month, day := civil(days)
	if year < 0 || year > 9999 {
		return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000000Z07:00")
	}
	ns := t.Nanosecond()
	var b [30]byte
	put2(b[:], 0, year/100)
	put2(b[:], 2, year%100)
	b[4] = '-'
	put2(b[:], 5, month)
	b[7] = '-'
	put2(b[:], 8, day)
	b[10] = 'T'
	put2(b[:], 11, int(rem/3600))
	b[13] = ':'
	put2(b[:], 14, int(rem/60%60))
	b[16] = ':'
	put2(b[:], 17, int(rem%60))
	b[19] = '.'
	b[20] = byte('0' + ns/100000000)
	put2(b[:], 21, ns/1000000%100)
	put2(b[:], 23, ns/10000%100)
	put2(b[:], 25, ns/100%100)
	put2(b[:], 27, ns%100)
	b[29] = 'Z'
	return append(dst, b[:]...)
}

const secondsPerDay = 86400

// digitPairs holds "00" to "99", so two digits cost one division.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

func put2(b []byte, at, v int) {
	b[at], b[at+1] = digitPairs[2*v], digitPairs[2*v+1]
}

// civil converts days since 1970-01-01 to the proleptic Gregorian date
// (H. Hinnant's days-to-civil; exact for every int64 day count whose year
// fits an int, and TestAppendTimestamp checks it against package time).
// It avoids time.Time.Date, which also computes the weekday and day of year.
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], March first
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = int(yoe + era*400)
	if month <= 2 {
		year++
	}
	return year, month, day
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
