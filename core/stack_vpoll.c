/*
 * stack_vpoll — the map from program fds to user-space plug-in sockets, and the calls
 * forwarded through it (see stack_vpoll.h).
 *
 * Two mmap'd arrays indexed by fd number, filled on first use (no malloc, copied by fork):
 *   map[fd]   = { stack id (0: not mapped), plug-in fd }   for every program fd
 *   refs[pfd] = how many program fds map to plug-in fd pfd
 * The plug-in fd is also a program fd at first (socket() returns it). When the program
 * closes that number while dups of it live, the number is kept open, unmapped and out of
 * the program's sight, because the plug-in knows its socket by it; the last close of any
 * of them calls the plug-in's close(), which closes it.
 * Lookups are lock-free; changes take one mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "fdtable.h"
#include "log.h"
#include "plugins/ioth_abi.h"
#include "rawsys.h"
#include "real.h"
#include "stack.h"
#include "stack_vpoll.h"

int stack_vpoll_active;

struct vmap {
	unsigned stack;     /* 0: not mapped */
	int pfd;
};

static struct vmap *map;
static int *refs;
static unsigned map_hi;         /* one above the highest fd ever mapped */
static struct stack_vpoll_backend backends[STACK_MAX];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *zalloc_fds(size_t each)
{
	void *p = mmap(NULL, each * FDT_FD_MAX, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int ensure_tables(void)
{
	if (map && refs)
		return 0;
	if (!map)
		map = zalloc_fds(sizeof(*map));
	if (!refs)
		refs = zalloc_fds(sizeof(*refs));
	return map && refs ? 0 : -ENOMEM;
}

static int valid_fd(int fd)
{
	return fd >= 0 && fd < FDT_FD_MAX;
}

int stack_vpoll_lookup(int fd)
{
	return valid_fd(fd) && map && __atomic_load_n(&map[fd].stack, __ATOMIC_ACQUIRE) != 0;
}

int stack_vpoll_register(unsigned stack_id, const struct stack_vpoll_backend *be)
{
	if (stack_id == 0 || stack_id >= STACK_MAX || !be || !be->f || !be->set_current)
		return -EINVAL;
	backends[stack_id] = *be;
	return 0;
}

/* The mapping of a program fd under the lock's rules: a copy, so a racing close is harmless. */
static int entry(int fd, struct vmap *out)
{
	if (!stack_vpoll_lookup(fd))
		return -EBADF;
	*out = map[fd];
	if (!out->stack || out->stack >= STACK_MAX || !backends[out->stack].f)
		return -EBADF;
	return 0;
}

static void set_map(int fd, unsigned stack, int pfd)
{
	if ((unsigned)fd >= map_hi)
		map_hi = (unsigned)fd + 1;
	map[fd].pfd = pfd;
	__atomic_store_n(&map[fd].stack, stack, __ATOMIC_RELEASE);
}

/* A forwarded call: finds the plug-in, makes getstackdata answer its stack around the
 * call, and turns the plug-in's -1/errno into -errno (its errno may be another libc's). */
struct call {
	const struct stack_vpoll_backend *be;
	int pfd;
	int saved_errno;
	void *prev;
};

static int call_begin(int fd, struct call *c)
{
	struct vmap m;
	int r = entry(fd, &m);

	if (r < 0)
		return r;
	c->be = &backends[m.stack];
	c->pfd = m.pfd;
	if (c->be->owner && rawsys0(SYS_getpid) != c->be->owner)
		return -ENETDOWN; /* a forked child: the stack's threads stayed in the parent */
	c->saved_errno = errno;
	if (c->be->errno_location)
		*c->be->errno_location() = 0;
	errno = 0;
	c->prev = c->be->set_current(c->be->stackdata);
	return 0;
}

static long call_end(struct call *c, long r)
{
	c->be->set_current(c->prev);
	if (r < 0) {
		int e = c->be->errno_location ? *c->be->errno_location() : errno;
		r = e > 0 ? -e : -EIO;
	}
	errno = c->saved_errno;
	return r;
}

static void log_call(const char *member, int fd, long r)
{
	if (!LOG_ON(LOGL_DEBUG) || r == -EAGAIN)   /* non-blocking polls would flood the log */
		return;
	if (r < 0)
		log_msg(LOGL_DEBUG, "vpoll: %s fd=%d -> plug-in -> -1 %s", member, fd, log_errname((int)r));
	else
		log_msg(LOGL_DEBUG, "vpoll: %s fd=%d -> plug-in -> %ld", member, fd, r);
}

/* FORWARD(fd, member, args...): the plug-in's member X, or -ENOSYS if it has none. */
#define FORWARD(fd, member, ...)                                                       \
	({                                                                             \
		struct call c_;                                                        \
		long r_ = call_begin((fd), &c_);                                       \
		if (r_ == 0) {                                                         \
			r_ = c_.be->f->member ? (long)c_.be->f->member(c_.pfd, __VA_ARGS__) \
					      : (errno = ENOSYS, -1L);                 \
			if (!c_.be->f->member && c_.be->errno_location)                \
				*c_.be->errno_location() = ENOSYS;                     \
			r_ = call_end(&c_, r_);                                        \
		}                                                                      \
		log_call(#member, (fd), r_);                                           \
		r_;                                                                    \
	})

/* Whether the plug-in of fd has member (for the read->recv style fallbacks). */
#define HAS(fd, member)                                                                \
	({                                                                             \
		struct vmap m_;                                                        \
		entry((fd), &m_) == 0 && backends[m_.stack].f->member != NULL;         \
	})

int stack_vpoll_adopt(unsigned stack_id, int fd, int flags)
{
	int r;

	if (stack_id == 0 || stack_id >= STACK_MAX || !backends[stack_id].f || !valid_fd(fd))
		return -EINVAL;
	pthread_mutex_lock(&mu);
	r = ensure_tables();
	if (r == 0) {
		set_map(fd, stack_id, fd);
		refs[fd] = 1;
		__atomic_store_n(&stack_vpoll_active, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mu);
	if (r < 0)
		return r;
	/* The stack lives in this process's memory: its fds must not reach an exec'd image. */
	int e = errno;
	real.fcntl(fd, F_SETFD, FD_CLOEXEC);
	errno = e;
	if (flags & SOCK_NONBLOCK) {
		r = stack_vpoll_fcntl(fd, F_SETFL, O_NONBLOCK);
		if (r < 0 && r != -ENOSYS) {
			stack_vpoll_close(fd);
			return r;
		}
	}
	return 0;
}

int stack_vpoll_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)FORWARD(fd, bind, addr, len);
}

int stack_vpoll_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)FORWARD(fd, connect, addr, len);
}

int stack_vpoll_listen(int fd, int backlog)
{
	return (int)FORWARD(fd, listen, backlog);
}

int stack_vpoll_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct vmap m;
	int nfd, r;

	if ((r = entry(fd, &m)) < 0)
		return r;
	nfd = (int)FORWARD(fd, accept, addr, len);
	if (nfd < 0)
		return nfd;
	r = stack_vpoll_adopt(m.stack, nfd, flags);
	return r < 0 ? r : nfd;
}

int stack_vpoll_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return (int)FORWARD(fd, getsockname, addr, len);
}

int stack_vpoll_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return (int)FORWARD(fd, getpeername, addr, len);
}

int stack_vpoll_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return (int)FORWARD(fd, setsockopt, level, name, val, len);
}

int stack_vpoll_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int r = (int)FORWARD(fd, getsockopt, level, name, val, len);
	struct fdt_rec rec;

	/* What a socket's creation fixed, answered from the fd table if the plug-in cannot. */
	if (r < 0 && level == SOL_SOCKET && val && len && *len >= sizeof(int) &&
	    (name == SO_DOMAIN || name == SO_TYPE || name == SO_PROTOCOL) && fdt_get(fd, &rec) == 0) {
		int v = name == SO_DOMAIN ? rec.domain : name == SO_TYPE ? rec.type : rec.protocol;
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
		r = 0;
	}
	return r;
}

int stack_vpoll_shutdown(int fd, int how)
{
	return (int)FORWARD(fd, shutdown, how);
}

ssize_t stack_vpoll_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			     socklen_t *alen)
{
	if (!addr && HAS(fd, recv))
		return FORWARD(fd, recv, buf, len, flags);
	if (HAS(fd, recvfrom))
		return FORWARD(fd, recvfrom, buf, len, flags, addr, alen);
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = addr, .msg_namelen = alen ? *alen : 0, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = FORWARD(fd, recvmsg, &m, flags);
	if (r >= 0 && alen)
		*alen = m.msg_namelen;
	return r;
}

ssize_t stack_vpoll_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
			   socklen_t alen)
{
	if (!addr && HAS(fd, send))
		return FORWARD(fd, send, buf, len, flags);
	if (HAS(fd, sendto))
		return FORWARD(fd, sendto, buf, len, flags, addr, alen);
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)addr, .msg_namelen = alen, .msg_iov = &iov, .msg_iovlen = 1 };
	return FORWARD(fd, sendmsg, &m, flags);
}

ssize_t stack_vpoll_recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (HAS(fd, recvmsg) || !msg || msg->msg_iovlen != 1)
		return FORWARD(fd, recvmsg, msg, flags);
	socklen_t nl = msg->msg_namelen;
	ssize_t r = stack_vpoll_recvfrom(fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len, flags,
					 msg->msg_name, msg->msg_name ? &nl : NULL);
	if (r >= 0) {
		msg->msg_namelen = msg->msg_name ? nl : 0;
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
	}
	return r;
}

ssize_t stack_vpoll_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (HAS(fd, sendmsg) || !msg || msg->msg_iovlen != 1)
		return FORWARD(fd, sendmsg, msg, flags);
	return stack_vpoll_sendto(fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len, flags,
				  msg->msg_name, msg->msg_namelen);
}

ssize_t stack_vpoll_read(int fd, void *buf, size_t len)
{
	if (HAS(fd, read))
		return FORWARD(fd, read, buf, len);
	return stack_vpoll_recvfrom(fd, buf, len, 0, NULL, NULL);
}

ssize_t stack_vpoll_write(int fd, const void *buf, size_t len)
{
	if (HAS(fd, write))
		return FORWARD(fd, write, buf, len);
	return stack_vpoll_sendto(fd, buf, len, 0, NULL, 0);
}

ssize_t stack_vpoll_readv(int fd, const struct iovec *iov, int n)
{
	if (HAS(fd, readv))
		return FORWARD(fd, readv, iov, n);
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n > 0 ? (size_t)n : 0 };
	return stack_vpoll_recvmsg(fd, &m, 0);
}

ssize_t stack_vpoll_writev(int fd, const struct iovec *iov, int n)
{
	if (HAS(fd, writev))
		return FORWARD(fd, writev, iov, n);
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n > 0 ? (size_t)n : 0 };
	return stack_vpoll_sendmsg(fd, &m, 0);
}

/* recvmmsg/sendmmsg: one message at a time, as many as come without blocking after the first. */
int stack_vpoll_recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		ssize_t r = stack_vpoll_recvmsg(fd, &vec[i].msg_hdr, i ? flags | MSG_DONTWAIT : flags);
		if (r < 0)
			return i ? (int)i : (int)r;
		vec[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

int stack_vpoll_sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		ssize_t r = stack_vpoll_sendmsg(fd, &vec[i].msg_hdr, flags);
		if (r < 0)
			return i ? (int)i : (int)r;
		vec[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

/* The lowest free fd number >= minfd, as a kernel dup of oldfd (FD_CLOEXEC: see adopt). */
static int kernel_dup(int oldfd, int newfd, int minfd)
{
	int e = errno, r;

	if (newfd >= 0)
		r = real.dup3(oldfd, newfd, O_CLOEXEC);
	else
		r = real.fcntl(oldfd, F_DUPFD_CLOEXEC, minfd < 0 ? 0 : minfd);
	r = r < 0 ? -errno : r;
	errno = e;
	return r;
}

int stack_vpoll_dup(int oldfd, int newfd, int minfd)
{
	struct vmap m;
	int r = entry(oldfd, &m);

	if (r < 0)
		return r;
	if (newfd == oldfd)
		return newfd;
	if (newfd >= 0 && !valid_fd(newfd))
		return -EBADF;
	if (newfd >= 0 && stack_vpoll_lookup(newfd)) {
		if ((r = stack_vpoll_forget(newfd)) < 0)
			return r;
	} else if (newfd >= 0 && refs && refs[newfd] > 0)
		return -EBUSY; /* a hidden plug-in fd (see the top of this file) */
	r = kernel_dup(oldfd, newfd, minfd);
	if (r < 0)
		return r;
	if (!valid_fd(r)) {
		int e = errno;
		real.close(r);
		errno = e;
		return -EMFILE;
	}
	pthread_mutex_lock(&mu);
	set_map(r, m.stack, m.pfd);
	refs[m.pfd]++;
	pthread_mutex_unlock(&mu);
	return r;
}

/* Drops the mapping of fd; returns the plug-in fd to close through the plug-in (its last
 * reference went), or -1. *close_fd says whether fd itself must still be closed. */
static int unmap(int fd, struct vmap *m, int *close_fd)
{
	int last;

	pthread_mutex_lock(&mu);
	*m = map[fd];
	__atomic_store_n(&map[fd].stack, 0, __ATOMIC_RELEASE);
	last = --refs[m->pfd] <= 0;
	if (last)
		refs[m->pfd] = 0;
	pthread_mutex_unlock(&mu);
	/* The plug-in fd is closed by the plug-in; any other number (a dup) by us. And while
	 * dups live, the plug-in's own number stays open, hidden. */
	*close_fd = fd != m->pfd;
	return last ? m->pfd : -1;
}

static void plugin_close(unsigned stack, int pfd)
{
	const struct stack_vpoll_backend *be = &backends[stack];
	struct call c = { .be = be, .pfd = pfd, .saved_errno = errno };

	if (be->owner && rawsys0(SYS_getpid) != be->owner) {
		real.close(pfd); /* a forked child: only the fd is ours */
		errno = c.saved_errno;
		return;
	}
	c.prev = be->set_current(be->stackdata);
	long r = be->f->close ? be->f->close(pfd) : -1;
	call_end(&c, 0);
	if (r < 0 || !be->f->close)
		real.close(pfd); /* the plug-in would not: the fd must not leak */
	errno = c.saved_errno;
}

int stack_vpoll_close(int fd)
{
	struct vmap m;
	int close_fd, e = errno, r = 0;

	if (!stack_vpoll_lookup(fd))
		return -EBADF;
	int pfd = unmap(fd, &m, &close_fd);
	if (close_fd && real.close(fd) < 0)
		r = -errno;
	if (pfd >= 0)
		plugin_close(m.stack, pfd);
	errno = e;
	return r;
}

int stack_vpoll_forget(int fd)
{
	struct vmap m;
	int close_fd;

	if (!stack_vpoll_lookup(fd))
		return 0;
	/* The plug-in knows its socket by this number while dups of it live: it cannot be
	 * replaced by another file (dup2 may fail with EBUSY on Linux too). */
	if (map[fd].pfd == fd && refs[fd] > 1)
		return -EBUSY;
	int pfd = unmap(fd, &m, &close_fd);
	if (pfd >= 0)
		plugin_close(m.stack, pfd);
	return 0;
}

void stack_vpoll_close_range(unsigned first, unsigned last)
{
	if (!__atomic_load_n(&stack_vpoll_active, __ATOMIC_RELAXED) || !map)
		return;
	if (last >= map_hi)
		last = map_hi - 1;
	for (unsigned fd = first; fd <= last; fd++) {
		struct vmap m;
		int close_fd;
		if (!stack_vpoll_lookup((int)fd))
			continue;
		int pfd = unmap((int)fd, &m, &close_fd);
		if (pfd >= 0)
			plugin_close(m.stack, pfd);
	}
}

int stack_vpoll_fcntl(int fd, int cmd, long arg)
{
	int e = errno, r;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return stack_vpoll_dup(fd, -1, (int)arg);
	case F_GETFL:
	case F_SETFL:
		r = (int)FORWARD(fd, fcntl, cmd, arg);
		if (r == -ENOSYS && cmd == F_GETFL)
			r = O_RDWR;
		return r;
	case F_SETFD:
		arg |= FD_CLOEXEC; /* never crosses exec (see stack_vpoll_adopt) */
		/* fall through */
	default:
		r = real.fcntl(fd, cmd, arg);
		r = r < 0 ? -errno : r;
		errno = e;
		return r;
	}
}

int stack_vpoll_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == FIONBIO && arg) {
		int fl = stack_vpoll_fcntl(fd, F_GETFL, 0);
		if (fl < 0)
			return fl;
		return stack_vpoll_fcntl(fd, F_SETFL, *(int *)arg ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
	}
	return (int)FORWARD(fd, ioctl, req, arg);
}

int stack_vpoll_target(int fd, unsigned *stack_id)
{
	struct vmap m;
	int r = entry(fd, &m);

	if (r < 0)
		return r;
	if (stack_id)
		*stack_id = m.stack;
	return m.pfd;
}

int stack_vpoll_refs(int pfd)
{
	return valid_fd(pfd) && refs ? refs[pfd] : 0;
}

void stack_vpoll_reset(void)
{
	pthread_mutex_lock(&mu);
	if (map)
		memset(map, 0, sizeof(*map) * FDT_FD_MAX);
	if (refs)
		memset(refs, 0, sizeof(*refs) * FDT_FD_MAX);
	memset(backends, 0, sizeof(backends));
	map_hi = 0;
	__atomic_store_n(&stack_vpoll_active, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mu);
}
