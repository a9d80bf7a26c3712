/*
 * hook_io — the data path: send/recv and their msg/mmsg and _FORTIFY_SOURCE variants.
 *
 * On a kernel-backed socket this is the real call plus one predictable branch (the debug
 * level), so the shim costs nothing measurable here (see docs/benchmarks.md). recvmsg and
 * recvmmsg also notice sockets arriving through SCM_RIGHTS.
 */
#include "route.h"
#include "quiesce.h"
#include "shim.h"
#include "sock.h"
#include "vpoll_gate.h"
#include "vsock_sock.h"

ssize_t __send(int fd, const void *buf, size_t len, int flags);
ssize_t __recv(int fd, void *buf, size_t len, int flags);
int __sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags);

#define LOG_IO(call, fd, r, addr, alen)                                                   \
	do {                                                                              \
		if (unlikely(LOG_ON(LOGL_DEBUG))) {                                       \
			int e_ = errno;                                                   \
			sock_log_io(call, fd, (long)(r), e_, addr, alen);                 \
			errno = e_;                                                       \
		}                                                                         \
	} while (0)

SHIM_API ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_sendto(fd, buf, len, flags, NULL, 0));
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.send(fd, buf, len, flags);
	quiesce_leave(q_);
	LOG_IO("send", fd, r, NULL, 0);
	return r;
}
SHIM_API ssize_t __send(int fd, const void *buf, size_t len, int flags) __attribute__((alias("send")));

SHIM_API ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
			socklen_t alen)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_sendto(fd, buf, len, flags, addr, alen));
	if (unlikely(addr && route_active())) { /* routing rules may pick another stack */
		int e = errno, rr = sock_route_sendto(fd, addr, alen);
		if (rr < 0)
			return shim_ret(rr, e);
	}
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.sendto(fd, buf, len, flags, addr, alen);
	quiesce_leave(q_);
	LOG_IO("sendto", fd, r, addr, alen);
	return r;
}

SHIM_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_sendmsg(fd, msg, flags));
	if (unlikely(msg && msg->msg_name && route_active())) {
		int e = errno, rr = sock_route_sendto(fd, msg->msg_name, msg->msg_namelen);
		if (rr < 0)
			return shim_ret(rr, e);
	}
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.sendmsg(fd, msg, flags);
	quiesce_leave(q_);
	LOG_IO("sendmsg", fd, r, msg ? msg->msg_name : NULL, msg ? msg->msg_namelen : 0);
	return r;
}

SHIM_API int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_sendmmsg(fd, vec, vlen, flags));
	struct quiesce_slot *q_ = quiesce_enter(fd);
	int r = real.sendmmsg(fd, vec, vlen, flags);
	quiesce_leave(q_);
	LOG_IO("sendmmsg", fd, r, NULL, 0);
	return r;
}
SHIM_API int __sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
	__attribute__((alias("sendmmsg")));

SHIM_API ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_recvfrom(fd, buf, len, flags, NULL, NULL));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.recv(fd, buf, len, flags);
	quiesce_leave(q_);
	LOG_IO("recv", fd, r, NULL, 0);
	return r;
}
SHIM_API ssize_t __recv(int fd, void *buf, size_t len, int flags) __attribute__((alias("recv")));

SHIM_API ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			  socklen_t *alen)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_recvfrom(fd, buf, len, flags, addr, alen));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.recvfrom(fd, buf, len, flags, addr, alen);
	quiesce_leave(q_);
	LOG_IO("recvfrom", fd, r, r >= 0 ? addr : NULL, r >= 0 && alen ? *alen : 0);
	return r;
}

SHIM_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_recvmsg(fd, msg, flags));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.recvmsg(fd, msg, flags);
	quiesce_leave(q_);
	if (r >= 0 && msg && msg->msg_controllen) {
		int e = errno;
		sock_received_fds(msg);
		errno = e;
	}
	LOG_IO("recvmsg", fd, r, NULL, 0);
	return r;
}

SHIM_API int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		      struct timespec *timeout)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_recvmmsg(fd, vec, vlen, flags));
	struct quiesce_slot *q_ = quiesce_enter(fd);
	int r = real.recvmmsg(fd, vec, vlen, flags, timeout);
	quiesce_leave(q_);
	if (r > 0) {
		int e = errno;
		for (int i = 0; i < r; i++)
			if (vec[i].msg_hdr.msg_controllen)
				sock_received_fds(&vec[i].msg_hdr);
		errno = e;
	}
	LOG_IO("recvmmsg", fd, r, NULL, 0);
	return r;
}

/* _FORTIFY_SOURCE=2 turns recv/recvfrom with a known buffer size into these. */
SHIM_API ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_recvfrom(fd, buf, len < buflen ? len : buflen, flags, NULL, NULL));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	if (unlikely(!real.__recv_chk))
		return errno = ENOSYS, -1;
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.__recv_chk(fd, buf, len, buflen, flags);
	quiesce_leave(q_);
	LOG_IO("recv", fd, r, NULL, 0);
	return r;
}

SHIM_API ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				struct sockaddr *addr, socklen_t *alen)
{
	shim_enter();
	VPOLL_GATE(fd, stack_vpoll_recvfrom(fd, buf, len < buflen ? len : buflen, flags, addr, alen));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	if (unlikely(!real.__recvfrom_chk))
		return errno = ENOSYS, -1;
	struct quiesce_slot *q_ = quiesce_enter(fd);
	ssize_t r = real.__recvfrom_chk(fd, buf, len, buflen, flags, addr, alen);
	quiesce_leave(q_);
	LOG_IO("recvfrom", fd, r, r >= 0 ? addr : NULL, r >= 0 && alen ? *alen : 0);
	return r;
}
