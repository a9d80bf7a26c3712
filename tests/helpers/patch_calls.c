/*
 * patch_calls — socket calls that never reach a preloaded symbol, one per argument:
 *   gai NAME       getaddrinfo (prints the first IPv4 address)
 *   ifindex        if_nametoindex("lo")
 *   ifaddrs        getifaddrs (prints the number of entries)
 *   syslog         openlog(LOG_NDELAY) + syslog (connects to /dev/log)
 *   raw PORT       syscall(SYS_socket/SYS_connect/SYS_close) to 127.0.0.1:PORT
 *   threads NAME   8 threads doing getaddrinfo + socket/close 50 times each
 *   forkexec NAME  fork, then exec itself with "gai NAME"
 * Exit status 0 when every call did what it should.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

static int gai(const char *name, int quiet)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	char buf[64];
	int r = getaddrinfo(name, "80", &hints, &res);

	if (r) {
		fprintf(stderr, "getaddrinfo %s: %s\n", name, gai_strerror(r));
		return 1;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf, sizeof(buf));
	if (!quiet)
		printf("%s\n", buf);
	freeaddrinfo(res);
	return 0;
}

static const char *tname;
static int tfail;

static void *worker(void *arg)
{
	for (int i = 0; i < 50; i++) {
		if (gai(tname, 1))
			__atomic_store_n(&tfail, 1, __ATOMIC_RELAXED);
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			__atomic_store_n(&tfail, 1, __ATOMIC_RELAXED);
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *what = argv[1];
	if (!strcmp(what, "gai") && argc > 2)
		return gai(argv[2], 0);
	if (!strcmp(what, "ifindex")) {
		unsigned i = if_nametoindex("lo");
		printf("%u\n", i);
		return i ? 0 : 1;
	}
	if (!strcmp(what, "ifaddrs")) {
		struct ifaddrs *ifa;
		int n = 0;
		if (getifaddrs(&ifa))
			return 1;
		for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
			n++;
		freeifaddrs(ifa);
		printf("%d\n", n);
		return n ? 0 : 1;
	}
	if (!strcmp(what, "syslog")) {
		openlog("sockshift-test", LOG_NDELAY, LOG_USER);
		syslog(LOG_INFO, "hello from the patching test");
		closelog();
		return 0;
	}
	if (!strcmp(what, "raw") && argc > 2) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return 1;
		if (syscall(SYS_connect, fd, &a, sizeof(a)) < 0) {
			perror("connect");
			return 1;
		}
		if (syscall(SYS_sendto, fd, "hi\n", 3, 0, NULL, 0) != 3)
			return 1;
		return syscall(SYS_close, fd) == 0 && syscall(SYS_getppid) == getppid() ? 0 : 1;
	}
	if (!strcmp(what, "threads") && argc > 2) {
		pthread_t t[8];
		tname = argv[2];
		for (int i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		for (int i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
		printf("threads %s\n", tfail ? "failed" : "ok");
		return tfail;
	}
	if (!strcmp(what, "forkexec") && argc > 2) {
		pid_t p = fork();
		if (p == 0) {
			execl("/proc/self/exe", argv[0], "gai", argv[2], (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	return 2;
}
