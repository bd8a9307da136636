package audit

import (
	"math/bits"
	"unicode/utf8"
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialMask sets the top bit of each byte of w (little endian) that
// needs escaping or UTF-8 checking: < 0x20, '"', '\\' or >= 0x80. A byte
// below 0x20 wraps in the first subtraction, a quote or backslash becomes
// zero in its xor and wraps in the second; other bytes set the top bit
// there only when they are >= 0x80, which the final w flags anyway. Borrows
// start only at a true hit and can flag bytes above it, never below one,
// so the lowest set bit is exact.
func specialMask(w uint64) uint64 {
	return ((w - 0x20*lsb) | ((w ^ '"'*lsb) - lsb) | ((w ^ '\\'*lsb) - lsb) | w) & msb
}

func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// cleanPrefix returns the length of the leading run of s that needs no
// escaping (len(s) for the common clean string), checked eight bytes at a
// time.
func cleanPrefix(s string) int {
	n := len(s)
	if n < 8 {
		// Short values (journal numbers, names) are checked as one word:
		// two overlapping halves, or three bytes covering s, padded with
		// clean 'a' bytes.
		var w uint64
		switch {
		case n >= 4:
			w = uint64(load32(s, 0)) | uint64(load32(s, n-4))<<32
		case n > 0:
			w = uint64(s[0]) | uint64(s[n>>1])<<8 | uint64(s[n-1])<<16 | 0x6161616161<<24
		default:
			return 0
		}
		if specialMask(w) == 0 {
			return n
		}
		return slowPrefix(s, 0)
	}
	i := 0
	for ; i+16 <= n; i += 16 { // two words per test: ids and messages are long
		m0, m1 := specialMask(load64(s, i)), specialMask(load64(s, i+8))
		if m0|m1 != 0 {
			if m0 != 0 {
				return i + bits.TrailingZeros64(m0)>>3
			}
			return i + 8 + bits.TrailingZeros64(m1)>>3
		}
	}
	if i+8 <= n {
		if m := specialMask(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if i == n {
		return n
	}
	// The last eight bytes cover the tail; the clean bytes before i cannot
	// raise a flag, so no flag means clean.
	if specialMask(load64(s, n-8)) == 0 {
		return n
	}
	return slowPrefix(s, i)
}

// slowPrefix finishes cleanPrefix byte by byte from i.
func slowPrefix(s string, i int) int {
	for ; i < len(s); i++ {
		if needsAttention(s[i]) {
			return i
		}
	}
	return len(s)
}

func load32(s string, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

// AppendJSONString appends s as a JSON string literal: quote, backslash and
// control characters escaped, no HTML escaping, each invalid UTF-8 byte as
// U+FFFD. It scans for the bytes that need attention eight bytes at a time
// and copies the clean runs between them whole; FuzzAppendJSONString checks
// it byte for byte against a plain byte-at-a-time reference.
func AppendJSONString(dst []byte, s string) []byte {
	if j := cleanPrefix(s); j < len(s) {
		return appendEscaped(append(dst, '"'), s, j)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendKey appends `,"key":`.
func appendKey(dst []byte, key string) []byte {
	if j := cleanPrefix(key); j < len(key) {
		return append(appendEscaped(append(dst, ',', '"'), key, j), ':')
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// appendEscaped continues a string after its opening quote: s[:i] is
// clean, s[i] needs attention; it writes the rest and the closing quote.
// Within a flagged word it visits each flagged byte (flags above a true
// hit can be false: those bytes are checked and copied as they are).
func appendEscaped(dst []byte, s string, i int) []byte {
	n := len(s)
	start := 0 // s[start:] is not written yet
	done := i  // bytes before done are written or part of the pending clean run
	for next := i; next < n; {
		if next+8 > n {
			for p := max(next, done); p < n; p++ {
				if p >= done && needsAttention(s[p]) {
					dst = append(dst, s[start:p]...)
					var size int
					dst, size = appendSpecial(dst, s, p)
					done = p + size
					start = done
				}
			}
			break
		}
		m := specialMask(load64(s, next))
		base := next
		next += 8
		for ; m != 0; m &= m - 1 {
			p := base + bits.TrailingZeros64(m)>>3
			if p < done || !needsAttention(s[p]) {
				continue // inside a rune already written, or a false flag
			}
			dst = append(dst, s[start:p]...)
			if c := s[p]; c == '"' || c == '\\' {
				// The usual hit (quoted logfmt values in MESSAGE), without a call.
				dst = append(dst, '\\', c)
				done, start = p+1, p+1
				continue
			}
			var size int
			dst, size = appendSpecial(dst, s, p)
			done = p + size
			start = done
		}
		next = max(next, done)
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func needsAttention(c byte) bool { return c-0x20 >= 0x60 || c == '"' || c == '\\' }

// appendSpecial writes the byte at s[p] that needs attention: an escape,
// a valid UTF-8 sequence as it is, or U+FFFD for an invalid byte. It
// returns how many bytes of s it consumed.
func appendSpecial(dst []byte, s string, p int) ([]byte, int) {
	c := s[p]
	if c < utf8.RuneSelf {
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
		return dst, 1
	}
	r, size := utf8.DecodeRuneInString(s[p:])
	if r == utf8.RuneError && size == 1 {
		return append(dst, "\ufffd"...), 1
	}
	return append(dst, s[p:p+size]...), size
}
