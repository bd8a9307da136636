package parser

import (
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 64

// jsonDecoder decodes one JSON object into flattened pairs, in document
// order, keeping numbers as written. Nested objects flatten with "_"; null,
// [] and {} produce no pair; arrays become string arrays (scalars as their
// text, nested objects/arrays as their JSON text).
type jsonDecoder struct {
	s     string
	i     int
	pairs []pair
	buf   []byte
	err   *SyntaxError
}

func decodeJSON(line string, pairs []pair, buf []byte) ([]pair, []byte, error) {
	d := jsonDecoder{s: line, pairs: pairs, buf: buf}
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return pairs, d.buf, &SyntaxError{Format: "json", Offset: d.i, Msg: "value is not an object"}
	}
	if !d.object("", 0) {
		return pairs, d.buf, d.err
	}
	d.ws()
	if d.i < len(d.s) {
		d.fail("unexpected data after the object")
		return pairs, d.buf, d.err
	}
	return d.pairs, d.buf, nil
}

// validJSON reports whether s is one complete JSON value.
func validJSON(s string) bool {
	d := jsonDecoder{s: s}
	d.ws()
	if !d.skipValue(0) {
		return false
	}
	d.ws()
	return d.i == len(d.s)
}

func (d *jsonDecoder) fail(msg string) bool {
	if d.err == nil {
		d.err = &SyntaxError{Format: "json", Offset: d.i, Msg: msg}
	}
	return false
}

func (d *jsonDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) object(prefix string, depth int) bool {
	if depth >= maxJSONDepth {
		return d.fail("nesting too deep")
	}
	d.i++ // '{'
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return true
	}
	for {
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return d.fail("expected a string key")
		}
		key, ok := d.str()
		if !ok {
			return false
		}
		if prefix != "" {
			key = prefix + "_" + key
		}
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return d.fail("expected ':'")
		}
		d.i++
		d.ws()
		if !d.member(key, depth) {
			return false
		}
		d.ws()
		if d.i >= len(d.s) {
			return d.fail("unterminated object")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return d.fail("expected ',' or '}'")
		}
	}
}

func (d *jsonDecoder) member(key string, depth int) bool {
	if d.i >= len(d.s) {
		return d.fail("missing value")
	}
	switch c := d.s[d.i]; c {
	case '{':
		return d.object(key, depth+1)
	case '[':
		return d.array(key, depth+1)
	case '"':
		start := d.i
		v, ok := d.str()
		if ok {
			d.pairs = append(d.pairs, pair{key: key, val: v, vs: start, ve: d.i})
		}
		return ok
	case 'n':
		return d.literal("null")
	default:
		start := d.i
		if !d.scalar() {
			return false
		}
		d.pairs = append(d.pairs, pair{key: key, val: d.s[start:d.i], vs: start, ve: d.i})
		return true
	}
}

func (d *jsonDecoder) array(key string, depth int) bool {
	if depth >= maxJSONDepth {
		return d.fail("nesting too deep")
	}
	arrStart := d.i
	d.i++ // '['
	var vals []string
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return true
	}
	for {
		d.ws()
		if d.i >= len(d.s) {
			return d.fail("unterminated array")
		}
		switch d.s[d.i] {
		case '"':
			v, ok := d.str()
			if !ok {
				return false
			}
			vals = append(vals, v)
		case 'n':
			if !d.literal("null") {
				return false
			}
		case '{', '[':
			start := d.i
			if !d.skipValue(depth + 1) {
				return false
			}
			vals = append(vals, d.s[start:d.i])
		default:
			start := d.i
			if !d.scalar() {
				return false
			}
			vals = append(vals, d.s[start:d.i])
		}
		d.ws()
		if d.i >= len(d.s) {
			return d.fail("unterminated array")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			if len(vals) > 0 {
				d.pairs = append(d.pairs, pair{key: key, vals: vals, isArray: true, vs: arrStart, ve: d.i})
			}
			return true
		default:
			return d.fail("expected ',' or ']'")
		}
	}
}

// skipValue validates and skips any JSON value.
func (d *jsonDecoder) skipValue(depth int) bool {
	if depth >= maxJSONDepth {
		return d.fail("nesting too deep")
	}
	if d.i >= len(d.s) {
		return d.fail("missing value")
	}
	switch d.s[d.i] {
	case '"':
		_, ok := d.str()
		return ok
	case 'n':
		return d.literal("null")
	case '{', '[':
		closer := byte('}')
		if d.s[d.i] == '[' {
			closer = ']'
		}
		isObj := closer == '}'
		d.i++
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == closer {
			d.i++
			return true
		}
		for {
			d.ws()
			if isObj {
				if d.i >= len(d.s) || d.s[d.i] != '"' {
					return d.fail("expected a string key")
				}
				if _, ok := d.str(); !ok {
					return false
				}
				d.ws()
				if d.i >= len(d.s) || d.s[d.i] != ':' {
					return d.fail("expected ':'")
				}
				d.i++
				d.ws()
			}
			if !d.skipValue(depth + 1) {
				return false
			}
			d.ws()
			if d.i >= len(d.s) {
				return d.fail("unterminated value")
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] == closer {
				d.i++
				return true
			}
			return d.fail("expected ',' or a closing bracket")
		}
	default:
		return d.scalar()
	}
}

func (d *jsonDecoder) literal(lit string) bool {
	if len(d.s)-d.i >= len(lit) && d.s[d.i:d.i+len(lit)] == lit {
		d.i += len(lit)
		return true
	}
	return d.fail("invalid literal")
}

// scalar skips true, false or a number (validated against the JSON grammar).
func (d *jsonDecoder) scalar() bool {
	switch d.s[d.i] {
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	}
	i := d.i
	if i < len(d.s) && d.s[i] == '-' {
		i++
	}
	switch {
	case i < len(d.s) && d.s[i] == '0':
		i++
	case i < len(d.s) && d.s[i] >= '1' && d.s[i] <= '9':
		for i < len(d.s) && isDigit(d.s[i]) {
			i++
		}
	default:
		d.i = i
		return d.fail("invalid value")
	}
	if i < len(d.s) && d.s[i] == '.' {
		i++
		if i >= len(d.s) || !isDigit(d.s[i]) {
			d.i = i
			return d.fail("invalid number")
		}
		for i < len(d.s) && isDigit(d.s[i]) {
			i++
		}
	}
	if i < len(d.s) && (d.s[i] == 'e' || d.s[i] == 'E') {
		i++
		if i < len(d.s) && (d.s[i] == '+' || d.s[i] == '-') {
			i++
		}
		if i >= len(d.s) || !isDigit(d.s[i]) {
			d.i = i
			return d.fail("invalid number")
		}
		for i < len(d.s) && isDigit(d.s[i]) {
			i++
		}
	}
	d.i = i
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// str decodes the string at d.s[d.i] == '"'. Without escapes the result is a
// substring of the line.
func (d *jsonDecoder) str() (string, bool) {
	start := d.i + 1
	i := start
	for i < len(d.s) {
		c := d.s[i]
		if c == '"' {
			d.i = i + 1
			return d.s[start:i], true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			d.i = i
			return "", d.fail("control character in string")
		}
		i++
	}
	if i >= len(d.s) {
		d.i = i
		return "", d.fail("unterminated string")
	}
	b := append(d.buf[:0], d.s[start:i]...)
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			d.i = i + 1
			d.buf = b
			return string(b), true
		case c < 0x20:
			d.i = i
			return "", d.fail("control character in string")
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(d.s) {
			break
		}
		e := d.s[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			v, ok := hexValue(d.s, i, 4)
			if !ok {
				d.i = i
				return "", d.fail("bad \\u escape")
			}
			i += 4
			r := rune(v)
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
				if lo, ok := hexValue(d.s, i+2, 4); ok && i+1 < len(d.s) && d.s[i] == '\\' && d.s[i+1] == 'u' {
					if dec := utf16.DecodeRune(rune(v), rune(lo)); dec != utf8.RuneError {
						r = dec
						i += 6
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			d.i = i - 1
			return "", d.fail("bad escape")
		}
	}
	d.buf = b
	d.i = i
	return "", d.fail("unterminated string")
}
