/*
 * control — the control socket of a shimmed process: CRIU's RPC (see rpc.h) on a Unix
 * SOCK_SEQPACKET socket, so CRIU clients (libcriu, pycriu, migration wrappers) and
 * `sockshift ps` can talk to the process.
 *
 * Where: SOCKSHIFT_CONTROL=PATH, or by default
 *	$XDG_RUNTIME_DIR/sockshift/PID.sock        if XDG_RUNTIME_DIR is set and is a directory,
 *	/run/user/UID/sockshift/PID.sock           else if /run/user/UID is a directory,
 *	/tmp/sockshift-UID/PID.sock                otherwise.
 * The sockshift/ (or sockshift-UID/) directory is created 0700 and must be ours and not a
 * link; the socket is 0600 and removed at exit (control_server_stop, or an atexit handler
 * set up by the shim). SOCKSHIFT_CONTROL=off disables the socket. A PATH already served
 * by a live process (the program's own children inherit SOCKSHIFT_CONTROL) is not taken
 * over: the shim falls back to the default path for that process.
 *
 * Who: before serving, the peer's SO_PEERCRED uid must be ours or root. Anyone else gets
 * one error reply (EPERM) and the connection is closed.
 *
 * The server knows nothing about checkpoints. The checkpoint code plugs in through
 * struct control_ops; without it DUMP is answered with ENOSYS "not available".
 *
 *	struct control_ops ops = { .dump = my_dump, .check = my_check, .ctx = me };
 *	struct control_server *srv;
 *	control_server_start(path, &ops, 0, &srv, err, sizeof(err));   bind, listen, serve
 *	...
 *	control_server_stop(srv);                   stops the thread, unlinks the path
 *
 * DUMP, step by step (what ops->dump sees and must do):
 *   1. the server validates the request: a pid, if given, must be ours (ESRCH); options a
 *      socket checkpoint cannot honour are refused (EOPNOTSUPP); the images directory is
 *      images_dir_fd resolved through /proc/<client pid>/fd/<n>, or images_dir (absolute),
 *      opened O_DIRECTORY and checked writable (EBADRQC, ENOENT, ENOTDIR, EACCES);
 *      log_file (no '/') is created in the work directory (work_dir_fd, or the images dir);
 *   2. with notify_scripts, the server sends "pre-dump" and waits for the acknowledgement;
 *   3. ops->dump(ctx, d): freezes the sockets, calls d->notify(d, "network-lock") once the
 *      network lock holds, writes the images into d->dir_fd / d->dir_path, calls
 *      d->notify(d, "post-dump") while the sockets are still frozen (the client copies the
 *      images now; the call returns when it acknowledges), then unlocks (resume mode) and
 *      calls d->notify(d, "network-unlock"). notify returns 0, or -ECANCELED when the
 *      client answered notify_success=false, or -ETIMEDOUT/-EPIPE: the dump must then undo
 *      what it did and fail. Without notify_scripts, notify returns 0 at once.
 *      Any of the three the dump did not send are sent by the server after it returns (in
 *      order; network-unlock after a failure if network-lock was sent).
 *   4. the reply {DUMP, success, dump{restored=false}} (or cr_errno + cr_errmsg) is sent;
 *   5. after a successful dump (or a failed one that set d->keep_lock), ops->dump_done(ctx, d):
 *      exit mode (!d->leave_running) ends the process there, after the client has its answer.
 */
#ifndef SOCKSHIFT_CONTROL_H
#define SOCKSHIFT_CONTROL_H

#include <limits.h>     /* PATH_MAX */
#include <stddef.h>     /* size_t */
#include <sys/types.h>  /* pid_t, uid_t */

#include "rpc.h"        /* struct rpc_req, struct rpc_resp, struct rpc_sock */

#define CONTROL_OFF "off"
#define CONTROL_REQ_TIMEOUT_MS    30000    /* a connection idle this long is closed */
#define CONTROL_NOTIFY_TIMEOUT_MS 600000   /* the longest a notify waits for its ack */

/* CRIU version the service reports (the rpc.proto it implements): clients gate on it. */
#define CONTROL_CRIU_MAJOR 3
#define CONTROL_CRIU_MINOR 17
#define CONTROL_CRIU_SUBLEVEL 1

/* One DUMP request, validated. Owned by the server; valid during ops->dump and ->dump_done. */
struct control_dump {
	int dir_fd;                 /* the images directory, O_DIRECTORY */
	char dir_path[PATH_MAX];    /* the same directory by path, as the kernel names it */
	int leave_running;          /* 1 resume mode, 0 exit mode */
	int tcp_established;        /* the client allows established connections */
	int tcp_skip_in_flight;
	int tcp_close;
	int network_lock;           /* 0 default, 1 iptables, 2 nftables, 3 skip (rpc_opts) */
	int log_fd;                 /* the client's log_file, or -1 */
	int log_level;
	pid_t client_pid;
	pid_t pid;                  /* opts.pid as asked (0: none); see control_ops.any_pid */
	int notify_scripts;         /* the client asked for notifications (else notify is a no-op) */
	int keep_lock;              /* set by ops->dump: the lock stays (hand-over), so no
	                             * network-unlock is sent after a success */
	int has_stats;              /* set by ops->dump: stats go into the reply (ss_dump) */
	struct rpc_dump_stats stats;
	/* See step 3 above. script: "network-lock", "post-dump", "network-unlock". */
	int (*notify)(struct control_dump *d, const char *script);
	void *priv;                 /* the server's */
};

struct control_ops {
	void *ctx;
	/* DUMP; 0, or -errno with a one-line reason in err (sent as cr_errmsg). */
	int (*dump)(void *ctx, struct control_dump *d, char *err, size_t errlen);
	/* After the reply of a DUMP that succeeded, or that failed after the dump set keep_lock
	 * (a hand-over that cannot be undone). May end the process. */
	void (*dump_done)(void *ctx, struct control_dump *d);
	/* CHECK: 0 if a dump can work in this process, or -errno with a reason. */
	int (*check)(void *ctx, char *err, size_t errlen);
	/* SOCKSHIFT_LIST: fill at most max sockets; *n = how many. NULL: control_list_fdtable. */
	int (*list)(void *ctx, struct rpc_sock *socks, unsigned max, unsigned *n);
	const char *stack_name;     /* reported by SOCKSHIFT_LIST */
	int any_pid;                /* 1: DUMP may name any pid (swrk's proxy); 0: only ours */
};

struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

struct control_server;

/* The default path for pid (see above); 0, or -errno (-ENAMETOOLONG). Creates nothing. */
int control_default_path(pid_t pid, char *buf, size_t size);
/* Every directory control_default_path may use for this user (for `sockshift ps`);
 * fills up to max paths of size PATH_MAX each, returns how many. */
int control_default_dirs(char dirs[][PATH_MAX], int max);

/* Binds and listens on path (creating the default directory if path is under it, 0700),
 * mode 0600, replacing a stale socket. Returns the listening fd or -errno: -EADDRINUSE when
 * a live process serves the path, -EEXIST when something else is there. */
int control_listen(const char *path, char *err, size_t errlen);

/* For a socket at a path of the user's choosing: a link to it at the default path of pid,
 * so `sockshift ps` and `sockshift swrk` find the process by pid. 0, or -errno (-EEXIST if
 * path is the default path itself). */
int control_link_default(const char *path, pid_t pid, char *link, size_t size);

/* Serves one connected client until it closes, times out or a non-keep_open request is
 * answered. Checks the peer first. Never closes fd. */
void control_serve_conn(int fd, const struct control_ops *ops);
/* The same with a known peer (tests, swrk): no SO_PEERCRED lookup. */
void control_serve_peer(int fd, const struct control_peer *peer, const struct control_ops *ops);
/* 1 if the peer may be served by this process (same uid, or root). */
int control_peer_allowed(const struct control_peer *peer);

/* Starts serving on path in a thread with every signal blocked. flags: CONTROL_SERVER_DETACH
 * (the shim): the thread first moves to a private fd table (progfd.h) that keeps the listening
 * socket, which then leaves the caller's table; it fails to start if that is not possible.
 * ops is copied. */
#define CONTROL_SERVER_DETACH 1u
int control_server_start(const char *path, const struct control_ops *ops, unsigned flags,
			 struct control_server **out, char *err, size_t errlen);
const char *control_server_path(const struct control_server *srv);
/* Unlinks the path if it is still the socket this server bound (for exit handlers). */
void control_server_unlink(struct control_server *srv);
/* Stops the thread, closes the fd, unlinks the path, frees srv. */
void control_server_stop(struct control_server *srv);

/* The checkpoint (checkpoint.h) behind the control socket (control_ckpt.c): ops for the
 * shim. ctx is unused. See control_ckpt.c for what the adapter does and does not yet do. */
int control_ckpt_dump(void *ctx, struct control_dump *d, char *err, size_t errlen);
void control_ckpt_done(void *ctx, struct control_dump *d);
int control_ckpt_check(void *ctx, char *err, size_t errlen);

/* `sockshift swrk`: DUMP forwarded to the control socket of d->pid (control_proxy.c): the
 * images directory is passed on as this process's fd, every notification of the target is
 * relayed to the client (pre-dump excepted: the session sent it already). */
int control_proxy_dump(void *ctx, struct control_dump *d, char *err, size_t errlen);
/* The control socket of pid in this user's default directories; 0 or -ESRCH. */
int control_find(pid_t pid, char *buf, size_t size);
/* A connected client socket to path, or -errno. */
int control_connect(const char *path);

/* `sockshift dump` / `migrate` (control_dump.c): DUMP of pid over its control socket, into a
 * new directory ckpt-PID-TIME-N under images (NULL: pid's SOCKSHIFT_IMAGES, else
 * /var/tmp/sockshift), exit_mode 1 (hand-over), 0 (resume) or -1 (pid's SOCKSHIFT_ON_DUMP),
 * with tcp_established. Never signals. 0 with *st filled (dir, mode, counts, times, netlock;
 * signal_to_resumed_us = request sent to resumed), or -errno with a reason in err: -ESRCH no
 * such process, -ENOTSUP not under sockshift, -ENOTCONN it has no control socket
 * (SOCKSHIFT_CONTROL=off, or a child forked without exec: the caller may use the signal,
 * ctl_dump_request), -ETIMEDOUT, or
 * the checkpoint's error (cr_errno, cr_errmsg). */
struct ctl_status;
int control_dump_request(pid_t pid, const char *images, int exit_mode, unsigned timeout_ms,
			 struct ctl_status *st, char *err, size_t errlen);

/* The process's sockets from the fdtable (the default ops->list). */
int control_list_fdtable(void *ctx, struct rpc_sock *socks, unsigned max, unsigned *n);

/* One request/response round trip as a client (tools, tests): connects to path, sends req,
 * answers every NOTIFY with success, returns the final response. socks as rpc_resp_decode. */
int control_call(const char *path, const struct rpc_req *req, struct rpc_resp *resp,
		 struct rpc_sock *socks, unsigned max_socks, int timeout_ms);

/* Wire helpers: one message per call. rpc_recv: the message length, or -EPIPE when the peer
 * closed, -ETIMEDOUT, -EMSGSIZE when the message was larger than size (it is discarded;
 * *declared is its size). */
ssize_t control_recv(int fd, void *buf, size_t size, int timeout_ms, size_t *declared);
int control_send(int fd, const void *buf, size_t len);
int control_send_resp(int fd, const struct rpc_resp *resp);

#endif
