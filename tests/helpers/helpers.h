/*
 * helpers.h — the little that the integration-test helpers share: fail loudly, and make
 * loopback TCP listeners and connections. Helpers are ordinary programs (no sockshift
 * headers): they run natively or under the shim and must behave the same.
 */
#ifndef SOCKSHIFT_TEST_HELPERS_H
#define SOCKSHIFT_TEST_HELPERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define die(...)                                                                  \
	do {                                                                      \
		int e_ = errno;                                                   \
		fprintf(stderr, "%s: ", program_invocation_short_name);          \
		fprintf(stderr, __VA_ARGS__);                                     \
		fprintf(stderr, ": %s\n", strerror(e_));                          \
		exit(1);                                                          \
	} while (0)

static inline struct sockaddr_in lo_addr(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* A listening TCP socket on 127.0.0.1 (free port, returned in *port). type_flags: SOCK_CLOEXEC... */
static inline int listen_lo(int *port, int type_flags)
{
	struct sockaddr_in sa = lo_addr(0);
	socklen_t len = sizeof(sa);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | type_flags, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 128) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("getsockname");
	*port = ntohs(sa.sin_port);
	return fd;
}

static inline int connect_lo(int port)
{
	struct sockaddr_in sa = lo_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect to port %d", port);
	return fd;
}

static inline void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send on fd %d", fd);
		p += n;
		len -= (size_t)n;
	}
}

/* Reads exactly len bytes (returns len) or up to EOF (returns what came). */
static inline size_t recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv on fd %d", fd);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

#endif
