/*
 * patch_emit — the machine code of one site's stub and of the jumps that lead to it.
 *
 *   site (pad):    syscall -> jmp rel8 pad          pad: jmp rel32 stub
 *   site (window): [pre][syscall][post] -> jmp rel32 stub; int3 ...
 *
 *   stub:  [pre, re-based]
 *          cmp $63,%rax ; ja high                   the routed numbers are 0..63 and
 *          movabs $LO,%rcx ; bt %rax,%rcx ; jc slow  288..307: a bit mask each (close,
 *   fast:  syscall                                  socket..getsockopt; accept4, recvmmsg,
 *   back:  [post, re-based]                         sendmmsg). Every other call: 5
 *          jmp resume                               instructions, then the syscall, with
 *   high:  lea -288(%rax),%rcx ; cmp $19,%rcx ; ja fast     the stack untouched, so clone,
 *          mov $HI,%r11d ; bt %ecx,%r11d ; jc slow ; jmp fast   vfork and sigreturn-like
 *                                                   calls behave exactly as before
 *   slow:  cmpb $0,%fs:sysdispatch_busy ; jne fast  core's own calls go straight through
 *          lea -128(%rsp),%rsp                      step over the red zone
 *          movabs $sysdispatch_entry,%r11 ; call *%r11
 *          lea 128(%rsp),%rsp ; jmp back
 *
 * rcx and r11 are free to use: the syscall instruction clobbers them anyway. The flags are
 * not preserved across a patched site; compilers declare them clobbered by syscall, and
 * glibc's hand-written code tests %rax again after every syscall.
 */
#include <errno.h>
#include <string.h>

#include "patch_int.h"
#include "sysdispatch.h"

struct em {
	uint8_t *buf;
	uint64_t addr;   /* runtime address of buf[0] */
	size_t n;
	int err;
};

static void put(struct em *e, const void *bytes, size_t len)
{
	memcpy(e->buf + e->n, bytes, len);
	e->n += len;
}

static void put32(struct em *e, int32_t v)
{
	put(e, &v, 4);
}

static int32_t rel32(struct em *e, uint64_t from_next, uint64_t to)
{
	int64_t d = (int64_t)(to - from_next);

	if (d != (int32_t)d)
		e->err = -ERANGE;
	return (int32_t)d;
}

/* Jump (e9) or jcc (0f 8x) to an address known now. */
static void jump_to(struct em *e, uint8_t cc, uint64_t to)
{
	if (cc) {
		put(e, (uint8_t[]){ 0x0f, cc }, 2);
	} else {
		put(e, (uint8_t[]){ 0xe9 }, 1);
	}
	put32(e, rel32(e, e->addr + e->n + 4, to));
}

/* A jump whose target is not known yet; returns where to fix its rel32 later. */
static size_t jump_fwd(struct em *e, uint8_t cc)
{
	jump_to(e, cc, e->addr + e->n + (cc ? 6 : 5));
	return e->n - 4;
}

static void fix(struct em *e, size_t at, uint64_t to)
{
	int32_t v = rel32(e, e->addr + at + 4, to);

	memcpy(e->buf + at, &v, 4);
}

/* Copies one displaced instruction, re-basing its RIP-relative displacement. */
static void relocate(struct em *e, const struct disasm_insn *in)
{
	size_t at = e->n;

	put(e, in->bytes, in->len);
	if (!(in->kind & DISASM_RIPREL))
		return;
	int32_t disp;
	memcpy(&disp, in->bytes + in->disp_off, 4);
	uint64_t abs = in->addr + in->len + (int64_t)disp;
	int32_t nd = rel32(e, e->addr + at + in->len, abs);
	memcpy(e->buf + at + in->disp_off, &nd, 4);
}

/* The routed numbers as two bit masks: 0..63 and 288..307 (sysdispatch.h is the list). */
static uint64_t mask_of(long first, int bits)
{
	uint64_t m = 0;

	for (int i = 0; i < bits; i++)
		if (sysdispatch_routed(first + i))
			m |= 1ull << i;
	return m;
}

int patch_emit_stub(uint8_t *buf, uint64_t stub_addr, const struct patch_site *s, uint64_t entry,
		    int32_t tls_off)
{
	struct em e = { .buf = buf, .addr = stub_addr };
	size_t to_slow[2], to_high;
	uint64_t fast, back, lo = mask_of(0, 64);
	uint32_t hi = (uint32_t)mask_of(288, 20);

	for (unsigned i = 0; i < s->npre; i++)
		relocate(&e, &s->pre[i]);
	put(&e, (uint8_t[]){ 0x48, 0x83, 0xf8, 0x3f }, 4);              /* cmp $63,%rax */
	to_high = jump_fwd(&e, 0x87);                                    /* ja high */
	put(&e, (uint8_t[]){ 0x48, 0xb9 }, 2);                           /* movabs $lo,%rcx */
	put(&e, &lo, 8);
	put(&e, (uint8_t[]){ 0x48, 0x0f, 0xa3, 0xc1 }, 4);              /* bt %rax,%rcx */
	to_slow[0] = jump_fwd(&e, 0x82);                                 /* jc slow */
	fast = e.addr + e.n;
	put(&e, (uint8_t[]){ 0x0f, 0x05 }, 2);                           /* syscall */
	back = e.addr + e.n;
	for (unsigned i = 0; i < s->npost; i++)
		relocate(&e, &s->post[i]);
	jump_to(&e, 0, s->win_end);                                      /* jmp resume */
	fix(&e, to_high, e.addr + e.n);
	put(&e, (uint8_t[]){ 0x48, 0x8d, 0x88 }, 3);                     /* lea -288(%rax),%rcx */
	put32(&e, -288);
	put(&e, (uint8_t[]){ 0x48, 0x83, 0xf9, 0x13 }, 4);              /* cmp $19,%rcx */
	jump_to(&e, 0x87, fast);                                         /* ja fast */
	put(&e, (uint8_t[]){ 0x41, 0xbb }, 2);                           /* mov $hi,%r11d */
	put32(&e, (int32_t)hi);
	put(&e, (uint8_t[]){ 0x41, 0x0f, 0xa3, 0xcb }, 4);              /* bt %ecx,%r11d */
	to_slow[1] = jump_fwd(&e, 0x82);                                 /* jc slow */
	jump_to(&e, 0, fast);                                            /* jmp fast */
	for (size_t i = 0; i < 2; i++)
		fix(&e, to_slow[i], e.addr + e.n);
	put(&e, (uint8_t[]){ 0x64, 0x80, 0x3c, 0x25 }, 4);              /* cmpb $0,%fs:off */
	put32(&e, tls_off);
	put(&e, (uint8_t[]){ 0x00 }, 1);
	jump_to(&e, 0x85, fast);                                         /* jne fast */
	put(&e, (uint8_t[]){ 0x48, 0x8d, 0x64, 0x24, 0x80 }, 5);        /* lea -128(%rsp),%rsp */
	put(&e, (uint8_t[]){ 0x49, 0xbb }, 2);                           /* movabs $entry,%r11 */
	put(&e, &entry, 8);
	put(&e, (uint8_t[]){ 0x41, 0xff, 0xd3 }, 3);                     /* call *%r11 */
	put(&e, (uint8_t[]){ 0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0 }, 8); /* lea 128(%rsp),%rsp */
	jump_to(&e, 0, back);                                            /* jmp back */
	if (e.err)
		return e.err;
	return (int)e.n;
}

int patch_emit_jmp32(uint8_t *buf, uint64_t from, uint64_t to)
{
	int64_t d = (int64_t)(to - (from + 5));

	if (d != (int32_t)d)
		return -ERANGE;
	int32_t v = (int32_t)d;
	buf[0] = 0xe9;
	memcpy(buf + 1, &v, 4);
	return 5;
}
