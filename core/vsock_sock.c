/*
 * vsock_sock — socket calls on the vsock stack (see vsock_sock.h).
 *
 * Per fd, a small record holds what the program believes: the AF_INET/AF_INET6 addresses
 * it bound, connected to, or accepted from, the vsock port it listens on, and whether a
 * non-blocking connect is pending (so its SO_ERROR can be mapped). In hybrid mode a
 * non-blocking connect sends the CONNECT line and returns EINPROGRESS; the VMM's answer is
 * consumed when the program asks SO_ERROR (as it does after waiting for writability),
 * getpeername, or connects again — waiting for it then, until the connect's deadline — or
 * by the first read (vsock_sock_read_gate, which does not wait on a non-blocking socket).
 * Records live in one mmap'd array indexed by fd (no malloc, copied by fork); a record is
 * trusted only while the fd table says the fd belongs to the vsock stack, so stale ones
 * after close() are harmless.
 *
 *   program sees                          kernel does (guest)          (hybrid host)
 *   socket(AF_INET, SOCK_STREAM, 0)       socket(AF_VSOCK, STREAM, 0)  socket(AF_UNIX, STREAM)
 *   bind(0.0.0.0:8080) [listen rule]      bind(ANY:vport)              bind(<uds>_<vport>)
 *   connect(127.0.0.1:5000) [rule]        connect(cid:vport)           connect(uds)+CONNECT/OK
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "fdtable.h"
#include "hvsock.h"
#include "log.h"
#include "real.h"
#include "vsock_sock.h"

struct vsock_state vsock_state;

enum {
	VFD_BOUND      = 1 << 0,   /* the program bound (maybe only recorded: port 0, no rule) */
	VFD_KBOUND     = 1 << 1,   /* bound in the kernel (listen rule matched) */
	VFD_CONNECTING = 1 << 2,   /* non-blocking connect in progress */
	VFD_CONNECTED  = 1 << 3,
	VFD_LOCAL_SET  = 1 << 4,   /* local holds the address to report */
	VFD_PEER_SET   = 1 << 5,
	VFD_HVSHAKE    = 1 << 6,   /* hybrid: CONNECT sent, the VMM's answer not yet read */
};

struct vfd {
	unsigned char domain;       /* AF_INET or AF_INET6 */
	unsigned char flags;
	uint32_t vport;             /* listening vsock port */
	struct sockaddr_in6 local;  /* sockaddr_in for AF_INET */
	struct sockaddr_in6 peer;
	long hs_deadline;           /* VFD_HVSHAKE: when the answer is late (hvsock_now_ms) */
};

static struct vfd *vfds;        /* FDT_FD_MAX entries, mapped on first use */
static unsigned vfd_hi;         /* one above the highest fd ever given a record */

static struct vfd *vfd_at(int fd, int create)
{
	if (fd < 0 || fd >= FDT_FD_MAX)
		return NULL;
	if (!vfds) {
		if (!create)
			return NULL;
		void *p = mmap(NULL, sizeof(struct vfd) * FDT_FD_MAX, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		vfds = p;
	}
	if ((unsigned)fd >= vfd_hi)
		vfd_hi = (unsigned)fd + 1;
	return &vfds[fd];
}

/* Kernel call through the real table: result or -errno, errno untouched. */
#define KCALL(expr) ({ int r_, e_ = errno; r_ = (expr); if (r_ < 0) r_ = -errno; errno = e_; r_; })

static socklen_t salen(int domain)
{
	return domain == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* A record for a vsock-stack socket this process did not create (inherited through exec,
 * or moved under this fd by rehome): rebuilt from what the kernel says, via the mapping. */
static void rebuild(int fd, struct vfd *v, int domain)
{
	struct sockaddr_storage raw, ss;
	socklen_t l = sizeof(raw);

	if (v->flags & VFD_HVSHAKE)
		__atomic_fetch_sub(&vsock_state.hvshakes, 1, __ATOMIC_RELAXED);
	memset(v, 0, sizeof(*v));
	v->domain = (unsigned char)domain;
	if (KCALL(real.getpeername(fd, (struct sockaddr *)&raw, &l)) == 0) {
		const struct sockaddr_vm *svm = (const struct sockaddr_vm *)&raw;
		uint32_t cid = vsock_state.hybrid ? 3 : svm->svm_cid;
		uint32_t port = vsock_state.hybrid ? 0 : svm->svm_port;
		vsock_addr_fake(domain, cid, port, &vsock_state.out, &ss);
		memcpy(&v->peer, &ss, salen(domain));
		v->flags |= VFD_CONNECTED | VFD_PEER_SET;
	}
	l = sizeof(raw);
	if (!vsock_state.hybrid && KCALL(real.getsockname(fd, (struct sockaddr *)&raw, &l)) == 0 &&
	    ((const struct sockaddr_vm *)&raw)->svm_port != VMADDR_PORT_ANY) {
		const struct sockaddr_vm *svm = (const struct sockaddr_vm *)&raw;
		vsock_addr_fake(domain, (v->flags & VFD_CONNECTED) ? vsock_state.local_cid : VSOCK_CID_ANY,
				svm->svm_port, NULL, &ss);
		memcpy(&v->local, &ss, salen(domain));
		v->flags |= VFD_LOCAL_SET | VFD_BOUND | VFD_KBOUND;
		v->vport = svm->svm_port;
	}
}

int vsock_sock_owns(int fd)
{
	struct fdt_rec rec;

	struct vfd *v;

	if (__builtin_expect(!vsock_state.open, 1))
		return 0;
	if (fdt_get(fd, &rec) < 0 || rec.stack_id != vsock_state.stack_id || !(v = vfd_at(fd, 1)))
		return 0;
	/* Moved here under this number by rehome (dup3) or inherited: start a fresh record. */
	if (v->domain != rec.domain)
		rebuild(fd, v, rec.domain);
	return 1;
}

/* Checks the program's address is of its socket's family, as TCP does. */
static int check_addr(const struct vfd *v, const struct sockaddr *addr, socklen_t len)
{
	if (!addr)
		return -EFAULT;
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (addr->sa_family != v->domain)
		return v->domain == AF_INET6 ? -EINVAL : -EAFNOSUPPORT;
	return len < salen(v->domain) ? -EINVAL : 0;
}

static unsigned port_of(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
					 : ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void set_port(struct sockaddr_in6 *sa, unsigned port)
{
	/* sin_port and sin6_port are at the same offset */
	sa->sin6_port = htons((uint16_t)port);
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* The local address a connection reports: the bound one, else loopback towards a loopback
 * peer, else the mapped address of our own CID. */
static void local_for(struct vfd *v, const struct sockaddr *peer, unsigned port)
{
	struct sockaddr_storage ss;
	int any_bound = 0;

	if (v->flags & VFD_BOUND) {
		if (v->domain == AF_INET)
			any_bound = ((struct sockaddr_in *)&v->local)->sin_addr.s_addr == 0;
		else
			any_bound = IN6_IS_ADDR_UNSPECIFIED(&v->local.sin6_addr);
	}
	if ((v->flags & VFD_BOUND) && !any_bound) {
		if (port_of((struct sockaddr *)&v->local) == 0)
			set_port(&v->local, port);
		v->flags |= VFD_LOCAL_SET;
		return;
	}
	uint32_t cid = peer && is_loopback(peer) ? VSOCK_CID_LOCAL : vsock_state.local_cid;
	if (vsock_state.hybrid && !(peer && is_loopback(peer)))
		cid = VSOCK_CID_HOST;
	vsock_addr_fake(v->domain, cid, port, NULL, &ss);
	memcpy(&v->local, &ss, salen(v->domain));
	v->flags |= VFD_LOCAL_SET;
}

static void log_call(const char *call, int fd, const struct sockaddr *addr, socklen_t alen,
		     const char *target, int r)
{
	char a[ADDR_STRLEN];

	if (!LOG_ON(LOGL_DEBUG))
		return;
	addr_format(a, sizeof(a), addr, alen);
	log_msg(LOGL_DEBUG, "%s fd=%d %s -> %s stack=vsock -> %d%s%s", call, fd, a, target,
		r < 0 ? -1 : r, r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
}

int vsock_sock_socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd;
	struct vfd *v;

	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	/* vsock carries streams only; a datagram socket would have to leak to another stack. */
	if (base != SOCK_STREAM)
		return -EPROTONOSUPPORT;
	if (protocol != 0 && protocol != IPPROTO_TCP)
		return -EPROTONOSUPPORT;
	/* protocol must be 0: AF_VSOCK rejects IPPROTO_TCP with EPROTONOSUPPORT */
	fd = KCALL(real.socket(vsock_state.hybrid ? AF_UNIX : AF_VSOCK, type, 0));
	if (fd < 0)
		return fd;
	v = vfd_at(fd, 1);
	if (!v) {
		KCALL(real.close(fd));
		return -EMFILE;
	}
	memset(v, 0, sizeof(*v));
	v->domain = (unsigned char)domain;
	return fd;
}

/* Hybrid: binds <uds>_<vport>, replacing a stale socket file nobody listens on. */
static int bind_hybrid(int fd, uint32_t vport)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int r;

	if (hvsock_listen_path(vsock_state.uds, vport, sun.sun_path, sizeof(sun.sun_path)) < 0)
		return -ENAMETOOLONG;
	r = KCALL(real.bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	if (r != -EADDRINUSE)
		return r;
	int probe = KCALL(real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (probe < 0)
		return r;
	int c = KCALL(real.connect(probe, (struct sockaddr *)&sun, sizeof(sun)));
	KCALL(real.close(probe));
	if (c != -ECONNREFUSED)
		return r;               /* somebody listens there: really in use */
	unlink(sun.sun_path);
	return KCALL(real.bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
}

static int bind_kernel(int fd, uint32_t vport)
{
	if (vsock_state.hybrid)
		return bind_hybrid(fd, vport);
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = vport };
	return KCALL(real.bind(fd, (struct sockaddr *)&svm, sizeof(svm)));
}

int vsock_sock_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct vfd *v = vfd_at(fd, 0);
	char target[48] = "recorded";
	int r, idx;

	r = check_addr(v, addr, len);
	if (r < 0)
		goto out;
	if (v->flags & VFD_BOUND) {
		r = -EINVAL;            /* already bound, as TCP says */
		goto out;
	}
	idx = vsock_rules_match(&vsock_state.in, addr, len);
	if (idx >= 0 && port_of(addr) != 0) {
		uint32_t vport = vsock_rule_vport(&vsock_state.in.r[idx], port_of(addr));
		r = bind_kernel(fd, vport);
		if (r < 0)
			goto out;
		v->vport = vport;
		v->flags |= VFD_KBOUND;
		log_fmt(target, sizeof(target), "vsock port %u", vport);
	} else if (port_of(addr) != 0) {
		r = -EADDRNOTAVAIL;     /* no listen rule: this port has no vsock twin */
		goto out;
	}
	memcpy(&v->local, addr, salen(v->domain));
	v->flags |= VFD_BOUND | VFD_LOCAL_SET;
	fdt_set_state(fd, FDT_BOUND, 0);
	r = 0;
out:
	log_call("bind", fd, addr, len, target, r);
	return r;
}

/* Hybrid: after a failed handshake the Unix socket is spent; a TCP socket can connect
 * again, so a fresh one takes its place under the same fd and file status flags. */
static void renew_hybrid(int fd)
{
	int fl = real.fcntl(fd, F_GETFL), fdfl = real.fcntl(fd, F_GETFD);
	int n = KCALL(real.socket(AF_UNIX, SOCK_STREAM, 0));

	if (n < 0)
		return;
	if (fl >= 0)
		real.fcntl(n, F_SETFL, fl);
	KCALL(real.dup3(n, fd, fdfl > 0 && (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0));
	KCALL(real.close(n));
}

static void connected(int fd, struct vfd *v, uint32_t local_vport)
{
	v->flags = (unsigned char)((v->flags & ~(VFD_CONNECTING | VFD_HVSHAKE)) | VFD_CONNECTED);
	local_for(v, (struct sockaddr *)&v->peer, vsock_addr_port(local_vport));
	fdt_set_state(fd, FDT_CONNECTED, 0);
}

/* Hybrid non-blocking connect: reads the VMM's answer, waiting for it until the connect's
 * deadline. 0 (connected) or what TCP's SO_ERROR would say; a failure leaves a fresh socket. */
static int finish_hybrid(int fd, struct vfd *v)
{
	uint32_t hport = 0;
	int e = errno, r = hvsock_answer(fd, v->hs_deadline, &hport);

	errno = e;
	if (v->flags & VFD_HVSHAKE)
		__atomic_fetch_sub(&vsock_state.hvshakes, 1, __ATOMIC_RELAXED);
	if (r == 0) {
		connected(fd, v, hport);
	} else {
		v->flags &= (unsigned char)~(VFD_CONNECTING | VFD_HVSHAKE | VFD_PEER_SET);
		fdt_set_state(fd, 0, FDT_CONNECTED);
		renew_hybrid(fd);
	}
	logd("connect fd=%d hvsock answer stack=vsock -> %d%s%s", fd, r < 0 ? -1 : 0,
	     r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

/* Hybrid connect: a blocking socket runs the whole handshake; a non-blocking one only sends
 * CONNECT and says EINPROGRESS, like TCP (finish_hybrid reads the answer later). */
static int connect_hybrid(int fd, struct vfd *v, uint32_t vport)
{
	uint32_t hport = 0;
	int e = errno, fl = real.fcntl(fd, F_GETFL), r;

	if (fl >= 0 && (fl & O_NONBLOCK)) {
		v->hs_deadline = hvsock_now_ms() + HVSOCK_TIMEOUT_MS;
		r = hvsock_start(fd, vsock_state.uds, vport, v->hs_deadline);
		if (r == 0) {
			v->flags |= VFD_CONNECTING | VFD_HVSHAKE;
			__atomic_fetch_add(&vsock_state.hvshakes, 1, __ATOMIC_RELAXED);
			fdt_set_state(fd, FDT_CONNECTED, 0);
			r = -EINPROGRESS;
		}
	} else {
		r = hvsock_connect(fd, vsock_state.uds, vport, HVSOCK_TIMEOUT_MS, &hport);
		if (r == 0)
			connected(fd, v, hport);
	}
	errno = e;
	if (r < 0 && r != -EINPROGRESS) {
		v->flags &= (unsigned char)~VFD_PEER_SET;
		renew_hybrid(fd);
	}
	return r;
}

int vsock_sock_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct vfd *v = vfd_at(fd, 0);
	char target[48] = "-";
	uint32_t cid, vport;
	int r, idx;

	if (addr && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		r = -EOPNOTSUPP;        /* vsock cannot dissolve a connection */
		goto out;
	}
	r = check_addr(v, addr, len);
	if (r < 0)
		goto out;
	if (v->flags & VFD_CONNECTED) {
		r = -EISCONN;
		goto out;
	}
	if (v->flags & VFD_HVSHAKE) {   /* connecting again, as TCP programs may: finish */
		r = finish_hybrid(fd, v);
		goto out;
	}
	idx = vsock_rules_match(&vsock_state.out, addr, len);
	if (idx < 0) {
		r = -ENETUNREACH;       /* no rule: this destination is not reachable over vsock */
		goto out;
	}
	cid = vsock_state.out.r[idx].cid;
	vport = vsock_rule_vport(&vsock_state.out.r[idx], port_of(addr));
	log_fmt(target, sizeof(target), vsock_state.hybrid ? "hvsock port %u" : "vsock %u:%u",
		vsock_state.hybrid ? vport : cid, vport);
	memcpy(&v->peer, addr, salen(v->domain));
	v->flags |= VFD_PEER_SET;
	if (vsock_state.hybrid) {
		r = connect_hybrid(fd, v, vport);
		goto out;
	}
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = vport };
	r = KCALL(real.connect(fd, (struct sockaddr *)&svm, sizeof(svm)));
	if (r == 0 || r == -EISCONN) {
		struct sockaddr_vm me;
		socklen_t ml = sizeof(me);
		if (r == -EISCONN && !(v->flags & VFD_CONNECTING))
			goto out;
		r = 0;
		if (KCALL(real.getsockname(fd, (struct sockaddr *)&me, &ml)) < 0)
			me.svm_port = 0;
		connected(fd, v, me.svm_port);
	} else if (r == -EINPROGRESS) {
		v->flags |= VFD_CONNECTING;
		fdt_set_state(fd, FDT_CONNECTED, 0);
	} else if (r != -EALREADY) {
		v->flags &= (unsigned char)~(VFD_CONNECTING | VFD_PEER_SET);
		r = -vsock_err_connect(-r);
	}
out:
	log_call("connect", fd, addr, len, target, r);
	return r;
}

int vsock_sock_listen(int fd, int backlog)
{
	struct vfd *v = vfd_at(fd, 0);
	int r = 0;

	if (!(v->flags & VFD_KBOUND)) {
		/* TCP picks a port for an unbound listener; vsock wants a bind first. */
		if (vsock_state.hybrid) {
			r = -EADDRNOTAVAIL;
			goto out;
		}
		struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
					   .svm_port = VMADDR_PORT_ANY };
		socklen_t l = sizeof(svm);
		r = KCALL(real.bind(fd, (struct sockaddr *)&svm, sizeof(svm)));
		if (r < 0 || (r = KCALL(real.getsockname(fd, (struct sockaddr *)&svm, &l))) < 0)
			goto out;
		v->vport = svm.svm_port;
		v->flags |= VFD_KBOUND;
		if (!(v->flags & VFD_BOUND)) {
			struct sockaddr_storage ss;
			vsock_addr_fake(v->domain, VSOCK_CID_ANY, 0, NULL, &ss);
			memcpy(&v->local, &ss, salen(v->domain));
			v->flags |= VFD_BOUND | VFD_LOCAL_SET;
		}
		set_port(&v->local, vsock_addr_port(svm.svm_port));
	}
	r = KCALL(real.listen(fd, backlog));
	if (r == 0)
		fdt_set_backlog(fd, backlog);
out:
	logd("listen fd=%d backlog=%d vsock port %u stack=vsock -> %d%s%s", fd, backlog, v->vport,
	     r < 0 ? -1 : 0, r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

static unsigned hybrid_peer_port(void)
{
	static unsigned next;
	return 32768 + __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 28232;
}

int vsock_sock_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags, int is_accept4)
{
	struct vfd *lv = vfd_at(fd, 0), *v;
	struct sockaddr_storage raw, ss;
	socklen_t rawlen = sizeof(raw), sslen;
	struct fdt_rec lrec, rec;
	uint32_t pcid, pport;
	int nfd;

	if (addr && !len)
		return -EFAULT;
	nfd = KCALL(real.accept4(fd, (struct sockaddr *)&raw, &rawlen, flags));
	if (nfd < 0) {
		if (nfd != -EAGAIN)
			logd("accept fd=%d stack=vsock -> -1 %s", fd, log_errname(nfd));
		return nfd;
	}
	v = vfd_at(nfd, 1);
	if (!v) {
		KCALL(real.close(nfd));
		return -EMFILE;
	}
	if (vsock_state.hybrid) {
		pcid = 3;               /* the guest; its CID is the VMM's business */
		pport = hybrid_peer_port();
	} else {
		const struct sockaddr_vm *svm = (const struct sockaddr_vm *)&raw;
		pcid = svm->svm_cid;
		pport = svm->svm_port;
	}
	memset(v, 0, sizeof(*v));
	v->domain = lv->domain;
	sslen = vsock_addr_fake(v->domain, pcid, pport, &vsock_state.out, &ss);
	memcpy(&v->peer, &ss, sslen);
	v->flags = VFD_CONNECTED | VFD_PEER_SET;
	/* The local side: the listener's address, made concrete if it was a wildcard. */
	v->local = lv->local;
	v->flags |= lv->flags & VFD_BOUND;
	int lport = port_of((struct sockaddr *)&lv->local);
	local_for(v, (pcid == VSOCK_CID_LOCAL || pcid == vsock_state.local_cid) ?
		  (struct sockaddr *)&v->peer : NULL, (unsigned)lport);
	if (pcid == VSOCK_CID_LOCAL || (!vsock_state.hybrid && pcid == vsock_state.local_cid)) {
		/* A connection from ourselves comes from loopback. */
		vsock_addr_fake(v->domain, VSOCK_CID_LOCAL, pport, NULL, &ss);
		memcpy(&v->peer, &ss, sslen);
	}
	if (fdt_get(fd, &lrec) == 0) {
		fdt_rec_init(&rec, nfd, lrec.domain, lrec.type, lrec.protocol, lrec.stack_id,
			     FDT_ORIGIN_ACCEPT);
		rec.status_flags = flags & SOCK_NONBLOCK ? O_NONBLOCK : 0;
		rec.fd_flags = flags & SOCK_CLOEXEC ? FD_CLOEXEC : 0;
		rec.state = FDT_CONNECTED;
		if (fdt_add(&rec) < 0)
			logw("fd %d is beyond the tracked range; it works but is not recorded", nfd);
	}
	vsock_addr_copy_out((struct sockaddr_storage *)&v->peer, salen(v->domain), addr, len);
	if (LOG_ON(LOGL_DEBUG)) {
		char a[ADDR_STRLEN], b[ADDR_STRLEN];
		addr_format(a, sizeof(a), (struct sockaddr *)&v->peer, salen(v->domain));
		addr_format(b, sizeof(b), (struct sockaddr *)&raw, rawlen);
		log_msg(LOGL_DEBUG, "%s fd=%d peer %s (%s) stack=vsock -> %d",
			is_accept4 ? "accept4" : "accept", fd, a, b, nfd);
	}
	return nfd;
}

int vsock_sock_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct vfd *v = vfd_at(fd, 0);
	struct sockaddr_storage ss;

	if (!addr || !len)
		return -EFAULT;
	if ((v->flags & VFD_CONNECTING) && !(v->flags & VFD_LOCAL_SET)) {
		struct sockaddr_vm me;
		socklen_t ml = sizeof(me);
		if (KCALL(real.getsockname(fd, (struct sockaddr *)&me, &ml)) == 0)
			local_for(v, (struct sockaddr *)&v->peer, vsock_addr_port(me.svm_port));
	}
	if (v->flags & VFD_LOCAL_SET) {
		memcpy(&ss, &v->local, sizeof(v->local));
	} else {
		vsock_addr_fake(v->domain, VSOCK_CID_ANY, 0, NULL, &ss); /* unbound: 0.0.0.0:0 */
	}
	vsock_addr_copy_out(&ss, salen(v->domain), addr, len);
	return 0;
}

/* A pending non-blocking connect that the kernel has since completed. */
static void settle_connect(int fd, struct vfd *v)
{
	struct sockaddr_vm peer, me;
	socklen_t l = sizeof(peer), ml = sizeof(me);

	if (!(v->flags & VFD_CONNECTING))
		return;
	if (v->flags & VFD_HVSHAKE) {
		finish_hybrid(fd, v);
		return;
	}
	if (KCALL(real.getpeername(fd, (struct sockaddr *)&peer, &l)) < 0)
		return;
	if (KCALL(real.getsockname(fd, (struct sockaddr *)&me, &ml)) < 0)
		me.svm_port = 0;
	connected(fd, v, me.svm_port);
}

int vsock_sock_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct vfd *v = vfd_at(fd, 0);

	if (!addr || !len)
		return -EFAULT;
	settle_connect(fd, v);
	if (!(v->flags & VFD_CONNECTED) || !(v->flags & VFD_PEER_SET))
		return -ENOTCONN;
	/* A peer that has gone is still reported by TCP until close; vsock too. */
	vsock_addr_copy_out((struct sockaddr_storage *)&v->peer, salen(v->domain), addr, len);
	return 0;
}

int vsock_sock_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int r;

	if (vsock_opt_emulated(level, name)) {
		r = vsock_opt_check(level, name, val, len);
		if (r == 0 && val)
			fdt_set_opt(fd, level, name, val, len);
	} else {
		r = KCALL(real.setsockopt(fd, level, name, val, len));
		if (r == 0 && val)
			fdt_set_opt(fd, level, name, val, len);
	}
	logd("setsockopt fd=%d level=%d name=%d len=%u stack=vsock%s -> %d%s%s", fd, level, name,
	     (unsigned)len, vsock_opt_emulated(level, name) ? " (emulated)" : "", r < 0 ? -1 : 0,
	     r < 0 ? " " : "", r < 0 ? log_errname(r) : "");
	return r;
}

int vsock_sock_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct vfd *v = vfd_at(fd, 0);
	struct fdt_rec rec;
	int r;

	if (!val || !len)
		return -EFAULT;
	if (level == SOL_SOCKET && name == SO_ERROR) {
		r = KCALL(real.getsockopt(fd, level, name, val, len));
		if (r == 0 && *len >= sizeof(int) && (v->flags & VFD_HVSHAKE)) {
			int e = -finish_hybrid(fd, v);
			memcpy(val, &e, sizeof(e));
			return 0;
		}
		if (r == 0 && *len >= sizeof(int) && (v->flags & VFD_CONNECTING)) {
			int e;
			memcpy(&e, val, sizeof(e));
			if (e) {
				e = vsock_err_connect(e);
				memcpy(val, &e, sizeof(e));
				v->flags &= (unsigned char)~(VFD_CONNECTING | VFD_PEER_SET);
				fdt_set_state(fd, 0, FDT_CONNECTED);
			} else {
				settle_connect(fd, v);
			}
		}
		return r;
	}
	if (!vsock_opt_emulated(level, name))
		return KCALL(real.getsockopt(fd, level, name, val, len));
	settle_connect(fd, v);
	if (fdt_get(fd, &rec) < 0)
		rec.nopts = 0, rec.state = 0;
	if (!(level == SOL_SOCKET && (name == SO_DOMAIN || name == SO_PROTOCOL)) &&
	    !(level == IPPROTO_TCP && name == TCP_INFO)) {
		for (unsigned i = 0; i < rec.nopts; i++) {
			const struct fdt_opt *o = &rec.opts[i];
			if (o->level != level || o->name != name)
				continue;
			socklen_t n = *len < o->len ? *len : o->len;
			memcpy(val, o->val, n);
			*len = n;
			return 0;
		}
	}
	int conn = (v->flags & VFD_CONNECTED) ? 1 : (rec.state & FDT_LISTENING) ? 2 : 0;
	return vsock_opt_default(v->domain, level, name, conn, val, len);
}

void vsock_sock_dup(int oldfd, int newfd)
{
	struct vfd *o, *n;

	if (!vsock_state.open || oldfd == newfd || !(o = vfd_at(oldfd, 1)) || !(n = vfd_at(newfd, 1)))
		return;
	if (n->flags & VFD_HVSHAKE)
		__atomic_fetch_sub(&vsock_state.hvshakes, 1, __ATOMIC_RELAXED);
	*n = *o;
	/* the original fd alone reads the VMM's answer (the copy never gates its reads) */
	n->flags &= (unsigned char)~VFD_HVSHAKE;
}

int vsock_sock_replay_opt(int nfd, int level, int name, const void *val, socklen_t len)
{
	if (vsock_opt_emulated(level, name))
		return 0;
	return KCALL(real.setsockopt(nfd, level, name, val, len));
}

void vsock_sock_closed(unsigned first, unsigned last)
{
	if (!vfds)
		return;
	if (last >= vfd_hi)
		last = vfd_hi ? vfd_hi - 1 : 0;
	for (unsigned fd = first; fd <= last && fd < vfd_hi; fd++) {
		if (vfds[fd].flags & VFD_HVSHAKE)
			__atomic_fetch_sub(&vsock_state.hvshakes, 1, __ATOMIC_RELAXED);
		vfds[fd].flags = 0;
		vfds[fd].domain = 0;
	}
}

int vsock_sock_read_gate(int fd)
{
	char peek[HVSOCK_LINE_MAX + 1];
	struct vfd *v;
	int e = errno, r = 0;

	if (!vsock_sock_owns(fd) || !(v = vfd_at(fd, 0)) || !(v->flags & VFD_HVSHAKE))
		goto out;
	int fl = real.fcntl(fd, F_GETFL);
	ssize_t n = real.recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	int complete = n >= 0 ? n == 0 || n == sizeof(peek) || memchr(peek, '\n', (size_t)n)
			      : errno != EAGAIN;
	if (!complete && fl >= 0 && (fl & O_NONBLOCK) && hvsock_now_ms() < v->hs_deadline)
		r = -EAGAIN;
	else
		r = finish_hybrid(fd, v);
out:
	errno = e;
	return r;
}

int vsock_sock_not_checkpointable(int fd, char *why, size_t whylen)
{
	if (!vsock_sock_owns(fd))
		return 0;
	log_fmt(why, whylen, "%s socket: %s", vsock_state.hybrid ? "hybrid vsock (Unix)" : "AF_VSOCK",
		"TCP_REPAIR works on TCP sockets only; reconnect after restore");
	return 1;
}

void vsock_sock_reset(void)
{
	if (vfds)
		memset(vfds, 0, sizeof(struct vfd) * 64);
	memset(&vsock_state, 0, sizeof(vsock_state));
}
