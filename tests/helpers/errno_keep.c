/*
 * errno_keep — every socket-related call leaves errno alone when it succeeds, and sets the
 * right errno when it fails. Each call below runs with errno preset to 12345; after a
 * success errno must still be 12345, after a failure it must be the expected code.
 *
 *   errno_keep            prints one line per failed check and "errno: N checks, M failed"
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <spawn.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "helpers.h"

#define MAGIC 12345
extern char **environ;

static int checks, failed;

/* Runs expr with errno = MAGIC; ok_cond decides success; on success errno must be MAGIC. */
#define OK(what, expr, ok_cond)                                                         \
	({                                                                              \
		errno = MAGIC;                                                          \
		long r_ = (long)(expr);                                                 \
		int e_ = errno;                                                         \
		checks++;                                                               \
		if (!(ok_cond)) {                                                       \
			failed++;                                                       \
			printf("FAIL %s: returned %ld (%s)\n", what, r_, strerror(e_)); \
		} else if (e_ != MAGIC) {                                               \
			failed++;                                                       \
			printf("FAIL %s: succeeded but errno %d (%s)\n", what, e_, strerror(e_)); \
		}                                                                       \
		r_;                                                                     \
	})
#define OKR(what, expr) OK(what, expr, r_ >= 0)

/* A call that must fail with want. */
#define FAILS(what, expr, want)                                                         \
	do {                                                                            \
		errno = MAGIC;                                                          \
		long r_ = (long)(expr);                                                 \
		int e_ = errno;                                                         \
		checks++;                                                               \
		if (r_ != -1 || e_ != (want)) {                                         \
			failed++;                                                       \
			printf("FAIL %s: expected -1 %s, got %ld errno %d (%s)\n", what,  \
			       strerror(want), r_, e_, strerror(e_));                   \
		}                                                                       \
	} while (0)

int main(void)
{
	struct sockaddr_in sa = lo_addr(0), peer;
	socklen_t slen = sizeof(sa), plen = sizeof(peer);
	int one = 1, val = 0, sv[2];
	socklen_t vlen = sizeof(val);
	char buf[128];

	int l = (int)OKR("socket", socket(AF_INET, SOCK_STREAM, 0));
	OKR("setsockopt", setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	OKR("bind", bind(l, (struct sockaddr *)&sa, sizeof(sa)));
	OKR("listen", listen(l, 16));
	OKR("getsockname", getsockname(l, (struct sockaddr *)&sa, &slen));
	OKR("getsockopt", getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &val, &vlen));

	int c = (int)OKR("socket", socket(AF_INET, SOCK_STREAM, 0));
	OKR("connect", connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	int s = (int)OKR("accept", accept(l, (struct sockaddr *)&peer, &plen));
	int c2 = (int)OKR("socket", socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	OKR("connect", connect(c2, (struct sockaddr *)&sa, sizeof(sa)));
	int s2 = (int)OKR("accept4", accept4(l, NULL, NULL, SOCK_CLOEXEC));
	plen = sizeof(peer);
	OKR("getpeername", getpeername(c, (struct sockaddr *)&peer, &plen));

	OK("send", send(c, "abcd", 4, 0), r_ == 4);
	OK("recv", recv(s, buf, 4, 0), r_ == 4);
	OK("sendto", sendto(c, "efgh", 4, 0, NULL, 0), r_ == 4);
	OK("recvfrom", recvfrom(s, buf, 4, 0, NULL, NULL), r_ == 4);
	struct iovec iov = { buf, 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	memcpy(buf, "ijkl", 4);
	OK("sendmsg", sendmsg(c, &mh, 0), r_ == 4);
	OK("recvmsg", recvmsg(s, &mh, 0), r_ == 4);
	struct mmsghdr mm = { .msg_hdr = mh };
	OK("sendmmsg", sendmmsg(c, &mm, 1, 0), r_ == 1);
	OK("recvmmsg", recvmmsg(s, &mm, 1, 0, NULL), r_ == 1);
	OK("send", send(c2, "x", 1, 0), r_ == 1);
	OK("recv", recv(s2, buf, 1, 0), r_ == 1);

	int nb = (int)OKR("fcntl(F_GETFL)", fcntl(s, F_GETFL));
	OKR("fcntl(F_SETFL)", fcntl(s, F_SETFL, nb | O_NONBLOCK));
	FAILS("recv on an empty non-blocking socket", recv(s, buf, 1, 0), EAGAIN);
	OKR("fcntl(F_SETFD)", fcntl(s, F_SETFD, FD_CLOEXEC));
	int d1 = (int)OKR("dup", dup(c));
	OK("dup2", dup2(c, 60), r_ == 60);
	OK("dup3", dup3(c, 61, O_CLOEXEC), r_ == 61);
	int d4 = (int)OKR("fcntl(F_DUPFD)", fcntl(c, F_DUPFD, 70));
	int d5 = (int)OKR("fcntl(F_DUPFD_CLOEXEC)", fcntl(c, F_DUPFD_CLOEXEC, 80));
	OK("send on a dup", send(d4, "m", 1, 0), r_ == 1);
	OKR("close", close(d1));
	OKR("close", close(d4));
	OKR("close", close(d5));
	OKR("close_range", close_range(60, 61, 0));
	OKR("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	OKR("close_range(CLOEXEC)", close_range(sv[0], sv[1], CLOSE_RANGE_CLOEXEC));
	OKR("shutdown", shutdown(c, SHUT_WR));
	OKR("close", close(sv[0]));
	OKR("close", close(sv[1]));

	/* fork: the parent's errno is untouched, and so is the child's. */
	pid_t p = (pid_t)OKR("fork", fork());
	if (p == 0) {
		_exit(errno == MAGIC ? 0 : 1);
	}
	int st;
	waitpid(p, &st, 0);
	checks++;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failed++, printf("FAIL fork: errno changed in the child\n");

	char *argv[] = { "true", NULL };
	OK("posix_spawn", posix_spawn(&p, "/bin/true", NULL, NULL, argv, environ), r_ == 0);
	waitpid(p, &st, 0);
	/* posix_spawnp searches PATH and may leave ENOENT behind even natively: only its
	 * result is checked. */
	checks++;
	if (posix_spawnp(&p, "true", NULL, NULL, argv, environ) != 0)
		failed++, printf("FAIL posix_spawnp of true\n");
	waitpid(p, &st, 0);

	/* Failures carry the kernel's errno. */
	FAILS("connect to a closed port", connect(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(1), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, sizeof(sa)), ECONNREFUSED);
	FAILS("bind to a port in use", bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&sa, sizeof(sa)), EADDRINUSE);
	FAILS("socket with a bad family", socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	FAILS("close(-1)", close(-1), EBADF);
	FAILS("recv on a non-socket", recv(0 > 1 ? 0 : 2, buf, 1, MSG_DONTWAIT), ENOTSOCK);
	FAILS("send on a closed fd", send(999, "x", 1, 0), EBADF);
	FAILS("dup2 of a closed fd", dup2(998, 50), EBADF);
	FAILS("accept on a non-listening socket", accept(c2, NULL, NULL), EINVAL);
	FAILS("execve of a missing file", execve("/nonexistent/sockshift", argv, environ), ENOENT);
	errno = MAGIC;
	int r = posix_spawn(&p, "/nonexistent/sockshift", NULL, NULL, argv, environ);
	checks++;
	if (r != ENOENT) {
		/* glibc reports exec failures of the child as the return value */
		failed++, printf("FAIL posix_spawn of a missing file: returned %d\n", r);
	}

	close(c), close(s), close(c2), close(s2), close(l);
	printf("errno: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
