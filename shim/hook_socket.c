/*
 * hook_socket — the socket lifecycle calls: creation, addressing, options, shutdown.
 * Each forwards to sock_*() in core, which picks the stack and keeps the fd table.
 * The exported glibc aliases (__socket, __connect) are the same functions.
 */
#include "quiesce.h"
#include "shim.h"
#include "sock.h"

int __socket(int domain, int type, int protocol);
int __connect(int fd, const struct sockaddr *addr, socklen_t len);

SHIM_API int socket(int domain, int type, int protocol)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_socket(domain, type, protocol), e);
}
SHIM_API int __socket(int domain, int type, int protocol) __attribute__((alias("socket")));

SHIM_API int socketpair(int domain, int type, int protocol, int sv[2])
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_socketpair(domain, type, protocol, sv), e);
}

SHIM_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_bind(fd, addr, len), e);
}

SHIM_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int e = errno;

	shim_enter();
	/* a connection made while frozen would be missed by the checkpoint: it waits */
	struct quiesce_slot *q_ = quiesce_enter(fd);
	int r = sock_connect(fd, addr, len);
	quiesce_leave(q_);
	return (int)shim_ret(r, e);
}
SHIM_API int __connect(int fd, const struct sockaddr *addr, socklen_t len) __attribute__((alias("connect")));

SHIM_API int listen(int fd, int backlog)
{
	int e = errno;

	shim_enter();
	struct quiesce_slot *q_ = quiesce_enter(fd);   /* the same for a new listener */
	int r = sock_listen(fd, backlog);
	quiesce_leave(q_);
	return (int)shim_ret(r, e);
}

SHIM_API int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int e = errno;

	shim_enter();
	struct quiesce_slot *q_ = quiesce_enter(fd);   /* a hand-over drains the queue */
	int r = sock_accept4(fd, addr, len, 0, 0);
	quiesce_leave(q_);
	return (int)shim_ret(r, e);
}

SHIM_API int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int e = errno;

	shim_enter();
	struct quiesce_slot *q_ = quiesce_enter(fd);   /* a hand-over drains the queue */
	int r = sock_accept4(fd, addr, len, flags, 1);
	quiesce_leave(q_);
	return (int)shim_ret(r, e);
}

SHIM_API int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_getsockname(fd, addr, len), e);
}

SHIM_API int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_getpeername(fd, addr, len), e);
}

SHIM_API int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_setsockopt(fd, level, name, val, len), e);
}

SHIM_API int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(sock_getsockopt(fd, level, name, val, len), e);
}

SHIM_API int shutdown(int fd, int how)
{
	int e = errno;

	shim_enter();
	struct quiesce_slot *q_ = quiesce_enter(fd);
	int r = sock_shutdown(fd, how);
	quiesce_leave(q_);
	return (int)shim_ret(r, e);
}
