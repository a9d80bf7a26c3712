/*
 * test_disasm — the capstone wrapper reduces instructions to the facts the patcher needs.
 */
#include "disasm.h"
#include <errno.h>
#include "test_util.h"

static struct disasm *d;

static void setup(void)
{
	cr_assert(eq(int, disasm_open(&d, NULL), 0));
}

static void teardown(void)
{
	disasm_close(d);
}

TestSuite(disasm, .init = setup, .fini = teardown);

static struct disasm_insn one(const uint8_t *b, size_t n, uint64_t addr)
{
	struct disasm_insn in;

	cr_assert(eq(int, disasm_one(d, b, n, addr, &in), 0));
	return in;
}

Test(disasm, syscall)
{
	struct disasm_insn in = one((uint8_t[]){ 0x0f, 0x05 }, 2, 0x1000);
	cr_assert(eq(u8, in.len, 2));
	cr_assert(eq(u32, in.kind, DISASM_SYSCALL));
}

Test(disasm, relative_jumps_and_calls_have_absolute_targets)
{
	struct disasm_insn in = one((uint8_t[]){ 0xeb, 0x10 }, 2, 0x1000);
	cr_assert(ne(u32, in.kind & DISASM_RELBR, 0));
	cr_assert(ne(u32, in.kind & DISASM_NOFALL, 0));
	cr_assert(eq(u64, in.target, 0x1012));
	in = one((uint8_t[]){ 0x0f, 0x84, 0x00, 0x01, 0, 0 }, 6, 0x1000);   /* je */
	cr_assert(ne(u32, in.kind & DISASM_RELBR, 0));
	cr_assert(eq(u32, in.kind & DISASM_NOFALL, 0));
	cr_assert(eq(u64, in.target, 0x1106));
	in = one((uint8_t[]){ 0xe8, 0xfb, 0xff, 0xff, 0xff }, 5, 0x1000);   /* call self */
	cr_assert(ne(u32, in.kind & DISASM_CALL, 0));
	cr_assert(eq(u64, in.target, 0x1000));
}

Test(disasm, indirect_jump)
{
	struct disasm_insn in = one((uint8_t[]){ 0xff, 0xe0 }, 2, 0);   /* jmp *%rax */
	cr_assert(ne(u32, in.kind & DISASM_INDIRECT, 0));
	cr_assert(eq(u32, in.kind & DISASM_RELBR, 0));
}

Test(disasm, rip_relative_displacement_offset)
{
	/* lea 0x10(%rip),%rdx = 48 8d 15 10 00 00 00 */
	struct disasm_insn in = one((uint8_t[]){ 0x48, 0x8d, 0x15, 0x10, 0, 0, 0 }, 7, 0);
	cr_assert(ne(u32, in.kind & DISASM_RIPREL, 0));
	cr_assert(eq(u8, in.disp_off, 3));
	in = one((uint8_t[]){ 0x48, 0x8d, 0x14, 0x24 }, 4, 0);         /* lea (%rsp),%rdx */
	cr_assert(eq(u32, in.kind & DISASM_RIPREL, 0));
}

Test(disasm, endbr_nop_ret_mov)
{
	cr_assert(ne(u32, one((uint8_t[]){ 0xf3, 0x0f, 0x1e, 0xfa }, 4, 0).kind & DISASM_ENDBR, 0));
	cr_assert(ne(u32, one((uint8_t[]){ 0x66, 0x90 }, 2, 0).kind & DISASM_NOP, 0));
	cr_assert(ne(u32, one((uint8_t[]){ 0xc3 }, 1, 0).kind & DISASM_RET, 0));
	struct disasm_insn in = one((uint8_t[]){ 0xb8, 0x2a, 0, 0, 0 }, 5, 0);
	cr_assert(ne(u32, in.kind & DISASM_MOVEAX, 0));
	cr_assert(eq(i64, in.imm, 42));
}

Test(disasm, fast_decoder_agrees_on_lengths)
{
	const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x48, 0x3d, 0x01,
				 0xf0, 0xff, 0xff, 0xc3 };
	struct disasm_insn a, b;
	for (size_t off = 0; off < sizeof(code); off += a.len) {
		cr_assert(eq(int, disasm_one(d, code + off, sizeof(code) - off, off, &a), 0));
		cr_assert(eq(int, disasm_len(d, code + off, sizeof(code) - off, off, &b), 0));
		cr_assert(eq(u8, a.len, b.len));
	}
}

/* The fast decoder finds branch targets from the encoding (the patcher needs them to know
 * whether a jump lands on a syscall). */
Test(disasm, fast_decoder_finds_branches)
{
	struct disasm_insn in;
	static const struct { uint8_t b[8]; uint8_t len; int64_t target; unsigned kind; } t[] = {
		{ { 0xeb, 0xfe }, 2, 0x1000, DISASM_RELBR },                   /* jmp . */
		{ { 0x74, 0x10 }, 2, 0x1012, DISASM_RELBR },                   /* je .+0x12 */
		{ { 0x0f, 0x85, 0x00, 0x01, 0, 0 }, 6, 0x1106, DISASM_RELBR }, /* jne rel32 */
		{ { 0xe8, 0xfb, 0xff, 0xff, 0xff }, 5, 0x1000, DISASM_RELBR }, /* call . */
		{ { 0xf2, 0xe9, 0, 0, 0, 0 }, 6, 0x1006, DISASM_RELBR },       /* bnd jmp */
		{ { 0xff, 0xe0 }, 2, 0, DISASM_INDIRECT },                     /* jmp *%rax */
		{ { 0x3e, 0xff, 0xe2 }, 3, 0, DISASM_INDIRECT },               /* notrack jmp *%rdx */
		{ { 0x41, 0xff, 0xd3 }, 3, 0, DISASM_INDIRECT },               /* call *%r11 */
		{ { 0xff, 0xc0 }, 2, 0, 0 },                                   /* inc %eax */
		{ { 0x48, 0x89, 0xf8 }, 3, 0, 0 },                             /* mov %rdi,%rax */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert(eq(int, disasm_len(d, t[i].b, t[i].len, 0x1000, &in), 0));
		cr_assert(eq(u32, in.kind & (DISASM_RELBR | DISASM_INDIRECT), t[i].kind), "case %zu", i);
		if (t[i].kind == DISASM_RELBR)
			cr_assert(eq(u64, in.target, (uint64_t)t[i].target), "case %zu", i);
	}
}

Test(disasm, garbage_is_an_error)
{
	struct disasm_insn in;
	cr_assert(eq(int, disasm_one(d, (uint8_t[]){ 0x06, 0x06 }, 2, 0, &in), -EILSEQ));
	cr_assert(eq(int, disasm_one(d, (uint8_t[]){ 0 }, 0, 0, &in), -EINVAL));
}
