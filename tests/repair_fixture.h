/*
 * repair_fixture — what the repair tests and the repair benchmark share: a private network
 * namespace with lo up, loopback addresses of each family, byte-pattern streams that prove a
 * stream arrives exactly (every byte is a function of its offset and direction), polling
 * helpers, and an nftables RST counter. Header-only so bench/ can include it too.
 */
#ifndef SOCKSHIFT_REPAIR_FIXTURE_H
#define SOCKSHIFT_REPAIR_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "netlock.h"
#include "repair.h"

enum { FAM4 = 4, FAM6 = 6, FAM46 = 46 };   /* 46: IPv4-mapped IPv6 */

/* 0 on success, -errno (EPERM: not allowed to unshare). */
static inline int fx_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP,
						  ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)) {
		close(fd);
		return -errno;
	}
	close(fd);
	/* ::1 shows up when lo goes up; give DAD-less addrconf a moment */
	usleep(10000);
	return 0;
}

static inline int fx_sockfam(int fam)
{
	return fam == FAM4 ? AF_INET : AF_INET6;
}

static inline union repair_addr fx_addr(int fam, uint16_t port)
{
	union repair_addr a;

	memset(&a, 0, sizeof(a));
	if (fam == FAM4) {
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = htons(port);
		a.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		a.v6.sin6_family = AF_INET6;
		a.v6.sin6_port = htons(port);
		inet_pton(AF_INET6, fam == FAM6 ? "::1" : "::ffff:127.0.0.1", &a.v6.sin6_addr);
	}
	return a;
}

static inline uint16_t fx_port(const union repair_addr *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->v4.sin_port : a->v6.sin6_port);
}

static inline socklen_t fx_alen(const union repair_addr *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->v4) : sizeof(a->v6);
}

static inline int fx_listen(int fam, int rcvbuf, uint16_t *port)
{
	union repair_addr a = fx_addr(fam, 0);
	socklen_t l = sizeof(a);
	int one = 1;
	int fd = socket(fx_sockfam(fam), SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, &a.sa, fx_alen(&a)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, &a.sa, &l) < 0) {
		close(fd);
		return -1;
	}
	*port = fx_port(&a);
	return fd;
}

/* Client with an optional small receive buffer (small window: the other side keeps unsent data). */
static inline int fx_connect(int fam, uint16_t port, int rcvbuf)
{
	union repair_addr a = fx_addr(fam, port);
	int fd = socket(fx_sockfam(fam), SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, &a.sa, fx_alen(&a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline uint8_t fx_pat(int dir, uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 9) * 7 + dir * 89 + (off >> 17));
}

/* Non-blocking write of up to n pattern bytes from *off; returns bytes written. */
static inline size_t fx_send(int fd, int dir, uint64_t *off, size_t n)
{
	char buf[65536];
	size_t done = 0;

	while (done < n) {
		size_t c = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < c; i++)
			buf[i] = fx_pat(dir, *off + i);
		w = send(fd, buf, c, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		*off += w;
		done += w;
	}
	return done;
}

/* Blocking (with poll) write of exactly n bytes; 0 ok. */
static inline int fx_send_all(int fd, int dir, uint64_t *off, size_t n, int ms)
{
	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		size_t w = fx_send(fd, dir, off, n);

		n -= w;
		if (n && poll(&p, 1, ms) <= 0)
			return -1;
	}
	return 0;
}

/*
 * Read exactly n bytes and check each against the pattern from *off. Returns 0 ok, -1 timeout,
 * -2 mismatch, -3 EOF early, -errno style (< -3) for socket errors (e.g. ECONNRESET).
 */
static inline int fx_recv_check(int fd, int dir, uint64_t *off, size_t n, int ms)
{
	char buf[65536];

	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, ms) <= 0)
			return -1;
		r = recv(fd, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_DONTWAIT);
		if (r == 0)
			return -3;
		if (r < 0) {
			if (errno == EAGAIN)
				continue;
			return -1000 - errno;
		}
		for (ssize_t i = 0; i < r; i++)
			if ((uint8_t)buf[i] != fx_pat(dir, *off + i))
				return -2;
		*off += r;
		n -= r;
	}
	return 0;
}

/* 0 when the next read is EOF, else as fx_recv_check (1 = data instead of EOF). */
static inline int fx_expect_eof(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t r;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	r = recv(fd, &c, 1, MSG_DONTWAIT);
	return r == 0 ? 0 : r > 0 ? 1 : -1000 - errno;
}

static inline int fx_state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -1;
	return ti.tcpi_state;
}

static inline int fx_wait_state(int fd, int st, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (fx_state(fd) == st)
			return 0;
		usleep(1000);
	}
	return -1;
}

static inline int fx_inq(int fd)
{
	int v = -1;

	ioctl(fd, FIONREAD, &v);
	return v;
}

static inline int fx_wait_inq(int fd, int n, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (fx_inq(fd) >= n)
			return 0;
		usleep(1000);
	}
	return -1;
}

static inline struct netlock_conn fx_conn(int fd)
{
	struct netlock_conn c;
	socklen_t l = sizeof(c.self);

	memset(&c, 0, sizeof(c));
	getsockname(fd, (struct sockaddr *)&c.self, &l);
	l = sizeof(c.peer);
	getpeername(fd, (struct sockaddr *)&c.peer, &l);
	return c;
}

/* An nftables table counting every RST that enters any socket of this netns. */
static inline int fx_rst_watch(void)
{
	return netlock_cmd("add table inet fx_rst\n"
			   "add chain inet fx_rst in { type filter hook input priority 100; }\n"
			   "add rule inet fx_rst in tcp flags & rst == rst counter\n", NULL);
}

static inline long fx_rst_count(void)
{
	char *out = NULL, *p;
	long n = -1;

	if (netlock_cmd("list table inet fx_rst\n", &out) == 0 && (p = strstr(out, "packets ")))
		n = strtol(p + 8, NULL, 10);
	free(out);
	return n;
}

static inline double fx_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Forks a child holding n client connections to port, each having sent qb pattern bytes;
 * it writes one byte to rfd when all are up, then sleeps until killed. Returns its pid, or -1. */
static inline pid_t fx_spawn_peers(uint16_t port, int n, size_t qb, int rfd)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	for (int i = 0; i < n; i++) {
		uint64_t off = 0;
		int fd = fx_connect(FAM4, port, 0);

		if (fd < 0 || fx_send(fd, 1, &off, qb) != qb)
			_exit(1);
	}
	if (write(rfd, "k", 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

#endif
