/*
 * hook_proc — fork and exec: children keep the shim, its configuration and their sockets.
 *
 * fork/_Fork hold the fd table's lock across the fork so the child never inherits it
 * locked (pthread_atfork covers fork; _Fork runs no atfork handlers, so it is done here).
 * vfork is performed as fork: a wrapper function cannot return into a vfork child safely
 * (the child would reuse the parent's stack frame). Programs see the same results.
 * exec* and posix_spawn* pass an environment built by shim_exec_env(): LD_PRELOAD with
 * the shim, the SOCKSHIFT_* settings, and the sockets that survive the exec. Before an
 * exec the plug-in stacks this process made end (stack_helper.h); clone() is hooked only
 * so that a plug-in's helper process dies with the program.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "envp.h"
#include "fdenv.h"
#include "fdtable.h"
#include "rawsys.h"
#include "shim.h"
#include "stack_helper.h"

extern char **environ;
extern char shim_self_path[];
extern char *shim_keep_env[];

pid_t __fork(void);
pid_t __vfork(void);
pid_t _Fork(void);
int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);

SHIM_API pid_t fork(void)
{
	shim_enter_nostart();
	pid_t p = real.fork();
	if (p > 0)
		logd("fork -> child %d", (int)p);
	return p;
}
SHIM_API pid_t __fork(void) __attribute__((alias("fork")));

SHIM_API pid_t vfork(void)
{
	return fork();
}
SHIM_API pid_t __vfork(void) __attribute__((alias("vfork")));

SHIM_API pid_t _Fork(void)
{
	shim_enter_nostart();
	if (unlikely(!real._Fork))
		return errno = ENOSYS, -1;
	fdt_fork_prepare();
	pid_t p = real._Fork();
	if (p == 0)
		fdt_fork_child();
	else
		fdt_fork_parent();
	return p;
}

/* A plug-in's helper (libvdestack clones one per stack) is started through here. */
SHIM_API int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	int e = errno;
	va_list ap;

	shim_enter_nostart();
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	return (int)shim_ret(stack_helper_clone(fn, stack, flags, arg, ptid, tls, ctid), e);
}

static void *arena_alloc(size_t size)
{
	long p = rawsys6(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p < 0 && p > -4096 ? NULL : (void *)p;
}

void shim_exec_env_free(void *arena, size_t size)
{
	if (arena)
		rawsys2(SYS_munmap, arena, size);
}

char **shim_exec_env(char *const envp[], void **arena, size_t *size)
{
	struct envp_spec spec = { shim_self_path[0] ? shim_self_path : NULL, shim_keep_env, NULL };
	size_t fsz = (fdenv_size_hint() + 63) & ~(size_t)63;
	size_t esz = envp_arena_size(envp, &spec) + 1;
	char **out;

	*size = fsz + esz;
	*arena = arena_alloc(*size);
	if (!*arena)
		return errno = ENOMEM, NULL;
	long n = fdenv_encode(*arena, fsz);
	if (n < 0)
		logw("exec: too many inherited sockets to describe; the child will not know their options");
	spec.fds = n > 0 ? *arena : NULL;
	out = envp_build((char *)*arena + fsz, esz, envp, &spec);
	if (!out) {
		shim_exec_env_free(*arena, *size);
		return errno = E2BIG, NULL;
	}
	return out;
}

/* Runs one exec-family call with the shim's environment; returns only on failure. */
#define WITH_ENV(dirfd, path, envp, call)                                                 \
	({                                                                                \
		void *arena_;                                                             \
		size_t size_;                                                             \
		char **env_ = shim_exec_env(envp, &arena_, &size_);                       \
		int r_ = -1;                                                              \
		if (env_) {                                                               \
			int ended_ = stack_helper_exec_prepare(dirfd, path);              \
			r_ = (call);                                                      \
			int e_ = errno;                                                   \
			stack_helper_exec_failed(ended_);                                 \
			shim_exec_env_free(arena_, size_);                                \
			errno = e_;                                                       \
		}                                                                         \
		r_;                                                                       \
	})

SHIM_API int execve(const char *path, char *const argv[], char *const envp[])
{
	shim_enter_nostart();
	logd("execve %s", path);
	return WITH_ENV(AT_FDCWD, path, envp, real.execve(path, argv, env_));
}

SHIM_API int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
	shim_enter_nostart();
	logd("execvpe %s", file);
	const char *path = strchr(file, '/') ? file : NULL; /* else a PATH search */
	return WITH_ENV(AT_FDCWD, path, envp, real.execvpe(file, argv, env_));
}

SHIM_API int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

SHIM_API int fexecve(int fd, char *const argv[], char *const envp[])
{
	shim_enter_nostart();
	logd("fexecve fd=%d", fd);
	return WITH_ENV(AT_FDCWD, NULL, envp, real.fexecve(fd, argv, env_));
}

SHIM_API int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	shim_enter_nostart();
	if (unlikely(!real.execveat))
		return errno = ENOSYS, -1;
	logd("execveat %s", path);
	const char *file = (flags & AT_EMPTY_PATH) && !*path ? NULL : path;
	return WITH_ENV(dirfd, file, envp, real.execveat(dirfd, path, argv, env_, flags));
}

/* execl, execlp, execle: collect the variadic argv (the count is bounded by ARG_MAX). */
#define COLLECT_ARGS(arg0, ap, argv, envp_out)                                            \
	size_t n_ = 1;                                                                    \
	va_start(ap, arg0);                                                               \
	while (va_arg(ap, const char *))                                                  \
		n_++;                                                                     \
	va_end(ap);                                                                       \
	char *argv[n_ + 1];                                                               \
	argv[0] = (char *)(arg0);                                                         \
	va_start(ap, arg0);                                                               \
	for (size_t i_ = 1; i_ <= n_; i_++)                                               \
		argv[i_] = va_arg(ap, char *);                                            \
	envp_out;                                                                         \
	va_end(ap);

SHIM_API int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv, (void)0)
	return execve(path, argv, environ);
}

SHIM_API int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv, (void)0)
	return execvpe(file, argv, environ);
}

SHIM_API int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp;
	COLLECT_ARGS(arg, ap, argv, envp = va_arg(ap, char *const *))
	return execve(path, argv, envp);
}

static int spawn_common(int usepath, pid_t *pid, const char *path,
			const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
			char *const argv[], char *const envp[])
{
	void *arena;
	size_t size;
	int r;

	shim_enter_nostart();
	char **env = shim_exec_env(envp ? envp : environ, &arena, &size);
	if (!env)
		return errno;
	r = usepath ? real.posix_spawnp(pid, path, fa, attr, argv, env)
		    : real.posix_spawn(pid, path, fa, attr, argv, env);
	shim_exec_env_free(arena, size);
	logd("%s %s -> %d", usepath ? "posix_spawnp" : "posix_spawn", path, r ? -1 : (pid ? *pid : 0));
	return r;
}

SHIM_API int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(0, pid, path, fa, attr, argv, envp);
}

SHIM_API int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(1, pid, file, fa, attr, argv, envp);
}
