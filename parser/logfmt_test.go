package parser

import "testing"

// TestSkipToMatchesByteLoop holds the word-at-a-time skipTo to a plain
// byte loop, for both sets, from every start, over strings dense in
// candidates that are not in the set (control bytes, '=', bytes >= 0x80).
func TestSkipToMatchesByteLoop(t *testing.T) {
	naive := func(s string, i int, set uint64) int {
		for ; i < len(s); i++ {
			if c := s[i]; c < 64 && set>>c&1 != 0 {
				return i
			}
		}
		return i
	}
	alphabet := "ab=\x00\x01\x1f \t\n\r!\x80\xa1\xff"
	rng := uint64(1)
	for n := 0; n < 40; n++ {
		for trial := 0; trial < 200; trial++ {
			b := make([]byte, n)
			for i := range b {
				rng = rng*6364136223846793005 + 1442695040888963407
				if rng>>60 < 10 { // mostly plain letters, so runs are long
					b[i] = 'x'
				} else {
					b[i] = alphabet[(rng>>32)%uint64(len(alphabet))]
				}
			}
			s := string(b)
			for _, set := range []uint64{spaceSet, keyEndSet} {
				for i := 0; i <= n; i++ {
					if got, want := skipTo(s, i, set), naive(s, i, set); got != want {
						t.Fatalf("skipTo(%q, %d, %#x) = %d, want %d", s, i, set, got, want)
					}
				}
			}
		}
	}
}
