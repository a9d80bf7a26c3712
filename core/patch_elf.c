/*
 * patch_elf — where the functions of a loaded object begin and end.
 *
 * The patcher decodes one function at a time from its first byte, so it needs reliable
 * instruction boundaries, and it needs to know which bytes are padding between functions.
 * Both come from the unwind tables every glibc function has: PT_GNU_EH_FRAME points at
 * .eh_frame_hdr, whose sorted table gives each FDE's start; the FDE gives its length and
 * whether it has an LSDA (exception landing pads, which are jump targets we cannot see).
 * Only the encodings GNU ld writes are accepted; anything else is -ENOTSUP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patch_int.h"

enum {
	PE_absptr = 0x00, PE_uleb128 = 0x01, PE_udata2 = 0x02, PE_udata4 = 0x03, PE_udata8 = 0x04,
	PE_sleb128 = 0x09, PE_sdata2 = 0x0a, PE_sdata4 = 0x0b, PE_sdata8 = 0x0c,
	PE_pcrel = 0x10, PE_datarel = 0x30, PE_omit = 0xff,
};

static uint64_t uleb(const uint8_t **p)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return v;
}

static int64_t sleb(const uint8_t **p)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = *(*p)++;
		if (shift < 64)
			v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/* Reads one encoded value; pcrel is applied, datarel uses base. -ENOTSUP if unknown. */
static int read_enc(const uint8_t **p, uint8_t enc, uint64_t base, uint64_t *out)
{
	const uint8_t *start = *p;
	uint64_t v;

	switch (enc & 0x0f) {
	case PE_absptr:
	case PE_udata8:
	case PE_sdata8: { uint64_t x; memcpy(&x, *p, 8); *p += 8; v = x; break; }
	case PE_udata4: { uint32_t x; memcpy(&x, *p, 4); *p += 4; v = x; break; }
	case PE_sdata4: { int32_t x; memcpy(&x, *p, 4); *p += 4; v = (uint64_t)(int64_t)x; break; }
	case PE_udata2: { uint16_t x; memcpy(&x, *p, 2); *p += 2; v = x; break; }
	case PE_sdata2: { int16_t x; memcpy(&x, *p, 2); *p += 2; v = (uint64_t)(int64_t)x; break; }
	case PE_uleb128: v = uleb(p); break;
	case PE_sleb128: v = (uint64_t)sleb(p); break;
	default: return -ENOTSUP;
	}
	switch (enc & 0x70) {
	case 0: break;
	case PE_pcrel: v += (uint64_t)(uintptr_t)start; break;
	case PE_datarel: v += base; break;
	default: return -ENOTSUP;
	}
	*out = v;
	return 0;
}

/* The FDE pointer encoding and LSDA encoding a CIE announces. */
static int parse_cie(const uint8_t *cie, uint8_t *fde_enc, uint8_t *lsda_enc)
{
	const uint8_t *p = cie;
	uint32_t len;
	const char *aug;

	memcpy(&len, p, 4);
	p += 4;
	if (len == 0xffffffffu)
		return -ENOTSUP;
	p += 4;                     /* CIE id */
	uint8_t version = *p++;
	aug = (const char *)p;
	p += strlen(aug) + 1;
	if (strstr(aug, "eh"))
		return -ENOTSUP;
	uleb(&p);                   /* code alignment */
	sleb(&p);                   /* data alignment */
	if (version == 1)
		p++;
	else
		uleb(&p);           /* return address register */
	*fde_enc = PE_absptr;
	*lsda_enc = PE_omit;
	if (aug[0] != 'z')
		return 0;
	uleb(&p);
	for (const char *a = aug + 1; *a; a++) {
		uint64_t skip;
		switch (*a) {
		case 'R': *fde_enc = *p++; break;
		case 'L': *lsda_enc = *p++; break;
		case 'P': {
			uint8_t enc = *p++;
			if (read_enc(&p, enc & 0x7f, 0, &skip) < 0)
				return -ENOTSUP;
			break;
		}
		case 'S': case 'B': break;
		default: return -ENOTSUP;
		}
	}
	return 0;
}

static int parse_fde(const uint8_t *fde, struct patch_func *f)
{
	const uint8_t *p = fde;
	uint8_t fde_enc, lsda_enc;
	uint32_t len, cie_off;
	uint64_t begin, range, lsda = 0;
	int r;

	memcpy(&len, p, 4);
	if (len == 0xffffffffu || len == 0)
		return -ENOTSUP;
	p += 4;
	memcpy(&cie_off, p, 4);
	r = parse_cie(p - cie_off, &fde_enc, &lsda_enc);
	if (r < 0)
		return r;
	p += 4;
	if ((r = read_enc(&p, fde_enc, 0, &begin)) < 0 || (r = read_enc(&p, fde_enc & 0x0f, 0, &range)) < 0)
		return r;
	if (lsda_enc != PE_omit) {
		uleb(&p);   /* augmentation length */
		if (read_enc(&p, lsda_enc & 0x7f, 0, &lsda) < 0)
			return -ENOTSUP;
	}
	f->start = begin;
	f->end = begin + range;
	f->has_lsda = lsda != 0;
	return 0;
}

/* The table is sorted already (it is a binary-search table); insertion sort keeps it so
 * at O(n) — and qsort would call malloc, which patching must not (patch_mem.c). */
static void sort_funcs(struct patch_func *f, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct patch_func x = f[i];
		size_t j = i;
		while (j > 0 && f[j - 1].start > x.start) {
			f[j] = f[j - 1];
			j--;
		}
		f[j] = x;
	}
}

int patch_eh_funcs(const uint8_t *hdr, struct patch_func **funcs, size_t *n)
{
	const uint8_t *p = hdr + 4;
	uint64_t eh_frame, count;
	struct patch_func *out;
	size_t k = 0;

	if (hdr[0] != 1 || hdr[3] != (PE_datarel | PE_sdata4))
		return -ENOTSUP;
	if (read_enc(&p, hdr[1], (uintptr_t)hdr, &eh_frame) < 0 || read_enc(&p, hdr[2], (uintptr_t)hdr, &count) < 0)
		return -ENOTSUP;
	if (count == 0 || count > (1u << 22))
		return -ENOTSUP;
	out = patch_mem_alloc(count * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		int32_t loc, fde;
		memcpy(&loc, p + i * 8, 4);
		memcpy(&fde, p + i * 8 + 4, 4);
		struct patch_func f;
		if (parse_fde(hdr + fde, &f) < 0)
			continue;   /* a function we cannot describe is simply never patched */
		if (f.start != (uint64_t)(uintptr_t)(hdr + loc) || f.end <= f.start)
			continue;
		out[k++] = f;
	}
	sort_funcs(out, k);
	*funcs = out;
	*n = k;
	return 0;
}
