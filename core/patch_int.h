/*
 * patch_int — the patcher's internal pieces, shared by patch*.c and the unit tests.
 *   patch_elf.c   functions and their bounds from a loaded object's .eh_frame_hdr
 *   patch_plan.c  decode a function, decide pad or window for each syscall site
 *   patch_emit.c  the machine code of a stub and of the jumps into it
 *   patch.c       find objects, place stubs within +-2 GiB, write the patches
 *   patch_mem.c   the allocator (an mmap arena: patching may run inside malloc)
 *   patch_cache.c the plan of a library kept across runs, keyed by its build-id
 */
#ifndef SOCKSHIFT_PATCH_INT_H
#define SOCKSHIFT_PATCH_INT_H

#include <link.h>

#include "disasm.h"
#include "patch.h"

#define PATCH_MAX_DISPLACED 4      /* instructions on each side of the syscall */
#define PATCH_STUB_MAX      256    /* bytes one stub may need */

/* NONE: refused (why says why); SKIP: never touched on purpose (sigreturn, clone...);
 * CONST: a constant number that is not routed, nothing to do. */
enum patch_mode { PATCH_NONE = 0, PATCH_PAD, PATCH_WINDOW, PATCH_SKIP, PATCH_CONST };

struct patch_site {
	uint64_t sys;            /* address of the syscall instruction */
	enum patch_mode mode;
	uint64_t win_start, win_end;   /* bytes replaced at the site */
	uint64_t pad;            /* PATCH_PAD: the 5-byte slot */
	uint8_t pad_orig[5];     /* PATCH_PAD: the slot's bytes when planned (checked on reuse) */
	struct disasm_insn pre[PATCH_MAX_DISPLACED], post[PATCH_MAX_DISPLACED];
	unsigned npre, npost;
	char why[96];            /* PATCH_NONE / PATCH_SKIP: the reason, for the log */
};

/* The pad slots already taken in a region (5-byte pieces of padding between functions). */
struct patch_pads {
	uint64_t *slot;
	size_t n;
	unsigned char *gap;   /* per function: 0 not looked at, 1 padding usable after it, 2 not */
};

/* A loaded object to patch (from dl_iterate_phdr). */
struct patch_object {
	char name[256];          /* base name, for the log and the cache file */
	char path[512];          /* as the dynamic linker names it */
	uintptr_t base;
	const ElfW(Phdr) *phdr;
	int phnum;
};

/* patch_mem.c: the arena every allocation of the patcher comes from (never malloc).
 * Allocations are zeroed and live until the outermost patch_mem_end(). */
void patch_mem_begin(void);
void patch_mem_end(void);
void *patch_mem_alloc(size_t n);
void *patch_mem_calloc(size_t n, size_t size);
void *patch_mem_realloc(void *old, size_t n);
void patch_mem_free(void *p);

/* Tests only: the thread count to assume (0 = read it from /proc, the default). */
extern int patch_test_threads;

/* patch_elf.c: functions of a loaded object from its PT_GNU_EH_FRAME segment (sorted by
 * start). *funcs lives in the patch_mem arena. */
int patch_eh_funcs(const uint8_t *eh_frame_hdr, struct patch_func **funcs, size_t *n);

/* patch_plan.c */
void patch_pads_free(struct patch_pads *pads);
/* Plans every syscall site inside funcs[fi] (funcs sorted by start, padding between them
 * usable). sites has room for max entries; *n gets how many were written (PATCH_NONE and
 * PATCH_SKIP entries included, with a reason). -EILSEQ if the function does not decode. */
int patch_plan_func(struct disasm *d, const struct patch_func *funcs, size_t nfuncs, size_t fi,
		    struct patch_pads *pads, int threaded, struct patch_site *sites, size_t max,
		    size_t *n);

/* patch_emit.c: the stub for site at stub_addr; returns its size or -ERANGE. */
int patch_emit_stub(uint8_t *buf, uint64_t stub_addr, const struct patch_site *s,
		    uint64_t entry, int32_t tls_off);
/* jmp rel32 (5 bytes) from `from` to `to`; -ERANGE if beyond +-2 GiB. */
int patch_emit_jmp32(uint8_t *buf, uint64_t from, uint64_t to);

/* patch.c: plans all of o's code from scratch (capstone), patching nothing; *sites in the
 * arena. Used by patch_objects() on a cache miss and by the tests. */
int patch_plan_object(const struct patch_object *o, int threaded, struct patch_site **sites, size_t *n);

/* patch_cache.c: setting is SOCKSHIFT_PATCH_CACHE ("" default directory, "off", or a
 * directory); fills dir (created 0700 if missing) or returns -errno: no cache. */
int patch_cache_dir(const char *setting, char *dir, size_t len);
/* The stored plan of o if its key matches and every site checks out against the code in
 * memory (addresses made absolute; *sites in the patch_mem arena); counts gets the
 * skipped and constant totals. -errno (no file, mismatch, corrupt): plan from scratch. */
int patch_cache_load(const char *dir, const struct patch_object *o, struct patch_site **sites, size_t *n,
		     struct patch_stats *counts);
/* Stores the plan of o (its pad, window and refused sites); atomic. 0 or -errno. */
int patch_cache_save(const char *dir, const struct patch_object *o, const struct patch_site *sites, size_t n,
		     const struct patch_stats *counts);

#endif
