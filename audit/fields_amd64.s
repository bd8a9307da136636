#include "textflag.h"

// Offsets in Field (TestFieldLayout holds them to the Go struct).
#define F_KEY 0
#define F_KEYLEN 8
#define F_STR 16
#define F_STRLEN 24
#define F_KIND 56
#define F_PLAIN 57
#define F_SIZE 64

// FLAG ORs into X7 a set top bit for each byte of X0 that is '"', '\\',
// <= 0x1f or >= 0x80 (the test of cleanPrefixLong).
#define FLAG \
	MOVO X0, X4; PCMPEQB X1, X4; POR X4, X7; \
	MOVO X0, X5; PCMPEQB X2, X5; POR X5, X7; \
	MOVO X0, X6; PMINUB X3, X6; PCMPEQB X0, X6; POR X6, X7; \
	POR  X0, X7

// func appendPlainFields(dst []byte, fields []Field) (n, done int)
//
// Writes `,"key":"value"` for each leading field that is a String with a
// PlainKey and a value that needs no escaping, at dst[len(dst):], and
// returns the new length and how many fields it wrote. The caller
// guarantees cap(dst)-len(dst) >= sum(len(Key)+len(Str)+6) over fields.
// Copies never read past a string's end: short strings move as two
// overlapping words, long ones in 16-byte blocks with an overlapping last
// block. The value is checked as it is copied; a value that needs escaping
// ends the run before its field (the bytes written past n are scratch).
TEXT ·appendPlainFields(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), R8
	MOVQ fields_base+24(FP), R12
	MOVQ fields_len+32(FP), R10
	XORQ R11, R11
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X3
	PUNPCKLQDQ X3, X3

field:
	CMPQ R11, R10
	JEQ  stop
	CMPB F_KIND(R12), $0
	JNE  stop
	CMPB F_PLAIN(R12), $0
	JEQ  stop
	LEAQ (DI)(R8*1), DX
	MOVW $0x222c, (DX)        // ,"
	ADDQ $2, DX

	// The key, as it is.
	MOVQ F_KEY(R12), SI
	MOVQ F_KEYLEN(R12), CX
	LEAQ (DX)(CX*1), R13
	CMPQ CX, $16
	JB   key_lt16

key_loop:
	CMPQ CX, $16
	JBE  key_last16
	MOVOU (SI), X0
	MOVOU X0, (DX)
	ADDQ $16, SI
	ADDQ $16, DX
	SUBQ $16, CX
	JMP  key_loop

key_last16:
	MOVOU -16(SI)(CX*1), X0
	MOVOU X0, -16(DX)(CX*1)
	JMP   key_done

key_lt16:
	CMPQ CX, $8
	JB   key_lt8
	MOVQ (SI), AX
	MOVQ -8(SI)(CX*1), BX
	MOVQ AX, (DX)
	MOVQ BX, -8(DX)(CX*1)
	JMP  key_done

key_lt8:
	CMPQ CX, $4
	JB   key_lt4
	MOVL (SI), AX
	MOVL -4(SI)(CX*1), BX
	MOVL AX, (DX)
	MOVL BX, -4(DX)(CX*1)
	JMP  key_done

key_lt4:
	TESTQ CX, CX
	JEQ   key_done
	MOVB  (SI), AX
	MOVB  AX, (DX)
	CMPQ  CX, $1
	JEQ   key_done
	MOVW  -2(SI)(CX*1), BX
	MOVW  BX, -2(DX)(CX*1)

key_done:
	MOVL $0x00223a22, (R13)   // ":" and a byte the value or its quote overwrites
	LEAQ 3(R13), DX

	// The value, copied and checked.
	MOVQ F_STR(R12), SI
	MOVQ F_STRLEN(R12), CX
	LEAQ (DX)(CX*1), R13
	PXOR X7, X7
	CMPQ CX, $16
	JB   val_lt16

val_loop:
	CMPQ  CX, $16
	JBE   val_last16
	MOVOU (SI), X0
	MOVOU X0, (DX)
	FLAG
	PMOVMSKB X7, AX           // stop early in a long value that needs escaping
	TESTL AX, AX
	JNZ   stop
	ADDQ  $16, SI
	ADDQ  $16, DX
	SUBQ  $16, CX
	JMP   val_loop

val_last16:
	MOVOU -16(SI)(CX*1), X0
	MOVOU X0, -16(DX)(CX*1)
	FLAG
	JMP   val_test

val_lt16:
	CMPQ CX, $8
	JB   val_lt8
	MOVQ (SI), AX
	MOVQ -8(SI)(CX*1), BX
	MOVQ AX, (DX)
	MOVQ BX, -8(DX)(CX*1)
	MOVQ AX, X0
	MOVQ BX, X4
	PUNPCKLQDQ X4, X0
	FLAG
	JMP  val_test

val_lt8:
	CMPQ CX, $4
	JB   val_lt4
	MOVL (SI), AX
	MOVL -4(SI)(CX*1), BX
	MOVL AX, (DX)
	MOVL BX, -4(DX)(CX*1)
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	FLAG
	JMP  val_test

val_lt4:
	TESTQ   CX, CX
	JEQ     val_clean
	MOVBQZX (SI), AX
	MOVB    AX, (DX)
	CMPQ    CX, $1
	JEQ     val_one
	MOVWQZX -2(SI)(CX*1), BX
	MOVW    BX, -2(DX)(CX*1)
	SHLQ    $8, BX
	ORQ     BX, AX
	MOVQ    $0x6161616161000000, BX   // padded with clean 'a' bytes
	ORQ     BX, AX
	JMP     val_word

val_one:
	MOVQ $0x6161616161616100, BX
	ORQ  BX, AX

val_word:
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	FLAG

val_test:
	PMOVMSKB X7, AX
	TESTL    AX, AX
	JNZ      stop

val_clean:
	MOVB $0x22, (R13)         // closing quote
	LEAQ 1(R13), R8
	SUBQ DI, R8
	INCQ R11
	ADDQ $F_SIZE, R12
	JMP  field

stop:
	MOVQ R8, n+48(FP)
	MOVQ R11, done+56(FP)
	RET
