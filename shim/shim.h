/*
 * shim — internal declarations of the preload library. Hooks live in hook_*.c, one file
 * per family of calls; each checks its arguments, calls one core function (sock_*) or the
 * real libc function, and turns a -errno result into errno at this boundary only.
 */
#ifndef SOCKSHIFT_SHIM_H
#define SOCKSHIFT_SHIM_H

#include <errno.h>
#include <stdatomic.h>

#include "log.h"
#include "real.h"

#define SHIM_API __attribute__((visibility("default")))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Exit status of a program stopped at start by a bad configuration (documented). */
#define SHIM_EXIT_CONFIG 125

extern atomic_int shim_ready;
void shim_init(void);

/* Every hook starts with this: hooks may run before our constructor (other libraries'
 * constructors, or the dynamic loader's order), so initialisation is on first use. In a
 * fork child the first call also starts its checkpoint control thread (init.c). */
static inline void shim_enter(void)
{
	if (unlikely(!atomic_load_explicit(&shim_ready, memory_order_acquire)))
		shim_init();
}

/* Nonzero in a fork child whose control thread is not started yet (init.c). */
extern atomic_int shim_fork_pending;

/* The same for the calls a child makes between fork and exec (close, dup2, fcntl, exec,
 * fork): they do not start a fork child's control thread, so fork + exec costs no thread. */
static inline void shim_enter_nostart(void)
{
	if (unlikely(!atomic_load_explicit(&shim_ready, memory_order_acquire)) &&
	    !atomic_load_explicit(&shim_fork_pending, memory_order_relaxed))
		shim_init();
}

/* The one place a -errno result becomes errno; success restores the caller's errno. */
static inline long shim_ret(long r, int saved_errno)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	errno = saved_errno;
	return r;
}

/* The control socket (control.c): started at init unless SOCKSHIFT_CONTROL=off. */
struct config;
void shim_control_start(const struct config *cfg);

/* Fills the real table with the next definitions (libc's); fatal if one is our own. */
void shim_resolve(void);
/* Syscall-site patching (shim/patch.c) and the syscall() hook (hook_syscall.c). */
struct config;
void shim_patch_start(const struct config *cfg);
void shim_syscall_resolve(void);

/* Writes a message to stderr with raw syscalls and ends the process. */
__attribute__((noreturn)) void shim_fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The environment an exec'd child gets (hook_exec.c); NULL with errno set on failure.
 * The arena (*arena, *size) must be released with shim_exec_env_free() if the exec returns. */
char **shim_exec_env(char *const envp[], void **arena, size_t *size);
void shim_exec_env_free(void *arena, size_t size);

#endif
