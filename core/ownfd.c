/*
 * ownfd — registry of sockshift's own fds (see ownfd.h). Uses raw system calls so it can
 * run inside any hook without re-entering the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>

#include "ownfd.h"
#include "rawsys.h"

/* Slots hold fd + 1, so the zero-initialised array means "empty". */
static atomic_int own[OWNFD_MAX];
static void (*moved_cb)(int oldfd, int newfd);

int ownfd_is(int fd)
{
	if (fd < OWNFD_MIN_NUMBER)
		return 0;
	for (int i = 0; i < OWNFD_MAX; i++)
		if (atomic_load(&own[i]) == fd + 1)
			return 1;
	return 0;
}

static int move_high(int fd)
{
	long r = rawsys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, OWNFD_MIN_NUMBER);

	if (r < 0)
		r = rawsys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3);
	return (int)r;
}

int ownfd_adopt(int fd)
{
	int nfd = move_high(fd);

	if (nfd < 0)
		return nfd;
	rawsys1(SYS_close, fd);
	for (int i = 0; i < OWNFD_MAX; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&own[i], &expect, nfd + 1))
			return nfd;
	}
	return nfd; /* untracked but still usable */
}

int ownfd_evacuate(int fd)
{
	for (int i = 0; i < OWNFD_MAX; i++) {
		if (atomic_load(&own[i]) != fd + 1)
			continue;
		int nfd = (int)rawsys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, fd + 1);
		if (nfd < 0)
			return nfd;
		atomic_store(&own[i], nfd + 1);
		if (moved_cb)
			moved_cb(fd, nfd);
		rawsys1(SYS_close, fd);
		return 0;
	}
	return 0;
}

void ownfd_set_moved_cb(void (*cb)(int oldfd, int newfd))
{
	moved_cb = cb;
}
