/*
 * dup_exec — fd duplication and closing, then exec: the fd table must follow.
 *
 *   dup_exec                 the parent part (then execs itself as "dup_exec child ...")
 *
 * Makes a connected TCP pair C (client) / A (accepted) on 127.0.0.1, then
 *   D1 = dup(C), dup2(C, 20), dup3(C, 21, O_CLOEXEC), fcntl(C, F_DUPFD_CLOEXEC, 30),
 *   D5 = fcntl(C, F_DUPFD, 40); closes C; sends one message through each copy;
 *   close_range(20, 21, 0); close_range(30, 30, CLOSE_RANGE_CLOEXEC); dup2(A, 22).
 * Then execs itself as "child D1 40 22 L": the fds without FD_CLOEXEC (L, A, D1, 40, 22)
 * survive; the child sends through D1 and 40 and reads everything back through 22.
 * Prints each step's result; exit 0 if every byte arrived in order.
 */
#include <fcntl.h>
#include <linux/close_range.h>

#include "helpers.h"

static const char *msgs[] = { "via-dup;", "via-dup2;", "via-dup3;", "via-dupfd-cloexec;", "via-dupfd;" };

static int child(int d1, int d40, int a22)
{
	char buf[256];
	const char *want = "child-via-dup;child-via-40;";

	send_all(d1, "child-via-dup;", 14);
	send_all(d40, "child-via-40;", 13);
	size_t n = recv_all(a22, buf, strlen(want));
	printf("child read: %.*s\n", (int)n, buf);
	return n == strlen(want) && !memcmp(buf, want, n) ? 0 : 1;
}

int main(int argc, char **argv)
{
	int port, fds[5];
	char buf[256], want[256] = "";

	if (argc == 5 && !strcmp(argv[1], "child"))
		return child(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));

	int l = listen_lo(&port, 0);
	int c = connect_lo(port);
	int a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");
	fds[0] = dup(c);
	fds[1] = dup2(c, 20);
	fds[2] = dup3(c, 21, O_CLOEXEC);
	fds[3] = fcntl(c, F_DUPFD_CLOEXEC, 30);
	fds[4] = fcntl(c, F_DUPFD, 40);
	for (int i = 0; i < 5; i++)
		if (fds[i] < 0)
			die("duplicating fd %d (step %d)", c, i);
	printf("dups of %d: %d %d %d %d %d\n", c, fds[0], fds[1], fds[2], fds[3], fds[4]);
	close(c);
	for (int i = 0; i < 5; i++) {
		send_all(fds[i], msgs[i], strlen(msgs[i]));
		strcat(want, msgs[i]);
	}
	size_t n = recv_all(a, buf, strlen(want));
	printf("parent read: %.*s\n", (int)n, buf);
	if (n != strlen(want) || memcmp(buf, want, n))
		return 1;
	if (close_range(20, 21, 0) < 0 || close_range(30, 30, CLOSE_RANGE_CLOEXEC) < 0)
		die("close_range");
	if (send(20, "x", 1, MSG_NOSIGNAL) != -1 || errno != EBADF)
		return printf("fd 20 still open after close_range\n"), 1;
	if (dup2(a, 22) != 22)
		die("dup2");
	close(a);

	char self[4096], s1[16], s2[16], s3[16];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		die("readlink");
	self[sl] = 0;
	snprintf(s1, sizeof(s1), "%d", fds[0]);
	snprintf(s2, sizeof(s2), "%d", fds[4]);
	snprintf(s3, sizeof(s3), "%d", 22);
	fflush(stdout);
	execl(self, "dup_exec", "child", s1, s2, s3, (char *)NULL);
	die("execl");
}
