/*
 * patch_mem — the patcher's memory: a bump arena on private anonymous mmap, never malloc.
 *
 * Patching runs inside the shim's initialisation, which may itself be running inside the
 * program's malloc (jemalloc, for one, calls interposed functions while it holds its
 * lock). So nothing on the patching path may call malloc: our own tables and capstone's
 * (through disasm_open's allocator) come from here. patch_mem_end() after the outermost
 * patch_mem_begin() releases everything at once; free() is a no-op.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "patch_int.h"

#define ARENA_SIZE (64u << 20)   /* reserved, not committed: pages are touched as used */

static uint8_t *arena;
static size_t used;
static int depth;

void patch_mem_begin(void)
{
	depth++;
}

void patch_mem_end(void)
{
	if (--depth > 0 || !arena)
		return;
	munmap(arena, ARENA_SIZE);
	arena = NULL;
	used = 0;
}

void *patch_mem_alloc(size_t n)
{
	if (!arena) {
		void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		arena = p;
	}
	n = (n + 15) & ~(size_t)15;
	if (n + 16 > ARENA_SIZE - used)
		return NULL;
	uint8_t *p = arena + used;
	memcpy(p, &n, sizeof(n));
	used += n + 16;
	return p + 16;   /* fresh anonymous memory: already zero */
}

void *patch_mem_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return patch_mem_alloc(n * size);
}

void *patch_mem_realloc(void *old, size_t n)
{
	void *p = patch_mem_alloc(n);
	size_t had;

	if (!p || !old)
		return p;
	memcpy(&had, (uint8_t *)old - 16, sizeof(had));
	memcpy(p, old, had < n ? had : n);
	return p;
}

void patch_mem_free(void *p)
{
	(void)p;
}
