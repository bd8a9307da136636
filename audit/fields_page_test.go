//go:build linux

package audit

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestAppendPlainFieldsPageEnd puts keys and values of every length to 40
// at the very end of a readable page, with an unreadable page after it:
// a read past a string's end that crossed the page (the whole-block loads
// of short strings must not) would crash the test.
func TestAppendPlainFieldsPageEnd(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	for i := range page {
		mem[i] = "abcdefghij\"klmnop"[i%17] // a quote now and then: the escaping path too
	}
	atEnd := func(n int) string {
		if n == 0 {
			return ""
		}
		return unsafe.String(&mem[page-n], n)
	}
	for kl := 0; kl <= 40; kl++ {
		for vl := 0; vl <= 40; vl++ {
			key := atEnd(kl)
			fields := []Field{
				{Key: "k", Str: atEnd(vl), PlainKey: true},
				{Key: key, Str: "v", PlainKey: IsPlainKey(key)},
				{Key: "a", Kind: Strings, Strs: []string{atEnd(vl), atEnd(kl)}, PlainKey: true},
			}
			budget := 0
			for i := range fields {
				budget += fieldBudget(&fields[i])
			}
			a := make([]byte, 0, budget)
			b := make([]byte, 0, budget)
			n1, d1 := appendPlainFields(a, fields)
			n2, d2 := appendPlainFieldsGo(b, fields)
			if n1 != n2 || d1 != d2 || string(a[:n1]) != string(b[:n2]) {
				t.Fatalf("key %d, value %d bytes: assembly %d, %d, %q; portable %d, %d, %q", kl, vl, n1, d1, a[:n1], n2, d2, b[:n2])
			}
		}
	}
}
