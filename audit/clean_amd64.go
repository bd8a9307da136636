package audit

// cleanPrefixLong is cleanPrefix for len(s) >= 16: SSE2 (every amd64 CPU
// has it) tests sixteen bytes with a handful of instructions, where the
// word test needs about twice as many for eight; it is the encoder's
// largest cost. Implemented in clean_amd64.s.
//
//go:noescape
func cleanPrefixLong(s string) int
