/*
 * progfd — a private fd table for sockshift's threads, and copies of program fds for them
 * (see progfd.h). Raw system calls only.
 *
 * Each detached thread keeps, in its own table, a pidfd of a program thread to copy from: the
 * process (the leader) at first; another program thread once the leader has exited. The tids
 * of the detached threads are remembered so that such a fallback never picks one of them
 * (their tables are private, not the program's).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "progfd.h"
#include "rawsys.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL   /* Linux 6.9: a pidfd of one thread, not of the process */
#endif

#define DETACHED_MAX 8

__thread int progfd_private __attribute__((tls_model("initial-exec")));
static __thread int src_pidfd = -1;          /* in this thread's private table */
static atomic_int detached_tids[DETACHED_MAX];

static void remember_tid(int tid)
{
	for (int i = 0; i < DETACHED_MAX; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&detached_tids[i], &expect, tid))
			return;
	}
}

static int is_detached_tid(int tid)
{
	for (int i = 0; i < DETACHED_MAX; i++)
		if (atomic_load(&detached_tids[i]) == tid)
			return 1;
	return 0;
}

static void close_ranges(const int *keep, unsigned nkeep)
{
	unsigned lo = 0;

	/* keep is short: repeatedly close up to the next kept number above lo */
	for (;;) {
		long next = -1;

		for (unsigned i = 0; i < nkeep; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0) {
			rawsys3(SYS_close_range, lo, ~0U, 0);
			return;
		}
		if ((unsigned)next > lo)
			rawsys3(SYS_close_range, lo, (unsigned)next - 1, 0);
		lo = (unsigned)next + 1;
	}
}

int progfd_detach(const int *keep, unsigned nkeep)
{
	long r;

	if (progfd_private)
		return 0;
	r = rawsys1(SYS_unshare, CLONE_FILES);
	if (r < 0)
		return (int)r;
	close_ranges(keep, nkeep);
	/* 0, 1, 2 taken by /dev/null: a stray write to "stderr" lands nowhere */
	for (int i = 0; i < 3; i++) {
		r = rawsys4(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
		if (r < 0)
			break;
		if (r > 2) {
			rawsys1(SYS_close, r);
			break;
		}
	}
	remember_tid((int)rawsys0(SYS_gettid));
	progfd_private = 1;
	return 0;
}

/* A pidfd for a live program thread other than the leader, or -ESRCH. */
static int other_thread_pidfd(void)
{
	char buf[2048];
	int dir = (int)rawsys4(SYS_openat, AT_FDCWD, "/proc/self/task",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int pid = (int)rawsys0(SYS_getpid), found = -ESRCH;
	long n;

	if (dir < 0)
		return -ESRCH;
	while (found < 0 && (n = rawsys3(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && found < 0; ) {
			/* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name */
			unsigned short reclen = *(unsigned short *)(buf + off + 16);
			const char *name = buf + off + 19;
			int tid = 0;

			off += reclen;
			if (*name < '0' || *name > '9')
				continue;
			for (; *name >= '0' && *name <= '9'; name++)
				tid = tid * 10 + (*name - '0');
			if (tid == pid || is_detached_tid(tid))
				continue;
			long fd = rawsys2(SYS_pidfd_open, tid, PIDFD_THREAD);
			if (fd >= 0)
				found = (int)fd;
		}
	}
	rawsys1(SYS_close, dir);
	return found;
}

int progfd_get(int progfd)
{
	long r;

	if (!progfd_private)
		return progfd;
	if (progfd < 0)
		return -EBADF;
	for (int tries = 0; tries < 3; tries++) {
		if (src_pidfd < 0) {
			r = rawsys2(SYS_pidfd_open, rawsys0(SYS_getpid), 0);
			if (r < 0)
				return (int)r;
			src_pidfd = (int)r;
		}
		r = rawsys3(SYS_pidfd_getfd, src_pidfd, progfd, 0);
		if (r != -ESRCH)
			return (int)r;
		/* that thread is gone (the leader after pthread_exit, or our last pick) */
		rawsys1(SYS_close, src_pidfd);
		src_pidfd = other_thread_pidfd();
		if (src_pidfd < 0)
			return -ESRCH;
	}
	return -ESRCH;
}

void progfd_put(int progfd, int local)
{
	/* a copy may have the program's number by chance: on a detached thread it is a copy */
	if (local >= 0 && (progfd_private || local != progfd))
		rawsys1(SYS_close, local);
}

void progfd_fork_child(void)
{
	for (int i = 0; i < DETACHED_MAX; i++)
		atomic_store(&detached_tids[i], 0);
}
