package audit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceAppendJSONString is the plain byte-at-a-time escaper the fast
// one must equal.
func referenceAppendJSONString(dst []byte, s string) []byte {
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

// FuzzAppendJSONStringFast checks the word-at-a-time escaper against the
// reference byte for byte, and against encoding/json.
func FuzzAppendJSONStringFast(f *testing.F) {
	for _, s := range []string{"", "plain ascii longer than eight", "a\"b\\c\x00\x1f\x7f", "\xff", "é€😀", "\xed\xa0\x80x",
		"0123456\"", "01234567\n", "\xe2\x82", strings.Repeat("x", 100) + "\xc3",
		// Borrow chains after a hit: bytes 0x01 and 0x21 above a quote,
		// NUL or control byte can look special to the word test.
		"\"\x01\x01\x01\x01\x01\x01\x01\x01", "\x00\x21\x21\x21\x21\x21\x21\x21\x21", "\\#######\"##", "a\x1f!!!!!!!!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendJSONString(nil, s)
		want := referenceAppendJSONString(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != ValidUTF8(s) {
			t.Fatalf("%q: decodes to %q (%v)", s, back, err)
		}
	})
}

// TestAppendJSONStringRandom compares the escapers on many strings of
// tricky bytes (quotes, NUL, control bytes, their neighbours, UTF-8).
func TestAppendJSONStringRandom(t *testing.T) {
	alphabet := []byte{'a', '"', '\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff}
	rnd := uint64(1)
	buf := make([]byte, 0, 40)
	for n := 0; n < 200000; n++ {
		buf = buf[:0]
		rnd = rnd*6364136223846793005 + 1442695040888963407
		size := int(rnd>>58) % 33
		for i := 0; i < size; i++ {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			buf = append(buf, alphabet[int(rnd>>40)%len(alphabet)])
		}
		s := string(buf)
		if got, want := AppendJSONString(nil, s), referenceAppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		if !utf8.Valid(AppendJSONString(nil, s)) {
			t.Fatalf("%q: invalid UTF-8 out", s)
		}
	}
}

// TestCleanPrefix checks cleanPrefix, the assembly and the portable word
// version against a byte loop, for every length up to 80 with each kind of
// special byte at every position, after clean bytes or more specials.
func TestCleanPrefix(t *testing.T) {
	ref := func(s string) int {
		for i := 0; i < len(s); i++ {
			if needsAttention(s[i]) {
				return i
			}
		}
		return len(s)
	}
	check := func(s string) {
		t.Helper()
		want := ref(s)
		if got := cleanPrefix(s); got != want {
			t.Fatalf("cleanPrefix(%q) = %d, want %d", s, got, want)
		}
		if len(s) >= 16 {
			if got := cleanPrefixLong(s); got != want {
				t.Fatalf("cleanPrefixLong(%q) = %d, want %d", s, got, want)
			}
		}
		if len(s) >= 8 {
			if got := cleanPrefixWords(s); got != want {
				t.Fatalf("cleanPrefixWords(%q) = %d, want %d", s, got, want)
			}
		}
	}
	specials := []byte{0x00, 0x01, 0x1f, '"', '\\', 0x80, 0xc3, 0xff}
	neighbours := []byte{0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7e, 0x7f, 'a'}
	for n := 0; n <= 80; n++ {
		for _, fill := range neighbours {
			clean := bytes.Repeat([]byte{fill}, n)
			check(string(clean))
			for p := 0; p < n; p++ {
				for _, c := range specials {
					b := bytes.Clone(clean)
					b[p] = c
					check(string(b))
					if p+1 < n { // a second hit after the first
						b[n-1] = specials[(p+int(c))%len(specials)]
						check(string(b))
					}
				}
			}
		}
	}
}

func BenchmarkCleanPrefix(b *testing.B) {
	for _, n := range []int{4, 12, 32, 64, 256} {
		s := strings.Repeat("a", n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			sum := 0
			for b.Loop() {
				sum += cleanPrefix(s)
			}
			if sum == 0 {
				b.Fatal("no result")
			}
		})
		b.Run(strconv.Itoa(n)+"/words", func(b *testing.B) {
			if n < 8 {
				b.Skip("words need 8 bytes")
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			sum := 0
			for b.Loop() {
				sum += cleanPrefixWords(s)
			}
			if sum == 0 {
				b.Fatal("no result")
			}
		})
	}
}
