package parser

import (
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// pair is one key=value of a line. Values from JSON arrays are in vals
// (isArray); every other value is in val. Both may point into the line.
type pair struct {
	key     string
	val     string
	vals    []string
	isArray bool
	// vs:ve is the value as written in the line (quotes included), so
	// redaction can rewrite MESSAGE too.
	vs, ve int
}

// SyntaxError is a logfmt or JSON syntax error at a byte offset of the line.
type SyntaxError struct {
	Format string // "logfmt" or "json"
	Offset int
	Msg    string

	// key and valueStart locate a broken logfmt value (key != ""), so the
	// builder can redact the rest of MESSAGE when that key is a secret.
	key        string
	valueStart int
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: %s at byte %d", e.Format, e.Msg, e.Offset)
}

// decodeLogfmt appends the pairs of a logrus text line to pairs. Keys run to
// '=' or white space, or are Go-quoted ("a key"=v); values are bare (to the
// next white space) or Go-quoted with strconv escapes. Words without '=' are
// skipped. On a syntax error (unterminated quote, bad escape) the pairs
// before the broken one are kept and the error names the broken pair's
// offset. buf is scratch space for unescaping, returned for reuse.
func decodeLogfmt(line string, pairs []pair, buf []byte) ([]pair, []byte, error) {
	i, n := 0, len(line)
	for {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i >= n {
			return pairs, buf, nil
		}
		start := i
		var key string
		if line[i] == '"' {
			// A quoted key; a quoted word without '=' is a bare word.
			k, end, nb, err := unquote(line, i, buf)
			buf = nb
			if err != "" {
				if err == "unterminated quoted value" {
					err = "unterminated quoted key"
				} else {
					err += " in a quoted key"
				}
				return pairs, buf, &SyntaxError{Format: "logfmt", Offset: start, Msg: err}
			}
			key, i = k, end
		} else {
			i = skipTo(line, i, keyEndSet)
			key = line[start:i]
		}
		if i >= n || line[i] != '=' || key == "" {
			// A bare word ("panic:", "goroutine", a stray "="): not a pair.
			for i < n && !isSpace(line[i]) {
				i++
			}
			continue
		}
		i++ // '='
		if i < n && line[i] == '"' {
			val, end, nb, err := unquote(line, i, buf)
			buf = nb
			if err != "" {
				return pairs, buf, &SyntaxError{Format: "logfmt", Offset: start, Msg: err + " in pair " + quoteKey(key),
					key: key, valueStart: i}
			}
			pairs = appendPair(pairs, key, val, i, end)
			i = end
			continue
		}
		vstart := i
		i = skipTo(line, i, spaceSet)
		pairs = appendPair(pairs, key, line[vstart:i], vstart, i)
	}
}

// appendPair appends a single-valued pair, written in place: appending a
// composite literal would build the 80-byte pair on the stack and copy it.
func appendPair(pairs []pair, key, val string, vs, ve int) []pair {
	n := len(pairs)
	if n == cap(pairs) {
		pairs = append(pairs, pair{})
	} else {
		pairs = pairs[:n+1]
	}
	p := &pairs[n]
	p.key, p.val, p.vals, p.isArray, p.vs, p.ve = key, val, nil, false, vs, ve
	return pairs
}

func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return fmt.Sprintf("%q", k)
}

// Bytes below 64 that end a word, and those that also end a key.
const (
	spaceSet  uint64 = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'
	keyEndSet        = spaceSet | 1<<'='
)

func isSpace(c byte) bool { return c < 64 && spaceSet>>c&1 != 0 }

// skipTo returns the index of the first byte of s at or after i that is in
// set (spaceSet or keyEndSet), or len(s). It skips eight bytes at a time
// while none of them can be: every byte of both sets is below 0x21 or '='.
func skipTo(s string, i int, set uint64) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(s) {
		w := load64(s, i)
		eq := w ^ '='*lsb
		m := ((w - 0x21*lsb) &^ w) | ((eq - lsb) &^ eq)
		if m &= msb; m == 0 {
			i += 8
			continue
		}
		// The lowest flag is the first candidate (borrows only run
		// upwards); a candidate outside set (another control byte, or '='
		// for a value) is passed over.
		j := i + bits.TrailingZeros64(m)>>3
		if c := s[j]; c < 64 && set>>c&1 != 0 {
			return j
		}
		i = j + 1
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 64 && set>>c&1 != 0 {
			return i
		}
	}
	return i
}

// unquote reads a Go double-quoted string starting at s[at] == '"'. It
// returns the value (a substring of s when there are no escapes), the index
// after the closing quote, the scratch buffer, and a non-empty error text on
// failure.
func unquote(s string, at int, buf []byte) (string, int, []byte, string) {
	i := at + 1
	for i+8 <= len(s) { // eight bytes at a time to a quote or backslash
		const lsb, msb = 0x0101010101010101, 0x8080808080808080
		w := load64(s, i)
		q, bs := w^'"'*lsb, w^'\\'*lsb
		if m := ((q-lsb)&^q | (bs-lsb)&^bs) & msb; m != 0 {
			i += bits.TrailingZeros64(m) >> 3 // the lowest flag is exact
			break
		}
		i += 8
	}
	for i < len(s) && s[i] != '"' && s[i] != '\\' {
		i++
	}
	if i >= len(s) {
		return "", 0, buf, "unterminated quoted value"
	}
	if s[i] == '"' {
		return s[at+1 : i], i + 1, buf, ""
	}
	buf = append(buf[:0], s[at+1:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return string(buf), i + 1, buf, ""
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", 0, buf, "unterminated escape"
		}
		e := s[i+1]
		i += 2
		switch e {
		case 'a':
			buf = append(buf, '\a')
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'v':
			buf = append(buf, '\v')
		case '\\', '"', '\'':
			buf = append(buf, e)
		case 'x':
			v, ok := hexValue(s, i, 2)
			if !ok {
				return "", 0, buf, "bad \\x escape"
			}
			buf = append(buf, byte(v))
			i += 2
		case 'u', 'U':
			width := 4
			if e == 'U' {
				width = 8
			}
			v, ok := hexValue(s, i, width)
			if !ok {
				return "", 0, buf, "bad \\" + string(e) + " escape"
			}
			r := rune(v)
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
			i += width
		case '0', '1', '2', '3', '4', '5', '6', '7':
			if i+1 >= len(s) || !isOctal(s[i]) || !isOctal(s[i+1]) {
				return "", 0, buf, "bad octal escape"
			}
			v := int(e-'0')<<6 | int(s[i]-'0')<<3 | int(s[i+1]-'0')
			if v > 255 {
				return "", 0, buf, "bad octal escape"
			}
			buf = append(buf, byte(v))
			i += 2
		default:
			return "", 0, buf, "unknown escape \\" + string(rune(e))
		}
	}
	return "", 0, buf, "unterminated quoted value"
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func hexValue(s string, at, width int) (uint32, bool) {
	if at+width > len(s) {
		return 0, false
	}
	var v uint32
	for _, c := range []byte(s[at : at+width]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}
