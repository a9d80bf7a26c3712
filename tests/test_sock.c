/*
 * test_sock — the core behind the hooks on real loopback sockets: results and errno are
 * the kernel's, the fd table follows every call, and the debug log names fd, address and
 * stack.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>

#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "sock.h"
#include "test_logcap.h"
#include "test_util.h"


TestSuite(sock, .init = logcap_start, .fini = logcap_stop);

static int listener(struct sockaddr_in *a)
{
	socklen_t l = sizeof(*a);
	int fd = sock_socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(ge(int, fd, 0));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = 0;
	cr_assert(eq(int, sock_bind(fd, (void *)a, sizeof(*a)), 0));
	cr_assert(eq(int, sock_listen(fd, 16), 0));
	cr_assert(eq(int, sock_getsockname(fd, (void *)a, &l), 0));
	return fd;
}

Test(sock, tcp_lifecycle_is_recorded_and_logged)
{
	struct sockaddr_in a;
	struct fdt_rec r;
	char want[128];
	int one = 1;

	int lfd = listener(&a);
	int cfd = sock_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(eq(int, sock_setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0));
	cr_assert(eq(int, sock_connect(cfd, (void *)&a, sizeof(a)), 0));
	int afd = sock_accept4(lfd, NULL, NULL, SOCK_NONBLOCK, 1);
	cr_assert(ge(int, afd, 0));

	cr_assert(eq(int, fdt_get(lfd, &r), 0));
	cr_assert(eq(u32, r.state, FDT_BOUND | FDT_LISTENING));
	cr_assert(eq(int, r.backlog, 16));
	cr_assert(eq(int, fdt_get(cfd, &r), 0));
	cr_assert(eq(u32, r.state, FDT_CONNECTED));
	cr_assert(eq(int, r.fd_flags, FD_CLOEXEC));
	cr_assert(eq(u32, r.nopts, 1));
	cr_assert(eq(int, r.opts[0].name, TCP_NODELAY));
	cr_assert(eq(int, fdt_get(afd, &r), 0));
	cr_assert(eq(u32, r.origin, FDT_ORIGIN_ACCEPT));
	cr_assert(eq(int, r.status_flags, O_NONBLOCK));
	cr_assert(eq(int, sock_shutdown(cfd, SHUT_WR), 0));
	fdt_get(cfd, &r);
	cr_assert(eq(u32, r.state, FDT_CONNECTED | FDT_SHUT_WR));

	const char *log = logcap_read();
	snprintf(want, sizeof(want), "t debug: connect fd=%d 127.0.0.1:%u stack=kernel -> 0", cfd,
		 ntohs(a.sin_port));
	cr_assert(strstr(log, want) != NULL, "log lacks '%s':\n%s", want, log);
	snprintf(want, sizeof(want), "accept4 fd=%d peer 127.0.0.1:", lfd);
	cr_assert(strstr(log, want) != NULL, "log lacks '%s':\n%s", want, log);
	snprintf(want, sizeof(want), "socket inet/stream/0 stack=kernel -> %d", cfd);
	cr_assert(strstr(log, want) != NULL, "log lacks '%s':\n%s", want, log);
	close(lfd), close(cfd), close(afd);
}

Test(sock, failures_return_minus_errno_and_keep_errno)
{
	struct sockaddr_in a;
	int lfd = listener(&a);

	close(lfd); /* nothing listens there now */
	int fd = sock_socket(AF_INET, SOCK_STREAM, 0);
	errno = 777;
	cr_assert(eq(int, sock_connect(fd, (void *)&a, sizeof(a)), -ECONNREFUSED));
	cr_assert(eq(int, errno, 777), "errno changed by a failing core call");
	cr_assert(eq(int, sock_socket(12345, SOCK_STREAM, 0), -EAFNOSUPPORT));
	cr_assert(eq(int, errno, 777));
	cr_assert(eq(int, sock_listen(-1, 1), -EBADF));
	cr_assert(strstr(logcap_read(), "-> -1 ECONNREFUSED") != NULL);
	close(fd);
}

Test(sock, dup_and_fcntl_follow)
{
	struct fdt_rec r;
	int fd = sock_socket(AF_INET6, SOCK_DGRAM, 0);
	int d = dup(fd);

	sock_duped("dup", fd, d, 0, 0);
	cr_assert(eq(int, fdt_get(d, &r), 0));
	cr_assert(eq(int, r.domain, AF_INET6));
	int f = fcntl(fd, F_DUPFD_CLOEXEC, 50);
	sock_fcntl_done(fd, F_DUPFD_CLOEXEC, 50, f, 0);
	cr_assert(eq(int, fdt_get(f, &r), 0));
	cr_assert(eq(int, r.fd_flags, FD_CLOEXEC));
	sock_fcntl_done(fd, F_SETFL, O_NONBLOCK, 0, 0);
	fdt_get(fd, &r);
	cr_assert(eq(int, r.status_flags, O_NONBLOCK));
	close(fd), close(d), close(f);
}

Test(sock, socketpair_and_scm_rights_adoption)
{
	int sv[2], inner[2];
	struct fdt_rec r;

	cr_assert(eq(int, sock_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0));
	cr_assert(eq(int, fdt_get(sv[1], &r), 0));
	cr_assert(eq(u32, r.origin, FDT_ORIGIN_PAIR));
	/* pass a socket the table never saw through SCM_RIGHTS */
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_DGRAM, 0, inner), 0));
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cbuf = { 0 };
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
			      .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &inner[0], sizeof(int));
	cr_assert(eq(long, (long)sendmsg(sv[0], &msg, 0), 1L));
	msg.msg_controllen = sizeof(cbuf.buf);
	cr_assert(eq(long, (long)recvmsg(sv[1], &msg, 0), 1L));
	sock_received_fds(&msg);
	int got;
	memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	cr_assert(eq(int, fdt_get(got, &r), 0));
	cr_assert(eq(u32, r.origin, FDT_ORIGIN_RECEIVED));
	cr_assert(eq(int, r.type, SOCK_DGRAM));
}

Test(sock, inherited_records_checked_against_kernel)
{
	char err[256], value[256];
	struct fdt_rec r;
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	int udp = socket(AF_INET, SOCK_DGRAM, 0);

	/* tcp: correct record; udp: claims to be TCP (stale); 900: not open at all */
	snprintf(value, sizeof(value), "v1;%d,2,1,6,0,0,1,-1,0;%d,2,1,6,0,0,0,-1,0;900,2,1,6,0,0,0,-1,0",
		 tcp, udp);
	cr_assert(eq(int, sock_adopt_inherited(value, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(int, fdt_get(tcp, &r), 0));
	cr_assert(eq(u32, r.origin, FDT_ORIGIN_INHERITED));
	cr_assert(eq(u32, r.state, FDT_BOUND));
	cr_assert(not(fdt_known(udp)));
	cr_assert(not(fdt_known(900)));
	cr_assert(strstr(logcap_read(), "took over 1 socket(s)") != NULL);
	cr_assert(eq(int, sock_adopt_inherited("v1;garbage", err, sizeof(err)), -EINVAL));
}
