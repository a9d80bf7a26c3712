/*
 * rpc — CRIU RPC messages (criu_req / criu_resp) as plain C structs, and their wire form.
 *
 * The control socket (control.h) speaks CRIU's RPC so existing clients — libcriu, pycriu,
 * go-criu, migration wrappers — can checkpoint a shimmed process. One request or response is
 * one serialized protobuf in one SOCK_SEQPACKET message, no length prefix. protobuf-c stays
 * inside rpc.c; everything else sees the structs below.
 *
 *	struct rpc_req req;
 *	char err[RPC_ERRMSG_MAX];
 *	if (rpc_req_decode(buf, len, &req, err, sizeof(err)) < 0)      -EBADMSG: reply an error
 *		...
 *	struct rpc_resp resp; rpc_resp_init(&resp, req.type);           type echoed, success=false
 *	ssize_t n = rpc_resp_encode(&resp, out, sizeof(out));            bytes, or -EMSGSIZE
 *
 * Decoding treats the bytes as hostile: a message that does not parse, lacks a required field,
 * or carries a string longer than the struct can hold is -EBADMSG with a reason in err. It
 * allocates only inside the call (protobuf-c), frees before returning, and never keeps a
 * pointer into buf. Options a socket-only service cannot honour are not errors here; the
 * decoder records them (rpc_req.unsupported) and the service refuses them with a message.
 *
 * Encoding is the reverse for both directions (the tools and tests are clients, too):
 * rpc_req_encode/rpc_resp_decode. Every encoded response carries type and success (proto2
 * required fields: libcriu's decoder returns NULL without them); a DUMP or PRE_DUMP
 * response always carries dump{restored} because libcriu dereferences it on success; a
 * VERSION response always carries major and minor.
 */
#ifndef SOCKSHIFT_RPC_H
#define SOCKSHIFT_RPC_H

#include <limits.h>     /* PATH_MAX, NAME_MAX */
#include <stdint.h>     /* uint32_t */
#include <sys/types.h>  /* ssize_t */

#define RPC_MSG_MAX     (64 * 1024)  /* largest request or response accepted on the wire */
#define RPC_ERRMSG_MAX  256          /* cr_errmsg, including the NUL */
#define RPC_SCRIPT_MAX  64           /* notify.script */
#define RPC_LIST_MAX    256          /* sockets in one SOCKSHIFT_LIST reply */
#define RPC_ADDR_MAX    64           /* "[v6addr%scope]:port" */

/* Request and response types: criu_req_type's numbers. */
enum rpc_type {
	RPC_EMPTY = 0,
	RPC_DUMP = 1,
	RPC_RESTORE = 2,
	RPC_CHECK = 3,
	RPC_PRE_DUMP = 4,
	RPC_PAGE_SERVER = 5,
	RPC_NOTIFY = 6,
	RPC_CPUINFO_DUMP = 7,
	RPC_CPUINFO_CHECK = 8,
	RPC_FEATURE_CHECK = 9,
	RPC_VERSION = 10,
	RPC_WAIT_PID = 11,
	RPC_PAGE_SERVER_CHLD = 12,
	RPC_SINGLE_PRE_DUMP = 13,
	RPC_SOCKSHIFT_LIST = 100,       /* sockshift's own: this process and its sockets */
};

/* criu_opts, reduced to what a socket checkpoint reads. has_* say the client sent the field. */
struct rpc_opts {
	int has_images_dir_fd;
	int images_dir_fd;              /* the client's fd number, resolved by the service */
	char images_dir[PATH_MAX];      /* "" if not sent */
	int has_pid;
	int pid;
	int leave_running;
	int leave_stopped;
	int tcp_established;
	int tcp_skip_in_flight;
	int tcp_close;
	int ext_unix_sk;
	int log_level;                  /* default 2, as CRIU */
	char log_file[NAME_MAX + 1];    /* "" if not sent; the service rejects a '/' */
	int has_work_dir_fd;
	int work_dir_fd;
	int notify_scripts;
	int network_lock;               /* 0 unset, 1 iptables, 2 nftables, 3 skip */
	unsigned timeout;               /* seconds, 0 unset */
	/* First option set that changes what a dump means and that sockshift cannot honour
	 * (track_mem, lazy_pages, parent_img, ps, status_fd...), "" if none. */
	char unsupported[32];
};

struct rpc_req {
	int type;                       /* enum rpc_type, or any number a client sent */
	int has_opts;
	struct rpc_opts opts;
	int has_notify_success;
	int notify_success;
	int keep_open;
	int has_features;
	int feat_mem_track, feat_lazy_pages, feat_pidfd_store;   /* asked for */
	int has_pid;
	uint32_t pid;                   /* WAIT_PID */
};

/* One socket in a SOCKSHIFT_LIST reply. */
struct rpc_sock {
	int fd, domain, type, protocol;
	unsigned state;                 /* fdtable FDT_* bits */
	char local[RPC_ADDR_MAX], peer[RPC_ADDR_MAX];
	char stack[32];
};

/* sockshift's statistics of a successful DUMP (criu_resp.ss_dump). */
struct rpc_dump_stats {
	unsigned conns, listeners, skipped;
	unsigned queued, late;              /* checkpoint_result's nqueued, nlate */
	unsigned long long bytes, lock_us, pause_us, write_us, total_us;
	unsigned long long resumed_at_us;   /* CLOCK_MONOTONIC; 0 = not resumed (exit mode) */
	char netlock[64];                   /* "" = none */
};

struct rpc_resp {
	int type;                       /* echoed request type, RPC_NOTIFY, or RPC_EMPTY */
	int success;
	int cr_errno;                   /* positive errno, 0 = not sent */
	char errmsg[RPC_ERRMSG_MAX];    /* cr_errmsg, "" = not sent */
	int has_dump;
	int restored;
	int has_restore;                /* restore{pid}: required inside, so always with a pid */
	int restore_pid;
	int has_version;
	int ver_major, ver_minor, ver_sublevel;
	char ver_name[32];              /* "" = not sent */
	int has_features;
	int feat_mem_track, feat_lazy_pages, feat_pidfd_store;
	char notify_script[RPC_SCRIPT_MAX];   /* "" = no notify */
	int notify_pid;                 /* 0 = not sent */
	/* SOCKSHIFT_LIST */
	int has_process;
	int proc_pid;
	unsigned proc_uid;
	char proc_comm[32], proc_stack[32], proc_version[32];
	unsigned nsocks;
	struct rpc_sock *socks;         /* caller's array of nsocks entries; not owned */
	/* DUMP (sockshift's own field): what was saved */
	int has_stats;
	struct rpc_dump_stats stats;
};

/* 0, or -EBADMSG with a reason in err. *out is fully written either way. */
int rpc_req_decode(const void *buf, size_t len, struct rpc_req *out, char *err, size_t errlen);
/* The encoded size, or -EMSGSIZE if it does not fit in size, or -ENOMEM. */
ssize_t rpc_resp_encode(const struct rpc_resp *resp, void *buf, size_t size);

/* The client side (tools, tests). rpc_resp_decode fills at most max_socks into socks
 * (the caller's array, may be NULL with 0) and sets nsocks to the number stored. */
ssize_t rpc_req_encode(const struct rpc_req *req, void *buf, size_t size);
int rpc_resp_decode(const void *buf, size_t len, struct rpc_resp *out, struct rpc_sock *socks,
		    unsigned max_socks);

/* A request with CRIU's defaults (log_level 2, no fd); a response echoing req's type with
 * success=false (and dump{restored=false} for DUMP/PRE_DUMP, restore{pid=-1} for RESTORE). */
void rpc_req_init(struct rpc_req *req, int type);
void rpc_resp_init(struct rpc_resp *resp, int type);
/* Marks resp failed with a positive errno and a printf-style message. */
void rpc_resp_fail(struct rpc_resp *resp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "DUMP", "VERSION"..., or "unknown". */
const char *rpc_type_name(int type);

#endif
