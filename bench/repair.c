/*
 * bench/repair — save and restore N established loopback connections (16 KiB unread in the
 * receive queue and 16 KiB unsent in the send queue of each), traffic locked with netlock,
 * in a private network namespace; the peer ends live in a child process (fd limit).
 *
 * Reports microseconds per connection (the median over every connection of R rounds, then the
 * mean, and the total of the mean for N connections) for:
 *   save floor     the kernel calls of a save (the engine's 15: libsoccr's 14, then the queue
 *                  selection reset), done directly into pre-faulted buffers
 *   opts read      repair_opts_read, which core/checkpoint.c does before the freeze
 *   save           the pause of a checkpoint (core/checkpoint.c save_one): repair_pause_as with
 *                  the family and SO_REUSEADDR read before the freeze, repair_set_addr,
 *                  REPAIR_SAVE_NO_SOCKOPTS, repair_save; queue buffers from a pre-faulted arena
 *   save fresh     the same with the engine's own malloc'd buffers (first-touch page faults)
 *   soccr save     libsoccr_pause + libsoccr_save + both queues taken (its own malloc)
 *   restore floor  the kernel calls of a restore, done directly (see floor_restore)
 *   restore        socket + repair_pause_as + repair_set_netns + set_addr/queue +
 *                  repair_restore + repair_resume (the namespace defaults are read once at
 *                  start, as a restoring process does once per namespace: core/restore.c)
 *   soccr restore  socket + libsoccr_pause + set_queue_bytes/set_addr + restore + resume
 *                  (all three restores borrow the saved queue buffers: REPAIR_BORROW, libsoccr
 *                  without SOCCR_MEM_EXCL; the batch frees them afterwards, untimed)
 * Every save method runs twice on every connection of a batch (A B B A or B A A B), and each
 * restore method restores every second or third connection (rotated between batches), so all
 * see the same conditions in the same run. The soccr columns need SOCCR_LIB, the path of a
 * libsoccr.so built from CRIU's soccr/ (docs/benchmarks.md); without it they print "-" and
 * the first line says why.
 *
 * usage: [SOCCR_LIB=.../libsoccr.so] repair [-a] [-n] [-r rounds] N...   (needs root)
 *   -a: "save" is the plain API instead: repair_pause + repair_save reading the options in the
 *       pause (no opts read column)
 *   -n: "restore" without repair_set_netns (the engine reads SO_NETNS_COOKIE per socket)
 */
#include <dlfcn.h>
#include <malloc.h>
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

/*
 * The kernel calls of one restore, directly: the fewest the kernel interface allows for this
 * connection (the engine's sequence without its bookkeeping). libsoccr makes three more: it
 * selects the receive queue twice, resets the selection, and toggles repair around the tail.
 */
static int floor_restore(const struct saved *s)
{
	const struct repair_data *d = &s->d;
	struct tcp_repair_opt o[4] = {
		{ 4, 0 }, { 3, d->snd_wscale | d->rcv_wscale << 16 }, { 8, 0 }, { 2, d->mss_clamp } };
	struct tcp_repair_window w = { d->snd_wl1, d->snd_wnd, d->max_window, d->rcv_wnd, d->rcv_wup };
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1, q, v;
	/* the tail goes out at once (nothing in flight, window open): it draws the peer's ACK */
	int off = d->unsq_len == d->outq_len && d->unsq_len <= d->snd_wnd ? TCP_REPAIR_OFF_NO_WP : 0;
	uint32_t sent = d->outq_len - d->unsq_len;

	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
	if (bind(fd, &s->self.sa, sizeof(s->self.v4)) < 0)
		return -1;
	q = TCP_SEND_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	v = d->outq_seq - d->outq_len;
	setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v));
	q = TCP_RECV_QUEUE;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	v = d->inq_seq - d->inq_len;
	setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v));
	if (connect(fd, &s->peer.sa, sizeof(s->peer.v4)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, sizeof(o));
	setsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &d->timestamp, sizeof(int));
	if (send(fd, s->inq, d->inq_len, MSG_DONTWAIT) != (ssize_t)d->inq_len)
		return -1;
	if (sent) {
		q = TCP_SEND_QUEUE;
		setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
		send(fd, s->outq, sent, MSG_DONTWAIT);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w));
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	if (d->unsq_len && send(fd, s->outq + sent, d->unsq_len, MSG_DONTWAIT) != (ssize_t)d->unsq_len)
		return -1;
	return fd;
}

/*
 * libsoccr, loaded at run time from SOCCR_LIB (CRIU's soccr/ built as a shared library; see
 * docs/benchmarks.md). Only its public API is called. Its libsoccr_sk_data is the 17 words
 * that open our struct repair_data (same order, REPAIR_DATA_V1_SIZE), and union libsoccr_addr
 * has the layout of union repair_addr, so our types carry its data.
 */
#define SOCCR_MEM_EXCL 0x1
static struct {
	void *(*pause)(int fd);
	int (*save)(void *sk, void *data, unsigned size);
	char *(*get_queue)(void *sk, int queue, unsigned flags);
	int (*set_queue)(void *sk, int queue, char *bytes, unsigned flags);
	int (*set_addr)(void *sk, int self, void *addr, unsigned flags);
	int (*restore)(void *sk, void *data, unsigned size);
	void (*resume)(void *sk);
	void (*release)(void *sk);
} soccr;
static int have_soccr;

/* 0 and the API resolved, or -1 with *why saying what is missing. */
static int soccr_load(const char **why)
{
	static char msg[512];
	const char *path = getenv("SOCCR_LIB");
	void *h;

	if (!path || !*path) {
		*why = "SOCCR_LIB is not set (docs/benchmarks.md says how to build libsoccr)";
		return -1;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(msg, sizeof(msg), "dlopen: %s", dlerror());
		*why = msg;
		return -1;
	}
	*(void **)&soccr.pause = dlsym(h, "libsoccr_pause");
	*(void **)&soccr.save = dlsym(h, "libsoccr_save");
	*(void **)&soccr.get_queue = dlsym(h, "libsoccr_get_queue_bytes");
	*(void **)&soccr.set_queue = dlsym(h, "libsoccr_set_queue_bytes");
	*(void **)&soccr.set_addr = dlsym(h, "libsoccr_set_addr");
	*(void **)&soccr.restore = dlsym(h, "libsoccr_restore");
	*(void **)&soccr.resume = dlsym(h, "libsoccr_resume");
	*(void **)&soccr.release = dlsym(h, "libsoccr_release");
	if (!soccr.pause || !soccr.save || !soccr.get_queue || !soccr.set_queue || !soccr.set_addr ||
	    !soccr.restore || !soccr.resume || !soccr.release) {
		snprintf(msg, sizeof(msg), "%s lacks a libsoccr_* function", path);
		*why = msg;
		return -1;
	}
	return 0;
}

/* libsoccr's checkpoint of one socket (CRIU's order: pause, save, take both queues). */
static void soccr_save_one(int fd, struct saved *s)
{
	void *sk = soccr.pause(fd);

	if (!sk || soccr.save(sk, &s->d, REPAIR_DATA_V1_SIZE) < 0)
		die("libsoccr save");
	s->inq = soccr.get_queue(sk, TCP_RECV_QUEUE, SOCCR_MEM_EXCL);
	s->outq = soccr.get_queue(sk, TCP_SEND_QUEUE, SOCCR_MEM_EXCL);
	soccr.release(sk);   /* repair stays on: the bench closes it silently */
}

/* libsoccr's restore (CRIU's order). Like the floor and the engine it borrows the queue
 * buffers, which the batch frees afterwards, untimed, for all three. */
static int soccr_restore_one(struct saved *s)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	void *sk = fd < 0 ? NULL : soccr.pause(fd);

	if (!sk)
		return -1;
	soccr.set_queue(sk, TCP_RECV_QUEUE, s->inq, 0);
	soccr.set_queue(sk, TCP_SEND_QUEUE, s->outq, 0);
	soccr.set_addr(sk, 1, &s->self, 0);
	soccr.set_addr(sk, 0, &s->peer, 0);
	if (soccr.restore(sk, &s->d, REPAIR_DATA_V1_SIZE))
		return -1;
	soccr.resume(sk);
	return fd;
}

/* Columns: per-connection sums t[] over c[] connections. */
enum { C_SFLOOR, C_OPTS, C_SAVE, C_FRESH, C_SSAVE, C_RFLOOR, C_RESTORE, C_SRESTORE, C_NR };
static const char *const col_name[C_NR] = {
	"save floor", "opts read", "save", "save fresh", "soccr save",
	"restore floor", "restore", "soccr restore",
};

/* Every per-connection time of every round, per column: medians resist a busy machine. */
static double *samp[C_NR];
static size_t nsamp[C_NR], capsamp;

static void add(int col, double us)
{
	if (nsamp[col] < capsamp)
		samp[col][nsamp[col]++] = us;
}

/* Microseconds since *t0, which moves to now. */
static double lap(double *t0)
{
	double now = fx_now_us(), d = now - *t0;

	*t0 = now;
	return d;
}

/* The namespace defaults hint, read once at start from a fresh socket (repair_set_netns). */
static struct repair_netns bench_ns;
static int no_hint;   /* -n */

/* Restore connection i with method m (0 floor, 1 engine, 2 libsoccr); returns its fd. */
static int restore_one(int m, struct saved *ours, struct saved *theirs)
{
	struct repair_sk *sk;
	int fd;

	if (m == 0)
		return floor_restore(ours);
	if (m == 2)
		return soccr_restore_one(theirs);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || repair_pause_as(fd, AF_INET, 0, &sk))
		return -1;
	repair_set_netns(sk, no_hint ? NULL : &bench_ns);
	repair_set_addr(sk, REPAIR_SELF, &ours->self, 0);
	repair_set_addr(sk, REPAIR_PEER, &ours->peer, 0);
	repair_set_queue(sk, REPAIR_RECVQ, ours->inq, ours->d.inq_len, REPAIR_BORROW);
	repair_set_queue(sk, REPAIR_SENDQ, ours->outq, ours->d.outq_len, REPAIR_BORROW);
	if (repair_restore(sk, &ours->d, sizeof(ours->d)) || repair_resume(sk))
		return -1;
	return fd;
}

/* libsoccr must have read the same connection state as the engine (the timestamp moves on). */
static void check_same(const struct saved *a, const struct saved *b)
{
	struct repair_data x = a->d, y = b->d;

	x.timestamp = y.timestamp = 0;
	if (memcmp(&x, &y, REPAIR_DATA_V1_SIZE) || memcmp(a->inq, b->inq, a->d.inq_len) ||
	    memcmp(a->outq, b->outq, a->d.outq_len)) {
		errno = EPROTO;
		die("libsoccr and the engine saved different states");
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

static void silent_close_all(int *fds, int n)
{
	int on = 1;

	for (int i = 0; i < n; i++) {
		setsockopt(fds[i], IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
		close(fds[i]);
	}
}

static int plain;   /* -a: "save" through the plain API */

/* One engine save of fd into sv; the checkpoint's way unless -a. */
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

/* What a checkpoint knows before the freeze: addresses (untimed), options (timed). */
static void pre_freeze(int *fds, int n, struct saved *sv, struct repair_opts *op)
{
	double t0;
	int off = TCP_REPAIR_OFF_NO_WP;

	for (int i = 0; i < n; i++) {
		socklen_t l = sizeof(sv[i].self);

		/* the warm-up pass left it paused: give it back as a program would have it */
		setsockopt(fds[i], IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));

		getsockname(fds[i], &sv[i].self.sa, &l);
		l = sizeof(sv[i].peer);
		getpeername(fds[i], &sv[i].peer.sa, &l);
	}
	for (int i = 0; i < n && !plain; i++) {
		t0 = fx_now_us();
		if (repair_opts_read(fds[i], &op[i], sizeof(op[i])))
			die("opts read");
		add(C_OPTS, lap(&t0));
	}
}

/* Buffers of the first save of a pair, freed at the end of the batch. */
static char **kept;
static size_t nkept;

static void keep(struct saved *s)
{
	if (s->inq)
		kept[nkept++] = s->inq;
	if (s->outq)
		kept[nkept++] = s->outq;
	s->inq = s->outq = NULL;
}

static void free_saved(struct saved *s, int n)
{
	for (int i = 0; i < n; i++) {
		free(s[i].inq);
		free(s[i].outq);
		s[i].inq = s[i].outq = NULL;
	}
}

/*
 * One batch at size n: fresh connections, then every method on every connection, so all of
 * them run under the same conditions (cache, RCU work of the sockets just closed, scheduler
 * noise):
 *   save floor / save (arena)      A B B A on even connections, B A A B on odd ones (b swaps),
 *                                  after an untimed warm-up pass
 *   save fresh / soccr save        the same (both malloc their buffers; the first pair's are
 *                                  kept until the batch ends, so every save touches new pages)
 *   restore floor / restore / soccr restore   one of them per connection, rotated by b
 * Adds each connection's microseconds to its column's samples.
 */
static void batch(int n, int lfd, uint16_t port, int b)
{
	static const size_t slot = QB + 4096;
	int *fds = calloc(n, sizeof(int)), *nfd = calloc(n, sizeof(int));
	struct saved *sv = calloc(n, sizeof(*sv)), *ss = calloc(n, sizeof(*ss));
	struct repair_opts *op = calloc(n, sizeof(*op));
	char *ar = arena((size_t)n * 2 * slot);
	int methods = have_soccr ? 3 : 2;
	struct netlock *nl = NULL;
	double t0;
	pid_t pid;

	kept = calloc((size_t)n * 4, sizeof(char *));
	nkept = 0;
	if (!fds || !nfd || !sv || !ss || !op || !kept)
		die("calloc");
	pid = setup(lfd, port, n, fds, &nl);
	/* the first touch of each socket's queues is not the interface */
	for (int i = 0; i < n; i++)
		if (floor_save(fds[i], ar + (size_t)i * 2 * slot, ar + (size_t)i * 2 * slot + slot))
			die("floor save");
	pre_freeze(fds, n, sv, op);

	for (int i = 0; i < n; i++) {
		char *in = ar + (size_t)i * 2 * slot, *out = in + slot;

		/* A B B A or B A A B: each method once first or last and once in the middle */
		int fl = (i + b) & 1;

		t0 = fx_now_us();
		for (int k = 0; k < 4; k++) {
			if ((k == 0 || k == 3) == fl) {
				if (floor_save(fds[i], in, out))
					die("floor save");
				add(C_SFLOOR, lap(&t0));
			} else {
				save_engine(fds[i], &sv[i], &op[i], in, out, slot);
				add(C_SAVE, lap(&t0));
			}
		}
		for (int k = 0; k < 4; k++) {
			t0 = fx_now_us();
			if ((k == 1 || k == 2) == fl) {
				if (!have_soccr)
					continue;
				keep(&ss[i]);
				ss[i].self = sv[i].self;
				ss[i].peer = sv[i].peer;
				t0 = fx_now_us();
				soccr_save_one(fds[i], &ss[i]);
				add(C_SSAVE, lap(&t0));
			} else {
				keep(&sv[i]);
				t0 = fx_now_us();
				save_engine(fds[i], &sv[i], &op[i], NULL, NULL, 0);
				add(C_FRESH, lap(&t0));
			}
		}
		if (have_soccr)
			check_same(&sv[i], &ss[i]);
	}
	silent_close_all(fds, n);

	for (int i = 0; i < n; i++) {
		int m = (i + b) % methods;

		t0 = fx_now_us();
		if ((nfd[i] = restore_one(m, &sv[i], &ss[i])) < 0)
			die(m == 0 ? "floor restore" : m == 1 ? "restore" : "libsoccr restore");
		add(C_RFLOOR + m, lap(&t0));
	}
	silent_close_all(nfd, n);
	free_saved(sv, n);
	free_saved(ss, n);
	while (nkept)
		free(kept[--nkept]);
	free(kept);
	malloc_trim(0);   /* every batch's malloc'd queue buffers start from pages not yet touched */
	netlock_destroy(nl);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	munmap(ar, (size_t)n * 2 * slot);
	free(fds);
	free(nfd);
	free(sv);
	free(ss);
	free(op);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Column j's median and mean over its samples (-1: not measured). */
static void summarize(int j, double *med, double *mean)
{
	double sum = 0;

	*med = *mean = -1;
	if (!nsamp[j])
		return;
	qsort(samp[j], nsamp[j], sizeof(double), cmp_d);
	*med = samp[j][nsamp[j] / 2];
	for (size_t i = 0; i < nsamp[j]; i++)
		sum += samp[j][i];
	*mean = sum / nsamp[j];
}

static void print_row(const char *label, const double *v, double scale, int prec)
{
	printf("%-8s", label);
	for (int j = 0; j < C_NR; j++) {
		int w = strlen(col_name[j]) > 10 ? (int)strlen(col_name[j]) : 10;

		if (v[j] < 0)
			printf(" %*s", w, "-");
		else
			printf(" %*.*f", w, prec, v[j] * scale);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *why = NULL;
	int rounds = 3, a = 1;
	struct rlimit rl;

	if (a < argc && !strcmp(argv[a], "-a")) {
		plain = 1;   /* "save" with the options read inside the pause */
		a++;
	}
	if (a < argc && !strcmp(argv[a], "-n")) {
		no_hint = 1;
		a++;
	}
	if (argc > a + 1 && !strcmp(argv[a], "-r")) {
		rounds = atoi(argv[a + 1]);
		a += 2;
	}
	if (a >= argc) {
		fprintf(stderr, "usage: %s [-a] [-n] [-r rounds] N...   (SOCCR_LIB=libsoccr.so: add libsoccr)\n",
			argv[0]);
		return 2;
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	have_soccr = soccr_load(&why) == 0;
	if (fx_netns()) {
		fprintf(stderr, "bench/repair: cannot set up a network namespace (need root)\n");
		return 77;
	}
	int nsfd = socket(AF_INET, SOCK_STREAM, 0);

	if (nsfd < 0 || repair_netns_read(nsfd, &bench_ns))
		die("namespace defaults");
	close(nsfd);
	if (have_soccr)
		printf("# libsoccr: %s\n", getenv("SOCCR_LIB"));
	else
		printf("# libsoccr columns skipped: %s\n", why);
	printf("# us per connection: the median over every connection of %d rounds (at least 100\n"
	       "# connections), then the mean; total: the mean times N, in ms\n", rounds);
	printf("%-8s", "N");
	for (int j = 0; j < C_NR; j++)
		printf(" %10s", col_name[j]);
	printf("\n");
	for (; a < argc; a++) {
		int n = atoi(argv[a]);
		double med[C_NR], mean[C_NR];
		char label[16];

		int nr = rounds;

		if (n <= 0 || rounds < 1 || rounds > 16)
			return 2;
		if ((long)n * nr < 100)   /* small N: enough samples for a median */
			nr = (100 + n - 1) / n;
		capsamp = (size_t)nr * 3 * 2 * n;   /* batches x (A B B A saves: 2 each) x n */
		for (int j = 0; j < C_NR; j++) {
			free(samp[j]);
			samp[j] = malloc(capsamp * sizeof(double));
			nsamp[j] = 0;
			if (!samp[j])
				die("malloc");
		}
		for (int k = 0; k < nr; k++) {
			uint16_t port = 0;
			int lfd = fx_listen(FAM4, 0, &port);

			if (lfd < 0)
				die("listen");
			/* as many batches as restore methods: each takes each slot of the rotation */
			for (int b = 0; b < (have_soccr ? 3 : 2); b++)
				batch(n, lfd, port, b);
			close(lfd);
		}
		for (int j = 0; j < C_NR; j++)
			summarize(j, &med[j], &mean[j]);
		if (nr != rounds)
			printf("# N = %d: %d rounds\n", n, nr);
		snprintf(label, sizeof(label), "%d", n);
		print_row(label, med, 1, 1);
		print_row("  mean", mean, 1, 1);
		print_row("  total", mean, n / 1e3, n < 100 ? 3 : 1);
		fflush(stdout);
	}
	return 0;
}
