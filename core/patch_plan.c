/*
 * patch_plan — decide, for every syscall instruction of one function, how to reroute it.
 *
 * The function is decoded linearly from its first byte (its bounds come from the unwind
 * tables, so the boundaries are right), which also yields the direct jump targets inside
 * it. Then each site gets, in order of preference (see patch.h):
 *
 *   pad     syscall (0f 05) -> jmp rel8 (eb xx) into a 5-byte slot of the padding after
 *           a nearby function that cannot fall through into it; the slot gets jmp rel32.
 *   window  [insns before][syscall][insns after] (>= 5 bytes) -> jmp rel32 + int3 fill;
 *           none of the displaced instructions but the first may be a jump target.
 * Before either: a site whose number is a constant we do not route (mov $110,%eax;
 * syscall — most of libc's wrappers) is not patched at all (PATCH_CONST).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "patch_int.h"
#include "sysdispatch.h"

struct fn_code {
	struct disasm_insn *in;
	size_t n;
	unsigned char *target;   /* in[i] is the destination of a direct jump in the function */
	int indirect_jmp;
};

static void fn_code_free(struct fn_code *c)
{
	patch_mem_free(c->in);
	patch_mem_free(c->target);
	memset(c, 0, sizeof(*c));
}

/* Decodes [f->start, f->end) completely; -EILSEQ if the bytes do not decode exactly.
 * Without detail, only the instruction boundaries and coarse kinds are known (no jump
 * targets): enough for pad patches, which move nothing. */
static int fn_decode(struct disasm *d, const struct patch_func *f, struct fn_code *c, int detail)
{
	size_t cap = 64;
	uint64_t a = f->start;

	memset(c, 0, sizeof(*c));
	c->in = patch_mem_alloc(cap * sizeof(*c->in));
	if (!c->in)
		return -ENOMEM;
	while (a < f->end) {
		if (c->n == cap) {
			struct disasm_insn *m = patch_mem_realloc(c->in, 2 * cap * sizeof(*m));
			if (!m)
				goto err_decode;
			c->in = m;
			cap *= 2;
		}
		struct disasm_insn *in = &c->in[c->n];
		if ((detail ? disasm_one : disasm_len)(d, (const uint8_t *)(uintptr_t)a, f->end - a, a, in) < 0)
			goto err_decode;
		if ((in->kind & DISASM_INDIRECT) && !(in->kind & DISASM_CALL))
			c->indirect_jmp = 1;
		a += in->len;
		c->n++;
	}
	if (a != f->end)
		goto err_decode;
	c->target = patch_mem_calloc(c->n ? c->n : 1, 1);
	if (!c->target)
		goto err_decode;
	for (size_t i = 0; i < c->n; i++) {
		if (!(c->in[i].kind & DISASM_RELBR))
			continue;
		uint64_t t = c->in[i].target;
		if (t < f->start || t >= f->end)
			continue;
		size_t lo = 0, hi = c->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (c->in[mid].addr < t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->n && c->in[lo].addr == t)
			c->target[lo] = 1;
		else
			c->indirect_jmp = 1;   /* a jump into the middle of an instruction: give up windows */
	}
	return 0;

err_decode:
	fn_code_free(c);
	return -EILSEQ;
}

/* ---- pads ---- */

static int pad_used(const struct patch_pads *pads, uint64_t slot)
{
	for (size_t i = 0; i < pads->n; i++)
		if (pads->slot[i] == slot)
			return 1;
	return 0;
}

static int pad_mark(struct patch_pads *pads, uint64_t slot)
{
	uint64_t *m = patch_mem_realloc(pads->slot, (pads->n + 1) * sizeof(*m));

	if (!m)
		return -ENOMEM;
	pads->slot = m;
	pads->slot[pads->n++] = slot;
	return 0;
}

void patch_pads_free(struct patch_pads *pads)
{
	patch_mem_free(pads->slot);
	patch_mem_free(pads->gap);
	memset(pads, 0, sizeof(*pads));
}

/* The padding after funcs[j] (up to the next function), if it is all nop/int3 and the
 * function cannot fall through into it. */
static int gap_usable(struct disasm *d, const struct patch_func *funcs, size_t nfuncs, size_t j,
		      uint64_t *g0, uint64_t *g1)
{
	struct disasm_insn in;
	struct fn_code c;
	uint64_t a;

	if (j + 1 >= nfuncs)
		return 0;
	*g0 = funcs[j].end;
	*g1 = funcs[j + 1].start;
	if (*g1 <= *g0 || *g1 - *g0 < 5)
		return 0;
	for (a = *g0; a < *g1; a += in.len)
		if (disasm_len(d, (const uint8_t *)(uintptr_t)a, *g1 - a, a, &in) < 0 || !(in.kind & DISASM_NOP))
			return 0;
	if (fn_decode(d, &funcs[j], &c, 0) < 0)
		return 0;
	unsigned last = c.n ? c.in[c.n - 1].kind : 0;
	fn_code_free(&c);
	/* A call at the very end only returns there if the callee returns: noreturn callees
	 * (abort, __stack_chk_fail) are why compilers end functions with a call. */
	return (last & (DISASM_NOFALL | DISASM_CALL)) != 0;
}

static size_t func_index(const struct patch_func *funcs, size_t nfuncs, uint64_t addr)
{
	size_t lo = 0, hi = nfuncs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (funcs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

static int pad_take(struct disasm *d, struct patch_pads *pads, const struct patch_func *funcs,
		    size_t nfuncs, uint64_t site, uint64_t *slot)
{
	size_t k = func_index(funcs, nfuncs, site);
	size_t lo = k > 4 ? k - 4 : 0, hi = k + 4 < nfuncs ? k + 4 : nfuncs;
	uint64_t from = site + 2, g0, g1;

	for (size_t j = lo; j < hi; j++) {
		if (funcs[j].end + 128 < from || funcs[j].end > from + 127 + 128)
			continue;
		if (!pads->gap)
			pads->gap = patch_mem_calloc(nfuncs, 1);
		if (pads->gap && pads->gap[j] == 2)
			continue;
		int ok;
		if (pads->gap && pads->gap[j] == 1) {
			g0 = funcs[j].end;
			g1 = funcs[j + 1].start;
			ok = 1;
		} else {
			ok = gap_usable(d, funcs, nfuncs, j, &g0, &g1);
		}
		if (pads->gap)
			pads->gap[j] = ok ? 1 : 2;
		if (!ok)
			continue;
		for (uint64_t s = g0; s + 5 <= g1; s += 5) {
			int64_t rel = (int64_t)(s - from);
			if (rel < -128 || rel > 127 || pad_used(pads, s))
				continue;
			if (pad_mark(pads, s) < 0)
				return 0;
			*slot = s;
			return 1;
		}
	}
	return 0;
}

/* ---- windows ---- */

static int relocatable(const struct disasm_insn *in)
{
	return !(in->kind & (DISASM_RELBR | DISASM_INDIRECT | DISASM_CALL | DISASM_NOFALL | DISASM_RET |
			     DISASM_ENDBR | DISASM_SYSCALL | DISASM_PRIV));
}

static int window_find(const struct fn_code *c, size_t i, struct patch_site *s)
{
	for (unsigned extra = 0; extra <= 2 * (PATCH_MAX_DISPLACED - 1); extra++) {
		for (unsigned nb = 0; nb <= extra; nb++) {
			unsigned na = extra - nb;
			if (nb >= PATCH_MAX_DISPLACED || na >= PATCH_MAX_DISPLACED || nb > i || i + na >= c->n)
				continue;
			size_t lo = i - nb, hi = i + na;
			uint64_t start = c->in[lo].addr, end = c->in[hi].addr + c->in[hi].len;
			if (end - start < 5)
				continue;
			int ok = 1;
			for (size_t k = lo; k <= hi && ok; k++) {
				if (k != i && !relocatable(&c->in[k]))
					ok = 0;
				if (k != lo && c->target[k])
					ok = 0;
			}
			if (!ok)
				continue;
			s->win_start = start;
			s->win_end = end;
			s->npre = nb;
			s->npost = na;
			memcpy(s->pre, &c->in[lo], nb * sizeof(c->in[0]));
			memcpy(s->post, &c->in[i + 1], na * sizeof(c->in[0]));
			return 1;
		}
	}
	return 0;
}

/* The number a syscall at c->in[i] makes when the instruction right before it loads a
 * constant into eax/rax (mov $n,%eax; mov $n,%rax; xor %eax,%eax); -1 otherwise. */
static int64_t const_nr(const struct fn_code *c, size_t i)
{
	if (i == 0)
		return -1;
	const struct disasm_insn *p = &c->in[i - 1];

	if (p->kind & DISASM_MOVEAX)
		return p->imm;
	if (p->len == 7 && p->bytes[0] == 0x48 && p->bytes[1] == 0xc7 && p->bytes[2] == 0xc0)
		return (int32_t)(p->bytes[3] | p->bytes[4] << 8 | p->bytes[5] << 16 | (uint32_t)p->bytes[6] << 24);
	if (p->len == 2 && (p->bytes[0] == 0x31 || p->bytes[0] == 0x33) && p->bytes[1] == 0xc0)
		return 0;
	return -1;
}

/* A constant number loaded right before the syscall that must never be rerouted. */
static const char *never_touch(const struct fn_code *c, size_t i)
{
	switch (const_nr(c, i)) {
	case 15:  return "rt_sigreturn: signal delivery is left exactly as it is";
	case 56:  return "clone: thread creation is left exactly as it is";
	case 57:  return "fork: left exactly as it is";
	case 58:  return "vfork: left exactly as it is";
	case 435: return "clone3: thread creation is left exactly as it is";
	default:  return NULL;
	}
}

int patch_plan_func(struct disasm *d, const struct patch_func *funcs, size_t nfuncs, size_t fi,
		    struct patch_pads *pads, int threaded, struct patch_site *sites, size_t max, size_t *n)
{
	const struct patch_func *f = &funcs[fi];
	struct fn_code c;
	int r;

	*n = 0;
	r = fn_decode(d, f, &c, 0);
	if (r < 0)
		return r;
	int detailed = 0;
	for (size_t i = 0; i < c.n && *n < max; i++) {
		if (!(c.in[i].kind & DISASM_SYSCALL))
			continue;
		struct patch_site *s = &sites[(*n)++];
		const char *why;
		memset(s, 0, sizeof(*s));
		s->sys = c.in[i].addr;
		if ((why = never_touch(&c, i))) {
			s->mode = PATCH_SKIP;
			log_fmt(s->why, sizeof(s->why), "%s", why);
			continue;
		}
		/* A constant number we do not route, on the only path to this syscall (no jump
		 * lands on it, no jump table in the function): nothing to reroute, the site
		 * stays exactly as it is and costs nothing. */
		int64_t nr = const_nr(&c, i);
		if (nr >= 0 && !sysdispatch_routed(nr) && !c.target[i] && !c.indirect_jmp) {
			s->mode = PATCH_CONST;
			continue;
		}
		if (pad_take(d, pads, funcs, nfuncs, s->sys, &s->pad)) {
			s->mode = PATCH_PAD;
			memcpy(s->pad_orig, (const void *)(uintptr_t)s->pad, sizeof(s->pad_orig));
			s->win_start = s->sys;
			s->win_end = s->sys + 2;
			continue;
		}
		s->mode = PATCH_NONE;
		if (!detailed && !threaded && !f->has_lsda) {
			/* Windows need the jump targets: decode again, with details. */
			fn_code_free(&c);
			r = fn_decode(d, f, &c, 1);
			if (r < 0)
				return r;
			detailed = 1;
		}
		if (threaded)
			why = "no padding in reach, and displacing instructions is unsafe once threads run";
		else if (f->has_lsda)
			why = "no padding in reach, and the function has exception landing pads";
		else if (c.indirect_jmp)
			why = "no padding in reach, and the function has an indirect jump (jump table?)";
		else if (!window_find(&c, i, s))
			why = "no padding in reach, and no 5-byte window of movable non-target instructions";
		else {
			s->mode = PATCH_WINDOW;
			continue;
		}
		log_fmt(s->why, sizeof(s->why), "%s", why);
	}
	fn_code_free(&c);
	return 0;
}
