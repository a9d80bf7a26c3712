/*
 * stack_epoll_connect — what nginx does with an upstream socket: a non-blocking socket,
 * options set, registered with epoll *before* connect(); then waits for the connection
 * through epoll only, checks the socket kept its flags and options, sends an HTTP request
 * and prints the status line. Under routing rules the shim re-homes this socket at
 * connect(), so everything checked here must survive the swap.
 *   stack_epoll_connect IPV4 PORT PATH
 * Exit 0 and the status line on stdout; else a message on stderr and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "stack_epoll_connect: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int getint(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, level, name, &v, &l) < 0)
		die("getsockopt");
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = 0x5eed }, got;
	char req[256], buf[4096];
	int one = 1, fd, ep, n;
	size_t len = 0;

	if (argc != 4)
		return fprintf(stderr, "usage: %s IPV4 PORT PATH\n", argv[0]), 2;
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("setsockopt");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll before connect");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		fprintf(stderr, "stack_epoll_connect: connected at once\n");
	else if (errno != EINPROGRESS)
		die("connect");
	n = epoll_wait(ep, &got, 1, 5000);
	if (n != 1)
		return fprintf(stderr, "stack_epoll_connect: epoll_wait saw %d events: the registration "
			       "made before connect() was lost\n", n), 1;
	if (got.data.u64 != 0x5eed || !(got.events & EPOLLOUT))
		return fprintf(stderr, "stack_epoll_connect: wrong event %#x data %#llx\n", got.events,
			       (unsigned long long)got.data.u64), 1;
	if (getint(fd, SOL_SOCKET, SO_ERROR) != 0)
		return fprintf(stderr, "stack_epoll_connect: connect failed: %s\n",
			       strerror(getint(fd, SOL_SOCKET, SO_ERROR))), 1;
	if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
		return fprintf(stderr, "stack_epoll_connect: O_NONBLOCK was lost\n"), 1;
	if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
		return fprintf(stderr, "stack_epoll_connect: FD_CLOEXEC was lost\n"), 1;
	if (getint(fd, SOL_SOCKET, SO_KEEPALIVE) != 1 || getint(fd, IPPROTO_TCP, TCP_NODELAY) != 1)
		return fprintf(stderr, "stack_epoll_connect: options set before connect() were lost\n"), 1;
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
		die("EPOLL_CTL_MOD after connect (the registration is gone)");
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", argv[3]);
	if (send(fd, req, strlen(req), 0) != (ssize_t)strlen(req))
		die("send");
	for (;;) {
		if (epoll_wait(ep, &got, 1, 5000) != 1)
			return fprintf(stderr, "stack_epoll_connect: no reply\n"), 1;
		ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r <= 0 || (len += (size_t)r) == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	printf("%s\n", buf);
	return 0;
}
