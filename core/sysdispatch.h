/*
 * sysdispatch — the C-level hook behind every patched syscall site and the syscall()
 * function: socket-family system calls go to the same core logic as the shim's symbol
 * hooks (sock_*), everything else goes straight to the kernel.
 *
 * Routed numbers (x86-64): socket..getsockopt (41-55: socket, connect, accept, sendto,
 * recvfrom, sendmsg, recvmsg, shutdown, bind, listen, getsockname, getpeername,
 * socketpair, setsockopt, getsockopt), accept4 (288), recvmmsg (299), sendmmsg (307), and
 * close (3) so the fd table forgets sockets glibc closes itself. read/write/poll are not
 * routed: every stack sockshift has today hands out real kernel fds, on which they work.
 *
 * Recursion: core reaches the kernel through real.X, i.e. libc, whose syscall sites are
 * patched. A thread-local flag (sysdispatch_busy) marks "inside sockshift"; the stubs test
 * it before taking the slow path, so core's own calls go straight to the kernel. The
 * shim's symbol hooks get the same treatment through sysdispatch_guard_real(), which
 * swaps the socket entries of the real table for guards that set the flag around the
 * libc call — a call the symbol hook already routed is not routed a second time.
 */
#ifndef SOCKSHIFT_SYSDISPATCH_H
#define SOCKSHIFT_SYSDISPATCH_H

#include <stdint.h>

/* 1 if nr is one of the routed numbers above. */
static inline int sysdispatch_routed(long nr)
{
	return nr == 3 || (unsigned long)(nr - 41) <= 14 || nr == 288 || nr == 299 || nr == 307;
}

/* Runs one system call: routed numbers through core, the rest straight to the kernel.
 * Returns the kernel's convention: >= 0, or -errno. errno is never touched. */
long sysdispatch_call(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* Routes only the calls of the current process from now on (a CLONE_VM task that is not
 * a thread of it, such as libvdestack's helper, gets plain kernel calls); call again in a
 * forked child. Until called, every caller is routed. Costs one getpid per routed call. */
void sysdispatch_set_owner(void);

/* Makes core's own socket calls (and the shim hooks') bypass the patched sites; idempotent.
 * Call before patching, from the shim, after the real table is filled. */
void sysdispatch_guard_real(void);

/* What the stubs need: the entry that saves the full register and vector state and calls
 * sysdispatch_call(), and the %fs offset of the busy flag. 0 or -ENOTSUP (not x86-64). */
int sysdispatch_setup(uint64_t *entry, int32_t *tls_off, char *why, size_t whylen);

#endif
