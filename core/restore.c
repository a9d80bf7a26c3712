/*
 * restore — rebuild a checkpoint's connections at start and hand them out at accept() and
 * connect() (see restore.h).
 *
 *   restore_start (constructor)          program                       shim hooks
 *   -------------------------            -------                       ----------
 *   validate the whole directory
 *   socket + repair_restore, each        socket, bind, listen(A) ----> restore_listened:
 *   lock lifted (one transaction)                                       one loopback connect
 *   repair_resume: live, hidden fds                                     per pending conn of A
 *                                        epoll/poll: A readable
 *                                        accept(A) -> nfd ---------->  restore_accepted:
 *                                                                       placeholder? dup3 the
 *                                                                       restored socket onto nfd
 *   grace period over: unclaimed ones closed with a FIN (control thread, restore_expire)
 *
 * Pending connections are few and short-lived, so one mutex guards them; the hooks test
 * restore_active (one load) before taking it.
 *
 * The lock of a hand-over also holds new clients' SYNs to the old listeners: the connections'
 * part is lifted as soon as they are rebuilt, each listener's part when the program listens on
 * its port again (before the placeholders connect), and the table goes with the last one, or
 * when the grace period ends for a port the program never listens on.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "config.h"
#include "image.h"
#include "log.h"
#include "netlock.h"
#include "progfd.h"
#include "rawsys.h"
#include "real.h"
#include "repair.h"
#include "route.h"
#include "restore.h"
#include "stack.h"

#define RESTORE_FD_MIN 1500   /* hidden restored sockets live up here */

struct pending {
	int fd;                   /* the restored socket, -1 once handed out or closed */
	int server;               /* accepted on one of the checkpoint's listeners */
	int ph_client;            /* placeholder client socket, -1 if none yet */
	union repair_addr self, peer, ph_addr;   /* ph_addr: placeholder client's own address */
	int owner;                /* restore_adopt from a thread with its own fd table: its tid
				   * (fd and ph_client are in that table), else 0 */
	int priv;                 /* owner: fd once the program took a copy, for the owner to close */
};

int restore_active;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pend;
static size_t npend;
static long long deadline_ms;
static struct netlock *held_nl;              /* the lock, while it holds listeners */
static struct sockaddr_storage *held;        /* listeners whose SYNs it still holds */
static size_t nheld;
static int lock_active;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static socklen_t alen(const union repair_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4);
}

static uint16_t port_of(const union repair_addr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->v6.sin6_port : a->v4.sin_port);
}

static int same_addr(const union repair_addr *a, const union repair_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
	return a->v6.sin6_port == b->v6.sin6_port &&
	       !memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(a->v6.sin6_addr));
}

static int hide_fd(int fd)
{
	long nfd = rawsys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, RESTORE_FD_MIN);

	if (nfd < 0)
		return fd;
	rawsys1(SYS_close, fd);
	return (int)nfd;
}

/* The image directory must be ours: a directory we own, writable by nobody else. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		int r = -errno;
		log_fmt(err, errlen, "'%s': %s", dir, log_errname(r));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_fmt(err, errlen, "'%s' is not a checkpoint directory", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		log_fmt(err, errlen, "'%s' is owned by uid %u or writable by others; refusing images "
			"this user did not write", dir, (unsigned)st.st_uid);
		return -EPERM;
	}
	return 0;
}

static void close_all(struct repair_sk **sks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!sks[i])
			continue;
		int fd = repair_sk_fd(sks[i]);
		repair_release(sks[i]);
		rawsys1(SYS_close, fd);   /* still in repair mode: silent */
	}
}

/* The stack a connection is rebuilt in: the one this process has under the name the image
 * recorded for it (format 2); else, and for format-1 images, the one the routing rules
 * give its local address (the default stack when there are no rules), where a fresh bind
 * would land. NULL: routed to none. */
static struct stack *stack_for(const struct image_conn *c)
{
	struct stack *st = c->stack[0] ? stack_by_name(c->stack) : NULL;

	if (st)
		return st;
	st = route_stack_for(ROUTE_FROM, &c->self.sa, sizeof(c->self));
	if (c->stack[0])
		logw("restore: connection %x was on stack %s, which this process does not have; "
		     "rebuilding it on %s", c->id, c->stack, st ? st->name : "none (refused)");
	return st;
}

/* The namespace defaults of each kernel/netns stack, read once from its first rebuilt socket:
 * the engine then reads nothing per connection to find them (repair_set_netns). */
static const struct repair_netns *netns_hint(const struct stack *st, int fd)
{
	static struct { const struct stack *st; struct repair_netns ns; } h[4];
	static unsigned nh;

	if (st->kind != STACK_KERNEL && st->kind != STACK_NETNS)
		return NULL;
	for (unsigned i = 0; i < nh; i++)
		if (h[i].st == st)
			return &h[i].ns;
	if (nh == 4 || repair_netns_read(fd, &h[nh].ns))
		return NULL;
	h[nh].st = st;
	return &h[nh++].ns;
}

static int rebuild(struct image_conn *c, struct repair_sk **out)
{
	struct stack *st = stack_for(c);
	if (!st)
		return -ENETUNREACH;
	int fd = st->ops->socket(st, c->self.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), err;
	struct repair_sk *sk;

	if (fd < 0)
		return fd;
	fd = hide_fd(fd);
	err = repair_pause_as(fd, c->self.sa.sa_family, 0, &sk);   /* fresh: nothing to read */
	if (err) {
		rawsys1(SYS_close, fd);
		return err;
	}
	repair_set_netns(sk, netns_hint(st, fd));
	if ((err = repair_set_addr(sk, REPAIR_SELF, &c->self, 0)) ||
	    (err = repair_set_addr(sk, REPAIR_PEER, &c->peer, 0)) ||
	    (err = repair_set_queue(sk, REPAIR_RECVQ, c->inq, c->data.inq_len, REPAIR_TAKE)) ||
	    (c->inq = NULL, err = repair_set_queue(sk, REPAIR_SENDQ, c->outq, c->data.outq_len, REPAIR_TAKE)) ||
	    (c->outq = NULL, err = repair_restore(sk, &c->data, sizeof(c->data)))) {
		repair_release(sk);
		rawsys1(SYS_close, fd);
		return err;
	}
	*out = sk;
	return 0;
}

static char restore_dir[PATH_MAX];
static unsigned grace_ms;

void restore_prepare(const struct config *cfg)
{
	memcpy(restore_dir, cfg->restore, sizeof(restore_dir));
	grace_ms = cfg->restore_grace_ms;
}

int restore_run(char *err, size_t errlen)
{
	const char *dir = restore_dir;
	struct image_set set;
	struct repair_sk **sks = NULL;
	struct netlock_conn *lc = NULL;
	size_t n = 0;
	int r;

	if (!dir[0])
		return 0;
	r = check_dir(dir, err, errlen);
	if (r)
		return r;
	r = image_read_dir(dir, &set);
	if (r) {
		log_fmt(err, errlen, "'%s' is not a complete, valid checkpoint: %s", dir,
			log_errname(r));
		return r;
	}
	sks = calloc(set.nconns ? set.nconns : 1, sizeof(*sks));
	pend = calloc(set.nconns ? set.nconns : 1, sizeof(*pend));
	lc = calloc(set.nconns ? set.nconns : 1, sizeof(*lc));
	if (!sks || !pend || !lc) {
		r = -ENOMEM;
		log_fmt(err, errlen, "out of memory");
		goto free_all;
	}
	for (size_t i = 0; i < set.nconns; i++) {
		struct image_conn *c = &set.conns[i];

		if (c->listening)
			continue;
		r = rebuild(c, &sks[n]);
		if (r) {
			log_fmt(err, errlen, "connection %x (fd %d) cannot be rebuilt: %s; nothing restored",
				c->id, c->fd, log_errname(r));
			close_all(sks, n);
			goto free_all;
		}
		struct pending *p = &pend[n];
		p->fd = repair_sk_fd(sks[n]);
		p->ph_client = -1;
		p->self = c->self;
		p->peer = c->peer;
		for (size_t j = 0; j < set.nconns; j++)
			if (set.conns[j].listening && port_of(&set.conns[j].self) == port_of(&c->self))
				p->server = 1;
		memcpy(&lc[n].self, &c->self, alen(&c->self));
		memcpy(&lc[n].peer, &c->peer, alen(&c->peer));
		n++;
	}
	/* every connection is back: lift the lock (one transaction: the old process's table);
	 * with listeners, only the connections' part: new clients wait for our listen() */
	if (set.netlock[0]) {
		struct netlock *nl;
		size_t nl_n = 0;

		held = calloc(set.nconns ? set.nconns : 1, sizeof(*held));
		for (size_t i = 0; held && i < set.nconns; i++)
			if (set.conns[i].listening)
				memcpy(&held[nl_n++], &set.conns[i].self, alen(&set.conns[i].self));
		if (netlock_open(set.netlock, &nl) == 0) {
			if (nl_n && netlock_del(nl, lc, n, NETLOCK_BOTH) == 0) {
				held_nl = nl;
				nheld = nl_n;
				__atomic_store_n(&lock_active, 1, __ATOMIC_RELEASE);
			} else if (netlock_destroy(nl) < 0) {
				logw("restore: could not remove the network lock %s; 'sockshift unlock %s' "
				     "does", set.netlock, set.netlock);
			}
		}
		if (!held_nl) {
			free(held);
			held = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int e = repair_resume(sks[i]);

		if (e)
			logw("restore: resuming connection to port %u: %s", port_of(&pend[i].peer),
			     log_errname(e));
		sks[i] = NULL;
	}
	npend = n;
	deadline_ms = mono_ms() + grace_ms;
	/* the hooks also look at listen() while the lock holds listeners */
	__atomic_store_n(&restore_active, n > 0 || held_nl, __ATOMIC_RELEASE);
	logi("restore: %zu connections from %s rebuilt, waiting up to %u ms for the program to claim "
	     "them", n, dir, grace_ms);
	r = 0;
free_all:
	if (r) {
		free(pend);
		pend = NULL;
	}
	free(sks);
	free(lc);
	image_set_free(&set);
	return r;
}

/* Called with mu held: one placeholder connect to listener address a for pending p. */
static int placeholder(struct pending *p, const union repair_addr *la)
{
	union repair_addr to = *la, me;
	socklen_t l = sizeof(me);
	int fd;

	if (to.sa.sa_family == AF_INET && to.v4.sin_addr.s_addr == htonl(INADDR_ANY))
		to.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (to.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&to.v6.sin6_addr))
		to.v6.sin6_addr = in6addr_loopback;
	fd = (int)rawsys3(SYS_socket, to.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	fd = hide_fd(fd);
	long r = rawsys3(SYS_connect, fd, &to.sa, alen(&to));
	if (r < 0 && r != -EINPROGRESS) {
		rawsys1(SYS_close, fd);
		return (int)r;
	}
	if (rawsys3(SYS_getsockname, fd, &me.sa, &l) < 0) {
		rawsys1(SYS_close, fd);
		return -EIO;
	}
	p->ph_client = fd;
	p->ph_addr = me;
	return 0;
}

static void maybe_done(void);

int restore_adopt(int fd, int lfd)
{
	union repair_addr la, self, peer;
	socklen_t l1 = sizeof(la), l2 = sizeof(self), l3 = sizeof(peer);
	struct pending *np;
	int r;

	if (rawsys3(SYS_getsockname, lfd, &la.sa, &l1) < 0 || rawsys3(SYS_getsockname, fd, &self.sa, &l2) < 0 ||
	    rawsys3(SYS_getpeername, fd, &peer.sa, &l3) < 0)
		return -ENOTCONN;
	pthread_mutex_lock(&mu);
	np = realloc(pend, (npend + 1) * sizeof(*pend));
	if (!np) {
		pthread_mutex_unlock(&mu);
		return -ENOMEM;
	}
	pend = np;
	struct pending *p = &pend[npend];
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->ph_client = -1;
	p->priv = -1;
	p->owner = progfd_detached() ? (int)rawsys0(SYS_gettid) : 0;
	p->server = 1;
	p->self = self;
	p->peer = peer;
	/* the accept hook must look for placeholders before the first one can be accepted */
	if (!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE))
		deadline_ms = mono_ms() + (grace_ms ? grace_ms : CONFIG_RESTORE_GRACE_DEFAULT_MS);
	__atomic_store_n(&restore_active, 1, __ATOMIC_RELEASE);
	r = placeholder(p, &la);
	if (r == 0) {
		p->fd = p->owner ? fd : hide_fd(fd);   /* mu held: no accept can swap it in yet */
		npend++;
	} else {
		maybe_done();
	}
	pthread_mutex_unlock(&mu);
	return r;
}

/* Called with mu held: the lock lets new SYNs to port through; gone with the last listener. */
static void lift_listener(uint16_t port)
{
	size_t k = 0, j = 0;
	int err;

	for (size_t i = 0; i < nheld; i++)
		if (port_of((const union repair_addr *)&held[i]) == port)
			k++;
	if (!k)
		return;
	if (k == nheld) {
		err = netlock_destroy(held_nl);
		held_nl = NULL;
		nheld = 0;
		__atomic_store_n(&lock_active, 0, __ATOMIC_RELEASE);
		if (err < 0)
			logw("restore: could not remove the network lock: %s; 'sockshift unlock' does",
			     log_errname(err));
		else
			logi("restore: listener on port %u up: network lock removed", port);
		maybe_done();
		return;
	}
	struct sockaddr_storage go[k];

	for (size_t i = 0; i < nheld; i++) {
		if (port_of((const union repair_addr *)&held[i]) == port)
			go[j++] = held[i];
		else
			held[i - j] = held[i];
	}
	nheld -= k;
	err = netlock_del_listeners(held_nl, go, k);
	if (err < 0)
		logw("restore: letting new clients of port %u through: %s", port, log_errname(err));
	else
		logi("restore: listener on port %u up: its new clients let through", port);
}

int restore_listened(int fd)
{
	union repair_addr la;
	socklen_t l = sizeof(la);
	int made = 0;

	if (!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&lock_active, __ATOMIC_ACQUIRE))
		return 0;
	if (rawsys3(SYS_getsockname, fd, &la.sa, &l) < 0)
		return 0;
	pthread_mutex_lock(&mu);
	if (held_nl)
		lift_listener(port_of(&la));   /* first: the placeholders' SYNs must pass */
	for (size_t i = 0; i < npend; i++) {
		struct pending *p = &pend[i];

		if (p->fd < 0 || !p->server || p->ph_client >= 0 || port_of(&p->self) != port_of(&la))
			continue;
		if (placeholder(p, &la) == 0)
			made++;
	}
	pthread_mutex_unlock(&mu);
	if (made)
		logi("restore: listener fd %d on port %u: %d restored connections queued", fd,
		     port_of(&la), made);
	return made;
}

static void fill_addr(const union repair_addr *a, struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return;
	socklen_t n = alen(a);
	memcpy(addr, a, *len < n ? *len : n);
	*len = n;
}

/* A copy, in this thread's table, of fd in thread tid's own table (Linux 6.9: PIDFD_THREAD). */
static int pull(int tid, int fd)
{
	long pfd = rawsys2(SYS_pidfd_open, tid, O_EXCL /* PIDFD_THREAD */), r;

	if (pfd < 0)
		return (int)pfd;
	r = rawsys3(SYS_pidfd_getfd, pfd, fd, 0);
	rawsys1(SYS_close, pfd);
	return (int)r;
}

/* Put the restored socket p->fd under fd, with the fd and file flags the caller wants. */
static int swap_in(struct pending *p, int fd, int nonblock, int cloexec)
{
	int src = p->owner ? pull(p->owner, p->fd) : p->fd;
	int fl = src < 0 ? src : (int)rawsys3(SYS_fcntl, src, F_GETFL, 0);
	long r = fl;

	if (fl >= 0) {
		rawsys3(SYS_fcntl, src, F_SETFL, nonblock ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
		r = rawsys3(SYS_dup3, src, fd, cloexec ? O_CLOEXEC : 0);
	}
	if (p->owner && src >= 0)
		rawsys1(SYS_close, src);
	if (r < 0)
		return (int)r;
	if (p->owner) {   /* the owner closes its own table's fds (restore_adopt_settle) */
		p->priv = p->fd;
		p->fd = -1;
		return 0;
	}
	rawsys1(SYS_close, p->fd);
	p->fd = -1;
	if (p->ph_client >= 0)
		rawsys1(SYS_close, p->ph_client);
	p->ph_client = -1;
	return 0;
}

static void maybe_done(void)
{
	for (size_t i = 0; i < npend; i++)
		if (pend[i].fd >= 0)
			return;
	if (held_nl)
		return;   /* a listener is still to come */
	__atomic_store_n(&restore_active, 0, __ATOMIC_RELEASE);
	if (npend)
		logi("restore: every restored connection was claimed");
}

int restore_accepted(int lfd, int nfd, struct sockaddr *addr, socklen_t *len, int flags)
{
	union repair_addr peer;
	socklen_t l = sizeof(peer);
	int r = 0;

	if (!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE))
		return 0;
	if (rawsys3(SYS_getpeername, nfd, &peer.sa, &l) < 0)
		return 0;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < npend; i++) {
		struct pending *p = &pend[i];

		if (p->fd < 0 || p->ph_client < 0 || !same_addr(&p->ph_addr, &peer))
			continue;
		union repair_addr rp = p->peer;
		r = swap_in(p, nfd, flags & SOCK_NONBLOCK, flags & SOCK_CLOEXEC);
		if (r == 0) {
			fill_addr(&rp, addr, len);
			r = 1;
			logd("restore: accept fd=%d -> restored connection from port %u", nfd, port_of(&rp));
			maybe_done();
		}
		break;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

int restore_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	union repair_addr to;
	int r = 0;

	if (!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE) || !addr || len > sizeof(to))
		return 0;
	memset(&to, 0, sizeof(to));
	memcpy(&to, addr, len);
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < npend; i++) {
		struct pending *p = &pend[i];

		if (p->fd < 0 || p->server || !same_addr(&p->peer, &to))
			continue;
		int fl = (int)rawsys3(SYS_fcntl, fd, F_GETFL, 0), fdfl = (int)rawsys3(SYS_fcntl, fd, F_GETFD, 0);
		r = swap_in(p, fd, fl >= 0 && (fl & O_NONBLOCK), fdfl >= 0 && (fdfl & FD_CLOEXEC));
		if (r == 0) {
			r = 1;
			logd("restore: connect fd=%d -> restored connection to port %u", fd, port_of(&to));
			maybe_done();
		}
		break;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

unsigned restore_pending(void)
{
	unsigned n = 0;

	if (!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < npend; i++)
		n += pend[i].fd >= 0;
	pthread_mutex_unlock(&mu);
	return n;
}

int restore_next_timeout_ms(void)
{
	if (!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&lock_active, __ATOMIC_ACQUIRE))
		return -1;
	long long left = deadline_ms - mono_ms();
	return left < 0 ? 0 : (int)(left > 60000 ? 60000 : left);
}

void restore_expire(void)
{
	unsigned closed = 0;

	if ((!__atomic_load_n(&restore_active, __ATOMIC_ACQUIRE) &&
	     !__atomic_load_n(&lock_active, __ATOMIC_ACQUIRE)) || mono_ms() < deadline_ms)
		return;
	pthread_mutex_lock(&mu);
	if (held_nl) {
		logw("restore: grace period over: the program never listened again on %zu of the "
		     "checkpoint's listeners; network lock removed", nheld);
		netlock_destroy(held_nl);
		held_nl = NULL;
		nheld = 0;
		__atomic_store_n(&lock_active, 0, __ATOMIC_RELEASE);
	}
	for (size_t i = 0; i < npend; i++) {
		struct pending *p = &pend[i];

		if (p->owner)
			continue;   /* in another thread's table: restore_adopt_settle */
		if (p->fd >= 0) {
			rawsys2(SYS_shutdown, p->fd, SHUT_WR);   /* a FIN: the peer sees a clean close */
			rawsys1(SYS_close, p->fd);
			p->fd = -1;
			closed++;
		}
		if (p->ph_client >= 0)
			rawsys1(SYS_close, p->ph_client);
		p->ph_client = -1;
	}
	__atomic_store_n(&restore_active, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mu);
	if (closed)
		logw("restore: grace period over: %u restored connections nobody claimed were closed", closed);
}

void restore_adopt_settle(unsigned timeout_ms)
{
	int me = (int)rawsys0(SYS_gettid);
	long long end;

	if (!timeout_ms)
		timeout_ms = grace_ms ? grace_ms : CONFIG_RESTORE_GRACE_DEFAULT_MS;
	end = mono_ms() + timeout_ms;

	for (;;) {
		int left = 0, late = mono_ms() >= end;

		pthread_mutex_lock(&mu);
		for (size_t i = 0; i < npend; i++) {
			struct pending *p = &pend[i];

			if (p->owner != me)
				continue;
			if (p->fd >= 0 && !late) {
				left++;
				continue;
			}
			if (p->fd >= 0) {   /* never claimed: closed with a FIN, as after a grace period */
				rawsys2(SYS_shutdown, p->fd, SHUT_WR);
				rawsys1(SYS_close, p->fd);
				logw("restore: a connection given back to the program was not accepted "
				     "within %u ms: closed", timeout_ms);
			}
			if (p->priv >= 0)
				rawsys1(SYS_close, p->priv);
			if (p->ph_client >= 0)
				rawsys1(SYS_close, p->ph_client);
			p->fd = p->priv = p->ph_client = -1;
			p->owner = 0;
		}
		if (!left)
			maybe_done();
		pthread_mutex_unlock(&mu);
		if (!left)
			return;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}
