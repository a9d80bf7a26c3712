/*
 * test_progfd — a thread that detaches its fd table holds nothing of the program's but what
 * it keeps, reaches program fds through copies, and sees no fd-table records by number.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "fdtable.h"
#include "progfd.h"
#include "test_util.h"

TestSuite(progfd);

struct probe {
	int pipe_w, keep;           /* in: the program's fds */
	ino_t pipe_ino;
	int detach, keep_ok, pipe_gone, copy_same, copy_closed, known, foreach_n;
};

static int count(const struct fdt_rec *rec, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void *detached(void *arg)
{
	struct probe *p = arg;
	struct stat a;

	p->detach = progfd_detach(&p->keep, 1);
	p->keep_ok = fcntl(p->keep, F_GETFD) >= 0;
	p->pipe_gone = fcntl(p->pipe_w, F_GETFD) < 0 || p->pipe_w == p->keep;
	int l = progfd_get(p->pipe_w);
	p->copy_same = l >= 0 && fstat(l, &a) == 0 && a.st_ino == p->pipe_ino;
	progfd_put(p->pipe_w, l);
	p->copy_closed = l >= 0 && fcntl(l, F_GETFD) < 0;
	p->known = fdt_known(p->keep);
	fdt_foreach(count, &p->foreach_n);
	return NULL;
}

Test(progfd, detached_thread)
{
	int pv[2], keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct probe p = { 0 };
	struct fdt_rec rec;
	struct stat st;
	pthread_t th;
	char c;

	cr_assert(eq(int, pipe(pv), 0));
	cr_assert(eq(int, progfd_get(pv[1]), pv[1]), "a shared table: the fd itself");
	fdt_rec_init(&rec, keep, AF_INET, SOCK_STREAM, 0, 0, FDT_ORIGIN_SOCKET);
	cr_assert(eq(int, fdt_add(&rec), 0));
	p.pipe_w = pv[1];
	cr_assert(eq(int, fstat(pv[1], &st), 0));
	p.pipe_ino = st.st_ino;
	p.keep = keep;
	cr_assert(eq(int, pthread_create(&th, NULL, detached, &p), 0));
	cr_assert(eq(int, pthread_join(th, NULL), 0));
	cr_assert(eq(int, p.detach, 0));
	cr_assert(ne(int, p.keep_ok, 0), "the kept fd stays in the thread's table");
	cr_assert(ne(int, p.pipe_gone, 0), "the program's other fds are closed in the thread's table");
	cr_assert(ne(int, p.copy_same, 0), "progfd_get gives a copy of the same file");
	cr_assert(ne(int, p.copy_closed, 0), "progfd_put closes it");
	cr_assert(eq(int, p.known, 0), "no record by number on a detached thread");
	cr_assert(eq(int, p.foreach_n, 1), "fdt_foreach still lists the program's records");
	cr_assert(ne(int, fdt_known(keep), 0), "the program's record is untouched");
	/* the thread held no reference to the pipe: closing the program's end gives EOF */
	close(pv[1]);
	cr_assert(eq(long, (long)read(pv[0], &c, 1), 0L));
	close(pv[0]);
	fdt_del(keep);
	close(keep);
}

Test(progfd, bad_fd)
{
	cr_assert(eq(int, progfd_get(-1), -1), "shared: passed through as given");
	progfd_put(-1, -1);   /* nothing to close */
}
