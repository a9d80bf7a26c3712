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

#include "vsock_sock.h"
#include "checkpoint.h"
#include "fdtable.h"
#include "image.h"
#include "log.h"
#include "netlock.h"
#include "quiesce.h"
#include "real.h"
#include "repair.h"

enum { K_CONN, K_LISTEN, K_SKIP };

struct item {
	int fd, domain, type, protocol;
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

static int collect(const struct fdt_rec *rec, void *arg)
{
	struct snap *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct item *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].fd = rec->fd;
	s->v[s->n].domain = rec->domain;
	s->v[s->n].type = rec->type;
	s->v[s->n].protocol = rec->protocol;
	s->n++;
	return 0;
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

	if (fstat(it->fd, &st) < 0) {
		skip(it, "%s", "fd no longer open");
		return;
	}
	it->ino = st.st_ino;
	for (size_t j = 0; j < idx; j++) {
		if (s->v[j].ino == it->ino && s->v[j].kind != K_SKIP) {
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
	if (tcp_state(it->fd, &it->state) < 0) {
		skip(it, "%s", "TCP_INFO failed");
		return;
	}
	if (it->state == TCP_LISTEN) {
		int err = repair_listen_save(it->fd, &it->listen, sizeof(it->listen));

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
	if (real.getsockname(it->fd, &it->self.sa, &len) < 0) {
		skip(it, "%s", "getsockname failed");
		return;
	}
	len = sizeof(it->peer);
	if (real.getpeername(it->fd, &it->peer.sa, &len) < 0) {
		skip(it, "%s", it->state == TCP_CLOSE ? "not connected (or reset)" : "getpeername failed");
		return;
	}
	it->kind = K_CONN;
	it->opts_ok = repair_opts_read(it->fd, &it->opts, sizeof(it->opts)) == 0;
	if (ioctl(it->fd, SIOCINQ, &it->inq_est) < 0)
		it->inq_est = 0;
	if (ioctl(it->fd, SIOCOUTQ, &it->outq_est) < 0)
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

/* Pause and save one connection; on failure it is given back untouched. */
static int save_one(struct item *it, struct image_conn *c)
{
	/* family and SO_REUSEADDR are known from before the freeze: two calls less in it */
	int err = it->opts_ok ? repair_pause_as(it->fd, it->self.sa.sa_family, (int)it->opts.reuseaddr,
						&it->sk)
			      : repair_pause(it->fd, &it->sk);

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
		else if (repair_opts_read(it->fd, &c->data.opts, sizeof(c->data.opts)) < 0)
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
	int err, frozen = 0, lock_told = 0;

	memset(res, 0, sizeof(*res));
	memset(&set, 0, sizeof(set));
	if (!o->dir || !o->dir[0])
		return -EINVAL;
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

	if (o->exit_mode && quiesce_wait_idle(o->idle_ms ? o->idle_ms : 5, 2000) < 0)
		logw("checkpoint: the program did not become idle within 2 s; saving anyway");
	tp = now_us();
	err = quiesce_freeze(o->quiesce_ms ? o->quiesce_ms : 2000);
	if (err)
		goto unlock;
	frozen = 1;
	uint64_t t_frozen = now_us();

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
			c->listening = 1;
			c->backlog = it->listen.backlog;
			c->self = it->listen.self;
			c->data.opts = it->listen.opts;
			res->nlisteners++;
		} else if (it->kind == K_SKIP) {
			set.skipped[set.nskipped].fd = it->fd;
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
	if (frozen)
		quiesce_thaw();
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
	free(lc);
	free(ll);
	free(s.v);
	return err;
}
