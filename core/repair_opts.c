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

/* Setting the congestion control costs a lookup and a re-init: skip it when it is the default. */
static int cc_is(int fd, const char *name)
{
	char cur[16];
	socklen_t l = sizeof(cur) - 1;

	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cur, &l) < 0)
		return 0;
	cur[l < sizeof(cur) ? l : sizeof(cur) - 1] = 0;
	return !strncmp(cur, name, sizeof(cur));
}

int repair_opts_apply_early(int fd, int family, const struct repair_opts *o)
{
	struct linger lg = { .l_onoff = (int)o->linger_on, .l_linger = (int)o->linger_sec };
	int err;

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
	if (o->keepidle && (err = sopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, o->keepidle)))
		return err;
	if (o->keepintvl && (err = sopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, o->keepintvl)))
		return err;
	if (o->keepcnt && (err = sopt(fd, IPPROTO_TCP, TCP_KEEPCNT, o->keepcnt)))
		return err;
	if (o->keepalive && (err = sopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1)))
		return err;
	if (o->nodelay && (err = sopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)))
		return err;
	if (o->congestion[0] && memchr(o->congestion, 0, sizeof(o->congestion)) &&
	    !cc_is(fd, o->congestion) &&
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
