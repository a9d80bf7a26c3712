/*
 * repair_int — what the repair_*.c files share and nobody else sees: the handle layout, the
 * engine's logger, and the helpers for options, FIN forging and sock_diag.
 */
#ifndef SOCKSHIFT_REPAIR_INT_H
#define SOCKSHIFT_REPAIR_INT_H

#include "repair.h"
#include "log.h"

struct repair_qbuf {
	char *buf;
	size_t len;
	int owned;            /* buf is ours to free */
	char *user;           /* caller memory for the next peek (repair_set_queue_buf) */
	size_t user_cap;
};

struct repair_sk {
	int fd;
	int family;           /* of the socket: AF_INET or AF_INET6 */
	unsigned addr_set;    /* bit REPAIR_SELF / REPAIR_PEER */
	unsigned bind_flags;  /* REPAIR_FREEBIND */
	unsigned save_flags;  /* REPAIR_SAVE_* */
	const struct repair_netns *netns;   /* repair_set_netns hint, or NULL */
	union repair_addr addr[2];
	struct repair_qbuf q[2];
	/* what repair_resume still has to do after a restore */
	int restored;
	int buf_unlock;       /* SO_BUF_LOCK bits the restore set that the program had not */
	struct repair_data data;
};

void repair_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define rerr(...)  repair_log(LOGL_ERROR, __VA_ARGS__)
#define rwarn(...) repair_log(LOGL_WARN, __VA_ARGS__)
#define rdbg(...)  repair_log(LOGL_DEBUG, __VA_ARGS__)

/* TCP_INFO's first 7 bytes are all the engine needs. */
int repair_tcp_state(int fd, uint32_t *state, uint32_t *opt_mask, uint32_t *snd_ws, uint32_t *rcv_ws);

/* repair_restore.c: the part of a restore that runs in repair_resume. */
int repair_restore_finish(struct repair_sk *sk);

/* repair_opts.c */
int repair_opts_save(int fd, int family, uint32_t state, struct repair_opts *o);
/* before bind (v6only, buffers, mark...); ns: the namespace defaults if known, else NULL */
int repair_opts_apply_early(int fd, int family, const struct repair_opts *o,
			    const struct repair_netns *ns);
/* after repair is off (reuse*, cork, keepalive, nodelay, file flags, SHUT_RD): */
int repair_opts_apply_late(int fd, int family, const struct repair_opts *o);

/* repair_fin.c: forge a packet from peer to self with the given flags (TH_FIN|TH_ACK or TH_ACK). */
int repair_fin_forge(const union repair_addr *from, const union repair_addr *to, uint32_t seq,
		     uint32_t ack, uint16_t win, uint8_t flags);

/* repair_diag.c: sock_diag lookup of fd's socket in the given TCP states bitmask. */
struct repair_diag {
	union repair_addr src, dst;
	uint32_t state;
	uint32_t backlog;     /* LISTEN: max backlog */
};
int repair_diag_lookup(int fd, int family, uint32_t states, struct repair_diag *out);

/* true for a v4-mapped IPv6 address (::ffff:a.b.c.d) */
int repair_addr_mapped(const union repair_addr *a);
socklen_t repair_addr_len(const union repair_addr *a);

#endif
