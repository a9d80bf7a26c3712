/*
 * stack_vpoll — sockets of user-space plug-in stacks: fds that are not kernel sockets.
 *
 * A libioth plug-in whose stack lives in the process (LWIPv6, picoTCP, ...) answers
 * socket() with a *vpoll fd*: a kernel fd (libvpoll: an eventfd with EFD_VPOLL, /dev/vpoll,
 * or its user-space emulation, one end of an AF_UNIX socketpair) whose poll/select/epoll
 * readiness the plug-in sets from its stack's events. Everything else the program does with
 * that fd must reach the plug-in, through the libioth ABI (ioth_NAME_X with getstackdata
 * answering the stack), never the kernel. This module keeps the map and forwards:
 *
 *   program fd --map--> (stack id, plug-in fd)       plug-in fd = the number socket()
 *                                                    or accept() of the plug-in returned
 *   dup/dup2/dup3/F_DUPFD   a kernel dup of the vpoll fd (so readiness follows), mapped to
 *                           the same plug-in fd; a count of program fds per plug-in fd
 *   close                   the plug-in's close() when the last program fd goes; the
 *                           plug-in's own number stays open (hidden) until then
 *   socket API, read/write/readv/writev, send/recv family, fcntl F_GETFL/F_SETFL
 *                           -> the plug-in (read/write fall back to recv/send and
 *                              readv/writev to recvmsg/sendmsg when it lacks them)
 *   poll/select/epoll       the kernel's, on the vpoll fd: nothing to do
 *   fork                    the child keeps the map but not the stack's threads: calls
 *                           there fail with ENETDOWN, close only closes the fd
 *   exec                    the stack does not cross exec: these fds are close-on-exec
 *                           (dups included)
 *
 * The map is ours (an mmap'd array indexed by fd, like the fd table), not libfduserdata:
 * the hooks need a lock-free, malloc-free lookup that a signal handler may run, and the
 * per-fd record (stack id, state) already lives in the fd table. Hooks test one global
 * first (stack_vpoll_active, set when the first such socket is made), so kernel-backed
 * sockets pay one load and one predictable branch.
 *
 * Every function returns >= 0 or -errno and leaves errno alone.
 */
#ifndef SOCKSHIFT_STACK_VPOLL_H
#define SOCKSHIFT_STACK_VPOLL_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "progfd.h"

struct ioth_functions;

/* Nonzero once a user-space stack made a socket in this process. */
extern int stack_vpoll_active;

int stack_vpoll_lookup(int fd);
/* Is fd a user-space stack socket? One load while none exists. A detached sockshift thread
 * (progfd.h) has its own numbers: none of them is a program's plug-in socket. */
static inline int stack_vpoll_owns(int fd)
{
	if (__builtin_expect(!__atomic_load_n(&stack_vpoll_active, __ATOMIC_RELAXED), 1))
		return 0;
	return !progfd_detached() && stack_vpoll_lookup(fd);
}

/* The plug-in side of a stack (registered by stack_plugin.c when a plug-in's socket turns
 * out not to be a kernel socket; tests register fakes). set_current(stackdata) makes the
 * plug-in's getstackdata() answer stackdata on this thread and returns the previous value.
 * owner: the process whose memory holds the stack. */
struct stack_vpoll_backend {
	const struct ioth_functions *f;
	void *stackdata;
	long owner;
	void *(*set_current)(void *stackdata);
	/* The errno the plug-in's functions set: a plug-in loaded in its own link-map namespace
	 * has its own libc, whose errno is not ours (its __errno_location). NULL: ours. */
	int *(*errno_location)(void);
};
int stack_vpoll_register(unsigned stack_id, const struct stack_vpoll_backend *be);

/* Records fd, just returned by the plug-in of stack_id, as a socket of that stack: FD_CLOEXEC
 * set, flags (SOCK_NONBLOCK) passed on to the plug-in. 0 or -errno (fd is then closed). */
int stack_vpoll_adopt(unsigned stack_id, int fd, int flags);

/* The forwarded calls. */
int stack_vpoll_bind(int fd, const struct sockaddr *addr, socklen_t len);
int stack_vpoll_connect(int fd, const struct sockaddr *addr, socklen_t len);
int stack_vpoll_listen(int fd, int backlog);
/* Returns the new fd, already adopted; the caller records it in the fd table. */
int stack_vpoll_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int stack_vpoll_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int stack_vpoll_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int stack_vpoll_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int stack_vpoll_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int stack_vpoll_shutdown(int fd, int how);
ssize_t stack_vpoll_read(int fd, void *buf, size_t len);
ssize_t stack_vpoll_write(int fd, const void *buf, size_t len);
ssize_t stack_vpoll_readv(int fd, const struct iovec *iov, int n);
ssize_t stack_vpoll_writev(int fd, const struct iovec *iov, int n);
ssize_t stack_vpoll_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			     socklen_t *alen);
ssize_t stack_vpoll_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
			   socklen_t alen);
ssize_t stack_vpoll_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t stack_vpoll_sendmsg(int fd, const struct msghdr *msg, int flags);
int stack_vpoll_recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags);
int stack_vpoll_sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags);
/* fcntl: F_GETFL/F_SETFL go to the plug-in, F_DUPFD* duplicate (see dup), the rest are
 * the kernel's on the vpoll fd. */
int stack_vpoll_fcntl(int fd, int cmd, long arg);
/* ioctl FIONBIO: the plug-in's non-blocking mode; others go to the plug-in's ioctl. */
int stack_vpoll_ioctl(int fd, unsigned long req, void *arg);

/* dup family: newfd >= 0 asks for that number (dup2/dup3), -1 for the lowest free one
 * (dup, F_DUPFD from minfd). Returns the new fd. */
int stack_vpoll_dup(int oldfd, int newfd, int minfd);
/* close(): 0 or -errno. */
int stack_vpoll_close(int fd);
/* close_range()/closefrom() is about to close [first, last]: settles the mapped fds in it
 * (their plug-in sockets are closed when no program fd is left). */
void stack_vpoll_close_range(unsigned first, unsigned last);
/* dup2/dup3 onto fd, a mapped fd, is about to close it: settles its mapping. 0, or -EBUSY
 * if fd is the number the plug-in knows a socket by and dups of it live. */
int stack_vpoll_forget(int fd);

/* The plug-in fd behind fd and its stack id, for logs and tests; -EBADF if not mapped. */
int stack_vpoll_target(int fd, unsigned *stack_id);
/* How many program fds map to the plug-in fd pfd (tests). */
int stack_vpoll_refs(int pfd);
/* Tests: forget every mapping and backend. */
void stack_vpoll_reset(void);

#endif
