/*
 * ioth_lwipv6 — a libioth plug-in (see ioth_abi.h) for a user-space TCP/IP stack: Debian's
 * LWIPv6 (liblwipv6, virtualsquare) with one VDE interface per VNL.
 *
 *     plugin:lwipv6,addr=10.0.0.2/24[,addr=fd00::2/64][,gw=10.0.0.254] vde:///tmp/sw
 *
 * Options (comma-separated): addr=ADDRESS/PREFIX (IPv4 or IPv6, repeatable, on the first
 * interface), gw=ADDRESS (default route through the first interface). Every interface is
 * brought up.
 *
 * The program's fd for a socket is a vpoll fd (libvpoll, vpoll_create): LWIPv6's own
 * socket numbers are not pollable (each is a dummy kernel UDP socket that never becomes
 * readable), so this plug-in keeps a table vpoll fd -> LWIPv6 socket and drives the vpoll
 * fd's events from the stack:
 *   EPOLLIN   lwip_event_subscribe(POLLIN) — one-shot: it answers "ready now" or calls us
 *             back later from the stack's thread; re-armed after every receive.
 *   EPOLLOUT  always on: LWIPv6's send blocks until the data is queued, so a writable fd
 *             never makes a program spin.
 *   listeners LWIPv6 does not report a pending connection on the listening socket, so
 *             listen() starts a thread that accepts (blocking) into a small queue;
 *             EPOLLIN = queue not empty, accept() takes from it.
 * On this kernel libvpoll runs its user-space emulation (no EFD_VPOLL, no /dev/vpoll): the
 * fd is one end of an AF_UNIX socketpair, which supports EPOLLIN, EPOLLOUT and a one-way
 * EPOLLHUP only.
 *
 * Built as ioth_lwipv6.so (not -r): loaded with dlmopen(LM_ID_NEWLM), so LWIPv6, libvpoll
 * and the libc they call are a private copy outside sockshift's interposition — the stack's
 * own socket(), read() and write() (its dummy sockets, the VDE connection, libvpoll's
 * socketpair) go straight to the kernel instead of back into the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <arpa/inet.h>
#include <lwipv6.h>
#include <vpoll.h>

#include "ioth_abi.h"

#define EXPORT __attribute__((visibility("default")))
#define VSK_MAX 65536
#define ACCEPT_QUEUE 64
#define ADDR_MAX 8

EXPORT const char *ioth_lwipv6_license = "SPDX-License-Identifier: GPL-2.0-or-later";

static void *(*getstackdata)(void);

struct lstack {
	struct stack *ls;
	struct sockaddr_in addr4;       /* the first addr= of each family, for getsockname */
	struct sockaddr_in6 addr6;
};

/* One program-visible socket: vpoll fd efd, LWIPv6 socket s. */
struct vsk {
	int efd;
	int s;
	int family;
	int nonblock;
	int in_on;                  /* EPOLLIN is set on efd */
	int listening;
	int closed;                 /* the program closed it (a listener's thread may run on) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int q[ACCEPT_QUEUE];        /* listeners: accepted LWIPv6 sockets */
	int qn;
	struct lstack *st;
	struct sockaddr_storage local;  /* what getsockname answers (LWIPv6's own gives the peer) */
	socklen_t local_len;            /* 0: not bound yet */
};

static struct vsk *vsks[VSK_MAX];
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;

static struct vsk *get(int fd)
{
	if (fd < 0 || fd >= VSK_MAX || !vsks[fd] || vsks[fd]->closed) {
		errno = EBADF;
		return NULL;
	}
	return vsks[fd];
}

static void set_local(struct vsk *v, const struct sockaddr *a, socklen_t l);

static void set_in(struct vsk *v, int on)
{
	if (v->in_on == on)
		return;
	v->in_on = on;
	vpoll_ctl(v->efd, on ? VPOLL_CTL_ADDEVENTS : VPOLL_CTL_DELEVENTS, EPOLLIN);
}

/* The stack's callback (its own thread, LWIPv6's select lock held): data arrived. */
static void in_ready(void *arg)
{
	struct vsk *v = arg;

	pthread_mutex_lock(&v->mu);
	if (!v->closed)
		set_in(v, 1);
	pthread_mutex_unlock(&v->mu);
}

/* After a receive: EPOLLIN off, then on again if data is still there, else a callback is
 * armed (the order loses no wake-up: a callback after the subscribe sets it again). */
static void rearm(struct vsk *v)
{
	if (v->listening)
		return;
	pthread_mutex_lock(&v->mu);
	set_in(v, 0);
	pthread_mutex_unlock(&v->mu);
	if (lwip_event_subscribe((lwipvoidfun)in_ready, v, v->s, POLLIN) & POLLIN)
		in_ready(v);
}

/* Wraps LWIPv6 socket s in a new vpoll fd; returns the fd or -1 with errno. */
static int wrap(struct lstack *st, int s)
{
	struct vsk *v = calloc(1, sizeof(*v));
	int efd;

	if (!v)
		return errno = ENOMEM, -1;
	fcntl(s, F_SETFD, FD_CLOEXEC); /* LWIPv6's dummy kernel socket */
	efd = vpoll_create(EPOLLOUT, FD_CLOEXEC);
	if (efd < 0 || efd >= VSK_MAX) {
		int e = efd < 0 ? errno : EMFILE;
		if (efd >= 0)
			vpoll_close(efd);
		free(v);
		return errno = e, -1;
	}
	v->efd = efd;
	v->s = s;
	v->st = st;
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	pthread_mutex_lock(&table_mu);
	vsks[efd] = v;
	pthread_mutex_unlock(&table_mu);
	rearm(v);
	return efd;
}

EXPORT int ioth_lwipv6_socket(int domain, int type, int protocol)
{
	struct lstack *st = getstackdata();
	int nonblock = !!(type & SOCK_NONBLOCK);
	int s = lwip_msocket(st->ls, domain, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol);
	int fd;

	if (s < 0)
		return -1;
	fd = wrap(st, s);
	if (fd < 0) {
		int e = errno;
		lwip_close(s);
		return errno = e, -1;
	}
	vsks[fd]->family = domain;
	if (nonblock) {
		vsks[fd]->nonblock = 1;
		lwip_fcntl(s, F_SETFL, O_NONBLOCK);
	}
	return fd;
}

EXPORT int ioth_lwipv6_close(int fd)
{
	struct vsk *v = get(fd);

	if (!v)
		return -1;
	pthread_mutex_lock(&v->mu);
	v->closed = 1;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	pthread_mutex_lock(&table_mu);
	vsks[fd] = NULL;
	pthread_mutex_unlock(&table_mu);
	lwip_event_subscribe(NULL, v, v->s, POLLIN);
	vpoll_close(v->efd);
	/* A listener's accept thread owns its record and socket from now on (it is blocked in
	 * lwip_accept, which a close would pull from under it): the port stays taken and
	 * later connections are closed as they come. */
	if (!v->listening) {
		lwip_close(v->s);
		pthread_mutex_destroy(&v->mu);
		pthread_cond_destroy(&v->cv);
		free(v);
	}
	return 0;
}

static void *accepter(void *arg)
{
	struct vsk *v = arg;

	for (;;) {
		int a = lwip_accept(v->s, NULL, NULL);
		if (a < 0)
			continue;
		pthread_mutex_lock(&v->mu);
		if (v->closed || v->qn == ACCEPT_QUEUE) {
			pthread_mutex_unlock(&v->mu);
			lwip_close(a);
			continue;
		}
		v->q[v->qn++] = a;
		set_in(v, 1);
		pthread_cond_broadcast(&v->cv);
		pthread_mutex_unlock(&v->mu);
	}
	return NULL;
}

EXPORT int ioth_lwipv6_listen(int fd, int backlog)
{
	struct vsk *v = get(fd);
	pthread_t t;

	if (!v)
		return -1;
	if (v->listening)
		return 0;
	if (lwip_listen(v->s, backlog) < 0)
		return -1;
	lwip_event_subscribe(NULL, v, v->s, POLLIN);
	pthread_mutex_lock(&v->mu);
	v->listening = 1;
	set_in(v, 0);
	pthread_mutex_unlock(&v->mu);
	if (pthread_create(&t, NULL, accepter, v) != 0)
		return errno = ENOMEM, -1;
	pthread_detach(t);
	return 0;
}

EXPORT int ioth_lwipv6_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct vsk *v = get(fd);
	int a, nfd;

	if (!v)
		return -1;
	if (!v->listening)
		return errno = EINVAL, -1;
	pthread_mutex_lock(&v->mu);
	while (!v->qn && !v->nonblock && !v->closed)
		pthread_cond_wait(&v->cv, &v->mu);
	if (!v->qn) {
		pthread_mutex_unlock(&v->mu);
		return errno = v->closed ? EBADF : EAGAIN, -1;
	}
	a = v->q[0];
	memmove(v->q, v->q + 1, sizeof(int) * (size_t)--v->qn);
	if (!v->qn)
		set_in(v, 0);
	pthread_mutex_unlock(&v->mu);
	if (addr && len && lwip_getsockname(a, addr, len) < 0)   /* the peer: see getpeername */
		*len = 0;
	nfd = wrap(v->st, a);
	if (nfd < 0) {
		int e = errno;
		lwip_close(a);
		return errno = e, -1;
	}
	vsks[nfd]->family = v->family;
	if (v->local_len)
		set_local(vsks[nfd], (struct sockaddr *)&v->local, v->local_len);
	return nfd;
}

#define SOCK_OR_FAIL(fd) ({ struct vsk *v_ = get(fd); if (!v_) return -1; v_; })

/* Records the local address of v: a, with a wildcard address replaced by the stack's own. */
static void set_local(struct vsk *v, const struct sockaddr *a, socklen_t l)
{
	if (l > sizeof(v->local))
		l = sizeof(v->local);
	memcpy(&v->local, a, l);
	v->local_len = l;
	if (a->sa_family == AF_INET && ((struct sockaddr_in *)&v->local)->sin_addr.s_addr == 0)
		((struct sockaddr_in *)&v->local)->sin_addr = v->st->addr4.sin_addr;
	if (a->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&v->local)->sin6_addr))
		((struct sockaddr_in6 *)&v->local)->sin6_addr = v->st->addr6.sin6_addr;
}

static unsigned long port_seed;
static pid_t stack_owner;       /* the process whose threads run the stacks */

/* A random ephemeral port: LWIPv6 starts every stack at the same one, so a program run
 * twice would reuse the 4-tuple its first run left open at the peer (LWIPv6's threads end
 * with the process, no FIN sent) and meet a reset. */
static int bind_ephemeral(struct vsk *v, int family)
{
	for (int tries = 0; tries < 16; tries++) {
		struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
		port_seed = port_seed * 6364136223846793005UL + 1442695040888963407UL;
		unsigned short port = htons((unsigned short)(32768 + (port_seed >> 33) % 28000));
		socklen_t l = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = port;
		else
			((struct sockaddr_in *)&ss)->sin_port = port;
		if (lwip_bind(v->s, (struct sockaddr *)&ss, l) == 0) {
			set_local(v, (struct sockaddr *)&ss, l);
			return 0;
		}
	}
	return -1;
}

EXPORT int ioth_lwipv6_bind(int fd, const struct sockaddr *a, socklen_t l)
{
	struct vsk *v = SOCK_OR_FAIL(fd);

	if (lwip_bind(v->s, a, l) < 0)
		return -1;
	set_local(v, a, l);
	return 0;
}

EXPORT int ioth_lwipv6_connect(int fd, const struct sockaddr *a, socklen_t l)
{
	struct vsk *v = SOCK_OR_FAIL(fd);

	if (!v->local_len && a && (a->sa_family == AF_INET || a->sa_family == AF_INET6) &&
	    bind_ephemeral(v, a->sa_family) < 0)
		return errno = EADDRNOTAVAIL, -1;
	return lwip_connect(v->s, a, l);
}

EXPORT int ioth_lwipv6_getsockname(int fd, struct sockaddr *a, socklen_t *l)
{
	struct vsk *v = SOCK_OR_FAIL(fd);

	if (!a || !l)
		return errno = EFAULT, -1;
	if (!v->local_len) {   /* not bound: the wildcard address, port 0 */
		struct sockaddr_storage any = { .ss_family = (sa_family_t)v->family };
		socklen_t n = v->family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		memcpy(a, &any, *l < n ? *l : n);
		*l = n;
		return 0;
	}
	if (!a || !l)
		return errno = EFAULT, -1;
	memcpy(a, &v->local, *l < v->local_len ? *l : v->local_len);
	*l = v->local_len;
	return 0;
}

/* Debian's LWIPv6 1.5a answers getsockname() with the peer's address and getpeername()
 * (and accept()'s address) with zeros, measured on amd64: the peer comes from the former,
 * the local address is recorded here at bind/connect/accept. */
EXPORT int ioth_lwipv6_getpeername(int fd, struct sockaddr *a, socklen_t *l)
{
	return lwip_getsockname(SOCK_OR_FAIL(fd)->s, a, l);
}

EXPORT int ioth_lwipv6_setsockopt(int fd, int level, int name, const void *val, socklen_t l)
{
	struct vsk *v = SOCK_OR_FAIL(fd);

	/* LWIPv6 prints unknown IPv6-level options on stdout: refuse them here instead. */
	if (level == IPPROTO_IPV6 && name != IPV6_UNICAST_HOPS && name != IPV6_MULTICAST_HOPS)
		return errno = ENOPROTOOPT, -1;
	return lwip_setsockopt(v->s, level, name, val, l);
}

EXPORT int ioth_lwipv6_getsockopt(int fd, int level, int name, void *val, socklen_t *l)
{
	return lwip_getsockopt(SOCK_OR_FAIL(fd)->s, level, name, val, l);
}

EXPORT int ioth_lwipv6_shutdown(int fd, int how)
{
	return lwip_shutdown(SOCK_OR_FAIL(fd)->s, how);
}

EXPORT int ioth_lwipv6_fcntl(int fd, int cmd, long arg)
{
	struct vsk *v = SOCK_OR_FAIL(fd);

	switch (cmd) {
	case F_GETFL:
		return O_RDWR | (v->nonblock ? O_NONBLOCK : 0);
	case F_SETFL:
		v->nonblock = !!(arg & O_NONBLOCK);
		lwip_fcntl(v->s, F_SETFL, v->nonblock ? O_NONBLOCK : 0);
		pthread_mutex_lock(&v->mu);
		pthread_cond_broadcast(&v->cv);
		pthread_mutex_unlock(&v->mu);
		return 0;
	}
	return errno = EINVAL, -1;
}

EXPORT int ioth_lwipv6_ioctl(int fd, unsigned long req, void *arg)
{
	struct vsk *v = SOCK_OR_FAIL(fd);

	if (req == FIONBIO && arg)
		return ioth_lwipv6_fcntl(fd, F_SETFL, *(int *)arg ? O_NONBLOCK : 0);
	return lwip_ioctl(v->s, (long)req, arg);
}

EXPORT ssize_t ioth_lwipv6_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *a,
				    socklen_t *l)
{
	struct vsk *v = SOCK_OR_FAIL(fd);
	ssize_t r;
	int e;

	if (v->listening)
		return errno = ENOTCONN, -1;
	r = lwip_recvfrom(v->s, buf, len > 65535 ? 65535 : (int)len, (unsigned)flags, a, l);
	e = errno;
	rearm(v);
	errno = e;
	return r;
}

EXPORT ssize_t ioth_lwipv6_recv(int fd, void *buf, size_t len, int flags)
{
	return ioth_lwipv6_recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t ioth_lwipv6_read(int fd, void *buf, size_t len)
{
	return ioth_lwipv6_recvfrom(fd, buf, len, 0, NULL, NULL);
}

EXPORT ssize_t ioth_lwipv6_sendto(int fd, const void *buf, size_t len, int flags,
				  const struct sockaddr *a, socklen_t l)
{
	struct vsk *v = SOCK_OR_FAIL(fd);
	int n = len > 65535 ? 65535 : (int)len;

	if (a)
		return lwip_sendto(v->s, buf, n, (unsigned)flags, a, l);
	return lwip_send(v->s, buf, n, (unsigned)flags);
}

EXPORT ssize_t ioth_lwipv6_send(int fd, const void *buf, size_t len, int flags)
{
	return ioth_lwipv6_sendto(fd, buf, len, flags, NULL, 0);
}

EXPORT ssize_t ioth_lwipv6_write(int fd, const void *buf, size_t len)
{
	return ioth_lwipv6_sendto(fd, buf, len, 0, NULL, 0);
}

/* readv/writev/recvmsg/sendmsg: through one contiguous buffer (LWIPv6's own versions of
 * the multi-buffer calls are unreliable), at most 64 KiB per call as LWIPv6 allows. */
static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t > 65535 ? 65535 : t;
}

EXPORT ssize_t ioth_lwipv6_recvmsg(int fd, struct msghdr *m, int flags)
{
	size_t t = iov_total(m->msg_iov, (int)m->msg_iovlen), off = 0;
	char *buf = malloc(t ? t : 1);
	ssize_t r;

	if (!buf)
		return errno = ENOMEM, -1;
	r = ioth_lwipv6_recvfrom(fd, buf, t, flags, m->msg_name, m->msg_name ? &m->msg_namelen : NULL);
	for (size_t i = 0; r > 0 && i < m->msg_iovlen && off < (size_t)r; i++) {
		size_t c = m->msg_iov[i].iov_len < (size_t)r - off ? m->msg_iov[i].iov_len : (size_t)r - off;
		memcpy(m->msg_iov[i].iov_base, buf + off, c);
		off += c;
	}
	free(buf);
	m->msg_controllen = 0;
	m->msg_flags = 0;
	return r;
}

EXPORT ssize_t ioth_lwipv6_readv(int fd, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };

	return ioth_lwipv6_recvmsg(fd, &m, 0);
}

EXPORT ssize_t ioth_lwipv6_sendmsg(int fd, const struct msghdr *m, int flags)
{
	size_t t = iov_total(m->msg_iov, (int)m->msg_iovlen), off = 0;
	char *buf = malloc(t ? t : 1);
	ssize_t r;

	if (!buf)
		return errno = ENOMEM, -1;
	for (size_t i = 0; i < m->msg_iovlen && off < t; i++) {
		size_t c = m->msg_iov[i].iov_len < t - off ? m->msg_iov[i].iov_len : t - off;
		memcpy(buf + off, m->msg_iov[i].iov_base, c);
		off += c;
	}
	r = ioth_lwipv6_sendto(fd, buf, t, flags, m->msg_name, m->msg_namelen);
	free(buf);
	return r;
}

EXPORT ssize_t ioth_lwipv6_writev(int fd, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };

	return ioth_lwipv6_sendmsg(fd, &m, 0);
}

/* "ADDRESS/PREFIX" -> LWIPv6 address and mask (IPv4 as v4-mapped); 0 or -1. */
static int parse_prefix(const char *text, size_t n, struct ip_addr *a, struct ip_addr *m)
{
	char buf[64], *slash;
	unsigned char raw[16];
	long plen;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, raw) == 1) {
		plen = slash ? strtol(slash, NULL, 10) : 32;
		if (plen < 0 || plen > 32)
			return -1;
		plen += 96;
		memset(a, 0, sizeof(*a));
		a->addr[2] = htonl(0xffff);
		memcpy(&a->addr[3], raw, 4);
	} else if (inet_pton(AF_INET6, buf, raw) == 1) {
		plen = slash ? strtol(slash, NULL, 10) : 128;
		if (plen < 0 || plen > 128)
			return -1;
		memcpy(a->addr, raw, 16);
	} else {
		return -1;
	}
	if (m) {
		for (int i = 0; i < 4; i++) {
			long bits = plen - 32 * i;
			m->addr[i] = bits >= 32 ? 0xffffffffU : bits <= 0 ? 0 : htonl(~0U << (32 - bits));
		}
	}
	return 0;
}

EXPORT void *ioth_lwipv6_newstack(const char *vnlv[], const char *options, struct ioth_functions *f)
{
	struct lstack *st;
	struct netif *first = NULL;
	const char *o = options ? options : "";
	int err = EINVAL;

	if (!vnlv || !vnlv[0] || !vnlv[0][0])
		return errno = EINVAL, NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return errno = ENOMEM, NULL;
	getstackdata = f->getstackdata;
	stack_owner = getpid();
	port_seed ^= (unsigned long)getpid() << 16 ^ (unsigned long)time(NULL) ^ (unsigned long)st;
	st->ls = lwip_stack_new();
	if (!st->ls) {
		err = ENOMEM;
		goto err_st;
	}
	for (int i = 0; vnlv[i]; i++) {
		struct netif *n = lwip_vdeif_add(st->ls, (void *)vnlv[i]);
		if (!n) {
			err = ENOENT; /* no such VDE network */
			goto err_stack;
		}
		lwip_ifup(n);
		if (!first)
			first = n;
	}
	while (*o) {
		size_t n = strcspn(o, ",");
		struct ip_addr a, m;
		if (n > 5 && strncmp(o, "addr=", 5) == 0) {
			if (parse_prefix(o + 5, n - 5, &a, &m) < 0 || lwip_add_addr(first, &a, &m) < 0)
				goto err_stack;
			if (IP_ADDR_IS_V4(&a) && !st->addr4.sin_family) {
				st->addr4.sin_family = AF_INET;
				memcpy(&st->addr4.sin_addr, &a.addr[3], 4);
			} else if (!IP_ADDR_IS_V4(&a) && !st->addr6.sin6_family) {
				st->addr6.sin6_family = AF_INET6;
				memcpy(&st->addr6.sin6_addr, a.addr, 16);
			}
		} else if (n > 3 && strncmp(o, "gw=", 3) == 0) {
			struct ip_addr any, anym, gw;
			int v4 = memchr(o + 3, ':', n - 3) == NULL;
			if (parse_prefix(o + 3, n - 3, &gw, NULL) < 0)
				goto err_stack;
			parse_prefix(v4 ? "0.0.0.0/0" : "::/0", v4 ? 9 : 4, &any, &anym);
			if (lwip_add_route(st->ls, &any, &anym, &gw, first, 0) < 0)
				goto err_stack;
		} else if (n) {
			goto err_stack;
		}
		o += n + (o[n] == ',');
	}
	return st;

err_stack:
	lwip_stack_free(st->ls);
err_st:
	free(st);
	errno = err;
	return NULL;
}

/* At exit the stack's threads end with the process: close what the program left open (a
 * FIN, and the data still queued, go out) and give the stack a moment to send it. */
__attribute__((destructor)) static void flush_at_exit(void)
{
	int n = 0;

	if (getpid() != stack_owner)
		return; /* a forked child: the stacks' threads are not here, a close would hang */
	for (int fd = 0; fd < VSK_MAX; fd++) {
		struct vsk *v = vsks[fd];
		if (!v || v->closed || v->listening)
			continue;
		vsks[fd] = NULL;
		lwip_close(v->s);
		n++;
	}
	if (n)
		usleep(100 * 1000);
}

EXPORT int ioth_lwipv6_delstack(void *stackdata)
{
	struct lstack *st = stackdata;

	lwip_stack_free(st->ls);
	free(st);
	return 0;
}
