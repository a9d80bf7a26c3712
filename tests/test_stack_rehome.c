/*
 * test_stack_rehome — re-homing a fresh socket into another stack under the same fd:
 * options, O_NONBLOCK, FD_CLOEXEC and epoll registrations survive; the socket now lives
 * in the target namespace. Skipped without the right to make network namespaces.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epolltrack.h"
#include "fdtable.h"
#include "real.h"
#include "rehome.h"
#include "sock.h"
#include "stack.h"
#include "test_util.h"

static void setup(void)
{
	real_use_libc();
	fdt_clear();
	epolltrack_enable(1);
}

TestSuite(stack_rehome, .init = setup);

Test(stack_rehome, carries_flags_options_and_epoll)
{
	struct stack_spec spec;
	struct stack *to;
	char why[512] = "";
	int one = 1, v = 0;
	socklen_t l = sizeof(v);

	cr_assert(eq(int, stack_spec_parse("netns:new", &spec, why, sizeof(why)), 0));
	int r = stack_open_named("target", &spec, &to, why, sizeof(why));
	if (r == -EPERM)
		cr_skip_test("cannot make network namespaces: %s", why);
	cr_assert(eq(int, r, 0), "%s", why);

	int fd = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(ge(int, fd, 0));
	ino_t before = test_netns_of_socket(fd);
	cr_assert(eq(int, sock_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = 77 }, got;
	cr_assert(eq(int, epolltrack_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0));
	cr_assert(eq(int, epolltrack_count(fd), 1));

	cr_assert(eq(int, rehome_fd(fd, to), 0));
	cr_assert(ne(u64, (uint64_t)test_netns_of_socket(fd), (uint64_t)before));
	cr_assert(ne(int, fcntl(fd, F_GETFL) & O_NONBLOCK, 0));
	cr_assert(ne(int, fcntl(fd, F_GETFD) & FD_CLOEXEC, 0));
	cr_assert(eq(int, getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0));
	cr_assert(eq(int, v, 1));
	struct fdt_rec rec;
	cr_assert(eq(int, fdt_get(fd, &rec), 0));
	cr_assert(eq(u32, rec.stack_id, to->id));
	/* The registration is on the new socket: an unconnected TCP socket reports EPOLLOUT|HUP,
	 * and MOD works (it would be ENOENT if the registration had been lost). */
	cr_assert(eq(int, epoll_wait(ep, &got, 1, 1000), 1));
	cr_assert(eq(u64, (uint64_t)got.data.u64, 77));
	ev.events = EPOLLIN;
	cr_assert(eq(int, epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0), "%s", strerror(errno));
	close(ep);
	close(fd);
}

Test(stack_rehome, new_socket_on_a_number_forgets_old_registrations)
{
	int fd = sock_socket(AF_INET, SOCK_DGRAM, 0), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };

	cr_assert(eq(int, epolltrack_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0));
	cr_assert(eq(int, epolltrack_count(fd), 1));
	cr_assert(eq(int, epolltrack_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0));
	cr_assert(eq(int, epolltrack_count(fd), 0));
	cr_assert(eq(int, epolltrack_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0));
	close(fd);
	fdt_del(fd);
	int fd2 = sock_socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(eq(int, fd2, fd));
	cr_assert(eq(int, epolltrack_count(fd2), 0));
	close(fd2);
	close(ep);
}
