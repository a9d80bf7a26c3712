/*
 * test_repair — the repair engine against live connections, each test in a private network
 * namespace of its own (skipped when unshare is denied).
 *
 * The state matrix: for every repairable TCP state and IPv4, IPv6 and v4-mapped IPv6, one end
 * ("S", the accepted server socket, or the client for SYN_SENT) is driven into the state with
 * data queued both ways, including sent-but-unacked data (the peer's ACKs are held back by the
 * network lock) and unsent data (the peer's small window), then locked, paused, saved, closed
 * silently, restored into a new socket and resumed after the lock is lifted. Both streams must
 * then arrive byte-exact (every byte is checked against its offset), half-closes must arrive as
 * EOFs, both directions must keep working where the state allows, and no RST may be seen.
 */
#include "test_util.h"
#include <criterion/parameterized.h>
#include <stdarg.h>
#include "repair_fixture.h"

TestSuite(repair, .timeout = 60);

#define X_BYTES 32768      /* peer -> S before the checkpoint (S's receive queue) */
#define Y_BYTES 65536      /* S -> peer (sent-unacked + unsent) */
#define Z_BYTES 20000      /* each way after the restore */
#define SMALL   1000
#define MS      10000

struct scen {
	int state;
	int fam;
	int big;   /* multi-MB queues */
};

static void enter_netns(void)
{
	int err = fx_netns();

	if (err == -EPERM || err == -EACCES)
		cr_skip_test("cannot unshare a network namespace (%s)", strerror(-err));
	cr_assert(eq(int, err, 0), "netns setup: %s", strerror(-err));
	cr_assert(eq(int, fx_rst_watch(), 0), "nftables RST counter");
}

static void lock(struct netlock **nl, int fd, unsigned dirs)
{
	struct netlock_conn c = fx_conn(fd);

	if (!*nl)
		cr_assert(eq(int, netlock_create(nl), 0));
	cr_assert(eq(int, netlock_add(*nl, &c, 1, dirs), 0));
}

/* After a save: take both queues and both addresses out of sk, and free sk. */
static void take_saved(struct repair_sk *sk, void **inq, size_t *inl, void **outq, size_t *outl,
		       union repair_addr *self, union repair_addr *peer)
{
	cr_assert(eq(int, repair_get_queue(sk, REPAIR_RECVQ, inq, inl, REPAIR_TAKE), 0));
	cr_assert(eq(int, repair_get_queue(sk, REPAIR_SENDQ, outq, outl, REPAIR_TAKE), 0));
	cr_assert(eq(int, repair_get_addr(sk, REPAIR_SELF, self), 0));
	cr_assert(eq(int, repair_get_addr(sk, REPAIR_PEER, peer), 0));
	repair_release(sk);
}

/* Run by migrate between the save and the restore, when set. */
static void (*migrate_between)(void);
/* The namespace hint migrate gives the restore (repair_set_netns), when set. */
static const struct repair_netns *migrate_hint;

/* Checkpoint S (locked), close it silently, restore a copy; returns the new fd (lock lifted). */
static int migrate(int s, struct netlock **nl, const union repair_addr *self,
		   const union repair_addr *peer, struct repair_data *out)
{
	struct repair_sk *sk, *nsk;
	struct repair_data d;
	void *inq, *outq;
	size_t inl, outl;
	union repair_addr a_self, a_peer;
	int ns;

	cr_assert(eq(int, repair_pause(s, &sk), 0));
	if (self) {
		cr_assert(eq(int, repair_set_addr(sk, REPAIR_SELF, self, 0), 0));
		cr_assert(eq(int, repair_set_addr(sk, REPAIR_PEER, peer, 0), 0));
	}
	cr_assert(eq(int, repair_save(sk, &d, sizeof(d)), 0));
	take_saved(sk, &inq, &inl, &outq, &outl, &a_self, &a_peer);
	cr_assert(eq(sz, inl, (size_t)d.inq_len));
	cr_assert(eq(sz, outl, (size_t)d.outq_len));
	close(s);   /* in repair mode: silent */
	if (migrate_between)
		migrate_between();

	ns = socket(a_self.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(ns >= 0);
	cr_assert(eq(int, repair_pause(ns, &nsk), 0));
	repair_set_netns(nsk, migrate_hint);
	cr_assert(eq(int, repair_set_addr(nsk, REPAIR_SELF, &a_self, 0), 0));
	cr_assert(eq(int, repair_set_addr(nsk, REPAIR_PEER, &a_peer, 0), 0));
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_RECVQ, inq, inl, REPAIR_TAKE), 0));
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_SENDQ, outq, outl, REPAIR_TAKE), 0));
	cr_assert(eq(int, repair_restore(nsk, &d, sizeof(d)), 0), "restore");
	cr_assert(eq(int, netlock_destroy(*nl), 0));
	*nl = NULL;
	cr_assert(eq(int, repair_resume(nsk), 0), "resume");
	*out = d;
	return ns;
}

static void chk(int rc, const char *what)
{
	cr_assert(eq(int, rc, 0), "%s: %s", what,
		  rc == -1 ? "timeout" : rc == -2 ? "byte mismatch" : rc == -3 ? "early EOF" :
		  rc == 1 ? "data instead of EOF" : strerror(-rc - 1000));
}

static void run_scenario(const struct scen *sc)
{
	struct netlock *nl = NULL;
	struct repair_data d;
	uint64_t ps = 0, pr = 0, ss = 0, sr = 0;   /* peer sent/received, S sent/received */
	size_t x = sc->big ? 3u << 20 : X_BYTES, y = sc->big ? 3u << 20 : Y_BYTES, wy = 0;
	union repair_addr self, peer;
	socklen_t l;
	uint16_t port;
	int lfd, p, s, s2, big = 8 << 20;

	enter_netns();
	lfd = fx_listen(sc->fam, 0, &port);
	cr_assert(lfd >= 0);

	if (sc->state == TCP_SYN_SENT) {
		/* S is a client whose SYN is held by the lock */
		union repair_addr a = fx_addr(sc->fam, 0), to = fx_addr(sc->fam, port);
		struct netlock_conn c;

		s = socket(fx_sockfam(sc->fam), SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert(eq(int, bind(s, &a.sa, fx_alen(&a)), 0));
		l = sizeof(c.self);
		getsockname(s, (struct sockaddr *)&c.self, &l);
		memcpy(&c.peer, &to, fx_alen(&to));
		cr_assert(eq(int, netlock_create(&nl), 0));
		cr_assert(eq(int, netlock_add(nl, &c, 1, NETLOCK_BOTH), 0));
		cr_assert(connect(s, &to.sa, fx_alen(&to)) < 0 && errno == EINPROGRESS);
		cr_assert(eq(int, fx_state(s), TCP_SYN_SENT));
		s2 = migrate(s, &nl, NULL, NULL, &d);
		cr_assert(eq(u32, d.state, (uint32_t)TCP_SYN_SENT));
		{
			struct pollfd pf = { .fd = s2, .events = POLLOUT };
			int err = -1;

			l = sizeof(err);
			cr_assert(eq(int, poll(&pf, 1, MS), 1), "restored SYN never answered");
			getsockopt(s2, SOL_SOCKET, SO_ERROR, &err, &l);
			cr_assert(eq(int, err, 0));
		}
		p = accept(lfd, NULL, NULL);
		cr_assert(p >= 0);
		cr_assert(eq(int, fx_send_all(s2, 0, &ss, Z_BYTES, MS), 0));
		chk(fx_recv_check(p, 0, &pr, Z_BYTES, MS), "peer reads");
		cr_assert(eq(int, fx_send_all(p, 1, &ps, Z_BYTES, MS), 0));
		chk(fx_recv_check(s2, 1, &sr, Z_BYTES, MS), "S reads");
		shutdown(s2, SHUT_WR);
		chk(fx_expect_eof(p, MS), "peer EOF");
		cr_assert(eq(long, fx_rst_count(), 0L));
		return;
	}

	p = fx_connect(sc->fam, port, 4096);   /* small window for S -> peer */
	cr_assert(p >= 0);
	s = accept(lfd, NULL, NULL);
	cr_assert(s >= 0);
	if (sc->big) {
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	l = sizeof(self);
	getsockname(s, &self.sa, &l);
	l = sizeof(peer);
	getpeername(s, &peer.sa, &l);

	/* data peer -> S, unread: S's receive queue */
	if (sc->big) {
		/* S's window grows as it goes; let it take the bytes in steps */
		while (ps < x) {
			fx_send(p, 1, &ps, x - ps);
			usleep(2000);
		}
		cr_assert(eq(int, fx_wait_inq(s, (int)x, MS), 0));
	} else {
		cr_assert(eq(sz, fx_send(p, 1, &ps, x), x));
		cr_assert(eq(int, fx_wait_inq(s, (int)x, MS), 0));
	}

	switch (sc->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
		lock(&nl, s, NETLOCK_INBOUND);        /* hold the peer's ACKs */
		wy = fx_send(s, 0, &ss, y);
		usleep(50000);
		if (sc->state == TCP_FIN_WAIT1)
			shutdown(s, SHUT_WR);
		lock(&nl, s, NETLOCK_OUTBOUND);
		break;
	case TCP_FIN_WAIT2:
		wy = fx_send(s, 0, &ss, SMALL);
		shutdown(s, SHUT_WR);
		cr_assert(eq(int, fx_wait_state(s, TCP_FIN_WAIT2, MS), 0));
		lock(&nl, s, NETLOCK_BOTH);
		break;
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
		shutdown(p, SHUT_WR);
		cr_assert(eq(int, fx_wait_state(s, TCP_CLOSE_WAIT, MS), 0));
		lock(&nl, s, NETLOCK_INBOUND);
		wy = fx_send(s, 0, &ss, y);
		usleep(50000);
		if (sc->state == TCP_LAST_ACK)
			shutdown(s, SHUT_WR);
		lock(&nl, s, NETLOCK_OUTBOUND);
		break;
	case TCP_CLOSING:
		lock(&nl, s, NETLOCK_OUTBOUND);       /* S's data and FIN stay unacked */
		wy = fx_send(s, 0, &ss, y);
		shutdown(s, SHUT_WR);
		shutdown(p, SHUT_WR);
		cr_assert(eq(int, fx_wait_state(s, TCP_CLOSING, MS), 0));
		lock(&nl, s, NETLOCK_INBOUND);
		break;
	case TCP_CLOSE: {
		struct netlock_conn c = fx_conn(s);   /* getpeername fails once CLOSE */

		shutdown(p, SHUT_WR);
		cr_assert(eq(int, fx_wait_state(s, TCP_CLOSE_WAIT, MS), 0));
		wy = fx_send(s, 0, &ss, SMALL);
		shutdown(s, SHUT_WR);
		cr_assert(eq(int, fx_wait_state(s, TCP_CLOSE, MS), 0));
		cr_assert(eq(int, netlock_create(&nl), 0));
		cr_assert(eq(int, netlock_add(nl, &c, 1, NETLOCK_BOTH), 0));
		break;
	}
	}
	cr_assert(eq(int, fx_state(s), sc->state), "S not in %s", repair_state_name(sc->state));

	/* CLOSE has no peer address left in the socket API: the caller knows it */
	s2 = migrate(s, &nl, sc->state == TCP_CLOSE ? &self : NULL, &peer, &d);
	cr_assert(eq(u32, d.state, (uint32_t)sc->state));
	cr_assert(eq(u32, d.inq_len, (uint32_t)x));
	if (sc->state != TCP_CLOSE && sc->state != TCP_FIN_WAIT2)
		cr_assert(eq(u32, d.outq_len, (uint32_t)wy), "whole unacked send queue saved");
	else
		cr_assert(eq(u32, d.outq_len, 0u), "everything was acked");
	if (sc->state == TCP_ESTABLISHED || sc->state == TCP_CLOSE_WAIT ||
	    sc->state == TCP_FIN_WAIT1 || sc->state == TCP_LAST_ACK || sc->state == TCP_CLOSING) {
		cr_assert(gt(u32, d.unsq_len, 0u), "some data unsent (small window)");
		cr_assert(gt(u32, d.outq_len, d.unsq_len), "some data sent but unacked");
	}

	/* S's receive queue, then whatever the state lets through */
	chk(fx_recv_check(s2, 1, &sr, x, MS), "restored S reads its receive queue");
	chk(fx_recv_check(p, 0, &pr, wy, MS), "peer reads what S had queued");
	switch (sc->state) {
	case TCP_ESTABLISHED:
		cr_assert(eq(int, fx_send_all(s2, 0, &ss, Z_BYTES, MS), 0));
		cr_assert(eq(int, fx_send_all(p, 1, &ps, Z_BYTES, MS), 0));
		chk(fx_recv_check(p, 0, &pr, Z_BYTES, MS), "peer reads new data");
		chk(fx_recv_check(s2, 1, &sr, Z_BYTES, MS), "S reads new data");
		shutdown(s2, SHUT_WR);
		chk(fx_expect_eof(p, MS), "peer EOF");
		shutdown(p, SHUT_WR);
		chk(fx_expect_eof(s2, MS), "S EOF");
		break;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		chk(fx_expect_eof(p, MS), "peer sees S's FIN");
		cr_assert(eq(int, fx_send_all(p, 1, &ps, Z_BYTES, MS), 0));
		chk(fx_recv_check(s2, 1, &sr, Z_BYTES, MS), "half-closed S still reads");
		shutdown(p, SHUT_WR);
		chk(fx_expect_eof(s2, MS), "S EOF");
		break;
	case TCP_CLOSE_WAIT:
		chk(fx_expect_eof(s2, MS), "S sees the peer's FIN");
		cr_assert(eq(int, fx_send_all(s2, 0, &ss, Z_BYTES, MS), 0));
		chk(fx_recv_check(p, 0, &pr, Z_BYTES, MS), "peer reads after S's restore");
		shutdown(s2, SHUT_WR);
		chk(fx_expect_eof(p, MS), "peer EOF");
		break;
	default:   /* LAST_ACK, CLOSING, CLOSE: both FINs */
		chk(fx_expect_eof(s2, MS), "S sees the peer's FIN");
		chk(fx_expect_eof(p, MS), "peer sees S's FIN");
		break;
	}
	cr_assert(eq(long, fx_rst_count(), 0L), "the peer saw an RST");
	close(s2);
	close(p);
	close(lfd);
}

static const int states[] = { TCP_ESTABLISHED, TCP_SYN_SENT, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
			      TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSING, TCP_CLOSE };
static const int fams[] = { FAM4, FAM6, FAM46 };

ParameterizedTestParameters(repair, state_matrix)
{
	static struct scen p[sizeof(states) / sizeof(states[0]) * 3];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		for (size_t j = 0; j < 3; j++)
			p[n++] = (struct scen){ states[i], fams[j], 0 };
	return cr_make_param_array(struct scen, p, n);
}

ParameterizedTest(struct scen *sc, repair, state_matrix)
{
	run_scenario(sc);
}

ParameterizedTestParameters(repair, big_queues)
{
	static struct scen p[] = { { TCP_ESTABLISHED, FAM4, 1 }, { TCP_CLOSE_WAIT, FAM6, 1 } };

	return cr_make_param_array(struct scen, p, 2);
}

/* Several MB in each queue (3 MiB unread, 3 MiB mostly unsent). */
ParameterizedTest(struct scen *sc, repair, big_queues)
{
	run_scenario(sc);
}

/* A checkpoint that resumes in place: the lock keeps the unsent data unsent, and it flows after. */
Test(repair, checkpoint_resume)
{
	struct netlock *nl = NULL;
	struct repair_sk *sk;
	struct repair_data d;
	uint64_t ps = 0, pr = 0, ss = 0, sr = 0;
	uint16_t port = 0;
	int lfd, p, s, one = 1, v = 0;
	socklen_t l = sizeof(v);
	size_t wy;

	enter_netns();
	lfd = fx_listen(FAM4, 0, &port);
	p = fx_connect(FAM4, port, 4096);
	s = accept(lfd, NULL, NULL);
	cr_assert(p >= 0 && s >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert(eq(sz, fx_send(p, 1, &ps, X_BYTES), (size_t)X_BYTES));
	cr_assert(eq(int, fx_wait_inq(s, X_BYTES, MS), 0));
	lock(&nl, s, NETLOCK_BOTH);
	wy = fx_send(s, 0, &ss, Y_BYTES);
	cr_assert(eq(int, repair_pause(s, &sk), 0));
	cr_assert(eq(int, repair_save(sk, &d, sizeof(d)), 0));
	cr_assert(eq(u32, d.outq_len, (uint32_t)wy));
	cr_assert(eq(u32, d.inq_len, (uint32_t)X_BYTES));
	cr_assert(eq(u32, d.opts.reuseaddr, 1u), "the program's SO_REUSEADDR, not repair's");
	cr_assert(eq(int, repair_resume(sk), 0));
	cr_assert(eq(int, netlock_destroy(nl), 0));
	getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &l);
	cr_assert(eq(int, v, 1), "SO_REUSEADDR survives the repair toggle");
	chk(fx_recv_check(s, 1, &sr, X_BYTES, MS), "S reads");
	chk(fx_recv_check(p, 0, &pr, wy, MS), "peer reads");
	cr_assert(eq(long, fx_rst_count(), 0L));
}

/*
 * Resumed while the lock still holds (what the benchmark does): an unsent tail that the window
 * lets out makes repair off skip its window probe, the tail is refused at output, and the
 * kernel's probe timer must still deliver it once the lock is gone.
 */
Test(repair, tail_resumed_under_lock)
{
	struct netlock *nl = NULL;
	struct repair_sk *sk, *nsk;
	struct repair_data d;
	union repair_addr self, peer;
	uint64_t ps = 0, pr = 0, ss = 0, sr = 0;
	uint16_t port = 0;
	void *inq, *outq;
	size_t inl, outl;
	int lfd, p, s, s2;

	enter_netns();
	lfd = fx_listen(FAM4, 0, &port);
	p = fx_connect(FAM4, port, 0);
	s = accept(lfd, NULL, NULL);
	cr_assert(p >= 0 && s >= 0);
	cr_assert(eq(sz, fx_send(p, 1, &ps, SMALL), (size_t)SMALL));
	cr_assert(eq(int, fx_wait_inq(s, SMALL, MS), 0));
	lock(&nl, s, NETLOCK_BOTH);
	cr_assert(eq(sz, fx_send(s, 0, &ss, 16384), (size_t)16384));
	cr_assert(eq(int, repair_pause(s, &sk), 0));
	cr_assert(eq(int, repair_save(sk, &d, sizeof(d)), 0));
	cr_assert(eq(u32, d.unsq_len, 16384u), "the tail stayed unsent under the lock");
	cr_assert(eq(u32, d.outq_len, d.unsq_len));
	cr_assert(ge(u32, d.snd_wnd, d.unsq_len), "the tail fits the window: no probe");
	take_saved(sk, &inq, &inl, &outq, &outl, &self, &peer);
	close(s);

	s2 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, repair_pause_as(s2, AF_INET, 0, &nsk), 0));
	repair_set_addr(nsk, REPAIR_SELF, &self, 0);
	repair_set_addr(nsk, REPAIR_PEER, &peer, 0);
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_RECVQ, inq, inl, REPAIR_TAKE), 0));
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_SENDQ, outq, outl, REPAIR_TAKE), 0));
	cr_assert(eq(int, repair_restore(nsk, &d, sizeof(d)), 0));
	cr_assert(eq(int, repair_resume(nsk), 0), "resume with the lock on");
	cr_assert(eq(int, netlock_destroy(nl), 0));

	chk(fx_recv_check(p, 0, &pr, 16384, MS), "peer gets the tail after the lock");
	chk(fx_recv_check(s2, 1, &sr, SMALL, MS), "S reads its queue");
	cr_assert(eq(int, fx_send_all(s2, 0, &ss, Z_BYTES, MS), 0));
	chk(fx_recv_check(p, 0, &pr, Z_BYTES, MS), "and what follows");
	cr_assert(eq(int, fx_send_all(p, 1, &ps, Z_BYTES, MS), 0));
	chk(fx_recv_check(s2, 1, &sr, Z_BYTES, MS), "both ways");
	cr_assert(eq(long, fx_rst_count(), 0L));
	close(s2);
	close(p);
	close(lfd);
}

/* A failing save leaves the socket as it was: repair off after resume, options intact. */
Test(repair, failed_save_leaves_socket)
{
	struct repair_sk *sk;
	struct repair_data d;
	uint64_t ps = 0, pr = 0;
	uint16_t port = 0;
	int lfd, p, s, one = 1, v = -1;
	socklen_t l = sizeof(v);

	enter_netns();
	lfd = fx_listen(FAM6, 0, &port);
	p = fx_connect(FAM6, port, 0);
	s = accept(lfd, NULL, NULL);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert(eq(int, repair_pause(lfd, &sk), -EPERM), "LISTEN can't be paused");
	cr_assert(eq(int, repair_pause(s, &sk), 0));
	cr_assert(eq(int, repair_save(sk, &d, 8), -EINVAL), "size below version 1");
	cr_assert(eq(int, repair_resume(sk), 0));
	getsockopt(s, IPPROTO_TCP, TCP_REPAIR, &v, &l);
	cr_assert(eq(int, v, 0), "repair is off again");
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	cr_assert(eq(int, v, 1));
	getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &l);
	cr_assert(eq(int, v, 1));
	cr_assert(eq(int, fx_send_all(p, 1, &ps, 1000, MS), 0));
	chk(fx_recv_check(s, 1, &pr, 1000, MS), "socket still works");
	/* a restore with impossible data is refused before anything happens */
	{
		struct repair_sk *nsk;
		union repair_addr a = fx_addr(FAM6, 1), b = fx_addr(FAM6, 2);
		int ns = socket(AF_INET6, SOCK_STREAM, 0);

		memset(&d, 0, sizeof(d));
		d.state = TCP_ESTABLISHED;
		d.snd_wscale = 15;
		cr_assert(eq(int, repair_pause(ns, &nsk), 0));
		cr_assert(eq(int, repair_restore(nsk, &d, sizeof(d)), -EINVAL), "wscale 15");
		d.snd_wscale = 7;
		cr_assert(eq(int, repair_restore(nsk, &d, sizeof(d)), -EDESTADDRREQ), "no addresses");
		repair_set_addr(nsk, REPAIR_SELF, &a, 0);
		repair_set_addr(nsk, REPAIR_PEER, &b, 0);
		d.inq_len = 10;
		cr_assert(eq(int, repair_restore(nsk, &d, sizeof(d)), -EBADMSG), "queue missing");
		repair_release(nsk);
		close(ns);
	}
}

/* Socket-level options the program set come back on the restored socket. */
Test(repair, options_round_trip)
{
	struct netlock *nl = NULL;
	struct repair_data d;
	struct linger lg = { 1, 7 };
	uint16_t port = 0;
	int lfd, p, s, s2, one = 1, v;
	socklen_t l;
	char cc[16];
	static const struct { int level, name, val; } opts[] = {
		{ SOL_SOCKET, SO_KEEPALIVE, 1 }, { IPPROTO_TCP, TCP_KEEPIDLE, 77 },
		{ IPPROTO_TCP, TCP_KEEPINTVL, 11 }, { IPPROTO_TCP, TCP_KEEPCNT, 5 },
		{ IPPROTO_TCP, TCP_NODELAY, 1 }, { IPPROTO_TCP, TCP_USER_TIMEOUT, 12345 },
		{ IPPROTO_IP, IP_TOS, 0x10 }, { SOL_SOCKET, SO_PRIORITY, 5 },
		{ SOL_SOCKET, SO_MARK, 42 }, { SOL_SOCKET, SO_REUSEADDR, 1 },
		{ SOL_SOCKET, SO_SNDBUF, 300000 }, { IPPROTO_TCP, TCP_CORK, 1 },
	};

	enter_netns();
	lfd = fx_listen(FAM4, 0, &port);
	p = fx_connect(FAM4, port, 0);
	s = accept(lfd, NULL, NULL);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		cr_assert(eq(int, setsockopt(s, opts[i].level, opts[i].name, &opts[i].val,
					     sizeof(int)), 0));
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
	fcntl(s, F_SETFL, O_NONBLOCK | O_RDWR);
	lock(&nl, s, NETLOCK_BOTH);
	s2 = migrate(s, &nl, NULL, NULL, &d);
	(void)one;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		int want = opts[i].val;

		if (opts[i].name == SO_SNDBUF)
			want *= 2;   /* the kernel doubles */
		v = -1;
		l = sizeof(v);
		getsockopt(s2, opts[i].level, opts[i].name, &v, &l);
		cr_assert(eq(int, v, want), "option %d/%d", opts[i].level, opts[i].name);
	}
	l = sizeof(lg);
	getsockopt(s2, SOL_SOCKET, SO_LINGER, &lg, &l);
	cr_assert(eq(int, lg.l_onoff, 1));
	cr_assert(eq(int, lg.l_linger, 7));
	l = sizeof(cc);
	getsockopt(s2, IPPROTO_TCP, TCP_CONGESTION, cc, &l);
	cr_assert(eq(str, cc, "reno"));
	cr_assert(ne(int, fcntl(s2, F_GETFL) & O_NONBLOCK, 0), "O_NONBLOCK back");
	close(p);
}

static void put_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	cr_assert(not(eq(ptr, f, NULL)), "%s: %s", path, strerror(errno));
	cr_assert(ge(int, fputs(val, f), 0));
	cr_assert(eq(int, fclose(f), 0), "%s", path);
}

static const char *other_cc, *other_idle;

/* The defaults change between save and restore (the sysctls are per namespace). */
static void change_defaults(void)
{
	put_sysctl("/proc/sys/net/ipv4/tcp_keepalive_time", other_idle);
	put_sysctl("/proc/sys/net/ipv4/tcp_congestion_control", other_cc);
}

/*
 * The restore skips keepalive times and congestion control equal to the namespace defaults:
 * values that were the defaults where the socket was saved must still come back when the
 * defaults where it is restored differ. Also: repair_pause_as takes only INET families.
 */
Test(repair, defaults_of_another_namespace)
{
	struct netlock *nl = NULL;
	struct repair_data d;
	struct repair_sk *sk;
	uint16_t port = 0;
	int lfd, p, s, s2, idle = -1, idle2 = -1, u;
	char cc[16] = "", cc2[16] = "";
	socklen_t l;

	enter_netns();
	lfd = fx_listen(FAM4, 0, &port);
	p = fx_connect(FAM4, port, 0);
	s = accept(lfd, NULL, NULL);
	cr_assert(ge(int, s, 0));
	l = sizeof(idle);
	cr_assert(eq(int, getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &l), 0));
	l = sizeof(cc) - 1;
	cr_assert(eq(int, getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, &l), 0));
	lock(&nl, s, NETLOCK_BOTH);
	other_cc = strcmp(cc, "reno") ? "reno" : "cubic";
	other_idle = idle == 600 ? "700" : "600";
	migrate_between = change_defaults;
	s2 = migrate(s, &nl, NULL, NULL, &d);
	l = sizeof(idle2);
	cr_assert(eq(int, getsockopt(s2, IPPROTO_TCP, TCP_KEEPIDLE, &idle2, &l), 0));
	l = sizeof(cc2) - 1;
	cr_assert(eq(int, getsockopt(s2, IPPROTO_TCP, TCP_CONGESTION, cc2, &l), 0));
	cr_assert(eq(int, idle2, idle), "keepidle the program had");
	cr_assert(eq(str, cc2, cc), "congestion control the program had");

	u = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(eq(int, repair_pause_as(u, AF_UNIX, 0, &sk), -EAFNOSUPPORT));
	close(u);
	close(s2);
	close(p);
}

static struct repair_netns hint;

/* The defaults change, then the restorer reads them once from a fresh socket (restore.c). */
static void change_defaults_read_hint(void)
{
	int f;

	change_defaults();
	f = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(ge(int, f, 0));
	cr_assert(eq(int, repair_netns_read(f, &hint), 0));
	close(f);
}

static void keepidle_cc(int fd, int *idle, char cc[16])
{
	socklen_t l = sizeof(*idle);

	cr_assert(eq(int, getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle, &l), 0));
	l = 15;
	memset(cc, 0, 16);
	cr_assert(eq(int, getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &l), 0));
}

/*
 * repair_set_netns: with the defaults read where the restore happens, the restored socket has
 * exactly the saved values (also those that were the defaults where it was saved). The hint
 * replaces the engine's own read and is trusted: one claiming the saved keepidle as the
 * default leaves the namespace's default on the socket.
 */
Test(repair, netns_hint)
{
	struct netlock *nl = NULL;
	struct repair_data d;
	uint16_t port = 0;
	int lfd, p, p2, s, s2, idle, idle2, set = 1234;
	char cc[16], cc2[16];

	enter_netns();
	lfd = fx_listen(FAM4, 0, &port);
	p = fx_connect(FAM4, port, 0);
	s = accept(lfd, NULL, NULL);
	cr_assert(ge(int, s, 0));
	keepidle_cc(s, &idle, cc);
	lock(&nl, s, NETLOCK_BOTH);
	other_cc = strcmp(cc, "reno") ? "reno" : "cubic";
	other_idle = idle == 600 ? "700" : "600";
	migrate_between = change_defaults_read_hint;
	migrate_hint = &hint;
	s2 = migrate(s, &nl, NULL, NULL, &d);
	cr_assert(eq(u32, hint.keepidle, (uint32_t)atoi(other_idle)), "the new namespace default");
	cr_assert(eq(str, hint.congestion, (char *)other_cc));
	keepidle_cc(s2, &idle2, cc2);
	cr_assert(eq(int, idle2, idle), "keepidle the program had");
	cr_assert(eq(str, cc2, cc), "congestion control the program had");
	close(s2);
	close(p);

	migrate_between = NULL;
	p2 = fx_connect(FAM4, port, 0);
	s = accept(lfd, NULL, NULL);
	cr_assert(ge(int, s, 0));
	cr_assert(eq(int, setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &set, sizeof(set)), 0));
	lock(&nl, s, NETLOCK_BOTH);
	hint.keepidle = (uint32_t)set;   /* a wrong hint: no read checks it */
	s2 = migrate(s, &nl, NULL, NULL, &d);
	cr_assert(eq(u32, d.opts.keepidle, (uint32_t)set));
	keepidle_cc(s2, &idle2, cc2);
	cr_assert(eq(int, idle2, atoi(other_idle)), "the hint, not a read, decided");
	migrate_hint = NULL;
	close(s2);
	close(p2);
	close(lfd);
}

/* A listening socket is recorded (address, backlog, options) and re-created. */
Test(repair, listener_record)
{
	struct repair_listen rec;
	union repair_addr a;
	uint16_t port;
	int lfd, nfd, c, one = 1;

	enter_netns();
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	a = fx_addr(FAM6, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	cr_assert(eq(int, bind(lfd, &a.sa, sizeof(a.v6)), 0));
	cr_assert(eq(int, listen(lfd, 77), 0));
	cr_assert(eq(int, repair_listen_save(lfd, &rec, sizeof(rec)), 0));
	cr_assert(eq(u32, rec.backlog, 77u));
	cr_assert(eq(u32, rec.opts.reuseaddr, 1u));
	cr_assert(eq(u32, rec.opts.v6only, 1u));
	port = fx_port(&rec.self);
	cr_assert(port != 0);
	close(lfd);
	nfd = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert(eq(int, repair_listen_restore(nfd, &rec, sizeof(rec)), 0));
	c = fx_connect(FAM6, port, 0);
	cr_assert(c >= 0, "the re-created listener accepts");
	cr_assert(accept(nfd, NULL, NULL) >= 0);
	cr_assert(eq(int, repair_listen_save(nfd, &rec, sizeof(rec)), 0));
	cr_assert(eq(u32, rec.backlog, 77u));
	cr_assert(eq(u32, rec.opts.v6only, 1u));
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	cr_assert(eq(int, rc, 0), "%s", cmd);
}

static int ns_open(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY);

	cr_assert(fd >= 0);
	return fd;
}

static void ns_enter(int fd)
{
	cr_assert(eq(int, setns(fd, CLONE_NEWNET), 0));
}

/*
 * Migration to another network namespace, the address moving with it: the peer lives in nsP,
 * the saved end in nsA behind a veth; the socket is restored in nsB with REPAIR_FREEBIND before
 * the address exists there, then the device and the address move to nsB.
 */
Test(repair, netns_move_freebind)
{
	struct netlock *nlA = NULL, *nlB = NULL;
	struct repair_sk *sk, *nsk;
	struct repair_data d;
	struct netlock_conn c;
	union repair_addr self, peer, la;
	void *inq, *outq;
	size_t inl, outl, wy;
	uint64_t ps = 0, pr = 0, ss = 0, sr = 0;
	int nsP, nsA, nsB, lfd, p, s, s2, one = 1;
	pid_t me = getpid();

	enter_netns();
	if (system("ip link add vp type veth peer name va 2>/dev/null") != 0)
		cr_skip_test("no veth support");
	nsP = ns_open();
	sh("ip addr add 10.7.0.1/24 dev vp && ip link set vp up");
	cr_assert(eq(int, unshare(CLONE_NEWNET), 0));
	nsA = ns_open();
	cr_assert(eq(int, unshare(CLONE_NEWNET), 0));
	nsB = ns_open();
	sh("ip link set lo up");
	ns_enter(nsP);
	sh("ip link set va netns /proc/%d/fd/%d", (int)me, nsA);
	ns_enter(nsA);
	sh("ip link set lo up && ip addr add 10.7.0.2/24 dev va && ip link set va up");
	usleep(200000);

	/* server S in nsA, peer client in nsP */
	memset(&la, 0, sizeof(la));
	la.v4.sin_family = AF_INET;
	la.v4.sin_addr.s_addr = inet_addr("10.7.0.2");
	la.v4.sin_port = htons(5555);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert(eq(int, bind(lfd, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, listen(lfd, 8), 0));
	ns_enter(nsP);
	p = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(p, &la.sa, sizeof(la.v4)), 0), "connect over veth");
	ns_enter(nsA);
	s = accept(lfd, NULL, NULL);
	cr_assert(s >= 0);
	cr_assert(eq(sz, fx_send(p, 1, &ps, X_BYTES), (size_t)X_BYTES));
	cr_assert(eq(int, fx_wait_inq(s, X_BYTES, MS), 0));
	c = fx_conn(s);
	cr_assert(eq(int, netlock_create(&nlA), 0));
	cr_assert(eq(int, netlock_add(nlA, &c, 1, NETLOCK_BOTH), 0));
	wy = fx_send(s, 0, &ss, Y_BYTES);

	cr_assert(eq(int, repair_pause(s, &sk), 0));
	cr_assert(eq(int, repair_save(sk, &d, sizeof(d)), 0));
	take_saved(sk, &inq, &inl, &outq, &outl, &self, &peer);
	close(s);
	close(lfd);

	/* nsB: locked first, then a route but no address yet: FREEBIND lets the bind through */
	ns_enter(nsB);
	cr_assert(eq(int, netlock_create(&nlB), 0));
	cr_assert(eq(int, netlock_add(nlB, &c, 1, NETLOCK_BOTH), 0));
	ns_enter(nsA);
	sh("ip addr del 10.7.0.2/24 dev va && ip link set va netns /proc/%d/fd/%d", (int)me, nsB);
	cr_assert(eq(int, netlock_destroy(nlA), 0));
	ns_enter(nsB);
	sh("ip link set va up && ip route add 10.7.0.0/24 dev va");
	s2 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, repair_pause(s2, &nsk), 0));
	cr_assert(eq(int, repair_set_addr(nsk, REPAIR_SELF, &self, REPAIR_FREEBIND), 0));
	cr_assert(eq(int, repair_set_addr(nsk, REPAIR_PEER, &peer, 0), 0));
	/* borrowed queues (no copy): ours to free once the engine is done with them */
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_RECVQ, inq, inl, REPAIR_TAKE | REPAIR_BORROW),
		     -EINVAL));
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_RECVQ, inq, inl, REPAIR_BORROW), 0));
	cr_assert(eq(int, repair_set_queue(nsk, REPAIR_SENDQ, outq, outl, REPAIR_BORROW), 0));
	cr_assert(eq(int, repair_restore(nsk, &d, sizeof(d)), 0), "restore with FREEBIND");
	sh("ip addr add 10.7.0.2/24 dev va");
	cr_assert(eq(int, netlock_destroy(nlB), 0));
	cr_assert(eq(int, repair_resume(nsk), 0));
	free(inq);
	free(outq);

	chk(fx_recv_check(s2, 1, &sr, X_BYTES, MS), "S in nsB reads its queue");
	cr_assert(eq(int, fx_send_all(s2, 0, &ss, Z_BYTES, MS), 0));
	chk(fx_recv_check(p, 0, &pr, wy + Z_BYTES, MS), "peer reads everything, in order");
	cr_assert(eq(int, fx_send_all(p, 1, &ps, Z_BYTES, MS), 0));
	chk(fx_recv_check(s2, 1, &sr, Z_BYTES, MS), "S reads new data");
	close(s2);
	close(p);
}
