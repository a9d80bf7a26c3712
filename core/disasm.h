/*
 * disasm — decode one x86-64 instruction into the few facts the patcher needs.
 *
 * A thin wrapper over capstone (the only file that sees it is disasm.c, through
 * capstone_wrapper.h); nothing of capstone's types leaks out of here.
 *
 *     struct disasm *d;
 *     struct disasm_insn in;
 *     if (disasm_open(&d, NULL) < 0) ...;
 *     while (disasm_one(d, code, size, addr, &in) == 0) { ...; code += in.len; ... }
 *     disasm_close(d);
 *
 * disasm_one() returns 0, or -EILSEQ when the bytes are not a valid instruction (in.len
 * is then 0), or -EINVAL for an empty buffer. A handle is not thread-safe; use one per
 * thread (the patcher holds its lock while decoding).
 */
#ifndef SOCKSHIFT_DISASM_H
#define SOCKSHIFT_DISASM_H

#include <stddef.h>
#include <stdint.h>

enum disasm_kind {
	DISASM_SYSCALL  = 1u << 0,  /* syscall (0f 05) */
	DISASM_RELBR    = 1u << 1,  /* jmp/jcc/call/loop/jrcxz/xbegin with a relative target */
	DISASM_INDIRECT = 1u << 2,  /* jmp/call through a register or memory */
	DISASM_CALL     = 1u << 3,  /* any call */
	DISASM_NOFALL   = 1u << 4,  /* never falls through: jmp, ret, ud2, hlt */
	DISASM_RIPREL   = 1u << 5,  /* has a RIP-relative memory operand (disp32 at disp_off) */
	DISASM_ENDBR    = 1u << 6,  /* endbr64 / endbr32 */
	DISASM_NOP      = 1u << 7,  /* nop of any length, or int3 used as padding */
	DISASM_RET      = 1u << 8,
	DISASM_MOVEAX   = 1u << 9,  /* mov $imm32, %eax (b8 imm32): imm holds the value */
	DISASM_PRIV     = 1u << 10, /* int/sysenter/other system instructions */
};

struct disasm_insn {
	uint64_t addr;     /* where the instruction lives (the address it was decoded for) */
	uint64_t target;   /* DISASM_RELBR: absolute destination */
	int64_t imm;       /* DISASM_MOVEAX: the immediate */
	unsigned kind;     /* DISASM_* bits */
	uint8_t len;       /* 1..15 */
	uint8_t disp_off;  /* DISASM_RIPREL: offset of the 32-bit displacement in bytes[] */
	uint8_t bytes[16];
};

struct disasm;

/* Where capstone and the handle get memory. NULL in disasm_open(): libc's malloc. Capstone
 * takes allocators process-wide, so disasm_close() puts libc's back. */
struct disasm_alloc {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
};

int disasm_open(struct disasm **d, const struct disasm_alloc *alloc);
void disasm_close(struct disasm *d);
int disasm_one(struct disasm *d, const uint8_t *code, size_t size, uint64_t addr,
	       struct disasm_insn *out);

/* The same without operand details, about twice as fast: len, bytes, and of the kinds only
 * SYSCALL, ENDBR, NOP, RET, NOFALL, CALL, MOVEAX, RELBR (with its target) and INDIRECT
 * are filled in (RIPREL and PRIV are not). */
int disasm_len(struct disasm *d, const uint8_t *code, size_t size, uint64_t addr,
	       struct disasm_insn *out);

#endif
