/*
 * envp — the environment an exec'd child gets, so it keeps the shim and its configuration.
 *
 * Programs may rebuild or clear their environment before exec (env -i, daemons that drop
 * LD_PRELOAD). envp_build() copies the program's envp and makes sure that:
 *   - LD_PRELOAD names the shim (prepended if missing, the program's other entries kept);
 *   - every SOCKSHIFT_* setting the process started with is present (a value the program
 *     set itself is respected);
 *   - SOCKSHIFT_FDS is the shim's current encoding of inherited sockets (or absent).
 * It works inside a caller-supplied arena (mmap'd by the exec hook), so it can run in a
 * vfork child or after fork in a threaded program: no malloc, no locks.
 */
#ifndef SOCKSHIFT_ENVP_H
#define SOCKSHIFT_ENVP_H

#include <stddef.h>

struct envp_spec {
	const char *preload;            /* path of the shim library */
	char *const *keep;              /* "NAME=value" entries to add when NAME is missing */
	const char *fds;                /* "SOCKSHIFT_FDS=..." or NULL to drop it */
};

/* Bytes of arena envp_build() needs for this envp and spec. */
size_t envp_arena_size(char *const *envp, const struct envp_spec *spec);
/* Returns the new NULL-terminated envp inside arena, or NULL if the arena is too small. */
char **envp_build(void *arena, size_t size, char *const *envp, const struct envp_spec *spec);

#endif
