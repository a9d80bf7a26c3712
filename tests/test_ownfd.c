/*
 * test_ownfd — the shim's own fds live high, are CLOEXEC, and move out of the way.
 */
#include <fcntl.h>

#include "ownfd.h"
#include "test_util.h"

TestSuite(ownfd);

static int moved_from = -1, moved_to = -1;

static void on_move(int oldfd, int newfd)
{
	moved_from = oldfd;
	moved_to = newfd;
}

Test(ownfd, adopt_and_evacuate)
{
	int fd = open("/dev/null", O_WRONLY);
	int own = ownfd_adopt(fd);

	cr_assert(ge(int, own, OWNFD_MIN_NUMBER));
	cr_assert(eq(int, fcntl(fd, F_GETFD), -1), "the original number was released");
	cr_assert(eq(int, fcntl(own, F_GETFD), FD_CLOEXEC));
	cr_assert(ownfd_is(own));
	cr_assert(not(ownfd_is(fd)));
	ownfd_set_moved_cb(on_move);
	cr_assert(eq(int, ownfd_evacuate(own), 0));
	cr_assert(eq(int, moved_from, own));
	cr_assert(not(ownfd_is(own)));
	cr_assert(ownfd_is(moved_to));
	cr_assert(eq(int, fcntl(own, F_GETFD), -1), "the old number is free for the program");
	cr_assert(eq(int, ownfd_evacuate(5), 0), "not ours: nothing happens");
}
