/*
 * vsock_bench — throughput and round trips over a stream, for the vsock VM benchmark
 * (tests/vm/init runs it inside the guest; never run the client parts on a host).
 *
 *   vsock_bench serve PORT                 native AF_VSOCK server (forks per connection)
 *   vsock_bench inet  PORT MIB ROUNDS      client over AF_INET 127.0.0.1:PORT (under the shim
 *                                          with a rule 127.0.0.1=... this is vsock)
 *   vsock_bench vsock PORT MIB ROUNDS      the same client written natively for AF_VSOCK CID 1
 * A connection starts with one byte: 'T' = sink MIB MiB then answer "done", 'R' = echo
 * ROUNDS one-byte messages. Prints: "<mode> tput_MiB_s=X rtt_us=Y".
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int full_read(int fd, char *b, size_t n)
{
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static void serve_one(int c)
{
	static char buf[1 << 16];
	char mode;
	if (full_read(c, &mode, 1) < 0)
		return;
	if (mode == 'T') {
		while (read(c, buf, sizeof(buf)) > 0)
			;
		(void)!write(c, "done", 4);
	} else {
		char b;
		while (read(c, &b, 1) == 1)
			if (write(c, &b, 1) != 1)
				break;
	}
}

static int serve(unsigned port)
{
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 16) < 0) {
		perror("serve");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0) {
			serve_one(c);
			_exit(0);
		}
		close(c);
	}
}

static int dial(int inet, unsigned port)
{
	int s;
	if (inet) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return -1;
	} else {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = 1, .svm_port = port };
		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return -1;
	}
	return s;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve((unsigned)atoi(argv[2]));
	if (argc != 5) {
		fprintf(stderr, "usage: vsock_bench serve PORT | inet|vsock PORT MIB ROUNDS\n");
		return 2;
	}
	int inet = strcmp(argv[1], "inet") == 0;
	unsigned port = (unsigned)atoi(argv[2]);
	long mib = atol(argv[3]), rounds = atol(argv[4]);
	int s = dial(inet, port);
	if (s < 0) {
		perror("connect");
		return 1;
	}
	double t0 = now();
	(void)!write(s, "T", 1);
	for (long i = 0; i < mib * 16; i++)
		if (write(s, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			perror("write");
			return 1;
		}
	shutdown(s, SHUT_WR);
	if (full_read(s, buf, 4) < 0) {
		fprintf(stderr, "no ack\n");
		return 1;
	}
	double tput = mib / (now() - t0);
	close(s);
	s = dial(inet, port);
	if (s < 0) {
		perror("connect");
		return 1;
	}
	(void)!write(s, "R", 1);
	t0 = now();
	for (long i = 0; i < rounds; i++) {
		char b = 'x';
		if (write(s, &b, 1) != 1 || full_read(s, &b, 1) < 0) {
			fprintf(stderr, "round trip failed\n");
			return 1;
		}
	}
	double rtt = (now() - t0) / (double)rounds * 1e6;
	close(s);
	printf("%s tput_MiB_s=%.2f rtt_us=%.2f\n", argv[1], tput, rtt);
	return 0;
}
