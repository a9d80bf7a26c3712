/*
 * test_stack_vpoll — the map from program fds to a user-space plug-in's sockets and the
 * calls forwarded through it, with a fake plug-in whose sockets are real vpoll fds
 * (libvpoll: here its user-space emulation) and whose errno is its own variable, as a
 * plug-in loaded in its own link-map namespace has.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <vpoll.h>

#include "fdtable.h"
#include "plugins/ioth_abi.h"
#include "real.h"
#include "stack.h"
#include "stack_vpoll.h"
#include "test_util.h"

#define STACK_ID 3

static int fake_errno;              /* the plug-in's errno */
static int stackdata_seen_ok;       /* every call saw our stackdata */
static int closes;                  /* plug-in close() calls */
static int nonblock;                /* the plug-in's O_NONBLOCK */
static char stackdata_marker;
static __thread void *current;

static void *set_current(void *sd)
{
	void *prev = current;

	current = sd;
	return prev;
}

static void check_sd(void)
{
	if (current != &stackdata_marker)
		stackdata_seen_ok = 0;
}

static int fake_socket(int d, int t, int p)
{
	check_sd();
	return vpoll_create(EPOLLOUT, 0);
}

static int fake_close(int fd)
{
	check_sd();
	closes++;
	return vpoll_close(fd);
}

static ssize_t fake_recv(int fd, void *buf, size_t len, int flags)
{
	check_sd();
	if (len < 3) {
		fake_errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, "abc", 3);
	return 3;
}

static ssize_t fake_send(int fd, const void *buf, size_t len, int flags)
{
	check_sd();
	fake_errno = EPIPE;
	return -1;
}

static int fake_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	check_sd();
	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if (cmd == F_GETFL)
		return O_RDWR | (nonblock ? O_NONBLOCK : 0);
	if (cmd == F_SETFL) {
		nonblock = !!(arg & O_NONBLOCK);
		return 0;
	}
	fake_errno = EINVAL;
	return -1;
}

static int *fake_errno_location(void)
{
	return &fake_errno;
}

static struct ioth_functions fns;

static void setup(void)
{
	real_use_libc();
	stack_vpoll_reset();
	memset(&fns, 0, sizeof(fns));
	fns.socket = fake_socket;
	fns.close = fake_close;
	fns.recv = fake_recv;
	fns.send = fake_send;
	fns.fcntl = fake_fcntl;
	struct stack_vpoll_backend be = {
		.f = &fns, .stackdata = &stackdata_marker, .owner = getpid(),
		.set_current = set_current, .errno_location = fake_errno_location,
	};
	cr_assert(eq(int, stack_vpoll_register(STACK_ID, &be), 0));
	stackdata_seen_ok = 1;
	closes = 0;
	nonblock = 0;
}

TestSuite(stack_vpoll, .init = setup);

/* A socket of the fake plug-in, mapped. */
static int new_socket(void)
{
	set_current(&stackdata_marker);
	int fd = fake_socket(AF_INET, SOCK_STREAM, 0);
	set_current(NULL);
	cr_assert(fd >= 0, "vpoll_create: %s", strerror(errno));
	cr_assert(eq(int, stack_vpoll_adopt(STACK_ID, fd, 0), 0));
	return fd;
}

Test(stack_vpoll, kernel_fds_are_not_mapped)
{
	int p[2];

	cr_assert(eq(int, stack_vpoll_owns(0), 0));
	cr_assert(eq(int, stack_vpoll_active, 0), "no user-space socket yet: hooks pay one load");
	int fd = new_socket();
	cr_assert(eq(int, pipe(p), 0));
	cr_assert(ne(int, stack_vpoll_owns(fd), 0));
	cr_assert(eq(int, stack_vpoll_owns(p[0]), 0));
	cr_assert(eq(int, stack_vpoll_owns(-1), 0));
	cr_assert(eq(int, stack_vpoll_owns(FDT_FD_MAX + 5), 0));
	cr_assert(eq(int, fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC), "must not cross exec");
	close(p[0]);
	close(p[1]);
}

Test(stack_vpoll, calls_reach_the_plugin_with_its_stackdata)
{
	int fd = new_socket();
	char buf[8] = "";

	errno = 1234;
	cr_assert(eq(long, (long)stack_vpoll_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), 3L));
	cr_assert(eq(str, buf, "abc"));
	cr_assert(eq(int, errno, 1234), "errno untouched on success");
	cr_assert(eq(int, stackdata_seen_ok, 1), "getstackdata answered the stack");
	cr_assert(eq(ptr, current, NULL), "restored after the call");
}

Test(stack_vpoll, the_plugins_errno_becomes_the_result)
{
	int fd = new_socket();
	char buf[2];

	errno = 77;
	cr_assert(eq(long, (long)stack_vpoll_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), (long)-EMSGSIZE));
	cr_assert(eq(long, (long)stack_vpoll_sendto(fd, "x", 1, 0, NULL, 0), (long)-EPIPE));
	cr_assert(eq(int, errno, 77));
	cr_assert(eq(int, stack_vpoll_bind(fd, NULL, 0), -ENOSYS), "a function the plug-in lacks");
}

Test(stack_vpoll, read_write_fall_back_to_recv_send)
{
	int fd = new_socket();
	char buf[8] = "";
	struct iovec iov = { buf, sizeof(buf) };

	cr_assert(eq(long, (long)stack_vpoll_read(fd, buf, sizeof(buf)), 3L));
	memset(buf, 0, sizeof(buf));
	cr_assert(eq(long, (long)stack_vpoll_readv(fd, &iov, 1), 3L));
	cr_assert(eq(str, buf, "abc"));
	cr_assert(eq(long, (long)stack_vpoll_write(fd, "x", 1), (long)-EPIPE));
}

Test(stack_vpoll, dups_share_the_socket_and_its_readiness)
{
	int fd = new_socket();
	int d = stack_vpoll_dup(fd, -1, 0);
	unsigned id = 0;

	cr_assert(d >= 0 && d != fd);
	cr_assert(eq(int, stack_vpoll_target(d, &id), fd));
	cr_assert(eq(int, (int)id, STACK_ID));
	cr_assert(eq(int, stack_vpoll_refs(fd), 2));
	cr_assert(eq(int, fcntl(d, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC));

	struct pollfd p = { .fd = d, .events = POLLIN };
	cr_assert(eq(int, poll(&p, 1, 0), 0), "nothing to read yet");
	cr_assert(eq(int, vpoll_ctl(fd, VPOLL_CTL_ADDEVENTS, EPOLLIN), 0));
	cr_assert(eq(int, poll(&p, 1, 1000), 1), "the plug-in's event shows on the dup");
	cr_assert(ne(int, p.revents & POLLIN, 0));

	char buf[8];
	cr_assert(eq(long, (long)stack_vpoll_recvfrom(d, buf, sizeof(buf), 0, NULL, NULL), 3L),
		  "a call on the dup reaches the same plug-in socket");
}

Test(stack_vpoll, the_plugin_socket_closes_with_the_last_fd)
{
	int fd = new_socket();
	int d = stack_vpoll_dup(fd, -1, 0);

	cr_assert(eq(int, stack_vpoll_close(fd), 0));
	cr_assert(eq(int, closes, 0), "a dup still uses it");
	cr_assert(eq(int, stack_vpoll_owns(fd), 0), "the program's number is gone");
	cr_assert(ge(int, fcntl(fd, F_GETFD), 0), "the plug-in's number stays open, hidden");
	cr_assert(eq(int, stack_vpoll_dup(d, fd, -1), -EBUSY), "the hidden number cannot be taken");
	char buf[8];
	cr_assert(eq(long, (long)stack_vpoll_recvfrom(d, buf, sizeof(buf), 0, NULL, NULL), 3L));
	cr_assert(eq(int, stack_vpoll_close(d), 0));
	cr_assert(eq(int, closes, 1));
	cr_assert(eq(int, stack_vpoll_refs(fd), 0));
	cr_assert(eq(int, fcntl(d, F_GETFD), -1), "the dup is closed");
	cr_assert(eq(int, stack_vpoll_close(d), -EBADF));
}

Test(stack_vpoll, dup2_onto_a_mapped_fd_settles_it)
{
	int a = new_socket(), b = new_socket();

	cr_assert(eq(int, stack_vpoll_forget(b), 0));
	cr_assert(eq(int, closes, 1), "b's only fd goes: its plug-in socket is closed");
	int d = stack_vpoll_dup(a, -1, 0);
	cr_assert(eq(int, stack_vpoll_forget(a), -EBUSY), "a's number names its socket while d lives");
	stack_vpoll_close(d);
	stack_vpoll_close(a);
	cr_assert(eq(int, closes, 2));
}

Test(stack_vpoll, close_range_closes_plugin_sockets)
{
	int a = new_socket(), b = new_socket();
	unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);

	stack_vpoll_close_range(lo, hi);
	cr_assert(eq(int, closes, 2));
	cr_assert(eq(int, stack_vpoll_owns(a) | stack_vpoll_owns(b), 0));
}

Test(stack_vpoll, nonblocking_mode_goes_to_the_plugin)
{
	int fd = new_socket(), on = 1;

	cr_assert(eq(int, stack_vpoll_ioctl(fd, FIONBIO, &on), 0));
	cr_assert(eq(int, nonblock, 1));
	cr_assert(eq(int, stack_vpoll_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK));
	cr_assert(eq(int, stack_vpoll_fcntl(fd, F_SETFL, O_RDWR), 0));
	cr_assert(eq(int, nonblock, 0));
	int fd2 = fake_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, stack_vpoll_adopt(STACK_ID, fd2, SOCK_NONBLOCK), 0));
	cr_assert(eq(int, nonblock, 1), "SOCK_NONBLOCK at socket() reaches the plug-in");
}

Test(stack_vpoll, a_forked_child_is_refused)
{
	int fd = new_socket();
	struct stack_vpoll_backend be = {
		.f = &fns, .stackdata = &stackdata_marker, .owner = getpid() + 100000,
		.set_current = set_current, .errno_location = fake_errno_location,
	};
	char buf[8];

	stack_vpoll_register(STACK_ID, &be);
	cr_assert(eq(long, (long)stack_vpoll_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), (long)-ENETDOWN));
	cr_assert(eq(int, stack_vpoll_close(fd), 0));
	cr_assert(eq(int, closes, 0), "the child does not touch the parent's stack");
	cr_assert(eq(int, fcntl(fd, F_GETFD), -1), "but its fd is closed");
}

Test(stack_vpoll, bad_registrations)
{
	struct stack_vpoll_backend be = { .f = &fns, .set_current = set_current };

	cr_assert(eq(int, stack_vpoll_register(0, &be), -EINVAL), "id 0 is the kernel");
	cr_assert(eq(int, stack_vpoll_register(STACK_MAX, &be), -EINVAL));
	cr_assert(eq(int, stack_vpoll_adopt(STACK_ID + 1, 5, 0), -EINVAL), "no backend there");
	cr_assert(eq(int, stack_vpoll_target(0, NULL), -EBADF));
}
