/*
 * progfd — the program's fds, seen from a thread of sockshift's own that runs on a private
 * fd table.
 *
 * Why. The kernel's fdget() skips the atomic reference count of a file only while the fd
 * table is not shared (files_struct refcount 1). Every pthread shares it, so one idle
 * background thread makes every socket call of the program pay the atomics (+60-70 ns per
 * recv() measured, docs/benchmarks.md). sockshift's threads (the checkpoint control thread,
 * the control-socket server) therefore call progfd_detach() first: unshare(CLONE_FILES), then
 * close everything they inherited except what they keep, so the program's table is unshared
 * again and the thread holds no reference to a program file (a pipe end the program closes
 * still gives its reader EOF).
 *
 * A detached thread reaches one program fd through a copy made with pidfd_getfd(2) (the same
 * thread group: no ptrace permission needed):
 *
 *	int l = progfd_get(fd);        the program's fd number in, a usable fd (or -errno) out
 *	... getsockopt(l, ...), ioctl(l, ...), TCP_REPAIR on l ...
 *	progfd_put(fd, l);             closes the copy (nothing when l == fd)
 *
 * On a thread that shares the program's table (the program's threads, tests, a sockshift
 * thread before it detached) progfd_get returns fd itself. A copy is the same open file:
 * status flags, socket state and options are shared; fd flags (FD_CLOEXEC) are not — read
 * them from the fd table's records (fdtable.h), never from a copy.
 *
 * Numbers. On a detached thread an fd number means a file of that thread's table, so what
 * is kept per program fd number ignores it: fdtable lookups by number find nothing there
 * (fdt_foreach still lists the program's records), so hooks entered from such a thread
 * (libnftables' netlink socket, image files) go straight to the kernel and never touch a
 * program record. Logging from a detached thread writes to the program's log fd through a
 * copy (log.c).
 *
 * If the program's main thread has exited (pthread_exit in main) the copies come from another
 * live program thread (its pidfd, PIDFD_THREAD); -ESRCH when none is left.
 * Everything here uses raw system calls only, so it is async-signal-safe.
 */
#ifndef SOCKSHIFT_PROGFD_H
#define SOCKSHIFT_PROGFD_H

/* Nonzero on a thread that has detached (read directly: one TLS load). */
extern __thread int progfd_private __attribute__((tls_model("initial-exec")));

static inline int progfd_detached(void)
{
	return __builtin_expect(progfd_private, 0);
}

/*
 * Detaches the calling thread's fd table (see above): unshare(CLONE_FILES), close every fd
 * but the nkeep numbers in keep (they stay, at the same numbers, in the private table), then
 * /dev/null on 0, 1 and 2 (unless kept) so the thread's own files never take those numbers.
 * 0, or -errno (the thread then still shares the program's table).
 */
int progfd_detach(const int *keep, unsigned nkeep);

/* A usable fd for the program's fd number progfd (see above), or -errno (-EBADF: the
 * program has no such fd). */
int progfd_get(int progfd);
/* Gives back what progfd_get returned for progfd. */
void progfd_put(int progfd, int local);

/* In a fork child: the sockshift threads were the parent's. */
void progfd_fork_child(void);

#endif
