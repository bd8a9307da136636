#include "textflag.h"
#include "sse_amd64.h"

// Offsets in Field (TestFieldLayout holds them to the Go struct).
#define F_KEY 0
#define F_KEYLEN 8
#define F_STR 16
#define F_STRLEN 24
#define F_STRS 32
#define F_STRSLEN 40
#define F_KIND 56
#define F_PLAIN 57
#define F_SIZE 64

// FLAG ORs into X7 the flags of the bytes of X0 (JSON_FLAGS).
#define FLAG JSON_FLAGS(X0, X0); POR X0, X7

// func appendPlainFields(dst []byte, fields []Field) (n, done int)
//
// Writes the leading fields that are a String or Strings with a PlainKey
// and values that are ASCII without control bytes, as `,"key":"value"` or
// `,"key":["v1","v2"]`, at dst[len(dst):], quotes and backslashes escaped,
// and returns the new length and how many fields it wrote. It stops before
// any other field, and before a field that might not fit in cap(dst)
// (fieldBudget). Copies never read past a string's end: short strings move
// as two overlapping words, long ones in 16-byte blocks (the key's last
// block overlaps). The bytes written past n are scratch.
//
// Registers: DI dst, R8 length so far, R11 fields done, R12 the field,
// DX write cursor, SI/CX the string being copied; for Strings, R9 the
// element and R10 the elements left; R13 says where a value returns to
// (0 String, 1 Strings element).
TEXT ·appendPlainFields(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), R8
	MOVQ fields_base+24(FP), R12
	XORQ R11, R11
	JSON_CONSTS

field:
	CMPQ    R11, fields_len+32(FP)
	JEQ     stop
	CMPB    F_PLAIN(R12), $0
	JEQ     stop
	MOVBLZX F_KIND(R12), R13
	CMPL    R13, $1
	JA      stop              // Bool: the Go side writes it

	// Room for the worst case (fieldBudget): key + 6, per value twice its
	// length (every byte escaped), +3 per array element, and 16 bytes of
	// slack for the whole-block store of a short string.
	MOVQ F_KEYLEN(R12), BX
	ADDQ $22, BX
	TESTL R13, R13
	JNE  room_strings
	MOVQ F_STRLEN(R12), CX
	LEAQ (BX)(CX*2), BX
	JMP  room_test

room_strings:
	MOVQ F_STRS(R12), SI
	MOVQ F_STRSLEN(R12), CX

room_elem:
	TESTQ CX, CX
	JEQ   room_test
	MOVQ  8(SI), AX
	LEAQ  3(BX)(AX*2), BX
	ADDQ  $16, SI
	DECQ  CX
	JMP   room_elem

room_test:
	ADDQ R8, BX
	CMPQ BX, dst_cap+16(FP)
	JA   stop

	LEAQ (DI)(R8*1), DX
	MOVW $0x222c, (DX)        // ,"
	ADDQ $2, DX

	// The key, as it is.
	MOVQ F_KEY(R12), SI
	MOVQ F_KEYLEN(R12), CX
	LEAQ (DX)(CX*1), R13
	CMPQ CX, $16
	JB   key_short

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

	// A short key moves as one 16-byte block when the block cannot
	// cross into the next page (the bytes past the key are read, never
	// used: the value overwrites what lands past it).
key_short:
	TESTQ CX, CX
	JEQ   key_done            // an empty string may have no pointer at all
	PAGE_SAFE_16(SI, key_lt16)
	MOVOU (SI), X0
	MOVOU X0, (DX)
	JMP   key_done

key_lt16:
	CMPQ CX, $8
	JB   key_lt8
	COPY_8_15
	JMP  key_done

key_lt8:
	CMPQ CX, $4
	JB   key_lt4
	COPY_4_7
	JMP  key_done

key_lt4:
	TESTQ CX, CX
	JEQ   key_done
	COPY_1_3

key_done:
	MOVQ  R13, DX
	MOVBLZX F_KIND(R12), R13
	TESTL R13, R13
	JNE   strings_open
	MOVL  $0x00223a22, (DX)   // ":" and a byte the value or its quote overwrites
	ADDQ  $3, DX
	MOVQ  F_STR(R12), SI
	MOVQ  F_STRLEN(R12), CX
	JMP   val_loop

strings_open:
	MOVL  $0x005b3a22, (DX)   // ":[ and a byte the next one overwrites
	ADDQ  $3, DX
	MOVQ  F_STRS(R12), R9
	MOVQ  F_STRSLEN(R12), R10
	TESTQ R10, R10
	JEQ   strings_close
	JMP   elem_start

elem_next:
	ADDQ $16, R9
	DECQ R10
	JEQ  strings_close
	MOVB $0x2c, (DX)          // ,
	INCQ DX

elem_start:
	MOVB $0x22, (DX)          // "
	INCQ DX
	MOVQ 0(R9), SI
	MOVQ 8(R9), CX
	JMP  val_loop

strings_close:
	MOVB $0x5d, (DX)          // ]
	INCQ DX
	JMP  field_done

	// The value: copied sixteen bytes at a time, with a quote or backslash
	// escaped in place; any other byte that needs attention (control,
	// non-ASCII) ends the run before this field.
val_loop:
	CMPQ  CX, $16
	JB    val_small
	MOVOU (SI), X0
	MOVOU X0, (DX)            // speculative: an escape rewrites from its byte on
	MOVO  X0, X4
	PCMPEQB X1, X4
	MOVO  X0, X5
	PCMPEQB X2, X5
	POR   X5, X4
	PMOVMSKB X4, BX           // quotes and backslashes
	MOVO  X0, X6
	PMINUB X3, X6
	PCMPEQB X0, X6
	POR   X0, X6
	PMOVMSKB X6, AX           // control and non-ASCII bytes
	TESTL AX, AX
	JNZ   stop
	TESTL BX, BX
	JNZ   val_escape
	ADDQ  $16, SI
	ADDQ  $16, DX
	SUBQ  $16, CX
	JMP   val_loop

val_escape:
	BSFL    BX, BX            // the first quote or backslash; the bytes before it are in place
	MOVBLZX (SI)(BX*1), AX
	MOVB    $0x5c, (DX)(BX*1)
	MOVB    AX, 1(DX)(BX*1)
	LEAQ    1(SI)(BX*1), SI
	LEAQ    2(DX)(BX*1), DX
	SUBQ    BX, CX
	DECQ    CX
	JMP     val_loop

	// Fewer than sixteen bytes left: copied as overlapping words and
	// checked as one block; if any byte needs attention, byte by byte.
val_small:
	TESTQ CX, CX
	JEQ   val_done
	PAGE_SAFE_16(SI, val_words)
	MOVOU (SI), X0
	MOVOU X0, (DX)
	JSON_FLAGS(X0, X4)
	PMOVMSKB X4, AX
	MOVL  $1, BX
	SHLL  CX, BX
	DECL  BX                  // the flags of the CX bytes of the value
	ANDL  BX, AX
	JNZ   val_bytes
	ADDQ  CX, DX
	JMP   val_done

val_words:
	PXOR X7, X7
	CMPQ CX, $8
	JB   val_lt8
	COPY_8_15
	MOVQ AX, X0
	MOVQ BX, X4
	PUNPCKLQDQ X4, X0
	FLAG
	JMP  val_small_test

val_lt8:
	CMPQ CX, $4
	JB   val_lt4
	COPY_4_7
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	FLAG
	JMP  val_small_test

val_lt4:
	TESTQ   CX, CX
	JEQ     val_done
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

val_small_test:
	PMOVMSKB X7, AX
	TESTL    AX, AX
	JNZ      val_bytes
	ADDQ     CX, DX
	JMP      val_done

val_bytes:
	TESTQ   CX, CX
	JEQ     val_done
	MOVBLZX (SI), AX
	CMPL    AX, $0x20
	JCS     stop
	CMPL    AX, $0x80
	JCC     stop
	CMPL    AX, $0x22
	JEQ     val_byte_escape
	CMPL    AX, $0x5c
	JEQ     val_byte_escape
	MOVB    AX, (DX)
	INCQ    SI
	INCQ    DX
	DECQ    CX
	JMP     val_bytes

val_byte_escape:
	MOVB $0x5c, (DX)
	MOVB AX, 1(DX)
	INCQ SI
	ADDQ $2, DX
	DECQ CX
	JMP  val_bytes

val_done:
	MOVB  $0x22, (DX)         // closing quote
	INCQ  DX
	TESTL R13, R13
	JNE   elem_next

field_done:
	MOVQ DX, R8
	SUBQ DI, R8
	INCQ R11
	ADDQ $F_SIZE, R12
	JMP  field

stop:
	MOVQ R8, n+48(FP)
	MOVQ R11, done+56(FP)
	RET
