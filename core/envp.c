/*
 * envp — building the exec'd child's environment (see envp.h).
 */
#include <string.h>

#include "envp.h"
#include "fdenv.h"

static size_t count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int name_eq(const char *a, const char *b)
{
	while (*a && *a != '=' && *a == *b)
		a++, b++;
	return (*a == '=' || !*a) && (*b == '=' || !*b);
}

static int has_name(char *const *envp, const char *entry)
{
	for (; envp && *envp; envp++)
		if (name_eq(*envp, entry))
			return 1;
	return 0;
}

/* Is path one of the ':'/' '-separated entries of the LD_PRELOAD value? */
static int preload_has(const char *list, const char *path)
{
	size_t n = strlen(path);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ": ");
		if (len == n && memcmp(p, path, n) == 0)
			return 1;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

size_t envp_arena_size(char *const *envp, const struct envp_spec *spec)
{
	size_t n = count(envp) + count(spec->keep) + 4, bytes = 0;

	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
			bytes += strlen(*e) + 1;
	bytes += spec->preload ? strlen(spec->preload) + 16 : 0;
	return n * sizeof(char *) + bytes + 16;
}

char **envp_build(void *arena, size_t size, char *const *envp, const struct envp_spec *spec)
{
	size_t slots = count(envp) + count(spec->keep) + 4, o = 0, used;
	char **out = arena, *heap;
	int preload_done = 0;

	used = slots * sizeof(char *);
	if (used > size)
		return NULL;
	heap = (char *)arena + used;
	for (char *const *e = envp; e && *e; e++) {
		if (strncmp(*e, FDENV_NAME "=", sizeof(FDENV_NAME)) == 0)
			continue;
		if (spec->preload && strncmp(*e, "LD_PRELOAD=", 11) == 0 && !preload_done) {
			preload_done = 1;
			if (!preload_has(*e + 11, spec->preload)) {
				size_t need = 11 + strlen(spec->preload) + 1 + strlen(*e + 11) + 1;
				if (used + need > size)
					return NULL;
				char *s = heap;
				memcpy(s, "LD_PRELOAD=", 11);
				strcpy(s + 11, spec->preload);
				if ((*e)[11]) {
					strcat(s, ":");
					strcat(s, *e + 11);
				}
				heap += need, used += need;
				out[o++] = s;
				continue;
			}
		}
		out[o++] = *e;
	}
	if (spec->preload && !preload_done) {
		size_t need = 11 + strlen(spec->preload) + 1;
		if (used + need > size)
			return NULL;
		memcpy(heap, "LD_PRELOAD=", 11);
		strcpy(heap + 11, spec->preload);
		out[o++] = heap;
	}
	for (char *const *k = spec->keep; k && *k; k++)
		if (!has_name(envp, *k))
			out[o++] = *k;
	if (spec->fds)
		out[o++] = (char *)spec->fds;
	out[o] = NULL;
	return out;
}
