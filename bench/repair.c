/*
 * bench/repair — save and restore N established loopback connections (16 KiB unread in the
 * receive queue and 16 KiB unsent in the send queue of each), traffic locked with netlock,
 * in a private network namespace; the peer ends live in a child process (fd limit).
 *
 * Reports microseconds per connection (median of R rounds) for:
 *   save floor     the kernel calls of a save, done directly into pre-faulted buffers
 *   opts read      repair_opts_read, which core/checkpoint.c does before the freeze
 *   save           the pause of a checkpoint (core/checkpoint.c save_one): repair_pause_as with
 *                  the family and SO_REUSEADDR read before the freeze, repair_set_addr,
 *                  REPAIR_SAVE_NO_SOCKOPTS, repair_save; queue buffers from a pre-faulted arena
 *   save fresh     the same with the engine's own malloc'd buffers (first-touch page faults)
 *   restore floor  the kernel calls of a restore, done directly
 *   restore        socket + repair_pause_as + set_addr/queue + repair_restore + repair_resume
 *                  (floor and engine restores alternate connection by connection, the order
 *                  swapped in a second batch, so both run under the same conditions)
 *
 * usage: repair [-a] [-r rounds] N...   (needs root)
 *   -a: "save" is the plain API instead: repair_pause + repair_save reading the options in the
 *       pause (no opts read column)
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "../tests/repair_fixture.h"

#define QB 16384

struct saved {
	struct repair_data d;
	union repair_addr self, peer;
	char *inq, *outq;
};

static void die(const char *what)
{
	fprintf(stderr, "bench/repair: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* n connections: accepted sockets in fds[], each with QB unread; locked; then QB unsent. */
static pid_t setup(int lfd, uint16_t port, int n, int *fds, struct netlock **nl)
{
	struct netlock_conn *c = calloc(n, sizeof(*c));
	int pfd[2];
	char k;
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fx_spawn_peers(port, n, QB, pfd[1]);
	if (pid < 0)
		die("fork");
	for (int i = 0; i < n; i++) {
		fds[i] = accept(lfd, NULL, NULL);
		if (fds[i] < 0)
			die("accept");
	}
	if (read(pfd[0], &k, 1) != 1)
		die("peer process failed");
	close(pfd[0]);
	close(pfd[1]);
	for (int i = 0; i < n; i++) {
		if (fx_wait_inq(fds[i], QB, 5000))
			die("recv queue not filled");
		c[i] = fx_conn(fds[i]);
	}
	if (netlock_create(nl) || netlock_add(*nl, c, n, NETLOCK_BOTH))
		die("netlock");
	for (int i = 0; i < n; i++) {
		uint64_t off = 0;

		if (fx_send(fds[i], 0, &off, QB) != QB)
			die("send queue not filled");
	}
	free(c);
	return pid;
}

/* The kernel calls of one save, directly (what libsoccr does, minus its bookkeeping). */
static int floor_save(int fd, char *in, char *out)
{
	struct tcp_info ti;
	struct tcp_repair_window w;
	socklen_t l;
	int on = 1, v, q, inq, outq, unsq;
	uint32_t seq;

	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
	l = 7;
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	ioctl(fd, SIOCINQ, &inq);
	ioctl(fd, SIOCOUTQ, &outq);
	ioctl(fd, SIOCOUTQNSD, &unsq);
	l = sizeof(v);
	getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &l);
	getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v, &l);
	l = sizeof(w);
	getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &l);
	q = TCP_RECV_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	l = sizeof(seq);
	getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, &l);
	if (recv(fd, in, inq + 1, MSG_PEEK | MSG_DONTWAIT) != inq)
		return -1;
	q = TCP_SEND_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, &l);
	if (recv(fd, out, outq + 1, MSG_PEEK | MSG_DONTWAIT) != outq)
		return -1;
	q = TCP_NO_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	return 0;
}

/* The kernel calls of one restore, directly. */
static int floor_restore(const struct saved *s)
{
	const struct repair_data *d = &s->d;
	struct tcp_repair_opt o[4] = {
		{ 4, 0 }, { 3, d->snd_wscale | d->rcv_wscale << 16 }, { 8, 0 }, { 2, d->mss_clamp } };
	struct tcp_repair_window w = { d->snd_wl1, d->snd_wnd, d->max_window, d->rcv_wnd, d->rcv_wup };
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1, off = 0, q, v;
	uint32_t sent = d->outq_len - d->unsq_len;

	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
	if (bind(fd, &s->self.sa, sizeof(s->self.v4)) < 0)
		return -1;
	q = TCP_RECV_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	v = d->inq_seq - d->inq_len;
	setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v));
	q = TCP_SEND_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	v = d->outq_seq - d->outq_len;
	setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v));
	if (connect(fd, &s->peer.sa, sizeof(s->peer.v4)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, sizeof(o));
	setsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &d->timestamp, sizeof(int));
	q = TCP_RECV_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	if (send(fd, s->inq, d->inq_len, MSG_DONTWAIT) != (ssize_t)d->inq_len)
		return -1;
	if (sent) {
		q = TCP_SEND_QUEUE;
		setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
		send(fd, s->outq, sent, MSG_DONTWAIT);
	}
	q = TCP_NO_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w));
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	if (d->unsq_len && send(fd, s->outq + sent, d->unsq_len, MSG_DONTWAIT) != (ssize_t)d->unsq_len)
		return -1;
	return fd;
}

/*
 * Restore the n saved connections, alternating the floor and the engine (parity picks which
 * goes first), so both see the same conditions (the RCU work of the sockets just closed, cache
 * and scheduler noise). Adds floor time, engine time, floor count, engine count to t[0..3].
 */
static void restore_mixed(int n, struct saved *sv, int *nfd, int parity, double *t)
{
	for (int i = 0; i < n; i++) {
		struct repair_sk *sk;
		double t0 = fx_now_us();

		if (((i + parity) & 1) == 1) {
			if ((nfd[i] = floor_restore(&sv[i])) < 0)
				die("floor restore");
			t[0] += fx_now_us() - t0;
			t[2]++;
			continue;
		}
		nfd[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (nfd[i] < 0 || repair_pause_as(nfd[i], AF_INET, 0, &sk))
			die("restore socket");
		repair_set_addr(sk, REPAIR_SELF, &sv[i].self, 0);
		repair_set_addr(sk, REPAIR_PEER, &sv[i].peer, 0);
		repair_set_queue(sk, REPAIR_RECVQ, sv[i].inq, sv[i].d.inq_len, REPAIR_TAKE);
		repair_set_queue(sk, REPAIR_SENDQ, sv[i].outq, sv[i].d.outq_len, REPAIR_TAKE);
		sv[i].inq = sv[i].outq = NULL;   /* the engine frees them */
		if (repair_restore(sk, &sv[i].d, sizeof(sv[i].d)) || repair_resume(sk))
			die("restore");
		t[1] += fx_now_us() - t0;
		t[3]++;
	}
}

static void *arena(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		       -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void silent_close_all(int *fds, int n)
{
	int on = 1;

	for (int i = 0; i < n; i++) {
		setsockopt(fds[i], IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
		close(fds[i]);
	}
}

/* One round at size n: returns per-connection microseconds in r[0..5]. */
static int plain;

/* One engine save of fds[i] into sv[i]; the checkpoint's way unless -a. */
static void save_engine(int fd, struct saved *sv, const struct repair_opts *o, char *qin,
			char *qout, size_t slot)
{
	struct repair_sk *sk;
	int err = plain ? repair_pause(fd, &sk) : repair_pause_as(fd, AF_INET, o->reuseaddr, &sk);

	if (err)
		die("pause");
	if (!plain) {
		repair_set_addr(sk, REPAIR_SELF, &sv->self, 0);
		repair_set_addr(sk, REPAIR_PEER, &sv->peer, 0);
		repair_set_save_flags(sk, REPAIR_SAVE_NO_SOCKOPTS);
	}
	if (qin) {
		repair_set_queue_buf(sk, REPAIR_RECVQ, qin, slot);
		repair_set_queue_buf(sk, REPAIR_SENDQ, qout, slot);
	}
	if (repair_save(sk, &sv->d, sizeof(sv->d)))
		die("save");
	if (!plain)
		sv->d.opts = *o;
	repair_get_addr(sk, REPAIR_SELF, &sv->self);
	repair_get_addr(sk, REPAIR_PEER, &sv->peer);
	if (!qin) {
		void *b;
		size_t l;

		repair_get_queue(sk, REPAIR_RECVQ, &b, &l, REPAIR_TAKE);
		sv->inq = b;
		repair_get_queue(sk, REPAIR_SENDQ, &b, &l, REPAIR_TAKE);
		sv->outq = b;
	}
	repair_release(sk);
}

/* What a checkpoint knows before the freeze: addresses (untimed), options (timed apart). */
static double pre_freeze(int *fds, int n, struct saved *sv, struct repair_opts *op)
{
	double t0;
	int off = TCP_REPAIR_OFF_NO_WP;

	for (int i = 0; i < n; i++) {
		socklen_t l = sizeof(sv[i].self);

		/* the floor pass left it paused: give it back as a program would have it */
		setsockopt(fds[i], IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));

		getsockname(fds[i], &sv[i].self.sa, &l);
		l = sizeof(sv[i].peer);
		getpeername(fds[i], &sv[i].peer.sa, &l);
	}
	t0 = fx_now_us();
	for (int i = 0; i < n && !plain; i++)
		if (repair_opts_read(fds[i], &op[i], sizeof(op[i])))
			die("opts read");
	return (fx_now_us() - t0) / n;
}

static void round_n(int n, double *r)
{
	static const size_t slot = QB + 4096;
	int *fds = calloc(n, sizeof(int)), *nfd = calloc(n, sizeof(int));
	struct saved *sv = calloc(n, sizeof(*sv));
	struct repair_opts *op = calloc(n, sizeof(*op));
	double rt[4] = { 0, 0, 0, 0 };
	char *ar = arena((size_t)n * 2 * slot);
	struct netlock *nl = NULL;
	uint16_t port = 0;
	double t0;
	int lfd = fx_listen(FAM4, 0, &port);
	pid_t pid;

	/* batch A: floor save, the engine (arena, then fresh), then restore: half floor, half engine */
	pid = setup(lfd, port, n, fds, &nl);
	/* one untimed pass first: the first touch of each socket's queues is not the interface */
	for (int i = 0; i < n; i++)
		if (floor_save(fds[i], ar + (size_t)i * 2 * slot, ar + (size_t)i * 2 * slot + slot))
			die("floor save");
	t0 = fx_now_us();
	for (int i = 0; i < n; i++)
		if (floor_save(fds[i], ar + (size_t)i * 2 * slot, ar + (size_t)i * 2 * slot + slot))
			die("floor save");
	r[0] = (fx_now_us() - t0) / n;
	r[5] = pre_freeze(fds, n, sv, op);
	t0 = fx_now_us();
	for (int i = 0; i < n; i++)
		save_engine(fds[i], &sv[i], &op[i], ar + (size_t)i * 2 * slot,
			    ar + (size_t)i * 2 * slot + slot, slot);
	r[1] = (fx_now_us() - t0) / n;
	t0 = fx_now_us();
	for (int i = 0; i < n; i++)
		save_engine(fds[i], &sv[i], &op[i], NULL, NULL, 0);
	r[2] = (fx_now_us() - t0) / n;
	silent_close_all(fds, n);
	restore_mixed(n, sv, nfd, 0, rt);
	silent_close_all(nfd, n);
	for (int i = 0; i < n; i++) {
		free(sv[i].inq);    /* the floor's half; the engine freed its own */
		free(sv[i].outq);
	}
	netlock_destroy(nl);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* batch B: the same save, the restores with the other parity */
	pid = setup(lfd, port, n, fds, &nl);
	pre_freeze(fds, n, sv, op);
	for (int i = 0; i < n; i++)
		save_engine(fds[i], &sv[i], &op[i], NULL, NULL, 0);
	silent_close_all(fds, n);
	restore_mixed(n, sv, nfd, 1, rt);
	r[3] = rt[0] / rt[2];
	r[4] = rt[1] / rt[3];
	silent_close_all(nfd, n);
	for (int i = 0; i < n; i++) {
		free(sv[i].inq);
		free(sv[i].outq);
	}
	netlock_destroy(nl);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(lfd);
	munmap(ar, (size_t)n * 2 * slot);
	free(fds);
	free(nfd);
	free(sv);
	free(op);
}

int main(int argc, char **argv)
{
	static const char *names[6] = { "save floor", "save", "save fresh", "restore floor",
					"restore", "opts read" };
	int rounds = 3, a = 1;
	struct rlimit rl;

	if (a < argc && !strcmp(argv[a], "-a")) {
		plain = 1;   /* "save" with the options read inside the pause */
		a++;
	}
	if (argc > a + 1 && !strcmp(argv[a], "-r")) {
		rounds = atoi(argv[a + 1]);
		a += 2;
	}
	if (a >= argc) {
		fprintf(stderr, "usage: %s [-a] [-r rounds] N...\n", argv[0]);
		return 2;
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (fx_netns()) {
		fprintf(stderr, "bench/repair: cannot set up a network namespace (need root)\n");
		return 77;
	}
	printf("%-8s %12s %12s %12s %12s %14s %12s   (us per connection, median of %d; total ms)\n",
	       "N", names[0], names[5], names[1], names[2], names[3], names[4], rounds);
	for (; a < argc; a++) {
		int n = atoi(argv[a]);
		double r[16][6], med[6];

		if (n <= 0 || rounds < 1 || rounds > 16)
			return 2;
		for (int k = 0; k < rounds; k++)
			round_n(n, r[k]);
		for (int j = 0; j < 6; j++) {
			double col[16];

			for (int k = 0; k < rounds; k++)
				col[k] = r[k][j];
			qsort(col, rounds, sizeof(double), cmp_d);
			med[j] = col[rounds / 2];
		}
		printf("%-8d %12.1f %12.1f %12.1f %12.1f %14.1f %12.1f\n", n, med[0], med[5], med[1],
		       med[2], med[3], med[4]);
		printf("%-8s %12.1f %12.1f %12.1f %12.1f %14.1f %12.1f\n", "  total", med[0] * n / 1e3,
		       med[5] * n / 1e3, med[1] * n / 1e3, med[2] * n / 1e3, med[3] * n / 1e3,
		       med[4] * n / 1e3);
		fflush(stdout);
	}
	return 0;
}
