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
// escaping (len(s) for the common clean string).
func cleanPrefix(s string) int {
	n := len(s)
	switch {
	case n >= 16:
		// Ids, paths and messages: sixteen bytes per step (SSE2 on amd64).
		return cleanPrefixLong(s)
	case n >= 8:
		// Two overlapping words cover s; the bytes of the first are clean
		// when it raises no flag, so the second's lowest flag is exact.
		if m := specialMask(load64(s, 0)); m != 0 {
			return bits.TrailingZeros64(m) >> 3
		}
		if m := specialMask(load64(s, n-8)); m != 0 {
			return n - 8 + bits.TrailingZeros64(m)>>3
		}
		return n
	case n >= 4:
		// Short values (journal numbers, names) are checked as one word:
		// two overlapping halves.
		if specialMask(uint64(load32(s, 0))|uint64(load32(s, n-4))<<32) == 0 {
			return n
		}
	case n > 0:
		// Three bytes cover s, padded with clean 'a' bytes.
		if specialMask(uint64(s[0])|uint64(s[n>>1])<<8|uint64(s[n-1])<<16|0x6161616161<<24) == 0 {
			return n
		}
	default:
		return 0
	}
	return slowPrefix(s, 0)
}

// cleanPrefixWords is cleanPrefix for len(s) >= 8 in portable Go, eight
// bytes at a time; cleanPrefixLong uses it where there is no assembly, and
// the tests hold the assembly to it.
func cleanPrefixWords(s string) int {
	n := len(s)
	i := 0
	for ; i+16 <= n; i += 16 { // two words per test
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
	// raise a flag, so the lowest flag is exact.
	if m := specialMask(load64(s, n-8)); m != 0 {
		return n - 8 + bits.TrailingZeros64(m)>>3
	}
	return n
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

// packShort packs a string shorter than eight bytes into a word, little
// endian, zero above it.
func packShort(s string) uint64 {
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	return w
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
// clean, s[i] needs attention; it writes the rest and the closing quote,
// copying each clean run whole (cleanPrefix finds its end exactly).
func appendEscaped(dst []byte, s string, i int) []byte {
	dst = append(dst, s[:i]...)
	for i < len(s) {
		var size int
		if c := s[i]; c == '"' || c == '\\' {
			// The usual hit (quoted logfmt values in MESSAGE), without a call.
			dst = append(dst, '\\', c)
			size = 1
		} else {
			dst, size = appendSpecial(dst, s, i)
		}
		i += size
		j := i + cleanPrefix(s[i:])
		dst = append(dst, s[i:j]...)
		i = j
	}
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
