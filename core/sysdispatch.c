/*
 * sysdispatch — routes one socket-family system call through core. See sysdispatch.h.
 *
 * The lifecycle calls map one to one onto sock_*(); the data calls (sendto, recvmsg, ...)
 * go to the kernel and get the same debug line as the shim's data hooks; close drops the
 * fd's record like the close hook does. The busy flag is set for the whole call, so the
 * libc functions core uses run unpatched in effect.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "fdtable.h"
#include "log.h"
#include "ownfd.h"
#include "rawsys.h"
#include "real.h"
#include "sock.h"
#include "sysdispatch.h"

__thread int sysdispatch_busy __attribute__((tls_model("initial-exec")));

/* The process whose calls are routed (0: any). A task that shares our memory but is not
 * our process — CLONE_VM without CLONE_THREAD, like libvdestack's helper, which runs our
 * code with the TLS of the thread that made it, or a vfork child — gets the kernel call
 * as it asked: routing it could wait on a lock the other task holds. */
static long owner_pid;

void sysdispatch_set_owner(void)
{
	__atomic_store_n(&owner_pid, rawsys0(SYS_getpid), __ATOMIC_RELAXED);
}

static long io_done(const char *call, int fd, long r, const struct sockaddr *addr, socklen_t alen)
{
	if (LOG_ON(LOGL_DEBUG))
		sock_log_io(call, fd, r < 0 ? -1 : r, r < 0 ? (int)-r : 0, r < 0 ? NULL : addr, alen);
	return r;
}

static long do_close(int fd)
{
	if (ownfd_is(fd))
		return 0;   /* the log fd stays ours, as with the close hook */
	int known = fdt_known(fd);
	if (known)
		fdt_del(fd);
	long r = rawsys1(SYS_close, fd);
	if (known)
		sock_closed(fd, r < 0 ? -1 : (int)r, r < 0 ? (int)-r : 0);
	return r;
}

static long route(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	int fd = (int)a0;
	long r;

	switch (nr) {
	case SYS_close:
		return do_close(fd);
	case SYS_socket:
		return sock_socket(fd, (int)a1, (int)a2);
	case SYS_socketpair:
		return sock_socketpair(fd, (int)a1, (int)a2, (int *)a3);
	case SYS_connect:
		return sock_connect(fd, (const struct sockaddr *)a1, (socklen_t)a2);
	case SYS_bind:
		return sock_bind(fd, (const struct sockaddr *)a1, (socklen_t)a2);
	case SYS_listen:
		return sock_listen(fd, (int)a1);
	case SYS_accept:
		return sock_accept4(fd, (struct sockaddr *)a1, (socklen_t *)a2, 0, 0);
	case SYS_accept4:
		return sock_accept4(fd, (struct sockaddr *)a1, (socklen_t *)a2, (int)a3, 1);
	case SYS_getsockname:
		return sock_getsockname(fd, (struct sockaddr *)a1, (socklen_t *)a2);
	case SYS_getpeername:
		return sock_getpeername(fd, (struct sockaddr *)a1, (socklen_t *)a2);
	case SYS_setsockopt:
		return sock_setsockopt(fd, (int)a1, (int)a2, (const void *)a3, (socklen_t)a4);
	case SYS_getsockopt:
		return sock_getsockopt(fd, (int)a1, (int)a2, (void *)a3, (socklen_t *)a4);
	case SYS_shutdown:
		return sock_shutdown(fd, (int)a1);
	case SYS_sendto:
		r = rawsys6(nr, a0, a1, a2, a3, a4, a5);
		return io_done("sendto", fd, r, (const struct sockaddr *)a4, (socklen_t)a5);
	case SYS_recvfrom: {
		r = rawsys6(nr, a0, a1, a2, a3, a4, a5);
		socklen_t *alen = (socklen_t *)a5;
		return io_done("recvfrom", fd, r, (const struct sockaddr *)a4, a4 && alen ? *alen : 0);
	}
	case SYS_sendmsg: {
		const struct msghdr *m = (const struct msghdr *)a1;
		r = rawsys6(nr, a0, a1, a2, 0, 0, 0);
		return io_done("sendmsg", fd, r, m ? m->msg_name : NULL, m ? m->msg_namelen : 0);
	}
	case SYS_recvmsg:
		r = rawsys6(nr, a0, a1, a2, 0, 0, 0);
		if (r >= 0 && a1 && ((struct msghdr *)a1)->msg_controllen)
			sock_received_fds((struct msghdr *)a1);
		return io_done("recvmsg", fd, r, NULL, 0);
	case SYS_sendmmsg:
		r = rawsys6(nr, a0, a1, a2, a3, 0, 0);
		return io_done("sendmmsg", fd, r, NULL, 0);
	case SYS_recvmmsg:
		r = rawsys6(nr, a0, a1, a2, a3, a4, 0);
		for (long i = 0; i < r; i++)
			if (((struct mmsghdr *)a1)[i].msg_hdr.msg_controllen)
				sock_received_fds(&((struct mmsghdr *)a1)[i].msg_hdr);
		return io_done("recvmmsg", fd, r, NULL, 0);
	default:
		return rawsys6(nr, a0, a1, a2, a3, a4, a5);
	}
}

long sysdispatch_call(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	int was = sysdispatch_busy;
	long r;

	if (was || !sysdispatch_routed(nr))
		return rawsys6(nr, a0, a1, a2, a3, a4, a5);
	long owner = __atomic_load_n(&owner_pid, __ATOMIC_RELAXED);
	if (owner && rawsys0(SYS_getpid) != owner)
		return rawsys6(nr, a0, a1, a2, a3, a4, a5);
	sysdispatch_busy = 1;
	r = route(nr, a0, a1, a2, a3, a4, a5);
	sysdispatch_busy = was;
	return r;
}

/* ---- guards for the real table ---- */

#define GUARD(name, ret, params, args)                                            \
	static typeof(name) *orig_##name;                                         \
	static ret guard_##name params                                            \
	{                                                                         \
		int was_ = sysdispatch_busy;                                      \
		sysdispatch_busy = 1;                                             \
		ret r_ = orig_##name args;                                        \
		sysdispatch_busy = was_;                                          \
		return r_;                                                        \
	}

GUARD(socket, int, (int d, int t, int p), (d, t, p))
GUARD(socketpair, int, (int d, int t, int p, int sv[2]), (d, t, p, sv))
GUARD(bind, int, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
GUARD(connect, int, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
GUARD(listen, int, (int fd, int b), (fd, b))
GUARD(accept, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
GUARD(accept4, int, (int fd, struct sockaddr *a, socklen_t *l, int f), (fd, a, l, f))
GUARD(getsockname, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
GUARD(getpeername, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
GUARD(setsockopt, int, (int fd, int lv, int n, const void *v, socklen_t l), (fd, lv, n, v, l))
GUARD(getsockopt, int, (int fd, int lv, int n, void *v, socklen_t *l), (fd, lv, n, v, l))
GUARD(shutdown, int, (int fd, int h), (fd, h))
GUARD(send, ssize_t, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
GUARD(sendto, ssize_t, (int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l),
      (fd, b, n, f, a, l))
GUARD(sendmsg, ssize_t, (int fd, const struct msghdr *m, int f), (fd, m, f))
GUARD(sendmmsg, int, (int fd, struct mmsghdr *v, unsigned int n, int f), (fd, v, n, f))
GUARD(recv, ssize_t, (int fd, void *b, size_t n, int f), (fd, b, n, f))
GUARD(recvfrom, ssize_t, (int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l),
      (fd, b, n, f, a, l))
GUARD(recvmsg, ssize_t, (int fd, struct msghdr *m, int f), (fd, m, f))
GUARD(recvmmsg, int, (int fd, struct mmsghdr *v, unsigned int n, int f, struct timespec *t), (fd, v, n, f, t))
GUARD(close, int, (int fd), (fd))
GUARD(__recv_chk, ssize_t, (int fd, void *b, size_t n, size_t bl, int f), (fd, b, n, bl, f))
GUARD(__recvfrom_chk, ssize_t, (int fd, void *b, size_t n, size_t bl, int f, struct sockaddr *a, socklen_t *l),
      (fd, b, n, bl, f, a, l))

void sysdispatch_guard_real(void)
{
#define SWAP(name)                                                                \
	if (real.name && real.name != guard_##name) {                             \
		orig_##name = real.name;                                          \
		real.name = guard_##name;                                         \
	}
	SWAP(socket) SWAP(socketpair) SWAP(bind) SWAP(connect) SWAP(listen) SWAP(accept)
	SWAP(accept4) SWAP(getsockname) SWAP(getpeername) SWAP(setsockopt) SWAP(getsockopt)
	SWAP(shutdown) SWAP(send) SWAP(sendto) SWAP(sendmsg) SWAP(sendmmsg) SWAP(recv)
	SWAP(recvfrom) SWAP(recvmsg) SWAP(recvmmsg) SWAP(close) SWAP(__recv_chk)
	SWAP(__recvfrom_chk)
#undef SWAP
}
