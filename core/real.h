/*
 * real — the one table of libc functions that core calls to reach the kernel stack.
 *
 * Inside the preload library these must be the *next* definitions (libc's), never the
 * shim's own hooks, so the shim fills the table with dlsym(RTLD_NEXT) before any hook runs
 * (shim/resolve.c). Tools and tests, which are not preloaded, call real_use_libc().
 * Signatures are taken with typeof so they can never drift from libc's.
 */
#ifndef SOCKSHIFT_REAL_H
#define SOCKSHIFT_REAL_H

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);
int close_range(unsigned int first, unsigned int last, int flags);

/* X(name, mandatory): the list every consumer expands. */
#define REAL_FUNCS(X)                                                                     \
	X(socket, 1) X(socketpair, 1) X(bind, 1) X(connect, 1) X(listen, 1) X(accept, 1)  \
	X(accept4, 1) X(getsockname, 1) X(getpeername, 1) X(setsockopt, 1)                \
	X(getsockopt, 1) X(shutdown, 1) X(send, 1) X(sendto, 1) X(sendmsg, 1)             \
	X(sendmmsg, 1) X(recv, 1) X(recvfrom, 1) X(recvmsg, 1) X(recvmmsg, 1)             \
	X(close, 1) X(dup, 1) X(dup2, 1) X(dup3, 1) X(fcntl, 1) X(fcntl64, 0)              \
	X(close_range, 0) X(closefrom, 0) X(fork, 1) X(_Fork, 0)                          \
	X(posix_spawn, 1) X(posix_spawnp, 1) X(execve, 1) X(execvpe, 1) X(execveat, 0)     \
	X(fexecve, 1) X(__recv_chk, 0) X(__recvfrom_chk, 0) \
	X(read, 1) X(write, 1) X(readv, 1) X(writev, 1) X(sigaction, 1) X(signal, 1)    \
	X(ioctl, 1)     \
	X(clone, 1) X(sendfile, 1) X(sendfile64, 0) X(splice, 0)

struct real_fns {
#define REAL_MEMBER(name, mandatory) typeof(name) *name;
	REAL_FUNCS(REAL_MEMBER)
#undef REAL_MEMBER
};

extern struct real_fns real;

/* For programs that are not preloaded (the tool, the tests): point the table at libc. */
void real_use_libc(void);

#endif
