// Macros shared by the SSE2 scanners of package audit.

// JSON_CONSTS loads the bytes the escape test compares with: X1 = '"' x16,
// X2 = '\\' x16, X3 = 0x1f x16 (clobbers AX).
#define JSON_CONSTS \
	MOVQ $0x2222222222222222, AX; MOVQ AX, X1; PUNPCKLQDQ X1, X1; \
	MOVQ $0x5c5c5c5c5c5c5c5c, AX; MOVQ AX, X2; PUNPCKLQDQ X2, X2; \
	MOVQ $0x1f1f1f1f1f1f1f1f, AX; MOVQ AX, X3; PUNPCKLQDQ X3, X3

// JSON_FLAGS(x, out) sets the top bit of each byte of out whose byte in x
// is '"', '\\', <= 0x1f (min(b, 0x1f) == b) or >= 0x80 (x's own top bit);
// clobbers X4-X6.
#define JSON_FLAGS(x, out) \
	MOVO x, X4; PCMPEQB X1, X4; \
	MOVO x, X5; PCMPEQB X2, X5; \
	MOVO x, X6; PMINUB X3, X6; PCMPEQB x, X6; \
	POR X5, X4; POR X6, X4; POR x, X4; MOVO X4, out

// COPY_8_15 and COPY_4_7 copy CX bytes from SI to DX (8 <= CX <= 15,
// 4 <= CX <= 7) as two overlapping words, leaving them in AX and BX.
#define COPY_8_15 \
	MOVQ (SI), AX; MOVQ -8(SI)(CX*1), BX; \
	MOVQ AX, (DX); MOVQ BX, -8(DX)(CX*1)
#define COPY_4_7 \
	MOVL (SI), AX; MOVL -4(SI)(CX*1), BX; \
	MOVL AX, (DX); MOVL BX, -4(DX)(CX*1)

// COPY_1_3 copies CX bytes from SI to DX (1 <= CX <= 3) without a branch:
// the first, middle and last bytes cover them (clobbers AX, BX).
#define COPY_1_3 \
	MOVQ CX, BX; SHRQ $1, BX; \
	MOVBLZX (SI), AX; MOVB AX, (DX); \
	MOVBLZX (SI)(BX*1), AX; MOVB AX, (DX)(BX*1); \
	MOVBLZX -1(SI)(CX*1), AX; MOVB AX, -1(DX)(CX*1)

// PAGE_SAFE_16(r, else) jumps to else unless the 16 bytes at r lie in one
// 4 KiB page: only then may a block load read past a short string's end
// (the page is mapped, the extra bytes are ignored). Clobbers AX.
#define PAGE_SAFE_16(r, else) \
	MOVQ r, AX; ANDL $4095, AX; CMPL AX, $4080; JA else
