package adjustlog

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendText appends the line as logrus' TextFormatter writes it without
// colors (as containerd and CRI-O configure it): time, level, msg, then the
// fields in key order; a value is written bare when every byte is in
// [A-Za-z0-9-._/@^+] (so "" is bare too), else Go-quoted. No newline.
func (l *Line) AppendText(dst []byte) []byte {
	fields := sortedFields(l.Fields)
	var tb [40]byte
	dst = append(dst, "time="...)
	dst = appendTextBytes(dst, l.Time.AppendFormat(tb[:0], TimeFormat))
	dst = append(dst, " level="...)
	dst = append(dst, Level...)
	if l.Msg != "" {
		dst = append(dst, " msg="...)
		dst = appendTextString(dst, l.Msg)
	}
	for i := range fields {
		f := &fields[i]
		dst = append(dst, ' ')
		dst = append(dst, f.Key...)
		dst = append(dst, '=')
		dst = appendTextValue(dst, f.Value)
	}
	return dst
}

// sortedFields returns fields in key order, as logrus writes them; Build
// already sorts, so this copies only for hand-made lines.
func sortedFields(fields []Field) []Field {
	cmp := func(a, b Field) int { return strings.Compare(a.Key, b.Key) }
	if slices.IsSortedFunc(fields, cmp) {
		return fields
	}
	fields = slices.Clone(fields)
	slices.SortStableFunc(fields, cmp)
	return fields
}

func appendTextValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindString:
		return appendTextString(dst, v.Str)
	case KindInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case KindUint:
		return strconv.AppendUint(dst, v.Uint, 10)
	case KindBool:
		return strconv.AppendBool(dst, v.Bool)
	case KindIntPtr:
		if !v.Null {
			return strconv.AppendInt(dst, v.Int, 10)
		}
	}
	return appendTextString(dst, v.Text())
}

// needsQuoting is logrus' TextFormatter rule. logrus ranges over runes, but
// every rune outside ASCII (and every invalid byte) needs quoting, so a byte
// loop decides the same.
func needsQuoting(s string) bool {
	for i := 0; i < len(s); i++ {
		if !bareByte[s[i]] {
			return true
		}
	}
	return false
}

var bareByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._/@^+" {
		t[c] = true
	}
	return t
}()

func appendTextString(dst []byte, s string) []byte {
	if !needsQuoting(s) {
		return append(dst, s...)
	}
	// fmt's %q of a string is strconv.Quote.
	return strconv.AppendQuote(dst, s)
}

// appendTextBytes is appendTextString for a formatted timestamp, which
// never needs escapes but always needs quotes (it has ':').
func appendTextBytes(dst, s []byte) []byte {
	for _, c := range s {
		if !bareByte[c] {
			dst = append(dst, '"')
			dst = append(dst, s...)
			return append(dst, '"')
		}
	}
	return append(dst, s...)
}

// fixedKey is a key logrus' JSONFormatter adds to the data map.
type fixedKey uint8

const (
	fixedLevel fixedKey = iota
	fixedMsg
	fixedTime
	fixedCount
)

// fixedKeys are in byte order, as encoding/json sorts map keys.
var fixedKeyNames = [fixedCount]string{"level", "msg", "time"}

// AppendJSON appends the line as logrus' JSONFormatter writes it: one
// object whose keys (the fields plus level, msg and time) are sorted
// bytewise, values encoded by encoding/json with HTML escaping. No newline.
func (l *Line) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	next := fixedLevel
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	emitFixed := func(k fixedKey) {
		sep()
		dst = appendJSONString(dst, fixedKeyNames[k])
		dst = append(dst, ':')
		switch k {
		case fixedLevel:
			dst = appendJSONString(dst, Level)
		case fixedMsg:
			dst = appendJSONString(dst, l.Msg)
		case fixedTime:
			var tb [40]byte
			dst = append(dst, '"')
			dst = append(dst, l.Time.AppendFormat(tb[:0], TimeFormat)...)
			dst = append(dst, '"')
		}
	}
	fields := sortedFields(l.Fields)
	for i := range fields {
		f := &fields[i]
		for next < fixedCount && fixedKeyNames[next] < f.Key {
			emitFixed(next)
			next++
		}
		sep()
		dst = appendJSONString(dst, f.Key)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, f.Value)
	}
	for ; next < fixedCount; next++ {
		emitFixed(next)
	}
	return append(dst, '}')
}

func appendJSONValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindString:
		return appendJSONString(dst, v.Str)
	case KindInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case KindUint:
		return strconv.AppendUint(dst, v.Uint, 10)
	case KindBool:
		return strconv.AppendBool(dst, v.Bool)
	case KindStrings:
		if v.Null {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, s := range v.Strs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, s)
		}
		return append(dst, ']')
	case KindNetDevice:
		switch {
		case v.Null:
			return append(dst, "null"...)
		case v.Str == "":
			return append(dst, "{}"...)
		}
		dst = append(dst, `{"name":`...)
		dst = appendJSONString(dst, v.Str)
		return append(dst, '}')
	case KindIntPtr:
		if v.Null {
			return append(dst, "null"...)
		}
		return strconv.AppendInt(dst, v.Int, 10)
	}
	return append(dst, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString encodes s exactly as encoding/json does with HTML
// escaping on (json.Encoder's default, which logrus keeps): <, > and & as
// \u003c..., control bytes as \b \f \n \r \t or \u00XX, U+2028/U+2029
// escaped, and each invalid UTF-8 byte as \ufffd. It is not
// audit.AppendJSONString on purpose: documents must not be HTML-escaped,
// these lines must match logrus byte for byte.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
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
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
