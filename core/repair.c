/*
 * repair — the checkpoint half of the repair engine: pause a socket (TCP_REPAIR on), save its
 * state and both queues, hand out the queue bytes, and resume or release it. The restore half is
 * in repair_restore.c, socket options in repair_opts.c, FIN forging in repair_fin.c, sock_diag
 * in repair_diag.c. The public contract is core/repair.h.
 *
 * Sequence model (the kernel's, restated):  inq_len = rcv_nxt - copied_seq,  inq_seq = rcv_nxt,
 * outq_len = write_seq - snd_una,  unsq_len = write_seq - snd_nxt,  outq_seq = write_seq.
 * The seqs count a FIN, the lengths must not: the FIN adjustments below remove our queued FIN.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

#include "repair_int.h"

static repair_log_fn log_fn;
static int log_fn_level = LOGL_ERROR;

void repair_set_log(int level, repair_log_fn fn)
{
	log_fn = fn;
	log_fn_level = level;
}

void repair_log(int level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	if (log_fn) {
		char buf[512];

		if (level <= log_fn_level) {
			log_vfmt(buf, sizeof(buf), fmt, ap);
			log_fn(level, buf);
		}
	} else if (log_cur_level >= level) {
		log_vmsg(level, fmt, ap);
	}
	va_end(ap);
	errno = saved;
}

static const char *const state_names[] = {
	[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_SYN_SENT] = "SYN_SENT", [TCP_SYN_RECV] = "SYN_RECV",
	[TCP_FIN_WAIT1] = "FIN_WAIT1", [TCP_FIN_WAIT2] = "FIN_WAIT2", [TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE", [TCP_CLOSE_WAIT] = "CLOSE_WAIT", [TCP_LAST_ACK] = "LAST_ACK",
	[TCP_LISTEN] = "LISTEN", [TCP_CLOSING] = "CLOSING",
};

const char *repair_state_name(uint32_t state)
{
	if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "?";
}

int repair_state_ok(uint32_t state)
{
	switch (state) {
	case TCP_ESTABLISHED: case TCP_SYN_SENT: case TCP_FIN_WAIT1: case TCP_FIN_WAIT2:
	case TCP_CLOSE: case TCP_CLOSE_WAIT: case TCP_LAST_ACK: case TCP_CLOSING:
		return 1;
	}
	return 0;
}

int repair_addr_mapped(const union repair_addr *a)
{
	return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr);
}

socklen_t repair_addr_len(const union repair_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4);
}

/* The first 7 bytes of struct tcp_info: state .. wscale nibbles (snd low, rcv high). */
int repair_tcp_state(int fd, uint32_t *state, uint32_t *opt_mask, uint32_t *snd_ws, uint32_t *rcv_ws)
{
	struct { uint8_t state, ca_state, retransmits, probes, backoff, options, wscale; } ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (len != sizeof(ti))
		return -EPROTO;
	*state = ti.state;
	if (opt_mask)
		*opt_mask = ti.options;
	if (snd_ws)
		*snd_ws = ti.wscale & 0xf;
	if (rcv_ws)
		*rcv_ws = ti.wscale >> 4;
	return 0;
}

static int pause_known(int fd, int family, int reuseaddr, struct repair_sk **out)
{
	struct repair_sk *sk;
	int on = 1;

	sk = malloc(sizeof(*sk));   /* malloc + memset: glibc's calloc skips the thread cache */
	if (!sk)
		return -ENOMEM;
	memset(sk, 0, sizeof(*sk));
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
		int err = -errno;

		rerr("repair: TCP_REPAIR on fd %d: %s", fd, log_errname(-err));
		free(sk);
		return err;
	}
	sk->fd = fd;
	sk->family = family;
	sk->data.opts.reuseaddr = reuseaddr ? 1 : 0;
	*out = sk;
	return 0;
}

int repair_pause(int fd, struct repair_sk **out)
{
	union repair_addr a;
	socklen_t alen = sizeof(a);
	int reuse = 0;
	socklen_t rlen = sizeof(reuse);

	if (getsockname(fd, &a.sa, &alen) < 0)
		return -errno;
	if (a.sa.sa_family != AF_INET && a.sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	/* Repair on forces sk_reuse and repair off clears it: remember what the program set. */
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, &rlen) < 0)
		return -errno;
	return pause_known(fd, a.sa.sa_family, reuse, out);
}

int repair_pause_as(int fd, int family, int reuseaddr, struct repair_sk **out)
{
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	return pause_known(fd, family, reuseaddr, out);
}

int repair_sk_fd(const struct repair_sk *sk)
{
	return sk->fd;
}

void repair_set_save_flags(struct repair_sk *sk, unsigned flags)
{
	sk->save_flags = flags;
}

void repair_set_netns(struct repair_sk *sk, const struct repair_netns *ns)
{
	sk->netns = ns;
}

static void qbuf_drop(struct repair_qbuf *q)
{
	if (q->owned)
		free(q->buf);
	q->buf = NULL;
	q->len = 0;
	q->owned = 0;
}

void repair_release(struct repair_sk *sk)
{
	if (!sk)
		return;
	qbuf_drop(&sk->q[0]);
	qbuf_drop(&sk->q[1]);
	free(sk);
}

static int set_queue_mode(int fd, int q)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0)
		return -errno;
	return 0;
}

/* Peek one queue (the mode is already selected) into a buffer of len + 1 bytes. */
static int peek_queue(struct repair_sk *sk, int which, uint32_t len, uint32_t *seq)
{
	struct repair_qbuf *q = &sk->q[which];
	socklen_t sl = sizeof(*seq);
	char *buf;
	ssize_t n;

	if (getsockopt(sk->fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &sl) < 0)
		return -errno;
	qbuf_drop(q);
	if (!len)
		return 0;
	if (q->user && q->user_cap > len) {
		buf = q->user;
	} else {
		buf = malloc((size_t)len + 1);
		if (!buf)
			return -ENOMEM;
	}
	n = recv(sk->fd, buf, (size_t)len + 1, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len) {
		int err = n < 0 ? -errno : -EAGAIN;

		rerr("repair: %s queue peek got %zd bytes, want %u (traffic not locked?)",
		     which == REPAIR_RECVQ ? "recv" : "send", n, len);
		if (buf != q->user)
			free(buf);
		return err;
	}
	q->buf = buf;
	q->len = len;
	q->owned = buf != q->user;
	return 0;
}

static int get_addrs(struct repair_sk *sk, uint32_t state)
{
	socklen_t len;

	if (!(sk->addr_set & (1u << REPAIR_SELF))) {
		len = sizeof(sk->addr[REPAIR_SELF]);
		if (getsockname(sk->fd, &sk->addr[REPAIR_SELF].sa, &len) < 0)
			return -errno;
	}
	if (!(sk->addr_set & (1u << REPAIR_PEER))) {
		len = sizeof(sk->addr[REPAIR_PEER]);
		if (getpeername(sk->fd, &sk->addr[REPAIR_PEER].sa, &len) < 0) {
			struct repair_diag dg;
			int err = -errno;

			if (err != -ENOTCONN || state != TCP_SYN_SENT) {
				rerr("repair: peer address of a %s socket unknown: set it with "
				     "repair_set_addr", repair_state_name(state));
				return err;
			}
			err = repair_diag_lookup(sk->fd, sk->family, 1u << TCP_SYN_SENT, &dg);
			if (err)
				return err;
			sk->addr[REPAIR_PEER] = dg.dst;
		}
	}
	sk->addr_set |= 3;
	return 0;
}

int repair_save(struct repair_sk *sk, struct repair_data *data, size_t size)
{
	struct repair_data d;
	struct tcp_repair_window w;
	socklen_t len;
	int inq, outq, unsq, err;
	int fd = sk->fd;

	if (size < REPAIR_DATA_V1_SIZE)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	err = repair_tcp_state(fd, &d.state, &d.opt_mask, &d.snd_wscale, &d.rcv_wscale);
	if (err)
		return err;
	if (!repair_state_ok(d.state)) {
		rerr("repair: can't save a socket in state %s", repair_state_name(d.state));
		return -EINVAL;
	}
	if (ioctl(fd, SIOCINQ, &inq) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0 ||
	    ioctl(fd, SIOCOUTQNSD, &unsq) < 0)
		return -errno;
	if (d.state == TCP_CLOSE || d.state == TCP_SYN_SENT) {
		/* a reset connection's data is gone; SYN_SENT's one outq unit is the SYN */
		outq = unsq = 0;
	} else if ((1u << d.state) & ((1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) |
				      (1u << TCP_CLOSING) | (1u << TCP_LAST_ACK))) {
		/* our FIN is queued: it is not data (shutdown re-creates it) */
		if (outq > 0)
			outq--;
		if (unsq > 0)
			unsq--;
	}
	d.inq_len = inq;
	d.outq_len = outq;
	d.unsq_len = unsq;

	len = sizeof(d.mss_clamp);
	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &d.mss_clamp, &len) < 0)
		return -errno;
	if (!(d.opt_mask & TCPI_OPT_WSCALE))
		d.snd_wscale = d.rcv_wscale = 0;
	if (d.opt_mask & TCPI_OPT_TIMESTAMPS) {
		len = sizeof(d.timestamp);
		if (getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &d.timestamp, &len) < 0)
			return -errno;
	}
	len = sizeof(w);
	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) == 0 && len == sizeof(w)) {
		d.flags |= REPAIR_FLAG_WINDOW;
		d.snd_wl1 = w.snd_wl1;
		d.snd_wnd = w.snd_wnd;
		d.max_window = w.max_window;
		d.rcv_wnd = w.rcv_wnd;
		d.rcv_wup = w.rcv_wup;
	} else if (errno != ENOPROTOOPT) {
		return -errno;
	}

	err = set_queue_mode(fd, TCP_RECV_QUEUE);
	if (err)
		return err;
	err = peek_queue(sk, REPAIR_RECVQ, d.inq_len, &d.inq_seq);
	if (err)
		goto err_queue;
	err = set_queue_mode(fd, TCP_SEND_QUEUE);
	if (err)
		goto err_queue;
	err = peek_queue(sk, REPAIR_SENDQ, d.outq_len, &d.outq_seq);
	if (err)
		goto err_queue;
	set_queue_mode(fd, TCP_NO_QUEUE);

	err = get_addrs(sk, d.state);
	if (err)
		return err;
	if (!(sk->save_flags & REPAIR_SAVE_NO_SOCKOPTS)) {
		err = repair_opts_save(fd, sk->family, d.state, &d.opts);
		if (err)
			return err;
	}
	d.opts.reuseaddr = sk->data.opts.reuseaddr;   /* the value before repair forced it */
	sk->data = d;
	memcpy(data, &d, size < sizeof(d) ? size : sizeof(d));
	return 0;

err_queue:
	set_queue_mode(fd, TCP_NO_QUEUE);
	return err;
}

int repair_get_queue(struct repair_sk *sk, enum repair_queue which, void **buf, size_t *len,
		     unsigned flags)
{
	struct repair_qbuf *q;

	if (which != REPAIR_RECVQ && which != REPAIR_SENDQ)
		return -EINVAL;
	q = &sk->q[which];
	*buf = q->buf;
	*len = q->len;
	if (flags & REPAIR_TAKE) {
		if (q->buf && !q->owned)
			return -EBUSY;      /* caller memory: it is the caller's already */
		q->owned = 0;
		q->buf = NULL;
		q->len = 0;
	}
	return 0;
}

int repair_set_queue(struct repair_sk *sk, enum repair_queue which, void *buf, size_t len,
		     unsigned flags)
{
	struct repair_qbuf *q;

	if (which != REPAIR_RECVQ && which != REPAIR_SENDQ)
		return -EINVAL;
	if ((flags & (REPAIR_TAKE | REPAIR_BORROW)) == (REPAIR_TAKE | REPAIR_BORROW))
		return -EINVAL;
	if (len > UINT32_MAX)
		return -EFBIG;
	q = &sk->q[which];
	qbuf_drop(q);
	if (!len) {
		if (flags & REPAIR_TAKE)
			free(buf);
		return 0;
	}
	if (flags & REPAIR_BORROW) {
		q->buf = buf;
		q->len = len;
		return 0;      /* not owned: qbuf_drop leaves it alone */
	} else if (flags & REPAIR_TAKE) {
		q->buf = buf;
	} else {
		q->buf = malloc(len);
		if (!q->buf)
			return -ENOMEM;
		memcpy(q->buf, buf, len);
	}
	q->len = len;
	q->owned = 1;
	return 0;
}

void repair_set_queue_buf(struct repair_sk *sk, enum repair_queue which, void *buf, size_t cap)
{
	if (which != REPAIR_RECVQ && which != REPAIR_SENDQ)
		return;
	sk->q[which].user = buf;
	sk->q[which].user_cap = buf ? cap : 0;
}

int repair_get_addr(const struct repair_sk *sk, enum repair_side side, union repair_addr *addr)
{
	if (side != REPAIR_SELF && side != REPAIR_PEER)
		return -EINVAL;
	if (!(sk->addr_set & (1u << side)))
		return -ENOENT;
	*addr = sk->addr[side];
	return 0;
}

int repair_set_addr(struct repair_sk *sk, enum repair_side side, const union repair_addr *addr,
		    unsigned flags)
{
	if (side != REPAIR_SELF && side != REPAIR_PEER)
		return -EINVAL;
	if (addr->sa.sa_family != AF_INET && addr->sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	/* an AF_INET6 socket takes v6 (or v4-mapped) addresses only, an AF_INET one v4 only */
	if (addr->sa.sa_family != sk->family)
		return -EAFNOSUPPORT;
	sk->addr[side] = *addr;
	sk->addr_set |= 1u << side;
	if (side == REPAIR_SELF)
		sk->bind_flags = flags;
	return 0;
}

/* A checkpoint resume: repair off, the program's SO_REUSEADDR back. */
static int resume_plain(struct repair_sk *sk)
{
	int off = TCP_REPAIR_OFF;

	if (setsockopt(sk->fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0)
		return -errno;
	if (sk->data.opts.reuseaddr) {
		int on = 1;

		if (setsockopt(sk->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
			return -errno;
	}
	return 0;
}

int repair_resume(struct repair_sk *sk)
{
	int err;

	if (!sk)
		return -EINVAL;
	err = sk->restored ? repair_restore_finish(sk) : resume_plain(sk);
	if (err)
		rerr("repair: resume of fd %d: %s", sk->fd, log_errname(-err));
	repair_release(sk);
	return err;
}
