#include "textflag.h"
#include "sse_amd64.h"

// func cleanPrefixLong(s string) int
//
// Returns the offset of the first byte of s that is < 0x20, '"', '\\' or
// >= 0x80, or len(s); len(s) >= 16. Each 16-byte block: compare with '"'
// and '\\', compare min(b, 0x1f) with b (true for b <= 0x1f), OR the three
// masks with the bytes themselves (their top bit is set for b >= 0x80) and
// take the top bits. The last block overlaps the one before it: its bytes
// below the old position are clean, so the first flag is still exact.
TEXT ·cleanPrefixLong(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), CX
	JSON_CONSTS
	XORQ DX, DX

loop:
	LEAQ 16(DX), BX
	CMPQ BX, CX
	JA   tail
	MOVOU (SI)(DX*1), X0
	JSON_FLAGS(X0, X4)
	PMOVMSKB X4, AX
	TESTL AX, AX
	JNZ   found
	MOVQ  BX, DX
	JMP   loop

tail:
	CMPQ DX, CX
	JEQ  clean
	MOVQ CX, DX
	SUBQ $16, DX
	MOVOU (SI)(DX*1), X0
	JSON_FLAGS(X0, X4)
	PMOVMSKB X4, AX
	TESTL AX, AX
	JNZ   found

clean:
	MOVQ CX, ret+16(FP)
	RET

found:
	BSFL AX, AX
	ADDQ DX, AX
	MOVQ AX, ret+16(FP)
	RET
