/*
 * netbench — loopback TCP micro-benchmarks for the shim's data path.
 *
 *   netbench pingpong SECONDS SIZE    round trips of SIZE-byte request/response; prints
 *                                     "pingpong SIZE RTT_PER_SEC"
 *   netbench bulk MIB CHUNK           MIB MiB sent in CHUNK-byte send() calls and read with
 *                                     recv(); prints "bulk CHUNK MB_PER_SEC" (MB = 10^6 B)
 *   netbench calls N                  N non-blocking recv() calls on an empty connected
 *                                     socket (each returns EAGAIN): the cost of one trip
 *                                     through the hook and the kernel; prints "calls NS_PER_CALL"
 *   netbench calls-thread N           the same with one idle thread in the process
 *   netbench calls-unshared N         the same with one idle thread on its own fd table
 *
 * The program forks: the child is the server, the parent the client, so under the shim
 * both ends pay for the hooks. Data moves with send()/recv() (hooked calls) only.
 * NETBENCH_IDLE=shared|unshared adds one idle thread to each process of ping-pong and bulk.
 * NETBENCH_CLOCK=cpu counts CPU time instead of elapsed time: ping-pong and bulk per CPU second
 * of both processes (getrusage), calls per CPU nanosecond of the calling thread. With both
 * processes on one CPU this is what the elapsed time is on an idle machine, and other jobs on
 * a shared one move it far less.
 * Nothing here knows about sockshift: run it natively and under the shim and compare.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* NETBENCH_CLOCK=cpu: results per CPU second instead of per second (see the top). */
static int cpu_clock(void)
{
	const char *c = getenv("NETBENCH_CLOCK");

	return c && !strcmp(c, "cpu");
}

/* CPU seconds (user + system) of this process, and of its waited-for children if kids. */
static double cpu_secs(int kids)
{
	struct rusage a, b = { 0 };

	getrusage(RUSAGE_SELF, &a);
	if (kids)
		getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
			b.ru_stime.tv_usec) / 1e6;
}

static int recv_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int send_exact(int fd, const char *buf, size_t len)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
	}
	return 0;
}

/* Connected pair: returns the client fd; *srv_fd is the accepted one (for the child). */
static int make_pair(int *srv_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0), c;

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0)
		die("listen");
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	*srv_fd = accept(l, NULL, NULL);
	if (*srv_fd < 0)
		die("accept");
	close(l);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*srv_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

static void *idle_thread(void *arg);
static volatile int idle_ready;

/* NETBENCH_IDLE=shared|unshared: one idle thread in each process of ping-pong and bulk (the
 * fd table shared, or its own), to tell what an idle thread alone costs from what the shim's
 * hooks cost (the shim's threads run on their own fd tables). */
static void idle_from_env(void)
{
	const char *v = getenv("NETBENCH_IDLE");
	pthread_t idle;

	if (!v || !*v)
		return;
	if (strcmp(v, "shared") && strcmp(v, "unshared")) {
		fprintf(stderr, "netbench: NETBENCH_IDLE must be shared or unshared\n");
		exit(2);
	}
	if (pthread_create(&idle, NULL, idle_thread, strcmp(v, "shared") ? &idle : NULL))
		die("pthread_create");
	while (!idle_ready)
		sched_yield();
}

static int pingpong(double secs, size_t size)
{
	char buf[65536];
	int s, c = make_pair(&s);
	pid_t pid;

	if (size < 1 || size > sizeof(buf))
		return fprintf(stderr, "SIZE must be 1..65536\n"), 2;
	memset(buf, 'p', size);
	pid = fork();
	idle_from_env();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(c);
		while (recv_exact(s, buf, size) == 0)
			if (send_exact(s, buf, size) < 0)
				break;
		_exit(0);
	}
	close(s);
	double c0 = cpu_secs(1);
	/* warm up, then measure */
	for (int i = 0; i < 1000; i++)
		if (send_exact(c, buf, size) < 0 || recv_exact(c, buf, size) < 0)
			die("warm-up");
	long n = 0;
	double t0 = now(), t = t0;
	while (t - t0 < secs) {
		for (int i = 0; i < 256; i++)
			if (send_exact(c, buf, size) < 0 || recv_exact(c, buf, size) < 0)
				die("pingpong");
		n += 256;
		t = now();
	}
	close(c);
	waitpid(pid, NULL, 0);
	if (cpu_clock())   /* both processes, warm-up included: round trips per CPU second */
		t0 = 0, t = cpu_secs(1) - c0, n += 1000;
	printf("pingpong %zu %.0f\n", size, (double)n / (t - t0));
	return 0;
}

static int bulk(long mib, size_t chunk)
{
	static char buf[1 << 20];
	int s, c = make_pair(&s);
	long total = mib << 20;
	pid_t pid;

	if (chunk < 1 || chunk > sizeof(buf))
		return fprintf(stderr, "CHUNK must be 1..1048576\n"), 2;
	memset(buf, 'b', sizeof(buf));
	pid = fork();
	idle_from_env();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		long got = 0;
		ssize_t n;
		close(c);
		while ((n = recv(s, buf, chunk, 0)) > 0)
			got += n;
		char ack = got == total ? 'k' : 'x';
		send_exact(s, &ack, 1);
		_exit(0);
	}
	close(s);
	double c0 = cpu_secs(1), t0 = now();
	for (long sent = 0; sent < total; sent += (long)chunk)
		if (send_exact(c, buf, (size_t)(total - sent < (long)chunk ? total - sent : (long)chunk)) < 0)
			die("bulk send");
	shutdown(c, SHUT_WR);
	char ack = 0;
	if (recv(c, &ack, 1, 0) != 1 || ack != 'k')
		return fprintf(stderr, "bulk: the receiver did not get every byte\n"), 1;
	double t = now() - t0;
	close(c);
	waitpid(pid, NULL, 0);
	if (cpu_clock())   /* both processes: MB per CPU second */
		t = cpu_secs(1) - c0;
	printf("bulk %zu %.1f\n", chunk, (double)total / t / 1e6);
	return 0;
}

static void *idle_thread(void *arg)
{
	/* its own fd table, holding none of the program's files, as the shim's threads do */
	if (arg && (unshare(CLONE_FILES) < 0 || syscall(SYS_close_range, 3, ~0U, 0) < 0))
		die("unshare");
	idle_ready = 1;
	pause();
	return arg;
}

/* The same loop; with_thread adds one idle thread, as the shim's background threads do, to
 * show what a second thread alone costs the kernel's fd lookups (no shim involved): 1 a thread
 * sharing the fd table, 2 a thread that took its own (unshare(CLONE_FILES)). */
static int calls(long n, int with_thread)
{
	pthread_t idle;

	if (with_thread && pthread_create(&idle, NULL, idle_thread, with_thread == 2 ? &idle : NULL))
		die("pthread_create");
	while (with_thread && !idle_ready)
		sched_yield();
	char b;
	int s, c = make_pair(&s);

	struct timespec a, z;
	clockid_t clk = cpu_clock() ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
	clock_gettime(clk, &a);
	for (long i = 0; i < n; i++)
		if (recv(c, &b, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
			die("recv on an empty socket");
	clock_gettime(clk, &z);
	double t = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
	close(c), close(s);
	printf("calls %.1f\n", t * 1e9 / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "calls"))
		return calls(atol(argv[2]), 0);
	if (argc == 3 && !strcmp(argv[1], "calls-thread"))
		return calls(atol(argv[2]), 1);
	if (argc == 3 && !strcmp(argv[1], "calls-unshared"))
		return calls(atol(argv[2]), 2);
	if (argc == 4 && !strcmp(argv[1], "pingpong"))
		return pingpong(atof(argv[2]), (size_t)atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "bulk"))
		return bulk(atol(argv[2]), (size_t)atol(argv[3]));
	fprintf(stderr, "usage: netbench pingpong SECONDS SIZE | bulk MIB CHUNK | calls N | "
		"calls-thread N | calls-unshared N\n");
	return 2;
}
