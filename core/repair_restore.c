/*
 * repair_restore — the restore half of the repair engine: rebuild a saved connection in a fresh,
 * paused socket (repair_restore) and finish it once repair is off (repair_restore_finish, called
 * by repair_resume).
 *
 *   repair_restore (repair on)                     repair_resume -> repair_restore_finish
 *   ---------------------------                    -----------------------------------------
 *   early options, bind (FREEBIND)                  TCP_REPAIR off (window probe, unless the
 *   QUEUE_SEQ send = outq_seq - outq_len              tail goes out at once and draws the ACK)
 *   QUEUE_SEQ recv = inq_seq - inq_len              unsent tail: normal send()
 *   connect (SYN_SENT: a real SYN, repair off)      our unacked FIN: shutdown(SHUT_WR)
 *   REPAIR_OPTIONS, TCP_TIMESTAMP                   CLOSING: the peer's FIN, forged, after ours
 *   recv queue bytes, sent part of the send queue   buffer locks back, late options
 *   REPAIR_WINDOW
 *   peer FIN forged (CLOSE_WAIT, LAST_ACK, CLOSE)
 *   our acked FIN (FIN_WAIT2, CLOSE) + forged ACK
 *
 * The unsent tail goes out only after the window is restored and repair is off (libsoccr wrote it
 * before the window and in between repair toggles; passt showed that causes stalls), and our FIN
 * must follow the tail, so an unacked FIN is deferred too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/tcp.h>

#include "repair_int.h"

#define ST(s) (1u << (s))
#define PEER_FIN_STATES   (ST(TCP_CLOSE_WAIT) | ST(TCP_LAST_ACK) | ST(TCP_CLOSE) | ST(TCP_CLOSING))
#define OUR_FIN_STATES    (ST(TCP_FIN_WAIT1) | ST(TCP_FIN_WAIT2) | ST(TCP_CLOSING) | \
			   ST(TCP_LAST_ACK) | ST(TCP_CLOSE))
#define OUR_FIN_ACKED     (ST(TCP_FIN_WAIT2) | ST(TCP_CLOSE))

#define TCPOPT_MSS_KIND 2
#define TCPOPT_WS_KIND  3
#define TCPOPT_SACKP    4
#define TCPOPT_TS_KIND  8

static int sopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

/*
 * Raise a buffer so the restored queue fits without blocking. The receive side is not enforced
 * for repair writes, so it is raised only for large queues (keeps the restored window sane).
 * The send side is raised only when the kernel refuses a write (no GSO: one skb per MSS
 * against the default 16 KiB buffer), not up front: with GSO a 16 KiB queue fits as is, and
 * the raise costs two calls (the FORCE, and dropping its lock bit again in resume).
 */
static int grow_buf(struct repair_sk *sk, int name, size_t need, int lockbit)
{
	int force = name == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;

	if (need > (size_t)(INT32_MAX / 4))
		return -EFBIG;
	if (sopt(sk->fd, SOL_SOCKET, force, (int)(need + 65536)) < 0)
		return -errno;
	sk->buf_unlock |= lockbit;
	return 0;
}

/* Write one queue in repair mode; the kernel builds one skb per call, so short writes are normal. */
static int write_queue(struct repair_sk *sk, int which, size_t len)
{
	const char *buf = sk->q[which].buf, *what = which == REPAIR_RECVQ ? "recv" : "send";
	size_t off = 0, chunk = len;
	int fd = sk->fd;

	while (off < len) {
		ssize_t n;

		if (chunk > len - off)
			chunk = len - off;
		n = send(fd, buf + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EAGAIN && which == REPAIR_SENDQ && !(sk->buf_unlock & 1)) {
			int err = grow_buf(sk, SO_SNDBUF, sk->q[REPAIR_SENDQ].len, 1);

			if (err)
				return err;
			continue;
		}
		if (chunk > 1024) {
			chunk /= 2;
			continue;
		}
		rerr("repair: can't restore %s queue (%s) at %zu of %zu", what,
		     n < 0 ? log_errname(errno) : "no progress", off, len);
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static int restore_options(int fd, const struct repair_data *d)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	if (d->opt_mask & TCPI_OPT_SACK)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACKP, 0 };
	if (d->opt_mask & TCPI_OPT_WSCALE)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WS_KIND, d->snd_wscale | d->rcv_wscale << 16 };
	if (d->opt_mask & TCPI_OPT_TIMESTAMPS)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TS_KIND, 0 };
	o[n++] = (struct tcp_repair_opt){ TCPOPT_MSS_KIND, d->mss_clamp };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0])) < 0)
		return -errno;
	return 0;
}

static int check_data(const struct repair_sk *sk, const struct repair_data *d)
{
	if (!repair_state_ok(d->state))
		return -EINVAL;
	if (d->snd_wscale > 14 || d->rcv_wscale > 14 || d->unsq_len > d->outq_len)
		return -EINVAL;
	if (d->state == TCP_SYN_SENT && (d->outq_len || d->inq_len))
		return -EINVAL;
	if (sk->q[REPAIR_RECVQ].len != d->inq_len || sk->q[REPAIR_SENDQ].len != d->outq_len)
		return -EBADMSG;
	if ((sk->addr_set & 3) != 3)
		return -EDESTADDRREQ;
	return 0;
}

static int do_connect(struct repair_sk *sk, const struct repair_data *d)
{
	const union repair_addr *peer = &sk->addr[REPAIR_PEER];
	int fl, err = 0, off = TCP_REPAIR_OFF_NO_WP, on = TCP_REPAIR_ON;

	if (d->state != TCP_SYN_SENT) {
		/* in repair mode connect() goes to ESTABLISHED without a packet */
		if (connect(sk->fd, &peer->sa, repair_addr_len(peer)) < 0)
			return -errno;
		return 0;
	}
	/* SYN_SENT: a real SYN with the restored ISN, so repair goes off around connect() */
	fl = fcntl(sk->fd, F_GETFL);
	if (fl < 0 || fcntl(sk->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (setsockopt(sk->fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0) {
		err = -errno;
		goto restore_flags;
	}
	if (connect(sk->fd, &peer->sa, repair_addr_len(peer)) < 0 && errno != EINPROGRESS)
		err = -errno;
	if (setsockopt(sk->fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0 && !err)
		err = -errno;
restore_flags:
	fcntl(sk->fd, F_SETFL, fl);
	return err;
}

/*
 * REPAIR_FREEBIND: bind to an address this host does not have (yet). FREEBIND lets bind()
 * through, TRANSPARENT lets connect()'s route lookup accept the non-local source. Both are
 * cleared once connected; the address must exist before the connection is resumed.
 */
static int set_nonlocal(int fd, int family, int on)
{
	int err;

	if (family == AF_INET6)
		err = sopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, on) ?:
		      sopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, on);
	else
		err = sopt(fd, IPPROTO_IP, IP_FREEBIND, on) ?: sopt(fd, IPPROTO_IP, IP_TRANSPARENT, on);
	return err;
}

/* The peer's packet, forged: it acks what the peer had acked and offers the peer's window. */
static int forge(struct repair_sk *sk, const struct repair_data *d, uint32_t seq, uint32_t ack,
		 uint8_t flags)
{
	uint32_t win = d->snd_wnd >> d->snd_wscale;

	return repair_fin_forge(&sk->addr[REPAIR_PEER], &sk->addr[REPAIR_SELF], seq, ack,
				win > 0xffff ? 0xffff : win, flags);
}

int repair_restore(struct repair_sk *sk, const struct repair_data *data, size_t size)
{
	struct repair_data d;
	const union repair_addr *self = &sk->addr[REPAIR_SELF];
	uint32_t inq_seq, outq_seq, sent, st;
	int fd = sk->fd, err;

	if (size < REPAIR_DATA_V1_SIZE || sk->restored)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	memcpy(&d, data, size < sizeof(d) ? size : sizeof(d));
	err = check_data(sk, &d);
	if (err) {
		rerr("repair: restore data rejected: %s", log_errname(-err));
		return err;
	}
	st = ST(d.state);
	inq_seq = d.inq_seq - ((st & PEER_FIN_STATES) ? 1 : 0);
	outq_seq = d.outq_seq - ((st & OUR_FIN_STATES) ? 1 : 0);

	err = repair_opts_apply_early(fd, sk->family, &d.opts, sk->netns);
	if (err)
		return err;
	if (d.inq_len > 65536 && (err = grow_buf(sk, SO_RCVBUF, d.inq_len, 2)))
		return err;
	if ((sk->bind_flags & REPAIR_FREEBIND) && (err = set_nonlocal(fd, sk->family, 1)))
		return err;
	if (bind(fd, &self->sa, repair_addr_len(self)) < 0) {
		err = -errno;
		rerr("repair: bind: %s", log_errname(-err));
		goto err_nonlocal;
	}

	/* send side first: the receive queue stays selected for its bytes below */
	if ((err = sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) ||
	    (err = sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ,
			outq_seq - d.outq_len - (d.state == TCP_SYN_SENT))) ||
	    (err = sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) ||
	    (err = sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, inq_seq - d.inq_len)))
		goto err_queue;
	if ((err = do_connect(sk, &d))) {
		rerr("repair: connect: %s", log_errname(-err));
		goto err_queue;
	}
	if (sk->bind_flags & REPAIR_FREEBIND)
		set_nonlocal(fd, sk->family, 0);
	if (d.state != TCP_SYN_SENT && (err = restore_options(fd, &d)))
		goto err_queue;
	if ((d.opt_mask & TCPI_OPT_TIMESTAMPS) &&
	    (err = sopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)d.timestamp)))
		goto err_queue;

	/*
	 * The receive queue is still selected (connect, options and timestamp leave the selection
	 * alone; only SYN_SENT's repair toggle resets it, and SYN_SENT has no queued bytes). No
	 * TCP_NO_QUEUE afterwards: the selection matters only in repair mode, nothing writes to
	 * the socket before repair_resume, and repair on resets it.
	 */
	if (d.inq_len && (err = write_queue(sk, REPAIR_RECVQ, d.inq_len)))
		goto err_queue;
	sent = d.outq_len - d.unsq_len;
	if (sent) {
		if ((err = sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) ||
		    (err = write_queue(sk, REPAIR_SENDQ, sent)))
			goto err_queue;
	}

	if (d.flags & REPAIR_FLAG_WINDOW) {
		struct tcp_repair_window w = {
			.snd_wl1 = d.snd_wl1, .snd_wnd = d.snd_wnd, .max_window = d.max_window,
			.rcv_wnd = d.rcv_wnd, .rcv_wup = d.rcv_wup,
		};

		if (st & PEER_FIN_STATES) {   /* the FIN is not in rcv_nxt yet */
			w.rcv_wup--;
			w.rcv_wnd++;
		}
		if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0) {
			err = -errno;
			rerr("repair: TCP_REPAIR_WINDOW: %s", log_errname(-err));
			goto err_queue;
		}
	}

	/* The peer's FIN, except in CLOSING where ours must come first (repair_restore_finish). */
	if (st & (PEER_FIN_STATES & ~ST(TCP_CLOSING))) {
		err = forge(sk, &d, inq_seq, outq_seq - d.outq_len, TH_FIN | TH_ACK);
		if (err)
			goto err_queue;
	}
	/* Our FIN, already acked by the peer: queued as sent, then the peer's ACK for it. */
	if (st & OUR_FIN_ACKED) {
		if ((err = sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)))
			goto err_queue;
		if (shutdown(fd, SHUT_WR) < 0) {
			err = -errno;
			goto err_queue;
		}
		sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
		err = forge(sk, &d, inq_seq + ((st & PEER_FIN_STATES) ? 1 : 0), outq_seq + 1, TH_ACK);
		if (err)
			goto err_queue;
	}
	sk->data = d;
	sk->restored = 1;
	return 0;

err_queue:
	sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
err_nonlocal:
	if (sk->bind_flags & REPAIR_FREEBIND)
		set_nonlocal(fd, sk->family, 0);
	return err;
}

/* Send the unsent tail with repair off; a full buffer is raised (not waited for), so this does
 * not block. */
static int write_tail(struct repair_sk *sk, const struct repair_data *d)
{
	const char *buf = sk->q[REPAIR_SENDQ].buf + (d->outq_len - d->unsq_len);
	size_t off = 0, len = d->unsq_len;

	while (off < len) {
		ssize_t n = send(sk->fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !(sk->buf_unlock & 1)) {
			/* the queued part leaves no room: raise the buffer now (see grow_buf) */
			int err = grow_buf(sk, SO_SNDBUF, d->outq_len, 1);

			if (err)
				return err;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = sk->fd, .events = POLLOUT };

			if (poll(&p, 1, 5000) > 0)
				continue;
		}
		rerr("repair: unsent tail: %s at %zu of %zu", log_errname(errno), off, len);
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

int repair_restore_finish(struct repair_sk *sk)
{
	const struct repair_data *d = &sk->data;
	uint32_t st = ST(d->state);
	int off = TCP_REPAIR_OFF, err;

	/*
	 * Repair off sends a window probe, so that the peer's ACK brings its window at once. A
	 * tail that goes out right away draws that ACK itself: nothing in flight (Nagle and cwnd
	 * let the first segment go) and the tail within the restored send window. Then the probe
	 * is one packet too many. (Under a network lock the tail is refused at output and stays
	 * unsent; the kernel's probe timer sends it once the lock is gone.)
	 */
	if (d->unsq_len && d->unsq_len == d->outq_len && (d->flags & REPAIR_FLAG_WINDOW) &&
	    d->unsq_len <= d->snd_wnd)
		off = TCP_REPAIR_OFF_NO_WP;
	if (setsockopt(sk->fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0)
		return -errno;
	if (d->unsq_len && (err = write_tail(sk, d)))
		return err;
	if ((st & OUR_FIN_STATES) && !(st & OUR_FIN_ACKED) && shutdown(sk->fd, SHUT_WR) < 0)
		return -errno;
	if (d->state == TCP_CLOSING) {
		err = forge(sk, d, d->inq_seq - 1, d->outq_seq - 1 - d->outq_len, TH_FIN | TH_ACK);
		if (err)
			return err;
	}
	if (sk->buf_unlock) {
		/* the program had not fixed these sizes: give them back to autotuning */
		/* the only locks left are the program's own */
		sopt(sk->fd, SOL_SOCKET, SO_BUF_LOCK, d->opts.set & (REPAIR_OPT_SNDBUF | REPAIR_OPT_RCVBUF));
		if (d->opts.set & REPAIR_OPT_SNDBUF)
			sopt(sk->fd, SOL_SOCKET, SO_SNDBUF, d->opts.sndbuf / 2);
		if (d->opts.set & REPAIR_OPT_RCVBUF)
			sopt(sk->fd, SOL_SOCKET, SO_RCVBUF, d->opts.rcvbuf / 2);
	}
	return repair_opts_apply_late(sk->fd, sk->family, &d->opts);
}
