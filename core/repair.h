/*
 * repair — the TCP repair engine: freeze a live TCP socket, read out its complete state, and
 * rebuild that state in a fresh socket (same process, another process, another netns), so that
 * the peer never notices. Built on the kernel's TCP_REPAIR interface (Linux >= 4.8 for the window,
 * half-closed states need a kernel that allows repair outside CLOSE/ESTABLISHED, 4.11+).
 *
 * This header is the manual. The engine is protobuf-free and prints nothing: it logs through
 * core/log (or through the function given to repair_set_log) and returns 0 or -errno.
 *
 * Checkpoint (the network lock must already hold the connection's packets, see below):
 *
 *	struct repair_sk *sk;
 *	struct repair_data d;
 *	repair_pause(fd, &sk);                        TCP_REPAIR on; nothing else changes
 *	repair_save(sk, &d, sizeof(d));               state, seqs, windows, options, both queues
 *	repair_get_queue(sk, REPAIR_RECVQ, &buf, &len, 0);   borrow (or REPAIR_TAKE: own) the bytes
 *	repair_get_addr(sk, REPAIR_SELF / REPAIR_PEER, &addr);
 *	... write the image ...
 *	repair_resume(sk)      a checkpoint: repair off, the program goes on; frees sk
 *	repair_release(sk); close(fd)   a hand-over: the close is silent (no FIN, no RST); frees sk
 *
 * Restore (lock still on):
 *
 *	fd = socket(family, SOCK_STREAM, 0);
 *	repair_pause(fd, &sk);
 *	repair_set_addr(sk, REPAIR_SELF, &self, flags);    REPAIR_FREEBIND: bind even if not local
 *	repair_set_addr(sk, REPAIR_PEER, &peer, 0);
 *	repair_set_queue(sk, REPAIR_RECVQ, buf, len, 0);   copied, or REPAIR_TAKE: engine frees
 *	                                  it, or REPAIR_BORROW: used in place until resume
 *	repair_set_queue(sk, REPAIR_SENDQ, buf, len, 0);
 *	repair_restore(sk, &d, sizeof(d));  bind, seqs, connect, options, queues, window, acked FINs
 *	... lift the network lock ...
 *	repair_resume(sk);     repair off, then the unsent tail, then our unacked FIN, then
 *	                       the options that repair mode would disturb (REUSEADDR, CORK, ...)
 *
 * Ordering promises (what libsoccr got wrong): the unsent part of the send queue is written with
 * a normal send() only in repair_resume, after TCP_REPAIR_WINDOW has been applied and repair is
 * off, and our own FIN (shutdown) only after that tail. Calling resume before the lock is lifted
 * is correct too, but the tail then waits for a retransmission timeout.
 *
 * Failure: every call that fails leaves the socket as it was before that call; a failed save
 * leaves the socket paused, and repair_resume then gives back the untouched socket (repair off,
 * options intact). A failed restore leaves a paused socket that should be closed.
 *
 * The peer's FIN of a half-closed connection is re-created by a forged FIN|ACK packet sent
 * through a raw socket (our own builder, no library; needs CAP_NET_RAW) carrying SO_MARK
 * REPAIR_MARK, which the network lock must let through. v4-mapped IPv6 connections are forged as
 * IPv4. Addresses of SYN_SENT and CLOSE sockets cannot be read back from the kernel through
 * getpeername: the engine asks sock_diag for SYN_SENT; for CLOSE the caller must set them with
 * repair_set_addr before repair_save.
 *
 * Not saved (the same as every TCP_REPAIR user): out-of-order queue, urgent data, SACK
 * scoreboard, congestion state, TCP-MD5/AO keys. LISTEN, SYN_RECV and TIME_WAIT are refused with
 * -EINVAL; listening sockets are recorded with repair_listen_save instead.
 */
#ifndef SOCKSHIFT_REPAIR_H
#define SOCKSHIFT_REPAIR_H

#include <stddef.h>       /* size_t */
#include <stdint.h>       /* uint32_t */
#include <netinet/in.h>   /* struct sockaddr_in, sockaddr_in6 */

#define REPAIR_API __attribute__((visibility("default")))

/* Packets with this mark pass the network lock (the value CRIU uses, so both locks agree). */
#define REPAIR_MARK 0xC114

struct repair_sk;   /* opaque: a paused socket, its addresses and queue buffers */

union repair_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

enum repair_queue { REPAIR_RECVQ = 0, REPAIR_SENDQ = 1 };
enum repair_side  { REPAIR_SELF = 0, REPAIR_PEER = 1 };

/* Flags of repair_get_queue / repair_set_queue. */
#define REPAIR_TAKE      0x1   /* ownership of the buffer moves (free() it / the engine frees it) */
#define REPAIR_BORROW    0x2   /* repair_set_queue: used in place, no copy; the caller keeps it
				  alive until repair_resume/repair_release and frees it after */
/* Flags of repair_set_addr. */
#define REPAIR_FREEBIND  0x1   /* IP_FREEBIND during bind: restore where the address is absent */

/* repair_data.flags */
#define REPAIR_FLAG_WINDOW 0x1 /* snd_wl1 .. rcv_wup are valid */

/* repair_opts.set: which optional fields below hold a value the program chose. */
#define REPAIR_OPT_SNDBUF  0x1   /* sndbuf set by the program (SO_SNDBUF lock) */
#define REPAIR_OPT_RCVBUF  0x2   /* rcvbuf set by the program */
#define REPAIR_OPT_V6ONLY  0x4   /* v6only valid (AF_INET6 only) */
#define REPAIR_OPT_TCLASS  0x8   /* tclass valid (AF_INET6 only) */

#define REPAIR_SHUT_RD 0x1
#define REPAIR_SHUT_WR 0x2

/* Socket-level state a program may have set; applied again on restore. */
struct repair_opts {
	uint32_t set;             /* REPAIR_OPT_* */
	uint32_t file_flags;      /* fcntl(F_GETFL) status flags, O_NONBLOCK matters */
	uint32_t shutdown;        /* REPAIR_SHUT_*: what the connection has shut down */
	uint32_t reuseaddr, reuseport, keepalive, nodelay, cork;  /* booleans */
	uint32_t keepidle, keepintvl, keepcnt;   /* seconds, seconds, probes */
	uint32_t sndbuf, rcvbuf;  /* as getsockopt reports them (the kernel doubles the request) */
	uint32_t linger_on, linger_sec;
	uint32_t user_timeout;    /* ms */
	uint32_t tos, tclass, priority, mark;
	uint32_t v6only;
	char congestion[16];      /* TCP_CONGESTION, NUL-terminated */
};

/*
 * The saved state. Version 1 is libsoccr's 17 words in libsoccr's order; fields are only ever
 * appended. Pass sizeof(struct repair_data) as you compiled it: an older, shorter struct is
 * accepted and the missing tail is taken as zero/defaults.
 */
struct repair_data {
	uint32_t state;       /* TCP_ESTABLISHED ... (netinet/tcp.h numbering) */
	uint32_t inq_len;     /* unread bytes (without a received FIN) */
	uint32_t inq_seq;     /* rcv_nxt, counts a received FIN */
	uint32_t outq_len;    /* unacked + unsent bytes (without our FIN) */
	uint32_t outq_seq;    /* write_seq, counts our FIN */
	uint32_t unsq_len;    /* unsent tail of outq (without our FIN) */
	uint32_t opt_mask;    /* TCPI_OPT_* negotiated: TS 1, SACK 2, WSCALE 4 */
	uint32_t mss_clamp;
	uint32_t snd_wscale, rcv_wscale;   /* <= 14 */
	uint32_t timestamp;   /* raw TCP_TIMESTAMP value, bit 0 = usec clock */
	uint32_t flags;       /* REPAIR_FLAG_* */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	/* version 2 */
	struct repair_opts opts;
};

#define REPAIR_DATA_V1_SIZE (17 * sizeof(uint32_t))

/* Turn repair on for fd and allocate the handle (*out). The fd stays owned by the caller. */
REPAIR_API int repair_pause(int fd, struct repair_sk **out);
/*
 * The same without repair_pause's two reads (getsockname for the family; SO_REUSEADDR, which
 * repair on overwrites), for a caller that knows both: a restore passes the family it created
 * the fresh socket with and reuseaddr 0 (repair_resume applies the saved value); a checkpoint
 * passes the repair_opts_read value it took before the freeze. reuseaddr is what a checkpoint
 * resume gives back; family must be the socket's (AF_INET or AF_INET6, else -EAFNOSUPPORT).
 */
REPAIR_API int repair_pause_as(int fd, int family, int reuseaddr, struct repair_sk **out);
/* Repair off (with a window probe), then the deferred steps of a restore; frees sk. */
REPAIR_API int repair_resume(struct repair_sk *sk);
/* Frees sk without touching the socket: close the fd in repair mode for a silent close. */
REPAIR_API void repair_release(struct repair_sk *sk);
REPAIR_API int repair_sk_fd(const struct repair_sk *sk);
/*
 * REPAIR_SAVE_NO_SOCKOPTS: repair_save leaves data.opts zero (but reuseaddr), saving ~20
 * getsockopt calls per socket, for callers that track the options the program set themselves
 * (the shim sees every setsockopt). Set before repair_save.
 */
#define REPAIR_SAVE_NO_SOCKOPTS 0x1
REPAIR_API void repair_set_save_flags(struct repair_sk *sk, unsigned flags);
/*
 * The socket options repair_save would capture, read from a live (not paused) socket: a
 * batch checkpoint reads them before it freezes anything and saves with
 * REPAIR_SAVE_NO_SOCKOPTS, which keeps ~20 getsockopt calls per socket out of the pause.
 * size = sizeof(*o) as the caller knows it.
 */
REPAIR_API int repair_opts_read(int fd, struct repair_opts *o, size_t size);

/* Save everything; size = sizeof(*data) as the caller knows it (>= REPAIR_DATA_V1_SIZE). */
REPAIR_API int repair_save(struct repair_sk *sk, struct repair_data *data, size_t size);
/*
 * Queue bytes after a save (or set before a restore). Without REPAIR_TAKE the buffer stays the
 * engine's and lives until resume/release; with it the caller owns it and frees it with free().
 * repair_set_queue copies buf (flags 0), takes it over (REPAIR_TAKE: the engine free()s it), or
 * borrows it (REPAIR_BORROW: no copy, no free; a batch restore hands out slices of one image
 * buffer and frees it once after the batch). TAKE and BORROW together are -EINVAL.
 */
REPAIR_API int repair_get_queue(struct repair_sk *sk, enum repair_queue q, void **buf,
				size_t *len, unsigned flags);
REPAIR_API int repair_set_queue(struct repair_sk *sk, enum repair_queue q, void *buf,
				size_t len, unsigned flags);
/*
 * Optional caller memory for the next save's queue peeks (a batch checkpoint hands out slices of
 * one pre-faulted area). cap must be >= queue length + 1; if it is too small the engine falls
 * back to malloc. The memory stays the caller's.
 */
REPAIR_API void repair_set_queue_buf(struct repair_sk *sk, enum repair_queue q, void *buf,
				     size_t cap);

REPAIR_API int repair_get_addr(const struct repair_sk *sk, enum repair_side side,
			       union repair_addr *addr);
REPAIR_API int repair_set_addr(struct repair_sk *sk, enum repair_side side,
			       const union repair_addr *addr, unsigned flags);

/*
 * Rebuild the saved connection in the paused socket of sk, which must be fresh (nothing set on
 * it): keepalive times and congestion control equal to the namespace's defaults are not set
 * again. The defaults come from the hint below, or else are read from the first fresh socket
 * restored in each namespace (then cached by SO_NETNS_COOKIE, read once per socket; a sysctl
 * changed later in the same process is not seen).
 */
REPAIR_API int repair_restore(struct repair_sk *sk, const struct repair_data *data, size_t size);

/*
 * Namespace hint (optional, restore only). Finding the namespace of each restored socket costs
 * repair_restore one SO_NETNS_COOKIE read per socket; a restorer that knows in which network
 * namespace it creates its sockets (core/restore.c: one per stack) reads the defaults once
 * there and hands them to every restore in that namespace, which then reads nothing:
 *
 *	struct repair_netns ns;
 *	repair_netns_read(fd, &ns);       fd: any fresh TCP socket of that namespace (4 getsockopt)
 *	... per socket created in that namespace, before its repair_restore:
 *	repair_set_netns(sk, &ns);
 *
 * The hint is trusted, not checked: it must come from the namespace sk's socket was created in,
 * after its net.ipv4.tcp_keepalive_* and tcp_congestion_control sysctls last changed. Then the
 * restored socket ends with exactly the saved values, as without a hint. ns must live until
 * repair_restore returns; repair_set_netns(sk, NULL) drops the hint.
 */
struct repair_netns {
	uint32_t keepidle, keepintvl, keepcnt;   /* TCP_KEEPIDLE, _KEEPINTVL, _KEEPCNT */
	char congestion[16];                     /* TCP_CONGESTION, NUL-terminated */
};
REPAIR_API int repair_netns_read(int fd, struct repair_netns *ns);
REPAIR_API void repair_set_netns(struct repair_sk *sk, const struct repair_netns *ns);

/*
 * Messages of the engine go to fn (when not NULL) instead of core/log, for those <= level.
 * fn must be async-signal-safe if the engine runs in a signal context.
 */
typedef void (*repair_log_fn)(int level, const char *msg);
REPAIR_API void repair_set_log(int level, repair_log_fn fn);

/* Name of a TCP state ("ESTABLISHED"), "?" if unknown. */
REPAIR_API const char *repair_state_name(uint32_t state);
/* 1 if the engine can save/restore this state. */
REPAIR_API int repair_state_ok(uint32_t state);

/* ---- listening sockets: recorded, re-created by bind + listen ---- */
struct repair_listen {
	union repair_addr self;
	uint32_t backlog;      /* from sock_diag; 0 if unknown */
	struct repair_opts opts;
};
REPAIR_API int repair_listen_save(int fd, struct repair_listen *l, size_t size);
/* fd: a fresh socket of the right family; sets options, binds, listens. */
REPAIR_API int repair_listen_restore(int fd, const struct repair_listen *l, size_t size);

#endif
