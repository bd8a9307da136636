package parser

import (
	"slices"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
)

// TestShapeMatchIsExact: a remembered shape matches only the same names in
// the same order; a change of any one byte, at any position, of a name of
// any length, is a miss.
func TestShapeMatchIsExact(t *testing.T) {
	b, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n <= 40; n++ {
		name := strings.Repeat("A", n)
		entry := func(name string) *audit.Entry {
			e := &audit.Entry{}
			e.Add("_HOSTNAME", "h")
			e.Add(name, "v")
			e.Add("MESSAGE", "x")
			return e
		}
		var s shape
		s.misses = 1
		s.remember(b, entry(name), [identityCount + 1]int{})
		if !s.valid {
			t.Fatalf("len %d: not remembered", n)
		}
		if _, ok := s.match(entry(name)); !ok {
			t.Fatalf("len %d: the same names do not match", n)
		}
		for i := 0; i < n; i++ {
			changed := name[:i] + "B" + name[i+1:]
			if _, ok := s.match(entry(changed)); ok {
				t.Fatalf("len %d: %q matches %q", n, changed, name)
			}
		}
		if _, ok := s.match(entry(name + "A")); ok {
			t.Fatalf("len %d: a longer name matches", n)
		}
		e := entry(name)
		e.Fields[0], e.Fields[2] = e.Fields[2], e.Fields[0]
		if _, ok := s.match(e); ok {
			t.Fatalf("len %d: reordered names match", n)
		}
	}
}

// TestShapeNotRememberedWhenNotSimple: names that need the general path
// (the prefix's first byte, '@', bytes that need escaping) are never
// remembered, and a stream whose shapes keep changing relearns at the 1st,
// 2nd, 4th, ... miss in a row.
func TestShapeNotRememberedWhenNotSimple(t *testing.T) {
	b, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nri_x", "@timestamp", "A\"B", "caf\xc3\xa9", "A\nB"} {
		e := &audit.Entry{}
		e.Add(name, "v")
		s := shape{misses: 1}
		s.remember(b, e, [identityCount + 1]int{})
		if s.valid {
			t.Errorf("%q: remembered", name)
		}
	}
	var s shape
	var learned []uint32
	for i := 0; i < 20; i++ {
		e := &audit.Entry{}
		e.Add(strings.Repeat("F", i+1), "v") // a new shape every time
		if _, ok := s.match(e); ok {
			t.Fatal("a new shape matched")
		}
		s.remember(b, e, [identityCount + 1]int{})
		if s.valid && s.names[0].n == i+1 {
			learned = append(learned, s.misses)
		}
	}
	if got, want := learned, []uint32{1, 2, 4, 8, 16}; !slices.Equal(got, want) {
		t.Fatalf("learned at misses %v, want %v", got, want)
	}
}
