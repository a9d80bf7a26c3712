/*
 * threads — many threads using sockets at once, plus forks from a threaded program.
 *
 *   threads NTHREADS NCONNS [NFORKS]
 *
 * An in-process echo server (one accept thread, one thread per connection) listens on
 * 127.0.0.1. NTHREADS client threads each make NCONNS connections: socket, connect,
 * send a message naming the thread and the round, shutdown(SHUT_WR), read the echo back,
 * compare, close. The rounds rotate through send/recv, sendto/recvfrom and
 * sendmsg/recvmsg. While they run, the main thread forks NFORKS children that each make
 * one echo round trip (a fork while other threads hold locks must not deadlock).
 * Prints "port P" first, then one line per thread and a summary; exit 0 if all matched.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "helpers.h"

static int port, lfd, nconns;

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		send_all(fd, buf, (size_t)n);
	close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* shutdown(lfd) ends the server */
		}
		pthread_t t;
		if (pthread_create(&t, &attr, echo_conn, (void *)(intptr_t)fd))
			die("pthread_create");
	}
	return NULL;
}

/* One round trip; style picks the send/recv flavour. 0 if the echo matched. */
static int round_trip(int id, int round, int style)
{
	char msg[512], back[600];
	struct sockaddr_in sa = lo_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t len, got = 0;

	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	len = (size_t)snprintf(msg, sizeof(msg), "thread %d round %d ", id, round);
	while (len < 300)
		msg[len] = (char)('a' + (len + (size_t)id) % 26), len++;
	switch (style) {
	case 0:
		send_all(fd, msg, len);
		break;
	case 1:
		if (sendto(fd, msg, len, 0, NULL, 0) != (ssize_t)len)
			die("sendto");
		break;
	default: {
		struct iovec iov[2] = { { msg, 10 }, { msg + 10, len - 10 } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		if (sendmsg(fd, &mh, 0) != (ssize_t)len)
			die("sendmsg");
	}
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;
		if (style == 1) {
			n = recvfrom(fd, back + got, sizeof(back) - got, 0, NULL, NULL);
		} else if (style == 2) {
			struct iovec iov = { back + got, sizeof(back) - got };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
			n = recvmsg(fd, &mh, 0);
		} else {
			n = recv(fd, back + got, sizeof(back) - got, 0);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got == len && memcmp(msg, back, len) == 0 ? 0 : -1;
}

static int results[256];

static void *client(void *arg)
{
	int id = (int)(intptr_t)arg, ok = 0;

	for (int r = 0; r < nconns; r++)
		ok += round_trip(id, r, (id + r) % 3) == 0;
	results[id] = ok;
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 8;
	int nforks = argc > 3 ? atoi(argv[3]) : 0;
	pthread_t acc, t[256];
	int all = 0, forks_ok = 0;

	nconns = argc > 2 ? atoi(argv[2]) : 20;
	if (nthreads < 1 || nthreads > 256 || nconns < 1)
		return fprintf(stderr, "usage: threads NTHREADS(1-256) NCONNS [NFORKS]\n"), 2;
	lfd = listen_lo(&port, SOCK_CLOEXEC);
	printf("port %d\n", port);
	fflush(stdout);
	if (pthread_create(&acc, NULL, acceptor, NULL))
		die("pthread_create");
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, client, (void *)(intptr_t)i))
			die("pthread_create");
	for (int f = 0; f < nforks; f++) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0)
			_exit(round_trip(1000 + f, 0, f % 3) == 0 ? 0 : 1);
		int st;
		if (waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			forks_ok++;
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		printf("thread %d: %d/%d echoes matched\n", i, results[i], nconns);
		all += results[i];
	}
	shutdown(lfd, SHUT_RDWR);
	pthread_join(acc, NULL);
	close(lfd);
	printf("total %d/%d echoes matched, forks %d/%d\n", all, nthreads * nconns, forks_ok, nforks);
	return all == nthreads * nconns && forks_ok == nforks ? 0 : 1;
}
