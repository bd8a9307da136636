package parser

import "time"

// ParseTime parses the timestamps containerd and CRI-O write (format doc §3):
//
//	2026-02-09T16:44:32.545908121Z      containerd (fixed 9 digits)
//	2026-02-09T16:44:32.78883661Z       CRI-O ≥ 1.32 (trailing zeros trimmed)
//	2026-02-09 16:44:32.788820336Z      CRI-O ≤ 1.31
//	2026-02-09T16:44:32Z                CRI-O JSON (seconds)
//	2026-02-09T18:44:32.5+02:00         any zone offset (also +0200)
//
// The result is in UTC. It does not allocate.
func ParseTime(s string) (time.Time, bool) {
	var c timeCache
	return c.parse(s)
}

// timeCache remembers the minute of the last time parsed: consecutive
// lines of one runtime almost always share "2026-02-09T16:44", and the
// calendar arithmetic for it is then skipped. The zero value is empty.
type timeCache struct {
	prefix [2]uint64 // the first 16 bytes of the last line time (date, hour, minute)
	minute int64     // their Unix seconds
	valid  bool
}

// parse is ParseTime with the cache.
func (c *timeCache) parse(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return time.Time{}, false
	}
	w0, w1 := load64(s, 0), load64(s, 8)
	if !c.valid || w0 != c.prefix[0] || w1 != c.prefix[1] {
		minute, ok := parseMinute(s)
		if !ok {
			return time.Time{}, false
		}
		c.prefix, c.minute, c.valid = [2]uint64{w0, w1}, minute, true
	}
	sec, ok := digits(s, 17, 2)
	if !ok || s[16] != ':' || sec > 60 {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if i < len(s) && s[i] == '.' {
		i++
		n := 0
		for i < len(s) && isDigit(s[i]) {
			if n < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
			n++
			i++
		}
		if n == 0 {
			return time.Time{}, false
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	if i >= len(s) {
		return time.Time{}, false
	}
	offset := 0
	switch s[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		sign := 1
		if s[i] == '-' {
			sign = -1
		}
		oh, ok := digits(s, i+1, 2)
		if !ok {
			return time.Time{}, false
		}
		j := i + 3
		if j < len(s) && s[j] == ':' {
			j++
		}
		om, ok := digits(s, j, 2)
		if !ok || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = sign * (oh*3600 + om*60)
		i = j + 2
	default:
		return time.Time{}, false
	}
	if i != len(s) {
		return time.Time{}, false
	}
	if sec == 60 { // a leap second: Go's time has none; keep the instant after.
		sec = 59
		nsec = 999999999
	}
	unix := c.minute + int64(sec-offset)
	if unix < minUnix || unix > maxUnix {
		return time.Time{}, false // outside RFC 3339 (and Elasticsearch dates)
	}
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// parseMinute checks and converts "2006-01-02T15:04" (s[:16]) to Unix
// seconds, by day arithmetic, without time.Date's normalization and the
// calendar conversion of a Year check (TestParseTimeMatchesDate compares
// with time.Date).
func parseMinute(s string) (int64, bool) {
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	min, ok5 := digits(s, 14, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || min > 59 {
		return 0, false
	}
	return daysFromCivil(year, month, day)*86400 + int64(hour*3600+min*60), true
}

// The Unix seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// daysFromCivil returns the days from 1970-01-01 to a proleptic Gregorian
// date (H. Hinnant's days-from-civil), for any year >= -1.
func daysFromCivil(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year
	if era < 0 {
		era -= 399 // floor division
	}
	era /= 400
	yoe := year - era*400                     // [0, 399]
	doy := (153*((month+9)%12)+2)/5 + day - 1 // [0, 365], from March 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy    // [0, 146096]
	return int64(era)*146097 + int64(doe) - 719468
}

func digits(s string, at, n int) (int, bool) {
	if at+n > len(s) {
		return 0, false
	}
	v := 0
	for i := at; i < at+n; i++ {
		c := s[i]
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
