/*
 * disasm — capstone behind disasm.h. Decodes with details on (groups, operands, encoding
 * offsets) and reduces each instruction to the disasm_insn facts: what kind of control
 * transfer it is, its relative target, where its RIP-relative displacement sits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capstone_wrapper.h"
#include "disasm.h"
#include "log.h"

struct disasm {
	csh cs, cs_fast;      /* with details; without (about twice as fast) */
	cs_insn *insn, *insn_fast;
	void (*free)(void *);
};

static void use_alloc(const struct disasm_alloc *a)
{
	cs_opt_mem mem = {
		.malloc = a ? a->malloc : malloc,
		.calloc = a ? a->calloc : calloc,
		.realloc = a ? a->realloc : realloc,
		.free = a ? a->free : free,
		.vsnprintf = vsnprintf,
	};
	cs_option(0, CS_OPT_MEM, (size_t)&mem);
}

int disasm_open(struct disasm **out, const struct disasm_alloc *alloc)
{
	struct disasm *d;

	use_alloc(alloc);
	d = alloc ? alloc->calloc(1, sizeof(*d)) : calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->free = alloc ? alloc->free : free;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK)
		goto err_open;
	if (cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK)
		goto err_detail;
	d->insn = cs_malloc(d->cs);
	if (!d->insn)
		goto err_detail;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs_fast) != CS_ERR_OK)
		goto err_insn;
	d->insn_fast = cs_malloc(d->cs_fast);
	if (!d->insn_fast)
		goto err_fast;
	*out = d;
	return 0;

err_fast:
	cs_close(&d->cs_fast);
err_insn:
	cs_free(d->insn, 1);
err_detail:
	cs_close(&d->cs);
err_open:
	d->free(d);
	use_alloc(NULL);
	return -ENOMEM;
}

void disasm_close(struct disasm *d)
{
	if (!d)
		return;
	cs_free(d->insn, 1);
	cs_free(d->insn_fast, 1);
	cs_close(&d->cs);
	cs_close(&d->cs_fast);
	d->free(d);
	use_alloc(NULL);
}

static int in_group(const cs_detail *det, int group)
{
	for (int i = 0; i < det->groups_count; i++)
		if (det->groups[i] == group)
			return 1;
	return 0;
}

static void classify(const cs_insn *ci, struct disasm_insn *out)
{
	const cs_detail *det = ci->detail;
	const cs_x86 *x = &det->x86;
	int is_jump = in_group(det, X86_GRP_JUMP), is_call = in_group(det, X86_GRP_CALL);

	switch (ci->id) {
	case X86_INS_SYSCALL:
		out->kind |= DISASM_SYSCALL;
		break;
	case X86_INS_ENDBR64:
	case X86_INS_ENDBR32:
		out->kind |= DISASM_ENDBR;
		break;
	case X86_INS_NOP:
	case X86_INS_INT3:
		out->kind |= DISASM_NOP;
		break;
	case X86_INS_RET:
	case X86_INS_RETF:
		out->kind |= DISASM_RET | DISASM_NOFALL;
		break;
	case X86_INS_JMP:
	case X86_INS_LJMP:
	case X86_INS_UD2:
	case X86_INS_HLT:
		out->kind |= DISASM_NOFALL;
		break;
	case X86_INS_MOV:
		if (ci->size == 5 && ci->bytes[0] == 0xb8) {
			out->kind |= DISASM_MOVEAX;
			out->imm = (int32_t)(ci->bytes[1] | ci->bytes[2] << 8 | ci->bytes[3] << 16 |
					     (uint32_t)ci->bytes[4] << 24);
		}
		break;
	default:
		break;
	}
	if (ci->id != X86_INS_SYSCALL && in_group(det, X86_GRP_INT)) out->kind |= DISASM_PRIV;
	if (in_group(det, X86_GRP_IRET) || ci->id == X86_INS_SYSENTER ||
	    ci->id == X86_INS_SYSRET || ci->id == X86_INS_XBEGIN || ci->id == X86_INS_XABORT)
		out->kind |= DISASM_PRIV;
	if (is_call)
		out->kind |= DISASM_CALL;
	if (is_jump || is_call || in_group(det, X86_GRP_BRANCH_RELATIVE)) {
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			out->kind |= DISASM_RELBR;
			out->target = (uint64_t)x->operands[0].imm;
		} else {
			out->kind |= DISASM_INDIRECT;
		}
	}
	for (int i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];
		if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP && x->encoding.disp_offset &&
		    x->encoding.disp_size == 4) {
			out->kind |= DISASM_RIPREL;
			out->disp_off = x->encoding.disp_offset;
		}
	}
}

int disasm_one(struct disasm *d, const uint8_t *code, size_t size, uint64_t addr,
	       struct disasm_insn *out)
{
	const uint8_t *p = code;
	uint64_t a = addr;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	if (!size)
		return -EINVAL;
	if (!cs_disasm_iter(d->cs, &p, &size, &a, d->insn))
		return -EILSEQ;
	out->len = (uint8_t)d->insn->size;
	memcpy(out->bytes, d->insn->bytes, out->len);
	classify(d->insn, out);
	return 0;
}

/* Branches from the encoding alone, for the decoder without details: a relative branch
 * (jmp, jcc, call, loop, jrcxz, xbegin) ends with its 1- or 4-byte displacement; ff /2../5
 * is an indirect call or jump. A branch with an operand-size prefix (rel16 on some CPUs)
 * is reported as indirect: its target is not known for sure. */
static void branch_from_bytes(struct disasm_insn *out)
{
	const uint8_t *b = out->bytes;
	unsigned i = 0, rel = 0, opsize = 0;

	for (; i < out->len; i++) {
		if (b[i] == 0x66)
			opsize = 1;
		else if (!memchr("\x67\xf2\xf3\x2e\x3e\x26\x36\x64\x65\xf0", b[i], 10))
			break;
	}
	if (i < out->len && (b[i] & 0xf0) == 0x40)
		i++;   /* REX */
	if (i + 1 > out->len)
		return;
	uint8_t op = b[i], next = i + 1 < out->len ? b[i + 1] : 0;
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op == 0xeb)
		rel = 1;
	else if (op == 0xe8 || op == 0xe9 || (op == 0x0f && (next & 0xf0) == 0x80) ||
		 (op == 0xc7 && next == 0xf8))
		rel = 4;
	else if (op == 0xff && ((next >> 3) & 7) >= 2 && ((next >> 3) & 7) <= 5)
		out->kind |= DISASM_INDIRECT;
	if (!rel)
		return;
	if (opsize || out->len < rel) {
		out->kind |= DISASM_INDIRECT;
		return;
	}
	int32_t disp = rel == 1 ? (int8_t)b[out->len - 1] : 0;
	if (rel == 4)
		memcpy(&disp, b + out->len - 4, 4);
	out->kind |= DISASM_RELBR;
	out->target = out->addr + out->len + (int64_t)disp;
}

int disasm_len(struct disasm *d, const uint8_t *code, size_t size, uint64_t addr, struct disasm_insn *out)
{
	const uint8_t *p = code;
	const cs_insn *ci = d->insn_fast;
	uint64_t a = addr;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	if (!size)
		return -EINVAL;
	if (!cs_disasm_iter(d->cs_fast, &p, &size, &a, d->insn_fast))
		return -EILSEQ;
	out->len = (uint8_t)ci->size;
	memcpy(out->bytes, ci->bytes, out->len);
	switch (ci->id) {
	case X86_INS_SYSCALL: out->kind = DISASM_SYSCALL; break;
	case X86_INS_ENDBR64: case X86_INS_ENDBR32: out->kind = DISASM_ENDBR; break;
	case X86_INS_NOP: case X86_INS_INT3: out->kind = DISASM_NOP; break;
	case X86_INS_RET: case X86_INS_RETF: out->kind = DISASM_RET | DISASM_NOFALL; break;
	case X86_INS_JMP: case X86_INS_LJMP: case X86_INS_UD2: case X86_INS_HLT: out->kind = DISASM_NOFALL; break;
	case X86_INS_CALL: case X86_INS_LCALL: out->kind = DISASM_CALL; break;
	case X86_INS_MOV:
		if (ci->size == 5 && ci->bytes[0] == 0xb8) {
			out->kind = DISASM_MOVEAX;
			out->imm = (int32_t)(ci->bytes[1] | ci->bytes[2] << 8 | ci->bytes[3] << 16 |
					     (uint32_t)ci->bytes[4] << 24);
		}
		break;
	default: break;
	}
	branch_from_bytes(out);
	return 0;
}
