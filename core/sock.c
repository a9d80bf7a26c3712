/*
 * sock — socket calls: stack choice, kernel call, fd-table bookkeeping, debug log.
 * See sock.h. Every function returns >= 0 or -errno and leaves errno as it found it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "addr.h"
#include "epolltrack.h"
#include "fdenv.h"
#include "fdtable.h"
#include "log.h"
#include "progfd.h"
#include "rawsys.h"
#include "real.h"
#include "restore.h"
#include "rehome.h"
#include "route.h"
#include "sock.h"
#include "stack.h"
#include "stack_vpoll.h"
#include "vsock_sock.h"

/* Sockets of the vsock stack are answered by core/vsock_sock.c (one load when none is open). */
#define VSOCK_DISPATCH(fd, call) do { if (vsock_sock_owns(fd)) return (call); } while (0)

/* Sockets of user-space plug-in stacks are answered by their plug-in (stack_vpoll.h): one
 * load while no such socket exists. */
#define VPOLL_OR(fd, call, kernel) (stack_vpoll_owns(fd) ? (call) : (kernel))

/* Keeps errno as the caller had it across our own bookkeeping. */
#define KEEP_ERRNO(stmt) do { int keep_errno_ = errno; stmt; errno = keep_errno_; } while (0)

static const char *stack_name_of(int fd)
{
	struct fdt_rec rec;
	struct stack *st;

	if (fdt_get(fd, &rec) < 0)
		return "kernel(untracked)";
	st = stack_by_id(rec.stack_id);
	return st ? st->name : "?";
}

static void log_result(const char *call, int fd, const struct sockaddr *addr, socklen_t alen, long r)
{
	char a[ADDR_STRLEN];

	if (!LOG_ON(LOGL_DEBUG))
		return;
	addr_format(a, sizeof(a), addr, alen);
	if (r < 0)
		log_msg(LOGL_DEBUG, "%s fd=%d %s stack=%s -> -1 %s", call, fd, a, stack_name_of(fd),
			log_errname((int)-r));
	else
		log_msg(LOGL_DEBUG, "%s fd=%d %s stack=%s -> %ld", call, fd, a, stack_name_of(fd), r);
}

/* Only Internet sockets are routed; everything else always lives on the kernel stack. */
static struct stack *stack_for(int domain)
{
	if (domain == AF_INET || domain == AF_INET6)
		return stack_default();
	return stack_by_id(0);
}

static void track(int fd, int domain, int type, int protocol, unsigned stack_id, unsigned origin)
{
	struct fdt_rec rec;

	if (progfd_detached())
		return;   /* a socket of sockshift's own thread, in its private fd table */
	fdt_rec_init(&rec, fd, domain, type, protocol, stack_id, origin);
	if (stack_vpoll_owns(fd))
		rec.fd_flags = FD_CLOEXEC;   /* a user-space stack's socket never crosses exec */
	epolltrack_forget(fd); /* registrations of a socket that had this number before */
	if (fdt_add(&rec) < 0)
		logw("fd %d is beyond the tracked range; it works but is not recorded", fd);
}

int sock_socket(int domain, int type, int protocol)
{
	struct stack *st = stack_for(domain);
	int fd;

	KEEP_ERRNO(fd = st->ops->socket(st, domain, type, protocol));
	if (fd >= 0)
		track(fd, domain, type, protocol, st->id, FDT_ORIGIN_SOCKET);
	logd("socket %s/%s/%d stack=%s -> %d%s%s", addr_family_name(domain), addr_type_name(type),
	     protocol, st->name, fd < 0 ? -1 : fd, fd < 0 ? " " : "", fd < 0 ? log_errname(fd) : "");
	return fd;
}

int sock_socketpair(int domain, int type, int protocol, int sv[2])
{
	int r, err = 0;

	KEEP_ERRNO(r = real.socketpair(domain, type, protocol, sv); err = errno);
	if (r < 0) {
		logd("socketpair %s/%s -> -1 %s", addr_family_name(domain), addr_type_name(type),
		     log_errname(err));
		return -err;
	}
	track(sv[0], domain, type, protocol, 0, FDT_ORIGIN_PAIR);
	track(sv[1], domain, type, protocol, 0, FDT_ORIGIN_PAIR);
	logd("socketpair %s/%s stack=kernel -> [%d, %d]", addr_family_name(domain), addr_type_name(type),
	     sv[0], sv[1]);
	return 0;
}

/* Calls a kernel function returning 0/-1 and maps it to 0/-errno without touching errno. */
#define CALL0(expr) ({ int r_, e_ = errno; r_ = (expr); if (r_ < 0) r_ = -errno; errno = e_; r_; })

/* Routing rules (route.h): moves a fresh socket to the stack its address routes to.
 * 0 to go on, -errno to fail the call (no usable stack, or a socket already in use on
 * another stack). Without rules this is one branch. */
static int route_fd(int fd, enum route_dir dir, const struct sockaddr *addr, socklen_t len)
{
	struct stack *want = NULL, *have;
	struct fdt_rec rec;

	if (!route_active() || !addr || len < sizeof(sa_family_t) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return 0;
	if (fdt_get(fd, &rec) < 0 || (rec.domain != AF_INET && rec.domain != AF_INET6))
		return 0;
	if (!route_lookup(dir, addr, len, &want))
		want = stack_default();
	if (!want) {
		char a[ADDR_STRLEN];
		addr_format(a, sizeof(a), addr, len);
		logi("%s fd=%d %s: routed to stack none", dir == ROUTE_FROM ? "bind" : "connect", fd, a);
		return dir == ROUTE_FROM ? -EADDRNOTAVAIL : -ENETUNREACH;
	}
	if (want->id == rec.stack_id)
		return 0;
	have = stack_by_id(rec.stack_id);
	if ((rec.state & (FDT_BOUND | FDT_LISTENING | FDT_CONNECTED)) || stack_vpoll_owns(fd)) {
		char a[ADDR_STRLEN];
		addr_format(a, sizeof(a), addr, len);
		logw("fd %d is in use on stack %s; %s routes to stack %s: refused", fd,
		     have ? have->name : "?", a, want->name);
		return -ENETUNREACH;
	}
	return rehome_fd(fd, want);
}

int sock_route_sendto(int fd, const struct sockaddr *addr, socklen_t len)
{
	return route_fd(fd, ROUTE_TO, addr, len);
}

int sock_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int r = route_fd(fd, ROUTE_FROM, addr, len);

	if (r == 0)
		VSOCK_DISPATCH(fd, vsock_sock_bind(fd, addr, len));

	if (r == 0)
		r = VPOLL_OR(fd, stack_vpoll_bind(fd, addr, len), CALL0(real.bind(fd, addr, len)));

	if (r == 0)
		fdt_set_state(fd, FDT_BOUND, 0);
	log_result("bind", fd, addr, len, r);
	return r;
}

int sock_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int r = route_fd(fd, ROUTE_TO, addr, len);

	if (r == 0)
		VSOCK_DISPATCH(fd, vsock_sock_connect(fd, addr, len));

	/* a connection restored from a checkpoint to this peer takes the fd's place (restore.h) */
	if (r == 0 && unlikely_restore() && restore_connect(fd, addr, len) == 1)
		r = 0;
	else if (r == 0)
		r = VPOLL_OR(fd, stack_vpoll_connect(fd, addr, len), CALL0(real.connect(fd, addr, len)));

	/* EINPROGRESS still creates the connection; its outcome is read later via SO_ERROR. */
	if (r == 0 || r == -EINPROGRESS)
		fdt_set_state(fd, FDT_CONNECTED, 0);
	log_result("connect", fd, addr, len, r);
	return r;
}

/* listen() without bind() binds to the wildcard address: route it like that bind. */
static int route_listen(int fd)
{
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	struct fdt_rec rec;

	if (!route_active() || fdt_get(fd, &rec) < 0 || (rec.state & FDT_BOUND))
		return 0;
	if (rec.domain == AF_INET)
		return route_fd(fd, ROUTE_FROM, (struct sockaddr *)&any4, sizeof(any4));
	if (rec.domain == AF_INET6)
		return route_fd(fd, ROUTE_FROM, (struct sockaddr *)&any6, sizeof(any6));
	return 0;
}

int sock_listen(int fd, int backlog)
{
	int r = route_listen(fd);

	if (r == 0)
		VSOCK_DISPATCH(fd, vsock_sock_listen(fd, backlog));

	if (r == 0)
		r = VPOLL_OR(fd, stack_vpoll_listen(fd, backlog), CALL0(real.listen(fd, backlog)));

	if (r == 0)
		fdt_set_backlog(fd, backlog);
	if (r == 0 && unlikely_restore())
		restore_listened(fd);   /* make the listener readable for restored connections */
	logd("listen fd=%d backlog=%d stack=%s -> %d%s%s", fd, backlog, stack_name_of(fd), r < 0 ? -1 : r,
	     r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

int sock_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags, int is_accept4)
{
	VSOCK_DISPATCH(fd, vsock_sock_accept4(fd, addr, len, flags, is_accept4));
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct fdt_rec lrec;
	int nfd, e = errno;

	/* Ask for the peer ourselves when the caller did not, so the log can show it. */
	struct sockaddr *a = addr ? addr : (LOG_ON(LOGL_DEBUG) ? (struct sockaddr *)&ss : NULL);
	socklen_t *l = addr ? len : (a ? &sslen : NULL);
	if (stack_vpoll_owns(fd))
		nfd = stack_vpoll_accept4(fd, a, l, is_accept4 ? flags : 0);
	else if ((nfd = is_accept4 ? real.accept4(fd, a, l, flags) : real.accept(fd, a, l)) < 0)
		nfd = -errno;
	if (nfd < 0) {
		errno = e;
		if (nfd != -EAGAIN || LOG_ON(LOGL_DEBUG))
			logd("%s fd=%d stack=%s -> -1 %s", is_accept4 ? "accept4" : "accept", fd,
			     stack_name_of(fd), log_errname(nfd));
		return nfd;
	}
	if (fdt_get(fd, &lrec) == 0)
		track(nfd, lrec.domain, lrec.type | flags, lrec.protocol, lrec.stack_id, FDT_ORIGIN_ACCEPT);
	else
		track(nfd, a ? a->sa_family : AF_UNSPEC, SOCK_STREAM | flags, 0, 0, FDT_ORIGIN_ACCEPT);
	fdt_set_state(nfd, FDT_CONNECTED, 0);
	if (unlikely_restore())
		restore_accepted(fd, nfd, a, l, is_accept4 ? flags : 0);   /* placeholder -> restored */
	errno = e;
	if (LOG_ON(LOGL_DEBUG)) {
		char buf[ADDR_STRLEN];
		addr_format(buf, sizeof(buf), a, l ? *l : 0);
		log_msg(LOGL_DEBUG, "%s fd=%d peer %s stack=%s -> %d", is_accept4 ? "accept4" : "accept",
			fd, buf, stack_name_of(nfd), nfd);
	}
	return nfd;
}

int sock_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	VSOCK_DISPATCH(fd, vsock_sock_getsockname(fd, addr, len));
	int r = VPOLL_OR(fd, stack_vpoll_getsockname(fd, addr, len), CALL0(real.getsockname(fd, addr, len)));

	log_result("getsockname", fd, r == 0 ? addr : NULL, r == 0 && len ? *len : 0, r);
	return r;
}

int sock_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	VSOCK_DISPATCH(fd, vsock_sock_getpeername(fd, addr, len));
	int r = VPOLL_OR(fd, stack_vpoll_getpeername(fd, addr, len), CALL0(real.getpeername(fd, addr, len)));

	log_result("getpeername", fd, r == 0 ? addr : NULL, r == 0 && len ? *len : 0, r);
	return r;
}

int sock_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	VSOCK_DISPATCH(fd, vsock_sock_setsockopt(fd, level, name, val, len));
	int r = VPOLL_OR(fd, stack_vpoll_setsockopt(fd, level, name, val, len),
			 CALL0(real.setsockopt(fd, level, name, val, len)));

	if (r == 0 && val)
		fdt_set_opt(fd, level, name, val, len);
	logd("setsockopt fd=%d level=%d name=%d len=%u stack=%s -> %d%s%s", fd, level, name,
	     (unsigned)len, stack_name_of(fd), r < 0 ? -1 : 0, r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

int sock_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	VSOCK_DISPATCH(fd, vsock_sock_getsockopt(fd, level, name, val, len));
	int r = VPOLL_OR(fd, stack_vpoll_getsockopt(fd, level, name, val, len),
			 CALL0(real.getsockopt(fd, level, name, val, len)));

	logd("getsockopt fd=%d level=%d name=%d stack=%s -> %d%s%s", fd, level, name, stack_name_of(fd),
	     r < 0 ? -1 : 0, r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

int sock_shutdown(int fd, int how)
{
	int r = VPOLL_OR(fd, stack_vpoll_shutdown(fd, how), CALL0(real.shutdown(fd, how)));

	if (r == 0)
		fdt_set_state(fd, (how != SHUT_WR ? FDT_SHUT_RD : 0) | (how != SHUT_RD ? FDT_SHUT_WR : 0), 0);
	logd("shutdown fd=%d how=%d stack=%s -> %d%s%s", fd, how, stack_name_of(fd), r < 0 ? -1 : 0,
	     r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

/* Called for a fd that was a known socket; its record is already gone (the hook drops
 * it before the kernel closes the fd), so there is nothing to look up here. */
void sock_closed(int fd, int ret, int err)
{
	vsock_sock_closed((unsigned)fd, (unsigned)fd);
	logd("close fd=%d -> %d%s%s", fd, ret, ret < 0 ? " " : "", ret < 0 ? log_errname(err) : "");
}

void sock_closed_range(unsigned first, unsigned last, int flags, int ret, int err)
{
	if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		vsock_sock_closed(first, last);
	logd("close_range %u..%u flags=%d -> %d%s%s", first, last, flags, ret, ret < 0 ? " " : "",
	     ret < 0 ? log_errname(err) : "");
}

void sock_duped(const char *call, int oldfd, int newfd, int cloexec, int err)
{
	if (newfd < 0) {
		if (fdt_known(oldfd))
			logd("%s fd=%d -> -1 %s", call, oldfd, log_errname(err));
		return;
	}
	if (oldfd == newfd)
		return;
	if (fdt_dup(oldfd, newfd, cloexec) < 0)
		logw("fd %d is beyond the tracked range; it works but is not recorded", newfd);
	vsock_sock_dup(oldfd, newfd);
	if (fdt_known(newfd))
		logd("%s fd=%d -> %d stack=%s", call, oldfd, newfd, stack_name_of(newfd));
}

void sock_fcntl_done(int fd, int cmd, long arg, int ret, int err)
{
	if (ret < 0)
		return;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		sock_duped(cmd == F_DUPFD ? "fcntl(F_DUPFD)" : "fcntl(F_DUPFD_CLOEXEC)", fd, ret,
			   cmd == F_DUPFD_CLOEXEC, err);
		break;
	case F_SETFL:
		fdt_set_status_flags(fd, (int)arg);
		break;
	case F_SETFD:
		fdt_set_fd_flags(fd, (int)arg);
		break;
	}
}

void sock_ioctl_done(int fd, unsigned long req)
{
	int fl;

	switch (req) {
	case FIOCLEX:
	case FIONCLEX:   /* python's os.set_inheritable() */
		fdt_set_fd_flags(fd, req == FIOCLEX ? FD_CLOEXEC : 0);
		break;
	case FIONBIO:
		fl = (int)rawsys3(SYS_fcntl, fd, F_GETFL, 0);
		if (fl >= 0)
			fdt_set_status_flags(fd, fl);
		break;
	}
}

static void adopt_received(int fd)
{
	int domain, type, proto;
	socklen_t l = sizeof(int);

	if (CALL0(real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l)) < 0)
		return; /* not a socket */
	l = sizeof(int);
	CALL0(real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l));
	l = sizeof(int);
	CALL0(real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l));
	track(fd, domain, type, proto, 0, FDT_ORIGIN_RECEIVED);
	logd("received socket fd=%d %s/%s over SCM_RIGHTS stack=kernel", fd, addr_family_name(domain),
	     addr_type_name(type));
}

void sock_received_fds(const struct msghdr *msg)
{
	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, &fds[i], sizeof(fd));
			adopt_received(fd);
		}
	}
}

void sock_log_io(const char *call, int fd, long ret, int err, const struct sockaddr *addr, socklen_t alen)
{
	char a[ADDR_STRLEN];

	if (!LOG_ON(LOGL_DEBUG))
		return;
	if (addr)
		addr_format(a, sizeof(a), addr, alen);
	if (ret < 0)
		log_msg(LOGL_DEBUG, "%s fd=%d%s%s stack=%s -> -1 %s", call, fd, addr ? " " : "",
			addr ? a : "", stack_name_of(fd), log_errname(err));
	else
		log_msg(LOGL_DEBUG, "%s fd=%d%s%s stack=%s -> %ld", call, fd, addr ? " " : "",
			addr ? a : "", stack_name_of(fd), ret);
}

static int adopt_one(const struct fdt_rec *rec, void *arg)
{
	int domain = -1, type = -1;
	socklen_t l = sizeof(int);

	/* Trust a record only if the fd still is that kind of socket. */
	if (CALL0(real.getsockopt(rec->fd, SOL_SOCKET, SO_DOMAIN, &domain, &l)) < 0 ||
	    domain != rec->domain) {
		logd("inherited fd %d is no longer a %s socket; dropped", rec->fd,
		     addr_family_name(rec->domain));
		return 0;
	}
	l = sizeof(int);
	if (CALL0(real.getsockopt(rec->fd, SOL_SOCKET, SO_TYPE, &type, &l)) < 0 || type != rec->type)
		return 0;
	if (!stack_by_id(rec->stack_id)) {
		logw("inherited fd %d names stack %u, which this process does not have; treated as kernel",
		     rec->fd, rec->stack_id);
	}
	struct fdt_rec copy = *rec;
	copy.origin = FDT_ORIGIN_INHERITED;
	if (!stack_by_id(copy.stack_id))
		copy.stack_id = 0;
	fdt_add(&copy);
	(*(unsigned *)arg)++;
	return 0;
}

int sock_adopt_inherited(const char *value, char *err, size_t errlen)
{
	unsigned n = 0;
	int r = fdenv_decode(value, adopt_one, &n, err, errlen);

	if (r == 0)
		logd("took over %u socket(s) inherited through exec", n);
	return r;
}
