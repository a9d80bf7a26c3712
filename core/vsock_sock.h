/*
 * vsock_sock — the socket calls of a program's sockets on the vsock stack.
 *
 * sock.c hands a call here when vsock_sock_owns(fd): the fd is a socket made by the vsock
 * stack (stack_vsock.c), a real AF_VSOCK stream socket in a guest or an AF_UNIX stream
 * socket to the VMM in hybrid mode, which the program believes is AF_INET/AF_INET6 TCP.
 * These functions translate addresses with the mapping rules, emulate TCP options and map
 * errors (all in vsock.h), keep the fd table up to date (state, options) and log like
 * sock.c. Each returns >= 0 or -errno and leaves errno alone.
 *
 * The data path (send/recv, poll, epoll, fcntl, shutdown, close) needs nothing from here:
 * the fd is a real kernel stream socket and the kernel's answers are already TCP-like.
 */
#ifndef SOCKSHIFT_VSOCK_SOCK_H
#define SOCKSHIFT_VSOCK_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

#include "vsock.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The one vsock stack of the process (filled by stack_vsock_open). */
struct vsock_state {
	int open;                   /* a vsock stack exists */
	unsigned stack_id;
	int hybrid;                 /* 1: AF_UNIX to a Firecracker/CH VMM at uds */
	char uds[108];
	uint32_t local_cid;         /* guest: from /dev/vsock */
	struct vsock_rules out;     /* vsock_connect rules */
	struct vsock_rules in;      /* vsock_listen rules */
	int hvshakes;               /* hybrid connects awaiting the VMM's answer */
};
extern struct vsock_state vsock_state;

/* The read hooks' gate (recv, read and kin): while a hybrid non-blocking connect awaits the
 * VMM's answer, the first read of that fd consumes the "OK" line, so the program gets only
 * what followed it. 0: read on; -EAGAIN: non-blocking and the line is not complete yet;
 * else the connect's error (ECONNREFUSED, EPROTO, ETIMEDOUT). One load and one predictable
 * branch for every other fd while no such connect is pending. */
int vsock_sock_read_gate(int fd);
static inline int vsock_read_gate(int fd)
{
	if (__builtin_expect(__atomic_load_n(&vsock_state.hvshakes, __ATOMIC_RELAXED) != 0, 0))
		return vsock_sock_read_gate(fd);
	return 0;
}

/* Cheap (one load) when no vsock stack is open. */
int vsock_sock_owns(int fd);

/* A new vsock-stack socket (ops->socket of the stack). */
int vsock_sock_socket(int domain, int type, int protocol);
int vsock_sock_bind(int fd, const struct sockaddr *addr, socklen_t len);
int vsock_sock_connect(int fd, const struct sockaddr *addr, socklen_t len);
int vsock_sock_listen(int fd, int backlog);
/* Accepts and records the new socket in the fd table (origin accept). */
int vsock_sock_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags, int is_accept4);
int vsock_sock_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int vsock_sock_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int vsock_sock_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int vsock_sock_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
/* dup/dup2/dup3/F_DUPFD: newfd shares oldfd's addresses. */
void vsock_sock_dup(int oldfd, int newfd);
/* For rehome (a socket moving to the vsock stack under its fd): sets again an option the fd
 * table recorded. Emulated (TCP/IP-level) options need nothing, their values stay in the
 * fd table and are read back from there; others go to the kernel. 0 or -errno. */
int vsock_sock_replay_opt(int nfd, int level, int name, const void *val, socklen_t len);
/* close/close_range: forgets the records of those fds. */
void vsock_sock_closed(unsigned first, unsigned last);

/* Checkpoints: a vsock connection cannot go through TCP_REPAIR. Returns 1 and a reason in
 * why for a vsock-stack socket (so a checkpoint lists it as not checkpointable), else 0. */
int vsock_sock_not_checkpointable(int fd, char *why, size_t whylen);

/* Test hook: forget the per-fd records and close the stack state. */
void vsock_sock_reset(void);

#endif
