/*
 * patch (bench) — cost per call of system calls through patched syscall sites.
 *
 *   patch getppid N     N x getppid() from libc: a non-socket syscall at a site whose number
 *                       is a constant (mov $110,%eax; syscall): left as it is by the patcher
 *   patch sysraw N      N x libc's own syscall(SYS_getppid): a non-socket syscall at a patched
 *                       site (the number is known at run time only: the stub's fast path)
 *   patch sockraw N     N x libc's own syscall(SYS_getsockopt, SO_TYPE) on a UDP socket:
 *                       a socket syscall at a patched site (routed through core)
 *   patch sockopt N     N x getsockopt(SO_TYPE) through the libc symbol (the shim's hook)
 * Prints "MODE SINK ns_per_call" (the calling thread's CPU time per call). Run it natively
 * and under the shim (bench/patch.sh).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this thread (user + kernel): on a machine shared with other work, time spent
 * preempted does not count, which wall-clock time would add at random. */
static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long n = atol(argv[2]), sink = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), v;
	socklen_t l;
	/* libc's syscall(), not the shim's: its syscall instruction is a patched site. */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	long (*libc_syscall)(long, ...) = libc ? (long (*)(long, ...))dlsym(libc, "syscall") : NULL;

	if (fd < 0 || !libc_syscall)
		return 1;
	double t0 = now();
	if (!strcmp(argv[1], "getppid")) {
		for (long i = 0; i < n; i++)
			sink += getppid();
	} else if (!strcmp(argv[1], "sysraw")) {
		for (long i = 0; i < n; i++)
			sink += libc_syscall(SYS_getppid);
	} else if (!strcmp(argv[1], "sockraw")) {
		for (long i = 0; i < n; i++) {
			l = sizeof(v);
			sink += libc_syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &v, &l);
		}
	} else if (!strcmp(argv[1], "sockopt")) {
		for (long i = 0; i < n; i++) {
			l = sizeof(v);
			sink += getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l);
		}
	} else {
		return 2;
	}
	double t1 = now();
	printf("%s %ld %.1f\n", argv[1], sink, (t1 - t0) / n);
	return 0;
}
