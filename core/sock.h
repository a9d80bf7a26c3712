/*
 * sock — the logic behind every interposed socket call.
 *
 * The shim's hooks check nothing but the call, then call sock_<call>() and translate its
 * result: >= 0 on success, -errno on failure. Here the socket's stack is chosen, the call
 * reaches the kernel through the real table, the fd table is kept up to date, and at debug
 * level one line per call says what happened:
 *     sockshift[42] debug: connect fd=3 127.0.0.1:8000 stack=kernel -> 0
 * Nothing here changes errno on success; failures come back as -errno.
 */
#ifndef SOCKSHIFT_SOCK_H
#define SOCKSHIFT_SOCK_H

#include <sys/socket.h>
#include <sys/types.h>

int sock_socket(int domain, int type, int protocol);
int sock_socketpair(int domain, int type, int protocol, int sv[2]);
int sock_bind(int fd, const struct sockaddr *addr, socklen_t len);
int sock_connect(int fd, const struct sockaddr *addr, socklen_t len);
int sock_listen(int fd, int backlog);
int sock_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags, int is_accept4);
int sock_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int sock_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int sock_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int sock_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int sock_shutdown(int fd, int how);

/* sendto()/sendmsg() with a destination: applies the routing rules (route.h) before the
 * shim sends; 0 to go on, -errno to fail the send. Call only when route_active(). */
int sock_route_sendto(int fd, const struct sockaddr *addr, socklen_t len);

/* Bookkeeping around calls the shim forwards itself. */
void sock_closed(int fd, int ret, int err);
void sock_closed_range(unsigned first, unsigned last, int flags, int ret, int err);
void sock_duped(const char *call, int oldfd, int newfd, int cloexec, int err);
void sock_fcntl_done(int fd, int cmd, long arg, int ret, int err);
/* After a successful ioctl on a known socket: FIOCLEX/FIONCLEX and FIONBIO change what the
 * fd table records (close-on-exec, O_NONBLOCK). */
void sock_ioctl_done(int fd, unsigned long req);
/* recvmsg()/recvmmsg(): adopt socket fds received with SCM_RIGHTS. */
void sock_received_fds(const struct msghdr *msg);

/* Debug line for a data call (send/recv family). ret < 0 means it failed with err. */
void sock_log_io(const char *call, int fd, long ret, int err, const struct sockaddr *addr,
		 socklen_t alen);

/* Takes over the sockets a parent passed through exec (SOCKSHIFT_FDS value). Each fd is
 * checked against the kernel; stale entries are dropped. 0 or -errno with err filled. */
int sock_adopt_inherited(const char *value, char *err, size_t errlen);

#endif
