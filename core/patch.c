/*
 * patch — find the objects to patch, place their stubs within +-2 GiB, write the patches.
 * See patch.h for what is patched and how; patch_plan.c decides per site (capstone),
 * patch_cache.c keeps a library's plan between runs (a valid stored plan skips capstone),
 * patch_emit.c writes the code.
 *
 * Writing: stubs first (fresh RW memory, then RX), then the pad slots (dead padding), and
 * only then the bytes at the sites, each under RWX so no thread executing nearby ever
 * faults. A pad patch is one 2-byte store that stays inside a cache line (atomic for
 * other CPUs: they run either the old syscall, still correct, or the new jump); window
 * patches are only made while the process has one thread. One lock serialises patching.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "patch_int.h"
#include "rawsys.h"
#include "sysdispatch.h"

#define MAX_OBJECTS 64

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t done_base[MAX_OBJECTS];
static unsigned ndone;

/* Threads of this process, from /proc (raw calls: close and read may be hooked). */
int patch_test_threads;

static int thread_count(void)
{
	char buf[4096];
	long fd, n;

	if (patch_test_threads)
		return patch_test_threads;
	fd = rawsys3(SYS_open, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 2;   /* unknown: assume threads */
	n = rawsys3(SYS_read, fd, buf, sizeof(buf) - 1);
	rawsys1(SYS_close, fd);
	if (n <= 0)
		return 2;
	buf[n] = '\0';
	char *t = strstr(buf, "\nThreads:");
	return t ? atoi(t + 9) : 2;
}

/* Fresh RW memory within +-2 GiB of [lo, hi); NULL if none. */
static uint8_t *alloc_near(uint64_t lo, uint64_t hi, size_t size)
{
	const uint64_t step = 1 << 20, reach = (1ull << 31) - (1 << 24);
	uint64_t a;

	for (a = (lo - size - step) & ~(step - 1); a > (1u << 24) && hi - a < reach; a -= step) {
		void *p = mmap((void *)(uintptr_t)a, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == (void *)(uintptr_t)a)
			return p;
		if (p != MAP_FAILED)
			munmap(p, size);
	}
	for (a = (hi + step) & ~(step - 1); a + size - lo < reach; a += step) {
		void *p = mmap((void *)(uintptr_t)a, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == (void *)(uintptr_t)a)
			return p;
		if (p != MAP_FAILED)
			munmap(p, size);
	}
	return NULL;
}

static int set_prot(uint64_t lo, uint64_t hi, int prot)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t a = lo & ~(pg - 1), b = (hi + pg - 1) & ~(pg - 1);

	return mprotect((void *)(uintptr_t)a, b - a, prot) < 0 ? -errno : 0;
}

static void store2(uint64_t at, const uint8_t v[2])
{
	uint16_t x;

	memcpy(&x, v, 2);
	__atomic_store_n((uint16_t *)(uintptr_t)at, x, __ATOMIC_RELEASE);
}

static void log_site(const char *name, uintptr_t logbase, const struct patch_site *s, const char *what)
{
	logi("patch: %s+0x%lx: %s%s%s", name, (unsigned long)(s->sys - logbase), what,
	     s->why[0] ? ": " : "", s->why);
}

/* Capstone and our tables allocate from the patch_mem arena, never malloc. */
static const struct disasm_alloc arena = { patch_mem_alloc, patch_mem_calloc, patch_mem_realloc,
					   patch_mem_free };

/* Writes the stubs and the patches of the planned sites. */
static int apply(const char *name, uint8_t *code, size_t len, struct patch_site *sites, size_t n,
		 uint64_t entry, int32_t tls_off, struct patch_stats *st)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t todo = 0, pg = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *stubs, *p;
	int r;

	for (size_t i = 0; i < n; i++) {
		if (sites[i].mode != PATCH_PAD && sites[i].mode != PATCH_WINDOW)
			continue;
		todo++;
		uint64_t a = sites[i].mode == PATCH_PAD && sites[i].pad < sites[i].win_start ? sites[i].pad
											     : sites[i].win_start;
		uint64_t b = sites[i].mode == PATCH_PAD && sites[i].pad + 5 > sites[i].win_end ? sites[i].pad + 5
											       : sites[i].win_end;
		lo = a < lo ? a : lo;
		hi = b > hi ? b : hi;
	}
	if (!todo)
		return 0;
	size_t size = (todo * PATCH_STUB_MAX + pg - 1) & ~(pg - 1);
	stubs = alloc_near((uintptr_t)code, (uintptr_t)code + len, size);
	if (!stubs) {
		loge("patch: %s: no free memory within 2 GiB of its code for %zu stubs", name, todo);
		return -ENOMEM;
	}
	p = stubs;
	uint64_t *stub_at = patch_mem_calloc(n, sizeof(*stub_at));
	if (!stub_at) {
		r = -ENOMEM;
		goto err_stubs;
	}
	for (size_t i = 0; i < n; i++) {
		if (sites[i].mode != PATCH_PAD && sites[i].mode != PATCH_WINDOW)
			continue;
		r = patch_emit_stub(p, (uintptr_t)p, &sites[i], entry, tls_off);
		if (r < 0) {
			log_fmt(sites[i].why, sizeof(sites[i].why), "stub out of reach");
			sites[i].mode = PATCH_NONE;
			continue;
		}
		stub_at[i] = (uintptr_t)p;
		p += (r + 15) & ~15;
	}
	if (mprotect(stubs, size, PROT_READ | PROT_EXEC) < 0) {
		r = -errno;
		goto err_stub_at;
	}
	r = set_prot(lo, hi, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (r < 0) {
		loge("patch: %s: cannot make its code writable: %s", name, log_errname(r));
		goto err_stub_at;
	}
	for (size_t i = 0; i < n; i++) {
		struct patch_site *s = &sites[i];
		uint8_t b[16];
		if (s->mode == PATCH_PAD) {
			patch_emit_jmp32((uint8_t *)(uintptr_t)s->pad, s->pad, stub_at[i]);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			b[0] = 0xeb;
			b[1] = (uint8_t)(int8_t)(s->pad - (s->sys + 2));
			store2(s->sys, b);
			st->pad++;
		} else if (s->mode == PATCH_WINDOW) {
			size_t w = s->win_end - s->win_start;
			memset(b, 0xcc, sizeof(b));
			patch_emit_jmp32(b, s->win_start, stub_at[i]);
			memcpy((void *)(uintptr_t)s->win_start, b, w);
			st->window++;
		}
	}
	set_prot(lo, hi, PROT_READ | PROT_EXEC);
	patch_mem_free(stub_at);
	return 0;

err_stub_at:
	patch_mem_free(stub_at);
err_stubs:
	munmap(stubs, size);
	return r;
}

static size_t func_of(const struct patch_func *funcs, size_t nfuncs, uint64_t addr)
{
	size_t lo = 0, hi = nfuncs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (funcs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= funcs[lo - 1].end)
		return SIZE_MAX;
	return lo - 1;
}

/* Plans every syscall site of [code, code + len) into *sites (grown in the arena). */
static int plan_code(struct disasm *d, uint8_t *code, size_t len, const struct patch_func *funcs, size_t nfuncs,
		     const char *name, struct patch_pads *pads, int threaded, struct patch_site **sites,
		     size_t *nsites, size_t *cap)
{
	size_t last_fn = SIZE_MAX;

	for (size_t off = 0; off + 1 < len; off++) {
		if (code[off] != 0x0f || code[off + 1] != 0x05)
			continue;
		size_t fi = func_of(funcs, nfuncs, (uintptr_t)code + off);
		if (fi == SIZE_MAX || fi == last_fn)
			continue;   /* outside every function, or a function already planned */
		last_fn = fi;
		if (*cap - *nsites < 64) {
			struct patch_site *m = patch_mem_realloc(*sites, (*cap + 256) * sizeof(*m));
			if (!m)
				return -ENOMEM;
			*sites = m;
			*cap += 256;
		}
		size_t got = 0;
		if (patch_plan_func(d, funcs, nfuncs, fi, pads, threaded, *sites + *nsites, 64, &got) < 0) {
			logi("patch: %s+0x%lx: function does not decode; its syscalls are left alone", name,
			     (unsigned long)(funcs[fi].start - (uintptr_t)code));
			continue;
		}
		*nsites += got;
	}
	return 0;
}

/* Adds the sites to st, logging the ones left alone (offsets from logbase). */
static void account(const char *name, uintptr_t logbase, const struct patch_site *sites, size_t n,
		    struct patch_stats *st)
{
	for (size_t i = 0; i < n; i++) {
		st->sites++;
		if (sites[i].mode == PATCH_CONST) {
			st->constant++;
		} else if (sites[i].mode == PATCH_SKIP) {
			st->skipped++;
			logd("patch: %s+0x%lx: left alone: %s", name, (unsigned long)(sites[i].sys - logbase),
			     sites[i].why);
		} else if (sites[i].mode == PATCH_NONE) {
			st->refused++;
			log_site(name, logbase, &sites[i], "refused");
		}
	}
}

int patch_region(uint8_t *code, size_t len, const struct patch_func *funcs, size_t nfuncs,
		 const char *name, struct patch_stats *st)
{
	struct patch_pads pads = { 0 };
	struct patch_site *sites = NULL;
	size_t nsites = 0, cap = 0;
	char why[128];
	struct disasm *d;
	uint64_t entry;
	int32_t tls_off;
	int r;

	r = sysdispatch_setup(&entry, &tls_off, why, sizeof(why));
	if (r < 0) {
		loge("patch: %s", why);
		return r;
	}
	patch_mem_begin();
	r = disasm_open(&d, &arena);
	if (r < 0) {
		patch_mem_end();
		return r;
	}
	r = plan_code(d, code, len, funcs, nfuncs, name, &pads, thread_count() > 1, &sites, &nsites, &cap);
	if (r == 0)
		r = apply(name, code, len, sites, nsites, entry, tls_off, st);
	account(name, (uintptr_t)code, sites, nsites, st);
	patch_mem_free(sites);
	patch_pads_free(&pads);
	disasm_close(d);
	patch_mem_end();
	return r;
}

/* ---- loaded objects ---- */

struct find_ctx {
	const char *extra;
	struct patch_object objs[MAX_OBJECTS];
	int n;
	int have_libc;
	char cache_dir[512];
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int wanted(const char *path, const char *extra)
{
	const char *b = base_name(path);

	if (!strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5))
		return 2;
	if (!strncmp(b, "libsockshift", 12) || !strncmp(b, "libcapstone", 11) || !strncmp(b, "linux-vdso", 10))
		return 0;
	for (const char *e = extra; e && *e; ) {
		const char *end = strchr(e, ':');
		size_t l = end ? (size_t)(end - e) : strlen(e);
		if (l && memmem(path, strlen(path), e, l))
			return 1;
		e += l + (end ? 1 : 0);
	}
	return 0;
}

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_ctx *c = arg;
	int w;

	if (!info->dlpi_name || !info->dlpi_name[0] || !(w = wanted(info->dlpi_name, c->extra)))
		return 0;
	if (c->n == MAX_OBJECTS)
		return 1;
	struct patch_object *o = &c->objs[c->n++];
	log_fmt(o->name, sizeof(o->name), "%s", base_name(info->dlpi_name));
	log_fmt(o->path, sizeof(o->path), "%s", info->dlpi_name);
	o->base = info->dlpi_addr;
	o->phdr = info->dlpi_phdr;
	o->phnum = info->dlpi_phnum;
	if (w == 2)
		c->have_libc = 1;
	return 0;
}

int patch_plan_object(const struct patch_object *o, int threaded, struct patch_site **sites, size_t *n)
{
	struct patch_pads pads = { 0 };
	const uint8_t *hdr = NULL;
	struct patch_func *funcs;
	size_t nfuncs, cap = 0;
	struct disasm *d;
	int r;

	*sites = NULL;
	*n = 0;
	for (int i = 0; i < o->phnum; i++)
		if (o->phdr[i].p_type == PT_GNU_EH_FRAME)
			hdr = (const uint8_t *)(o->base + o->phdr[i].p_vaddr);
	if (!hdr) {
		logw("patch: %s has no unwind table; its syscalls are left alone", o->name);
		return 0;
	}
	r = patch_eh_funcs(hdr, &funcs, &nfuncs);
	if (r < 0) {
		logw("patch: %s: unwind table not understood (%s); its syscalls are left alone", o->name,
		     log_errname(r));
		return 0;
	}
	r = disasm_open(&d, &arena);
	if (r < 0)
		goto out_funcs;
	for (int i = 0; i < o->phnum && r == 0; i++) {
		const ElfW(Phdr) *ph = &o->phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
			r = plan_code(d, (uint8_t *)(o->base + ph->p_vaddr), ph->p_memsz, funcs, nfuncs, o->name,
				      &pads, threaded, sites, n, &cap);
	}
	patch_pads_free(&pads);
	disasm_close(d);
out_funcs:
	patch_mem_free(funcs);
	return r;
}

static const char *cache_setting;   /* patch_set_cache(); NULL: no cache */

void patch_set_cache(const char *setting)
{
	cache_setting = setting;
}

static int patch_object(const struct patch_object *o, const char *cache_dir, struct patch_stats *st)
{
	struct patch_stats one = { 0 };
	struct patch_site *sites = NULL;
	uint64_t lo = UINT64_MAX, hi = 0, entry;
	struct timespec t0, t1;
	int32_t tls_off;
	char why[128];
	size_t n = 0;
	int r, threaded = thread_count() > 1, cached = 0;

	r = sysdispatch_setup(&entry, &tls_off, why, sizeof(why));
	if (r < 0) {
		loge("patch: %s", why);
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < o->phnum; i++) {
		const ElfW(Phdr) *ph = &o->phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		lo = o->base + ph->p_vaddr < lo ? o->base + ph->p_vaddr : lo;
		hi = o->base + ph->p_vaddr + ph->p_memsz > hi ? o->base + ph->p_vaddr + ph->p_memsz : hi;
	}
	if (!hi)
		return 0;
	if (cache_dir[0] && patch_cache_load(cache_dir, o, &sites, &n, &one) == 0) {
		cached = 1;
		one.sites = one.skipped + one.constant;   /* the stored sites are counted below */
		for (size_t i = 0; i < n && threaded; i++) {
			if (sites[i].mode != PATCH_WINDOW)
				continue;
			sites[i].mode = PATCH_NONE;
			log_fmt(sites[i].why, sizeof(sites[i].why), "displacing instructions is unsafe once threads run");
		}
	} else {
		r = patch_plan_object(o, threaded, &sites, &n);
		if (r == 0 && cache_dir[0] && !threaded) {
			/* A plan made while threads run lacks windows: not worth keeping. */
			struct patch_stats c = { 0 };
			for (size_t i = 0; i < n; i++) {
				c.skipped += sites[i].mode == PATCH_SKIP;
				c.constant += sites[i].mode == PATCH_CONST;
			}
			int w = patch_cache_save(cache_dir, o, sites, n, &c);
			if (w < 0)
				logd("patch: %s: plan not cached in %s: %s", o->name, cache_dir, log_errname(w));
		}
	}
	if (r == 0)
		r = apply(o->name, (uint8_t *)(uintptr_t)lo, hi - lo, sites, n, entry, tls_off, &one);
	account(o->name, o->base, sites, n, &one);
	patch_mem_free(sites);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	logi("patch: %s: %u syscall sites: %u through padding, %u by moving instructions, %u with a "
	     "constant non-socket number, %u left alone, %u refused (%ld us%s)", o->name, one.sites, one.pad,
	     one.window, one.constant, one.skipped, one.refused,
	     (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000),
	     cached ? ", plan from the cache" : "");
	st->sites += one.sites;
	st->pad += one.pad;
	st->window += one.window;
	st->skipped += one.skipped;
	st->constant += one.constant;
	st->refused += one.refused;
	st->objects++;
	return r;
}

int patch_objects(const char *extra, struct patch_stats *st)
{
	struct find_ctx *c;
	int r = 0;

	patch_mem_begin();
	c = patch_mem_calloc(1, sizeof(*c));
	if (!c) {
		patch_mem_end();
		return -ENOMEM;
	}
	memset(st, 0, sizeof(*st));
	c->extra = extra;
	pthread_mutex_lock(&patch_lock);
	dl_iterate_phdr(find_cb, c);
	if (!c->have_libc) {
		loge("patch: libc is not among the loaded objects");
		r = -ENOENT;
		goto out_unlock;
	}
	if (cache_setting && patch_cache_dir(cache_setting, c->cache_dir, sizeof(c->cache_dir)) < 0)
		c->cache_dir[0] = '\0';
	for (int i = 0; i < c->n && r == 0; i++) {
		unsigned k;
		for (k = 0; k < ndone && done_base[k] != c->objs[i].base; k++)
			;
		if (k < ndone)
			continue;
		if (ndone == MAX_OBJECTS) {
			logw("patch: more than %d objects to patch; %s left alone", MAX_OBJECTS, c->objs[i].name);
			break;
		}
		r = patch_object(&c->objs[i], c->cache_dir, st);
		done_base[ndone++] = c->objs[i].base;
	}
out_unlock:
	pthread_mutex_unlock(&patch_lock);
	patch_mem_free(c);
	patch_mem_end();
	return r;
}

static int libc_hdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (!wanted(info->dlpi_name, NULL))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			*(const uint8_t **)arg = (const uint8_t *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	return 1;
}

/* Patches a crafted syscall function (mov %rdi,%rax; syscall; ret + padding) and runs it
 * as getpid. */
static int selftest(char *detail, size_t len)
{
	static const uint8_t fn[] = { 0x48, 0x89, 0xf8, 0x0f, 0x05, 0xc3, 0x66, 0x90,
				      0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x31, 0xc0, 0xc3 };
	struct patch_stats st = { 0 };
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (p == MAP_FAILED)
		return -errno;
	memcpy(p, fn, sizeof(fn));
	struct patch_func funcs[] = { { (uintptr_t)p, (uintptr_t)p + 6, 0 }, { (uintptr_t)p + 16, (uintptr_t)p + 19, 0 } };
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0) {
		r = -errno;
		goto out_unmap;
	}
	r = patch_region(p, 4096, funcs, 2, "selftest", &st);
	if (r == 0 && (st.pad != 1 || p[3] != 0xeb)) {
		log_fmt(detail, len, "a crafted syscall site was not patched");
		r = -ENOTSUP;
	} else if (r == 0 && ((long (*)(long))(uintptr_t)p)(SYS_getpid) != rawsys0(SYS_getpid)) {
		log_fmt(detail, len, "a patched crafted syscall site returned a wrong result");
		r = -ENOTSUP;
	}
out_unmap:
	munmap(p, 4096);
	return r;
}

int patch_probe(char *detail, size_t len)
{
	const uint8_t *hdr = NULL;
	struct patch_func *funcs;
	uint64_t entry;
	int32_t tls_off;
	size_t n;
	int r = sysdispatch_setup(&entry, &tls_off, detail, len);

	if (r < 0)
		return r;
	dl_iterate_phdr(libc_hdr, &hdr);
	if (!hdr) {
		log_fmt(detail, len, "libc has no unwind table (PT_GNU_EH_FRAME)");
		return -ENOTSUP;
	}
	patch_mem_begin();
	r = patch_eh_funcs(hdr, &funcs, &n);
	patch_mem_end();
	if (r < 0) {
		log_fmt(detail, len, "libc's unwind table is not understood: %s", log_errname(r));
		return r;
	}
	if ((r = selftest(detail, len)) < 0) {
		if (!detail[0])
			log_fmt(detail, len, "patching a crafted syscall site failed: %s", log_errname(r));
		return r;
	}
	log_fmt(detail, len, "libc: %zu functions from its unwind table; a crafted site patched and run", n);
	return 0;
}
