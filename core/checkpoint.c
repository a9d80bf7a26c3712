/*
 * checkpoint — snapshot, lock, quiesce, save, then resume or stay frozen (see checkpoint.h).
 * Sockets are reached through the real table (real.h) or the repair engine; the fd table says
 * which fds are sockets. Nothing here runs on the program's threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "stack_vpoll.h"
#include "vsock_sock.h"
#include "checkpoint.h"
#include "fdtable.h"
#include "image.h"
#include "log.h"
#include "netlock.h"
#include "progfd.h"
#include "quiesce.h"
#include "real.h"
#include "repair.h"
#include "restore.h"
#include "stack.h"

enum { K_CONN, K_LISTEN, K_SKIP, K_GONE /* closed before the freeze: not saved, not listed */ };

struct item {
	int fd, domain, type, protocol;
	unsigned stack_id;          /* the stack it lives on (its name goes in the image) */
	int sfd;                    /* fd for system calls on this thread: progfd_get(fd) (it may
	                             * have its own fd table); fd stays the program's number */
	int kind;
	ino_t ino;
	uint32_t state;
	union repair_addr self, peer;
	struct repair_listen listen;
	struct repair_sk *sk;
	int saved;
	int inq_est, outq_est;      /* queue lengths seen before the freeze (arena sizing) */
	int opts_ok;                /* opts read before the freeze (in state `state`) */
	struct repair_opts opts;
	char *qbuf[2];              /* this socket's slices of the arena */
	size_t qcap[2];
	char reason[96];
	int queued;                 /* accepted here from a listener's queue: ours, no program fd */
	int lfd;                    /* queued: the listener it came from */
	int late;                   /* classified by the second snapshot (rescan) */
};

struct snap {
	struct item *v;
	size_t n, cap;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Appends a copy of what the fd table says of one fd (nothing classified yet). */
static int push(struct snap *s, const struct item *from)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct item *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].fd = from->fd;
	s->v[s->n].sfd = from->sfd;
	s->v[s->n].domain = from->domain;
	s->v[s->n].type = from->type;
	s->v[s->n].protocol = from->protocol;
	s->v[s->n].stack_id = from->stack_id;
	s->n++;
	return 0;
}

static int collect(const struct fdt_rec *rec, void *arg)
{
	struct item it = { .fd = rec->fd, .sfd = -1, .domain = rec->domain, .type = rec->type,
			   .protocol = rec->protocol, .stack_id = rec->stack_id };

	return push(arg, &it);
}

static void skip(struct item *it, const char *fmt, const char *arg)
{
	it->kind = K_SKIP;
	log_fmt(it->reason, sizeof(it->reason), fmt, arg);
}

static const char *family_name(int domain)
{
	switch (domain) {
	case AF_UNIX: return "unix";
	case AF_NETLINK: return "netlink";
	case AF_PACKET: return "packet";
	case AF_VSOCK: return "vsock";
	}
	return "other";
}

static int tcp_state(int fd, uint32_t *state)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int e = errno;

	memset(&ti, 0, sizeof(ti));
	if (real.getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
		int r = -errno;
		errno = e;
		return r;
	}
	*state = ti.tcpi_state;
	return 0;
}

/* What one fd is and whether it can be saved; addresses are read here, while it is live. */
static void classify(struct item *it, const struct snap *s, size_t idx)
{
	struct stat st;
	socklen_t len;

	if (it->sfd < 0)
		it->sfd = progfd_get(it->fd);
	if (it->sfd < 0 || fstat(it->sfd, &st) < 0) {
		skip(it, "%s", "fd no longer open");
		return;
	}
	it->ino = st.st_ino;
	for (size_t j = 0; j < idx; j++) {
		if (s->v[j].ino == it->ino && s->v[j].kind != K_SKIP && s->v[j].kind != K_GONE) {
			char why[32];

			log_fmt(why, sizeof(why), "%d", s->v[j].fd);
			skip(it, "the same socket as fd %s (saved once)", why);
			return;
		}
	}
	char vwhy[96];
	if (vsock_sock_not_checkpointable(it->fd, vwhy, sizeof(vwhy))) {
		skip(it, "%s", vwhy);
		return;
	}
	if (stack_vpoll_owns(it->fd)) {
		skip(it, "%s", "a user-space stack's socket: no kernel TCP state to repair");
		return;
	}
	if (it->domain != AF_INET && it->domain != AF_INET6) {
		skip(it, "%s socket: only TCP is checkpointed", family_name(it->domain));
		return;
	}
	if (it->type != SOCK_STREAM) {
		skip(it, "%s socket: only TCP is checkpointed", it->type == SOCK_DGRAM ? "udp" : "raw/other");
		return;
	}
	if (it->protocol != 0 && it->protocol != IPPROTO_TCP) {
		skip(it, "%s", "stream protocol other than TCP (MPTCP, SCTP)");
		return;
	}
	if (tcp_state(it->sfd, &it->state) < 0) {
		skip(it, "%s", "TCP_INFO failed");
		return;
	}
	if (it->state == TCP_LISTEN) {
		int err = repair_listen_save(it->sfd, &it->listen, sizeof(it->listen));

		if (err)
			skip(it, "listener not recorded: %s", log_errname(-err));
		else
			it->kind = K_LISTEN;
		return;
	}
	if (it->state == TCP_SYN_SENT) {
		skip(it, "%s", "connect in progress (SYN_SENT)");
		return;
	}
	if (!repair_state_ok(it->state)) {
		skip(it, "state %s is not repairable", repair_state_name(it->state));
		return;
	}
	len = sizeof(it->self);
	if (real.getsockname(it->sfd, &it->self.sa, &len) < 0) {
		skip(it, "%s", "getsockname failed");
		return;
	}
	len = sizeof(it->peer);
	if (real.getpeername(it->sfd, &it->peer.sa, &len) < 0) {
		skip(it, "%s", it->state == TCP_CLOSE ? "not connected (or reset)" : "getpeername failed");
		return;
	}
	it->kind = K_CONN;
	it->opts_ok = repair_opts_read(it->sfd, &it->opts, sizeof(it->opts)) == 0;
	if (ioctl(it->sfd, SIOCINQ, &it->inq_est) < 0)
		it->inq_est = 0;
	if (ioctl(it->sfd, SIOCOUTQ, &it->outq_est) < 0)
		it->outq_est = 0;
}

/*
 * One pre-faulted area for every queue peek of the checkpoint: the engine's own buffers cost
 * ~25 us per connection in page faults (docs/benchmarks.md, "save fresh"), which is most of
 * the pause. Each slice is twice what the queue held before the freeze, plus a page; a queue
 * that grew beyond its slice falls back to the engine's malloc.
 */
static void *arena_make(struct snap *s, size_t *size)
{
	size_t total = 0, off = 0;
	char *a;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == K_CONN)
			total += 2 * (size_t)s->v[i].inq_est + 2 * (size_t)s->v[i].outq_est + 2 * 4096;
	if (!total || total > (size_t)1 << 31)
		return NULL;
	a = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (a == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = &s->v[i];

		if (it->kind != K_CONN)
			continue;
		it->qcap[0] = 2 * (size_t)it->inq_est + 4096;
		it->qcap[1] = 2 * (size_t)it->outq_est + 4096;
		it->qbuf[0] = a + off;
		off += it->qcap[0];
		it->qbuf[1] = a + off;
		off += it->qcap[1];
	}
	*size = total;
	return a;
}

/* The queue bytes for the image: a slice of the arena (borrowed) or the engine's malloc. */
static void take_queue(struct item *it, int q, void **out)
{
	size_t l;

	repair_get_queue(it->sk, q, out, &l, 0);
	if (*out && *out == it->qbuf[q])
		return;   /* the arena's: c->inq/outq are dropped before image_set_free */
	repair_get_queue(it->sk, q, out, &l, REPAIR_TAKE);
}

static size_t addr_len(const union repair_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4);
}

static void lock_conn(const struct item *it, struct netlock_conn *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(&c->self, &it->self, addr_len(&it->self));
	memcpy(&c->peer, &it->peer, addr_len(&it->peer));
}

/* The image records each socket's stack by name; a restore maps the name (restore.c). */
static void stack_name(struct image_conn *c, unsigned stack_id)
{
	const struct stack *st = stack_by_id(stack_id);

	log_fmt(c->stack, sizeof(c->stack), "%s", st ? st->name : "kernel");
}

/* Pause and save one connection; on failure it is given back untouched. */
static int save_one(struct item *it, struct image_conn *c)
{
	/* family and SO_REUSEADDR are known from before the freeze: two calls less in it */
	int err = it->opts_ok ? repair_pause_as(it->sfd, it->self.sa.sa_family, (int)it->opts.reuseaddr,
						&it->sk)
			      : repair_pause(it->sfd, &it->sk);

	if (err) {
		skip(it, "TCP_REPAIR failed: %s", log_errname(-err));
		return err;
	}
	repair_set_addr(it->sk, REPAIR_SELF, &it->self, 0);
	repair_set_addr(it->sk, REPAIR_PEER, &it->peer, 0);
	if (it->qbuf[0]) {
		repair_set_queue_buf(it->sk, REPAIR_RECVQ, it->qbuf[0], it->qcap[0]);
		repair_set_queue_buf(it->sk, REPAIR_SENDQ, it->qbuf[1], it->qcap[1]);
	}
	/* options were read before the freeze; the pause only does the TCP state */
	if (it->opts_ok)
		repair_set_save_flags(it->sk, REPAIR_SAVE_NO_SOCKOPTS);
	err = repair_save(it->sk, &c->data, sizeof(c->data));
	if (!err && it->opts_ok) {
		uint32_t reuse = c->data.opts.reuseaddr;   /* the program's, read before repair on */

		if (c->data.state == it->state)
			c->data.opts = it->opts;
		else if (repair_opts_read(it->sfd, &c->data.opts, sizeof(c->data.opts)) < 0)
			c->data.opts = it->opts;   /* the state moved on: shutdown bits re-read */
		c->data.opts.reuseaddr = reuse;
	}
	if (err) {
		repair_resume(it->sk);
		it->sk = NULL;
		skip(it, "save failed: %s", log_errname(-err));
		return err;
	}
	take_queue(it, REPAIR_RECVQ, &c->inq);
	take_queue(it, REPAIR_SENDQ, &c->outq);
	c->id = (uint32_t)it->ino;
	c->fd = it->fd;
	stack_name(c, it->stack_id);
	c->self = it->self;
	c->peer = it->peer;
	it->saved = 1;
	return 0;
}

static void resume_all(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = &s->v[i];

		if (it->sk) {
			int err = repair_resume(it->sk);

			if (err)
				loge("checkpoint: resume of fd %d: %s", it->fd, log_errname(-err));
			it->sk = NULL;
		}
	}
}

/*
 * Hand-over only, gate shut (accept is gated: no program thread starts one now), new SYNs held:
 * a connection whose handshake completed after the snapshot sits in a listener's accept queue,
 * and the exit would reset it. Accept each one here (the listener non-blocking for the drain
 * only; a thread already asleep in accept keeps the mode it started with), classify it like
 * the rest and mark it queued: saved with no program fd, handed out at accept() by the new
 * process. Appends to s; returns how many.
 */
static unsigned drain_queues(struct snap *s)
{
	size_t nsnap = s->n;
	unsigned added = 0;

	for (size_t i = 0; i < nsnap; i++) {
		if (s->v[i].kind != K_LISTEN)
			continue;
		int lfd = s->v[i].sfd, domain = s->v[i].domain, fl = real.fcntl(lfd, F_GETFL);

		if (fl < 0)
			continue;
		if (!(fl & O_NONBLOCK))
			real.fcntl(lfd, F_SETFL, fl | O_NONBLOCK);
		for (;;) {
			struct fdt_rec rec = { .fd = real.accept4(lfd, NULL, NULL, SOCK_CLOEXEC) };

			if (rec.fd < 0)
				break;
			rec.domain = domain;
			rec.type = SOCK_STREAM;
			rec.stack_id = s->v[i].stack_id;   /* the listener's */
			if (collect(&rec, s) < 0) {   /* no room: straight back to the program */
				if (restore_adopt(rec.fd, lfd) < 0)
					real.close(rec.fd);
				break;
			}
			s->v[s->n - 1].queued = 1;
			s->v[s->n - 1].sfd = rec.fd;   /* in this thread's table */
			s->v[s->n - 1].lfd = lfd;
			classify(&s->v[s->n - 1], s, s->n - 1);
			added++;
		}
		if (!(fl & O_NONBLOCK))
			real.fcntl(lfd, F_SETFL, fl);
	}
	return added;
}

static int grow(void **v, size_t size, size_t from, size_t to)
{
	char *n = realloc(*v, (to ? to : 1) * size);

	if (!n)
		return -ENOMEM;
	memset(n + from * size, 0, (to - from) * size);
	*v = n;
	return 0;
}

/* drain_queues, then the drained connections join the lock (before any is paused) and the
 * image set grows to hold them. A failure leaves them live: the caller gives them back. */
static int take_queued(struct snap *s, struct image_set *set, struct netlock *nl, int strict,
		       unsigned *taken)
{
	size_t before = s->n, nq = 0;
	unsigned n = *taken = drain_queues(s);
	struct netlock_conn *q;
	int err;

	if (!n)
		return 0;
	if ((err = grow((void **)&set->conns, sizeof(*set->conns), before, s->n)) ||
	    (err = grow((void **)&set->skipped, sizeof(*set->skipped), before, s->n)))
		return err;
	q = calloc(n, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = before; i < s->n; i++) {
		if (s->v[i].kind == K_CONN)
			lock_conn(&s->v[i], &q[nq++]);
		else if (strict)
			err = -EOPNOTSUPP;
	}
	if (!err && nq)
		err = nl ? netlock_add(nl, q, nq, NETLOCK_BOTH) : -ENOLCK;
	free(q);
	if (err)
		loge("checkpoint: %u connections from listeners' queues cannot be locked: %s; "
		     "the hand-over is abandoned", n, log_errname(-err));
	else
		logi("checkpoint: %u connections taken from listeners' accept queues", n);
	return err;
}

/* Whether the program's fd still names the file it named at the first snapshot. */
static int same_file(const struct item *it)
{
	struct stat st;
	int l = progfd_get(it->fd), r;

	r = l >= 0 && fstat(l, &st) == 0 && it->ino && st.st_ino == it->ino;
	progfd_put(it->fd, l);
	return r;
}

/* Classifies again from scratch: only what the fd table said survives. */
static void reclassify(struct snap *s, size_t i)
{
	struct item *it = &s->v[i], k = *it;

	memset(it, 0, sizeof(*it));
	it->fd = k.fd;
	it->sfd = k.sfd;
	it->domain = k.domain;
	it->type = k.type;
	it->protocol = k.protocol;
	it->stack_id = k.stack_id;
	classify(it, s, i);
}

/* The first snapshot's fds, merged (both lists are in fd order) with the fd table now: fds
 * closed or renumbered since become K_GONE (their lock entries listed in dc/dl), new ones are
 * appended. */
static int merge(struct snap *s, size_t n1, int exit_mode, struct netlock_conn *dc, size_t *ndc,
		 struct sockaddr_storage *dl, size_t *ndl)
{
	struct snap now = { 0 };
	size_t j = 0;
	int err = fdt_foreach(collect, &now);

	for (size_t k = 0; !err && k <= now.n; k++) {
		int fd = k < now.n ? now.v[k].fd : -1;

		for (; j < n1 && (k == now.n || s->v[j].fd <= fd); j++) {
			struct item *it = &s->v[j];

			if (it->fd == fd && same_file(it)) {
				j++;
				fd = -1;   /* the same socket: nothing new */
				break;
			}
			if (it->kind == K_CONN)
				lock_conn(it, &dc[(*ndc)++]);
			else if (it->kind == K_LISTEN && exit_mode)
				memcpy(&dl[(*ndl)++], &it->listen.self, addr_len(&it->listen.self));
			it->kind = K_GONE;
		}
		if (fd >= 0 && k < now.n)
			err = push(s, &now.v[k]);
	}
	free(now.v);
	return err;
}

static unsigned port_of(const void *a)
{
	const struct sockaddr *sa = a;

	return ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
					       : ((const struct sockaddr_in *)a)->sin_port);
}

/* Gone listeners whose port a live listener still has keep their SYN hold (a wildcard
 * listener's hold is the port's): removes those from dl. */
static void keep_held(const struct snap *s, struct sockaddr_storage *dl, size_t *ndl)
{
	for (size_t g = 0; g < *ndl;) {
		int held = 0;

		for (size_t i = 0; i < s->n && !held; i++)
			held = s->v[i].kind == K_LISTEN && port_of(&s->v[i].listen.self) == port_of(&dl[g]);
		if (held)
			dl[g] = dl[--*ndl];
		else
			g++;
	}
}

/* a and b are the two ends of one connection (both in this process): the same elements. */
static int ends(const struct netlock_conn *a, const struct netlock_conn *b)
{
	return !memcmp(&a->self, &b->peer, sizeof(a->self)) && !memcmp(&a->peer, &b->self, sizeof(a->self));
}

/* Gone connections whose elements a live connection (its other end) or an earlier gone one
 * shares stay out of the delete: removes those from dc. */
static void keep_locked(const struct snap *s, struct netlock_conn *dc, size_t *ndc)
{
	for (size_t g = 0; g < *ndc;) {
		struct netlock_conn c;
		int shared = 0;

		for (size_t i = 0; i < s->n && !shared; i++)
			if (s->v[i].kind == K_CONN) {
				lock_conn(&s->v[i], &c);
				shared = ends(&c, &dc[g]);
			}
		for (size_t h = 0; h < g && !shared; h++)
			shared = ends(&dc[h], &dc[g]);
		if (shared)
			dc[g] = dc[--*ndc];
		else
			g++;
	}
}

/*
 * After the freeze (program threads gated: the fd table holds still), the second snapshot.
 * Between the first one and the freeze (the lock, a hand-over's idle wait: >= 5 ms) the
 * program may have created, accepted, put to listen or closed sockets: unseen, a new one
 * would be reset by the hand-over's exit, or be missing from the images. If the table's
 * generation did not move, only the skipped sockets get a second look (one not yet listening
 * then); otherwise the table is merged with the first snapshot. A hand-over takes sockets
 * closed since out of the lock (one transaction; the kept lock would otherwise hold their FIN
 * until the new process listens, or forever); then our copies of them are closed. Everything
 * newly saveable joins the lock in one more transaction. -errno when that fails, or a new
 * socket cannot be saved in strict mode (nothing is paused yet: the caller resumes).
 */
static int rescan(struct snap *s, struct image_set *set, struct netlock **nl,
		  const struct checkpoint_opts *o, struct checkpoint_result *res, unsigned gen)
{
	size_t n1 = s->n, ndc = 0, ndl = 0, nc = 0, nlis = 0;
	struct netlock_conn *dc = NULL, *ac = NULL;
	struct sockaddr_storage *dl = NULL, *al = NULL;
	int err = 0;

	if (fdt_generation() != gen) {
		dc = calloc(n1 ? n1 : 1, sizeof(*dc));
		dl = calloc(n1 ? n1 : 1, sizeof(*dl));
		err = !dc || !dl ? -ENOMEM : merge(s, n1, o->exit_mode, dc, &ndc, dl, &ndl);
		if (err)
			goto free_lists;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (i >= n1)
			classify(&s->v[i], s, i);
		else if (s->v[i].kind == K_SKIP)
			reclassify(s, i);
		else
			continue;
		if (s->v[i].kind == K_CONN || s->v[i].kind == K_LISTEN) {
			s->v[i].late = 1;
			res->nlate++;
		} else if (o->strict) {
			loge("checkpoint: strict mode: fd %d cannot be saved: %s", s->v[i].fd, s->v[i].reason);
			err = -EOPNOTSUPP;
			goto free_lists;
		}
	}
	keep_held(s, dl, &ndl);
	keep_locked(s, dc, &ndc);
	if (o->exit_mode && *nl && (ndc || ndl)) {
		int e = netlock_del(*nl, dc, ndc, NETLOCK_BOTH);

		if (!e)
			e = netlock_del_listeners(*nl, dl, ndl);
		if (e)
			logw("checkpoint: sockets closed before the freeze stay in the lock %s: %s",
			     netlock_name(*nl), log_errname(-e));
	}
	for (size_t i = 0; i < n1; i++)
		if (s->v[i].kind == K_GONE) {
			progfd_put(s->v[i].fd, s->v[i].sfd);   /* the last reference: the FIN goes */
			s->v[i].sfd = -1;
		}
	ac = calloc(s->n ? s->n : 1, sizeof(*ac));
	al = calloc(s->n ? s->n : 1, sizeof(*al));
	if (!ac || !al || (err = grow((void **)&set->conns, sizeof(*set->conns), n1, s->n)) ||
	    (err = grow((void **)&set->skipped, sizeof(*set->skipped), n1, s->n))) {
		err = err ? err : -ENOMEM;
		goto free_lists;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].late)
			continue;
		if (s->v[i].kind == K_CONN)
			lock_conn(&s->v[i], &ac[nc++]);
		else if (o->exit_mode)
			memcpy(&al[nlis++], &s->v[i].listen.self, addr_len(&s->v[i].listen.self));
	}
	if ((nc || nlis) && !*nl && !(err = netlock_create(nl)))
		log_fmt(res->netlock, sizeof(res->netlock), "%s", netlock_name(*nl));
	if (!err && (nc || nlis))
		err = netlock_add_all(*nl, ac, nc, NETLOCK_BOTH, al, nlis);
	if (err)
		loge("checkpoint: %zu sockets found after the first snapshot cannot be locked: %s",
		     nc + nlis, log_errname(-err));
	else if (res->nlate || ndc || ndl)
		logi("checkpoint: second snapshot: %u more sockets to save, %zu closed meanwhile",
		     res->nlate, ndc + ndl);
free_lists:
	free(dc);
	free(dl);
	free(ac);
	free(al);
	return err;
}

/* A failed hand-over: the queued connections go back to the program, through accept().
 * Returns how many. */
static int give_back(struct snap *s)
{
	int n = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct item *it = &s->v[i];
		int err;

		if (!it->queued || it->fd < 0)
			continue;
		err = restore_adopt(it->fd, it->lfd);
		if (err) {
			loge("checkpoint: a connection from a listener's queue cannot be given back: %s",
			     log_errname(-err));
			real.close(it->fd);
		} else {
			n++;
		}
		it->fd = -1;
	}
	return n;
}

static int build_set(struct snap *s, struct image_set *set, const struct checkpoint_opts *o)
{
	memset(set, 0, sizeof(*set));
	log_fmt(set->stack, sizeof(set->stack), "%s", o->stack ? o->stack : "kernel");
	set->pid = (int32_t)getpid();
	set->conns = calloc(s->n ? s->n : 1, sizeof(*set->conns));
	set->skipped = calloc(s->n ? s->n : 1, sizeof(*set->skipped));
	if (!set->conns || !set->skipped)
		return -ENOMEM;
	return 0;
}

const char *checkpoint_stage_name(enum checkpoint_stage stage)
{
	switch (stage) {
	case CHECKPOINT_PRE_DUMP: return "pre-dump";
	case CHECKPOINT_NETWORK_LOCK: return "network-lock";
	case CHECKPOINT_POST_DUMP: return "post-dump";
	case CHECKPOINT_NETWORK_UNLOCK: return "network-unlock";
	}
	return "?";
}

/* Runs the caller's stage callback; 0 to go on, or the error that aborts the checkpoint. */
static int stage(const struct checkpoint_opts *o, enum checkpoint_stage st)
{
	int r;

	if (!o->notify)
		return 0;
	r = o->notify(st, o->notify_arg);
	if (r == 0 || st == CHECKPOINT_NETWORK_UNLOCK)
		return 0;
	r = r < 0 ? r : -ECANCELED;
	loge("checkpoint: stopped at %s (%s); every socket is resumed", checkpoint_stage_name(st),
	     log_errname(-r));
	return r;
}

static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;
static int run_locked(const struct checkpoint_opts *o, struct checkpoint_result *res);

/* The signal path and the control socket may ask at once: one freeze at a time. */
int checkpoint_run(const struct checkpoint_opts *o, struct checkpoint_result *res)
{
	int err;

	pthread_mutex_lock(&run_mu);
	err = run_locked(o, res);
	pthread_mutex_unlock(&run_mu);
	return err;
}

static int run_locked(const struct checkpoint_opts *o, struct checkpoint_result *res)
{
	struct snap s = { 0 };
	struct image_set set;
	struct netlock_conn *lc = NULL;
	struct sockaddr_storage *ll = NULL;
	struct netlock *nl = NULL;
	uint64_t t0 = now_us(), tp = 0;
	size_t nlock = 0, nlisten = 0, arena_size = 0;
	void *arena = NULL;
	int err, frozen = 0, lock_told = 0, n_back;

	memset(res, 0, sizeof(*res));
	memset(&set, 0, sizeof(set));
	if (!o->dir || !o->dir[0])
		return -EINVAL;
	unsigned gen = fdt_generation();   /* rescan: did the table change before the freeze? */
	err = fdt_foreach(collect, &s);
	if (err)
		goto free_snap;
	err = build_set(&s, &set, o);
	if (err)
		goto free_snap;
	for (size_t i = 0; i < s.n; i++)
		classify(&s.v[i], &s, i);

	lc = calloc(s.n ? s.n : 1, sizeof(*lc));
	ll = calloc(s.n ? s.n : 1, sizeof(*ll));
	if (!lc || !ll) {
		err = -ENOMEM;
		goto free_snap;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].kind == K_CONN)
			lock_conn(&s.v[i], &lc[nlock++]);
		/* a hand-over also holds new clients' SYNs until the new process listens */
		else if (s.v[i].kind == K_LISTEN && o->exit_mode)
			memcpy(&ll[nlisten++], &s.v[i].listen.self, addr_len(&s.v[i].listen.self));
	}
	if (o->strict) {
		for (size_t i = 0; i < s.n; i++)
			if (s.v[i].kind == K_SKIP) {
				loge("checkpoint: strict mode: fd %d cannot be saved: %s", s.v[i].fd,
				     s.v[i].reason);
				err = -EOPNOTSUPP;
				goto free_snap;
			}
	}
	err = stage(o, CHECKPOINT_PRE_DUMP);
	if (err)
		goto free_snap;
	if (nlock || nlisten) {
		err = netlock_create(&nl);
		if (!err)
			err = netlock_add_all(nl, lc, nlock, NETLOCK_BOTH, ll, nlisten);
		if (err) {
			loge("checkpoint: network lock failed: %s", log_errname(-err));
			goto unlock;
		}
		log_fmt(res->netlock, sizeof(res->netlock), "%s", netlock_name(nl));
	}
	res->lock_us = now_us() - t0;
	lock_told = 1;
	err = stage(o, CHECKPOINT_NETWORK_LOCK);
	if (err)
		goto unlock;
	arena = arena_make(&s, &arena_size);
	if (o->test_window)
		o->test_window(o->test_window_arg);

	if (o->exit_mode && quiesce_wait_idle(o->idle_ms ? o->idle_ms : 5, 2000) < 0)
		logw("checkpoint: the program did not become idle within 2 s; saving anyway");
	tp = now_us();
	err = quiesce_freeze(o->quiesce_ms ? o->quiesce_ms : 2000);
	if (err)
		goto unlock;
	frozen = 1;
	uint64_t t_frozen = now_us();
	if ((err = rescan(&s, &set, &nl, o, res, gen)))
		goto resume;
	if (o->exit_mode && (err = take_queued(&s, &set, nl, o->strict, &res->nqueued)))
		goto resume;

	for (size_t i = 0; i < s.n; i++) {
		struct item *it = &s.v[i];

		if (it->kind != K_CONN)
			continue;
		err = save_one(it, &set.conns[set.nconns]);
		if (err && o->strict) {
			loge("checkpoint: strict mode: fd %d: %s", it->fd, it->reason);
			goto resume;
		}
		if (!err) {
			res->bytes += set.conns[set.nconns].data.inq_len + set.conns[set.nconns].data.outq_len;
			if (it->queued)
				set.conns[set.nconns].fd = -1;   /* not accepted by the program yet */
			set.nconns++;
		}
		err = 0;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct item *it = &s.v[i];

		if (it->kind == K_LISTEN) {
			struct image_conn *c = &set.conns[set.nconns++];

			c->id = (uint32_t)it->ino;
			c->fd = it->fd;
			stack_name(c, it->stack_id);
			c->listening = 1;
			c->backlog = it->listen.backlog;
			c->self = it->listen.self;
			c->data.opts = it->listen.opts;
			res->nlisteners++;
		} else if (it->kind == K_SKIP) {
			set.skipped[set.nskipped].fd = it->queued ? -1 : it->fd;
			memcpy(set.skipped[set.nskipped].reason, it->reason, sizeof(it->reason));
			set.nskipped++;
		}
	}
	res->nconns = set.nconns - res->nlisteners;
	res->nskipped = set.nskipped;
	log_fmt(set.netlock, sizeof(set.netlock), "%s", res->netlock);

	if (!o->exit_mode) {
		if (o->notify) {
			/* post-dump sees the images while every socket is still frozen */
			uint64_t tw = now_us();
			err = image_write_dir(o->dir, &set);
			res->write_us = now_us() - tw;
			if (err) {
				loge("checkpoint: writing %s: %s; resuming every socket", o->dir,
				     log_errname(-err));
				goto resume;
			}
			err = stage(o, CHECKPOINT_POST_DUMP);
			if (err)
				goto resume;
		}
		uint64_t t_saved = now_us();
		resume_all(&s);
		/* the program runs again before the lock goes: what it sends now waits for the
		 * unlock a millisecond later, instead of the program waiting for nftables */
		quiesce_thaw();
		frozen = 0;
		res->pause_us = now_us() - tp;
		uint64_t t_resumed = res->resumed_at_us = now_us();
		netlock_destroy(nl);
		nl = NULL;
		logd("checkpoint: quiesce %llu us, save %llu us, resume %llu us, unlock %llu us",
		     (unsigned long long)(t_frozen - tp), (unsigned long long)(t_saved - t_frozen),
		     (unsigned long long)(t_resumed - t_saved), (unsigned long long)(now_us() - t_resumed));
		if (!o->notify) {
			uint64_t tw = now_us();
			err = image_write_dir(o->dir, &set);
			res->write_us = now_us() - tw;
			if (err)
				loge("checkpoint: writing %s: %s (the program goes on unchanged)", o->dir,
				     log_errname(-err));
		}
		stage(o, CHECKPOINT_NETWORK_UNLOCK);
		goto free_snap;
	}

	{
		uint64_t tw = now_us();
		err = image_write_dir(o->dir, &set);
		res->write_us = now_us() - tw;
	}
	if (err) {
		loge("checkpoint: writing %s: %s; resuming every socket", o->dir, log_errname(-err));
		goto resume;
	}
	err = stage(o, CHECKPOINT_POST_DUMP);
	if (err)
		goto resume;
	/* hand-over: sockets stay in repair mode, so the exit closes them silently; lock kept */
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].sk) {
			repair_release(s.v[i].sk);
			s.v[i].sk = NULL;
		}
	netlock_release(nl);
	nl = NULL;
	res->pause_us = now_us() - tp;
	goto free_snap;

resume:
	resume_all(&s);
unlock:
	if (nl)
		netlock_destroy(nl);
	nl = NULL;
	n_back = give_back(&s);   /* after the lock: their placeholders' SYNs must pass */
	if (frozen)
		quiesce_thaw();
	if (n_back)
		restore_adopt_settle(0);   /* the program accepts them, then our copies go */
	if (lock_told)
		stage(o, CHECKPOINT_NETWORK_UNLOCK);
free_snap:
	res->total_us = now_us() - t0;
	for (size_t i = 0; arena && i < set.nconns; i++) {
		struct image_conn *c = &set.conns[i];
		char *a = arena;

		if ((char *)c->inq >= a && (char *)c->inq < a + arena_size)
			c->inq = NULL;
		if ((char *)c->outq >= a && (char *)c->outq < a + arena_size)
			c->outq = NULL;
	}
	if (arena)
		munmap(arena, arena_size);
	image_set_free(&set);
	for (size_t i = 0; i < s.n; i++)
		if (!s.v[i].queued)
			progfd_put(s.v[i].fd, s.v[i].sfd);   /* the copies (progfd.h) */
	free(lc);
	free(ll);
	free(s.v);
	return err;
}
