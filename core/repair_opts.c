/*
 * repair_opts — the socket-level state a program set on a TCP socket (SO_*, TCP_*, IP_TOS,
 * IPV6_*, file status flags, shutdown), read at save time and applied again on restore.
 *
 * Applied in two steps: "early" on the paused socket before bind (V6ONLY must precede bind;
 * buffers, mark and priority shape the restored queues), "late" after repair is off (repair off
 * clears SO_REUSEADDR; cork and the file flags must not disturb the engine's own writes).
 * Privileged values (SO_MARK, priority > 6) are set only when non-zero: the restorer has
 * CAP_NET_ADMIN anyway, since TCP_REPAIR needs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>

#include "repair_int.h"

static int gopt(int fd, int level, int name, uint32_t *out)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -errno;
	*out = (uint32_t)v;
	return 0;
}

static int sopt(int fd, int level, int name, uint32_t v)
{
	int iv = (int)v;

	if (setsockopt(fd, level, name, &iv, sizeof(iv)) < 0)
		return -errno;
	return 0;
}

int repair_opts_save(int fd, int family, uint32_t state, struct repair_opts *o)
{
	struct linger lg;
	socklen_t l;
	uint32_t locks = 0;
	int fl, err = 0;

	memset(o, 0, sizeof(*o));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	o->file_flags = (uint32_t)fl;
	if ((err = gopt(fd, SOL_SOCKET, SO_REUSEADDR, &o->reuseaddr)) ||
	    (err = gopt(fd, SOL_SOCKET, SO_REUSEPORT, &o->reuseport)) ||
	    (err = gopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->keepalive)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->keepidle)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->keepintvl)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->keepcnt)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_NODELAY, &o->nodelay)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_CORK, &o->cork)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->user_timeout)) ||
	    (err = gopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf)) ||
	    (err = gopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf)) ||
	    (err = gopt(fd, SOL_SOCKET, SO_PRIORITY, &o->priority)) ||
	    (err = gopt(fd, SOL_SOCKET, SO_MARK, &o->mark)))
		return err;
	/* SO_BUF_LOCK (5.14+) tells whether the program fixed the buffer sizes itself */
	if (gopt(fd, SOL_SOCKET, SO_BUF_LOCK, &locks) == 0)
		o->set |= locks & (REPAIR_OPT_SNDBUF | REPAIR_OPT_RCVBUF);
	o->keepalive = !!o->keepalive;
	o->nodelay = !!o->nodelay;
	o->cork = !!o->cork;
	o->reuseport = !!o->reuseport;
	l = sizeof(lg);
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l) < 0)
		return -errno;
	o->linger_on = !!lg.l_onoff;
	o->linger_sec = (uint32_t)lg.l_linger;
	/* IP_TOS shapes the v4 packets of a v4-mapped AF_INET6 socket too */
	if (gopt(fd, IPPROTO_IP, IP_TOS, &o->tos) < 0 && family == AF_INET)
		return -errno;
	if (family == AF_INET6) {
		if ((err = gopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &o->tclass)) ||
		    (err = gopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &o->v6only)))
			return err;
		o->set |= REPAIR_OPT_TCLASS | REPAIR_OPT_V6ONLY;
	}
	l = sizeof(o->congestion) - 1;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o->congestion, &l) < 0)
		return -errno;
	o->congestion[sizeof(o->congestion) - 1] = 0;

	/* shutdown: our FIN says SHUT_WR; RDHUP without a peer FIN means the program did SHUT_RD */
	if ((1u << state) & ((1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSING) |
			     (1u << TCP_LAST_ACK) | (1u << TCP_CLOSE)))
		o->shutdown |= REPAIR_SHUT_WR;
	if (!((1u << state) & ((1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) | (1u << TCP_CLOSING) |
			       (1u << TCP_CLOSE)))) {
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		if (poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP))
			o->shutdown |= REPAIR_SHUT_RD;
	} else {
		o->shutdown |= REPAIR_SHUT_RD;
	}
	return 0;
}

int repair_opts_read(int fd, struct repair_opts *out, size_t size)
{
	struct repair_opts o;
	union repair_addr a;
	socklen_t alen = sizeof(a);
	uint32_t state;
	int err;

	if (getsockname(fd, &a.sa, &alen) < 0)
		return -errno;
	err = repair_tcp_state(fd, &state, NULL, NULL, NULL);
	if (!err)
		err = repair_opts_save(fd, a.sa.sa_family, state, &o);
	if (!err)
		memcpy(out, &o, size < sizeof(o) ? size : sizeof(o));
	return err;
}

/*
 * The keepalive times and the congestion control of a fresh socket are the network namespace's
 * sysctl defaults, and most programs never change them: a saved value equal to the default
 * needs no setsockopt. The caller may know the defaults (repair_set_netns: no call at all);
 * otherwise they are read once per namespace (keyed by SO_NETNS_COOKIE, one call per restore
 * instead of four) from the first fresh socket restored there. A sysctl changed while a
 * process restores is not seen; without SO_NETNS_COOKIE (< 5.14) every value is set.
 */
int repair_netns_read(int fd, struct repair_netns *ns)
{
	struct repair_netns d;
	socklen_t l = sizeof(d.congestion) - 1;
	int err;

	memset(&d, 0, sizeof(d));
	if ((err = gopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &d.keepidle)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &d.keepintvl)) ||
	    (err = gopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &d.keepcnt)))
		return err;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, d.congestion, &l) < 0)
		return -errno;
	*ns = d;
	return 0;
}

struct ns_defaults {
	uint64_t cookie;
	struct repair_netns def;
	int ready;            /* published (release) after the fields */
};

#define NS_DEFAULTS_MAX 4
static struct ns_defaults ns_def[NS_DEFAULTS_MAX];
static unsigned ns_def_claimed;   /* slots handed out; each is written by one thread only */

/* 0 and *out = fd's namespace defaults, or -1: no cache, set every value. */
static int ns_defaults(int fd, struct repair_netns *out)
{
	struct ns_defaults d;
	socklen_t l = sizeof(d.cookie);
	unsigned n = __atomic_load_n(&ns_def_claimed, __ATOMIC_ACQUIRE), slot;

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &d.cookie, &l) < 0 || !d.cookie)
		return -1;
	for (unsigned i = 0; i < n && i < NS_DEFAULTS_MAX; i++)
		if (__atomic_load_n(&ns_def[i].ready, __ATOMIC_ACQUIRE) && ns_def[i].cookie == d.cookie) {
			*out = ns_def[i].def;
			return 0;
		}
	if (repair_netns_read(fd, &d.def))
		return -1;
	*out = d.def;
	slot = __atomic_fetch_add(&ns_def_claimed, 1, __ATOMIC_ACQ_REL);
	if (slot < NS_DEFAULTS_MAX) {   /* full: later namespaces read their defaults each time */
		ns_def[slot].cookie = d.cookie;
		ns_def[slot].def = d.def;
		__atomic_store_n(&ns_def[slot].ready, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

int repair_opts_apply_early(int fd, int family, const struct repair_opts *o,
			    const struct repair_netns *ns)
{
	struct linger lg = { .l_onoff = (int)o->linger_on, .l_linger = (int)o->linger_sec };
	struct repair_netns nd;
	const struct repair_netns *def = ns;
	int err;

	if (!def && (o->keepidle || o->keepintvl || o->keepcnt || o->congestion[0]) &&
	    !ns_defaults(fd, &nd))
		def = &nd;

	if (family == AF_INET6 && (o->set & REPAIR_OPT_V6ONLY) &&
	    (err = sopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o->v6only)))
		return err;
	if ((o->set & REPAIR_OPT_SNDBUF) && (err = sopt(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf / 2)))
		return err;
	if ((o->set & REPAIR_OPT_RCVBUF) && (err = sopt(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf / 2)))
		return err;
	if (o->mark && (err = sopt(fd, SOL_SOCKET, SO_MARK, o->mark)))
		return err;
	/* IP_TOS also sets the priority, so it goes first */
	if (o->tos && sopt(fd, IPPROTO_IP, IP_TOS, o->tos) && family == AF_INET)
		return -errno;
	if (o->priority && (err = sopt(fd, SOL_SOCKET, SO_PRIORITY, o->priority)))
		return err;
	if (family == AF_INET6 && (o->set & REPAIR_OPT_TCLASS) && o->tclass &&
	    (err = sopt(fd, IPPROTO_IPV6, IPV6_TCLASS, o->tclass)))
		return err;
	if (o->reuseport && (err = sopt(fd, SOL_SOCKET, SO_REUSEPORT, 1)))
		return err;
	if (o->linger_on && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		return -errno;
	if (o->user_timeout && (err = sopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, o->user_timeout)))
		return err;
	if (o->keepidle && (!def || o->keepidle != def->keepidle) &&
	    (err = sopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, o->keepidle)))
		return err;
	if (o->keepintvl && (!def || o->keepintvl != def->keepintvl) &&
	    (err = sopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, o->keepintvl)))
		return err;
	if (o->keepcnt && (!def || o->keepcnt != def->keepcnt) &&
	    (err = sopt(fd, IPPROTO_TCP, TCP_KEEPCNT, o->keepcnt)))
		return err;
	if (o->keepalive && (err = sopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1)))
		return err;
	if (o->nodelay && (err = sopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)))
		return err;
	/* setting the current algorithm is a no-op in the kernel: no need to read it first */
	if (o->congestion[0] && memchr(o->congestion, 0, sizeof(o->congestion)) &&
	    (!def || strncmp(o->congestion, def->congestion, sizeof(o->congestion))) &&
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o->congestion, strlen(o->congestion)) < 0) {
		err = -errno;
		rerr("repair: congestion control \"%s\": %s", o->congestion, log_errname(-err));
		return err;
	}
	return 0;
}

int repair_opts_apply_late(int fd, int family, const struct repair_opts *o)
{
	int err;

	if (o->reuseaddr && (err = sopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)))
		return err;
	if (o->cork && (err = sopt(fd, IPPROTO_TCP, TCP_CORK, 1)))
		return err;
	if ((o->shutdown & REPAIR_SHUT_RD) && !(o->shutdown & REPAIR_SHUT_WR) &&
	    shutdown(fd, SHUT_RD) < 0 && errno != ENOTCONN)
		return -errno;
	/* a fresh socket has none of the status flags F_SETFL can change */
	if ((o->file_flags & (O_NONBLOCK | O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)) &&
	    fcntl(fd, F_SETFL, (int)o->file_flags) < 0)
		return -errno;
	return 0;
}
