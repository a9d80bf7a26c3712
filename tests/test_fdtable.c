/*
 * test_fdtable — records follow add/dup/close/close_range, options are remembered and
 * replaced, limits are enforced, and concurrent threads never corrupt the table.
 */
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/wait.h>

#include "fdtable.h"
#include "test_util.h"

static void reset(void)
{
	fdt_clear();
}

TestSuite(fdtable, .init = reset);

static void add(int fd, int type)
{
	struct fdt_rec r;

	fdt_rec_init(&r, fd, AF_INET, type, 6, 0, FDT_ORIGIN_SOCKET);
	cr_assert(eq(int, fdt_add(&r), 0));
}

Test(fdtable, add_get_del)
{
	struct fdt_rec r;

	add(5, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	cr_assert(fdt_known(5));
	cr_assert(eq(int, fdt_get(5, &r), 0));
	cr_assert(eq(int, r.fd, 5));
	cr_assert(eq(int, r.type, SOCK_STREAM));
	cr_assert(eq(int, r.status_flags, O_NONBLOCK));
	cr_assert(eq(int, r.fd_flags, FD_CLOEXEC));
	cr_assert(eq(int, r.backlog, -1));
	fdt_del(5);
	cr_assert(not(fdt_known(5)));
	cr_assert(eq(int, fdt_get(5, &r), -ENOENT));
}

Test(fdtable, limits)
{
	struct fdt_rec r;

	fdt_rec_init(&r, -1, AF_INET, SOCK_STREAM, 0, 0, 0);
	cr_assert(eq(int, fdt_add(&r), -EBADF));
	r.fd = FDT_FD_MAX;
	cr_assert(eq(int, fdt_add(&r), -EBADF));
	r.fd = FDT_FD_MAX - 1;
	cr_assert(eq(int, fdt_add(&r), 0));
	cr_assert(not(fdt_known(-3)));
	cr_assert(not(fdt_known(FDT_FD_MAX + 5)));
}

Test(fdtable, dup_copies_record_with_own_cloexec)
{
	struct fdt_rec r;

	add(3, SOCK_STREAM | SOCK_CLOEXEC);
	fdt_set_opt(3, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 }, sizeof(int));
	cr_assert(eq(int, fdt_dup(3, 9, 0), 0));
	cr_assert(eq(int, fdt_get(9, &r), 0));
	cr_assert(eq(int, r.fd, 9));
	cr_assert(eq(int, r.fd_flags, 0));
	cr_assert(eq(u32, r.nopts, 1));
	cr_assert(eq(int, r.opts[0].name, SO_KEEPALIVE));
	/* dup of an unknown fd onto a known one forgets the target */
	cr_assert(eq(int, fdt_dup(40, 9, 0), 0));
	cr_assert(not(fdt_known(9)));
}

Test(fdtable, options_replace_and_overflow)
{
	struct fdt_rec r;
	int v;

	add(4, SOCK_STREAM);
	v = 1;
	fdt_set_opt(4, IPPROTO_TCP, 1, &v, sizeof(v));
	v = 0;
	fdt_set_opt(4, IPPROTO_TCP, 1, &v, sizeof(v));
	fdt_get(4, &r);
	cr_assert(eq(u32, r.nopts, 1), "same option twice is one record");
	cr_assert(eq(int, *(int *)r.opts[0].val, 0), "the last value wins");
	for (int i = 0; i < FDT_OPT_MAX + 3; i++)
		fdt_set_opt(4, 1000, i, &i, sizeof(i));
	fdt_get(4, &r);
	cr_assert(eq(u32, r.nopts, FDT_OPT_MAX));
	cr_assert(ne(u32, r.state & FDT_OPTS_OVERFLOW, 0));
	char big[FDT_OPTVAL_MAX + 1] = { 0 };
	add(6, SOCK_STREAM);
	fdt_set_opt(6, 1, 2, big, sizeof(big));
	fdt_get(6, &r);
	cr_assert(eq(u32, r.nopts, 0));
	cr_assert(ne(u32, r.state & FDT_OPTS_OVERFLOW, 0));
}

Test(fdtable, state_backlog_flags)
{
	struct fdt_rec r;

	add(7, SOCK_STREAM);
	fdt_set_state(7, FDT_BOUND, 0);
	fdt_set_backlog(7, 128);
	fdt_set_status_flags(7, O_NONBLOCK | O_RDWR);
	fdt_set_fd_flags(7, FD_CLOEXEC);
	fdt_get(7, &r);
	cr_assert(eq(u32, r.state, FDT_BOUND | FDT_LISTENING));
	cr_assert(eq(int, r.backlog, 128));
	cr_assert(eq(int, r.status_flags, O_NONBLOCK));
	cr_assert(eq(int, r.fd_flags, FD_CLOEXEC));
	fdt_set_state(7, 0, FDT_BOUND);
	fdt_get(7, &r);
	cr_assert(eq(u32, r.state, FDT_LISTENING));
	cr_assert(eq(int, fdt_set_state(99, 1, 0), -ENOENT));
}

Test(fdtable, del_range_spans_chunks)
{
	add(3, SOCK_STREAM);
	add(1500, SOCK_STREAM);
	add(5000, SOCK_STREAM);
	add(70000, SOCK_STREAM);
	cr_assert(eq(u32, fdt_count(), 4));
	fdt_del_range(1000, 6000);
	cr_assert(fdt_known(3));
	cr_assert(not(fdt_known(1500)));
	cr_assert(not(fdt_known(5000)));
	cr_assert(fdt_known(70000));
	fdt_del_range(0, ~0U);
	cr_assert(eq(u32, fdt_count(), 0));
}

static void *hammer(void *arg)
{
	int base = *(int *)arg;

	for (int round = 0; round < 2000; round++) {
		int fd = base + round % 50;
		struct fdt_rec r;
		fdt_rec_init(&r, fd, AF_INET6, SOCK_DGRAM, 17, 0, 0);
		fdt_add(&r);
		fdt_set_opt(fd, 1, round % 5, &round, sizeof(round));
		fdt_dup(fd, fd + 1000, 1);
		struct fdt_rec got;
		if (fdt_get(fd, &got) == 0 && (got.fd != fd || got.domain != AF_INET6))
			return (void *)1;
		fdt_del(fd + 1000);
	}
	return NULL;
}

Test(fdtable, threads_do_not_corrupt)
{
	pthread_t t[4];
	int base[4] = { 100, 200, 300, 400 };
	void *res;

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &base[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &res);
		cr_assert(res == NULL, "thread %d saw a corrupt record", i);
	}
	cr_assert(eq(u32, fdt_count(), 200));
}

Test(fdtable, fork_protocol_leaves_child_usable)
{
	add(8, SOCK_STREAM);
	fdt_fork_prepare();
	pid_t p = fork();
	if (p == 0) {
		fdt_fork_child();
		struct fdt_rec r;
		_exit(fdt_get(8, &r) == 0 && r.fd == 8 ? 0 : 1);
	}
	fdt_fork_parent();
	int st;
	waitpid(p, &st, 0);
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	cr_assert(ok, "the child could not use the table after fork");
}
