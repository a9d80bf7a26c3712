/*
 * control_serve — one client connection of the control socket: the CRIU service's request
 * loop, reduced to what a socket checkpoint means (see control.h for DUMP's steps).
 *
 *	recv ──> decode ──> keep_open allowed? ──> dispatch ──> reply ──> keep_open? ──┐
 *	  ^                                                                             │
 *	  └─────────────────────────────────────────────────────────────────────────────┘
 *
 * Every failure is a reply: a message that does not decode, is too big, or names a type we
 * do not serve gets {success=false, cr_errno, cr_errmsg} and the connection is closed. The
 * type is echoed when the request decoded, EMPTY otherwise (as CRIU's send_criu_err). keep_open
 * is honoured only where CRIU honours it (VERSION, FEATURE_CHECK); on another type the request
 * is refused with EBADRQC (CRIU closes without a reply there, which leaves clients waiting).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "rawsys.h"
#include "real.h"

/* Files are closed, read and written with raw system calls: inside the shim close/read/write
 * are hooks (fd table, the checkpoint gate), which a control thread has no business entering. */
#ifndef EBADRQC
#define EBADRQC 56
#endif

struct session {
	int fd;
	struct control_peer peer;
	const struct control_ops *ops;
	char *buf;                  /* RPC_MSG_MAX */
	int notify;                 /* the client asked for notify_scripts */
	unsigned sent;              /* NOTE_* already sent */
	int log_fd;
};

enum { NOTE_LOCK = 1, NOTE_POST = 2, NOTE_UNLOCK = 4 };

static void dump_log(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dump_log(struct session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;

	if (s->log_fd < 0)
		return;
	n = log_fmt(line, sizeof(line), "sockshift[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += log_vfmt(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (rawsys3(SYS_write, s->log_fd, line, n) < 0)
		s->log_fd = -1;
}

static int reply(struct session *s, const struct rpc_resp *resp)
{
	int r = control_send_resp(s->fd, resp);

	if (r < 0)
		logw("control: cannot reply to pid %d: %s", (int)s->peer.pid, log_errname(r));
	else if (!resp->success)
		logi("control: %s from pid %d refused: %s", rpc_type_name(resp->type),
		     (int)s->peer.pid, resp->errmsg);
	return r;
}

/* Sends a NOTIFY and waits for the client's acknowledgement. */
static int notify_exchange(struct session *s, const char *script)
{
	struct rpc_resp note;
	struct rpc_req ack;
	char why[RPC_ERRMSG_MAX];
	ssize_t n;
	int r;

	if (!s->notify)
		return 0;
	rpc_resp_init(&note, RPC_NOTIFY);
	note.success = 1;
	log_fmt(note.notify_script, sizeof(note.notify_script), "%s", script);
	r = control_send_resp(s->fd, &note);
	if (r < 0)
		return r;
	n = control_recv(s->fd, s->buf, RPC_MSG_MAX, CONTROL_NOTIFY_TIMEOUT_MS, NULL);
	if (n < 0) {
		dump_log(s, "notify %s: no acknowledgement: %s", script, log_errname((int)n));
		return (int)n;
	}
	if (rpc_req_decode(s->buf, (size_t)n, &ack, why, sizeof(why)) < 0 ||
	    ack.type != RPC_NOTIFY || !ack.notify_success) {
		dump_log(s, "notify %s: the client reported a script error", script);
		return -ECANCELED;
	}
	dump_log(s, "notify %s: acknowledged", script);
	return 0;
}

static int dump_notify(struct control_dump *d, const char *script)
{
	struct session *s = d->priv;
	int r = notify_exchange(s, script);

	if (!strcmp(script, "network-lock"))
		s->sent |= NOTE_LOCK;
	else if (!strcmp(script, "post-dump"))
		s->sent |= NOTE_POST;
	else if (!strcmp(script, "network-unlock"))
		s->sent |= NOTE_UNLOCK;
	return r;
}

/* Opens the client's fd n as a directory, through /proc/<client>/fd/n. */
static int open_client_dir(struct session *s, int n, const char *what, struct rpc_resp *resp)
{
	char path[64];
	int fd;

	log_fmt(path, sizeof(path), "/proc/%d/fd/%d", (int)s->peer.pid, n);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	fd = -errno;
	if (fd == -ENOENT)
		rpc_resp_fail(resp, ENOENT, "%s %d: the client (pid %d) has no such fd", what, n,
			      (int)s->peer.pid);
	else if (fd == -ENOTDIR)
		rpc_resp_fail(resp, ENOTDIR, "%s %d: not a directory", what, n);
	else
		rpc_resp_fail(resp, -fd, "%s %d: cannot open %s: %s", what, n, path, log_errname(fd));
	return fd;
}

static int open_images_dir(struct session *s, const struct rpc_opts *o, struct rpc_resp *resp)
{
	int fd;

	if (o->has_images_dir_fd && o->images_dir_fd != -1) {
		if (o->images_dir_fd < 0) {
			rpc_resp_fail(resp, EBADRQC, "images_dir_fd %d is not an fd", o->images_dir_fd);
			return -EBADRQC;
		}
		return open_client_dir(s, o->images_dir_fd, "images_dir_fd", resp);
	}
	if (!o->images_dir[0]) {
		rpc_resp_fail(resp, EBADRQC, "Neither images_dir_fd nor images_dir was passed by RPC client");
		return -EBADRQC;
	}
	if (o->images_dir[0] != '/') {
		rpc_resp_fail(resp, EBADRQC, "images_dir '%s' must be an absolute path", o->images_dir);
		return -EBADRQC;
	}
	fd = open(o->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		rpc_resp_fail(resp, -fd, "images_dir '%s': %s", o->images_dir, log_errname(fd));
	}
	return fd;
}

/* Step 1 of a DUMP: everything that can be refused before anything is frozen. */
static int dump_prepare(struct session *s, const struct rpc_req *req, struct control_dump *d,
			struct rpc_resp *resp)
{
	const struct rpc_opts *o = &req->opts;
	char proc[64];
	int work = -1, r;
	ssize_t n;

	if (!req->has_opts) {
		rpc_resp_fail(resp, EBADRQC, "DUMP without criu_opts");
		return -EBADRQC;
	}
	if (o->unsupported[0]) {
		rpc_resp_fail(resp, EOPNOTSUPP, "criu_opts.%s is not supported: sockshift checkpoints "
			      "sockets, not memory", o->unsupported);
		return -EOPNOTSUPP;
	}
	if (o->leave_stopped) {
		rpc_resp_fail(resp, EOPNOTSUPP, "criu_opts.leave_stopped is not supported");
		return -EOPNOTSUPP;
	}
	if (!s->ops->any_pid && o->has_pid && o->pid != 0 && o->pid != (int)getpid()) {
		rpc_resp_fail(resp, ESRCH, "this control socket checkpoints pid %d only, not %d",
			      (int)getpid(), o->pid);
		return -ESRCH;
	}
	if (strchr(o->log_file, '/')) {
		rpc_resp_fail(resp, EBADRQC, "log_file '%s': no subdirectories are allowed", o->log_file);
		return -EBADRQC;
	}
	d->dir_fd = open_images_dir(s, o, resp);
	if (d->dir_fd < 0)
		return d->dir_fd;
	if (faccessat(d->dir_fd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		r = -errno;
		rpc_resp_fail(resp, -r, "the images directory is not writable by uid %u: %s",
			      (unsigned)geteuid(), log_errname(r));
		return r;
	}
	/* thread-self: this thread may have its own fd table (progfd.h), the leader may be gone */
	log_fmt(proc, sizeof(proc), "/proc/thread-self/fd/%d", d->dir_fd);
	n = readlink(proc, d->dir_path, sizeof(d->dir_path) - 1);
	if (n < 0 || d->dir_path[0] != '/') {
		rpc_resp_fail(resp, EBADRQC, "the images directory has no path (deleted?)");
		return -EBADRQC;
	}
	d->dir_path[n] = '\0';
	if (o->log_file[0]) {
		if (o->has_work_dir_fd && o->work_dir_fd != -1) {
			work = open_client_dir(s, o->work_dir_fd, "work_dir_fd", resp);
			if (work < 0)
				return work;
		}
		d->log_fd = openat(work >= 0 ? work : d->dir_fd, o->log_file,
				   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		r = -errno;
		if (work >= 0)
			rawsys1(SYS_close, work);
		if (d->log_fd < 0) {
			rpc_resp_fail(resp, -r, "log_file '%s': %s", o->log_file, log_errname(r));
			return r;
		}
		s->log_fd = d->log_fd;
	}
	d->leave_running = o->leave_running;
	d->tcp_established = o->tcp_established;
	d->tcp_skip_in_flight = o->tcp_skip_in_flight;
	d->tcp_close = o->tcp_close;
	d->network_lock = o->network_lock;
	d->log_level = o->log_level;
	d->client_pid = s->peer.pid;
	d->pid = o->has_pid ? o->pid : 0;
	d->notify = dump_notify;
	d->notify_scripts = s->notify;
	d->priv = s;
	return 0;
}

/* Sends the notifications the dump did not send itself (control.h, step 3). */
static int notify_missing(struct session *s, struct control_dump *d, int ok)
{
	int r = 0;

	if (ok && !(s->sent & NOTE_LOCK))
		r = dump_notify(d, "network-lock");
	if (ok && r == 0 && !(s->sent & NOTE_POST))
		r = dump_notify(d, "post-dump");
	if ((s->sent & NOTE_LOCK) && !(s->sent & NOTE_UNLOCK) && !(ok && r == 0 && d->keep_lock)) {
		int u = dump_notify(d, "network-unlock");
		if (r == 0)
			r = u;
	}
	return r;
}

static void handle_dump(struct session *s, const struct rpc_req *req)
{
	struct control_dump d = { .dir_fd = -1, .log_fd = -1 };
	char err[RPC_ERRMSG_MAX] = "";
	struct rpc_resp resp;
	int r;

	rpc_resp_init(&resp, RPC_DUMP);
	s->notify = req->has_opts && req->opts.notify_scripts;
	s->sent = 0;
	if (!s->ops->dump) {
		rpc_resp_fail(&resp, ENOSYS, "checkpoint is not available in this process "
			      "(no dump handler is connected to the control socket)");
		goto out_reply;
	}
	if (dump_prepare(s, req, &d, &resp) < 0)
		goto out_reply;
	dump_log(s, "DUMP requested by pid %d into %s (%s mode)", (int)s->peer.pid, d.dir_path,
		 d.leave_running ? "resume" : "exit");
	r = notify_exchange(s, "pre-dump");
	if (r < 0) {
		rpc_resp_fail(&resp, -r, "pre-dump notification: %s", r == -ECANCELED ?
			      "the client reported a script error" : log_errname(r));
		goto out_reply;
	}
	r = s->ops->dump(s->ops->ctx, &d, err, sizeof(err));
	int nr = notify_missing(s, &d, r == 0);
	if (r == 0 && nr < 0)
		r = nr;
	if (r < 0) {
		rpc_resp_fail(&resp, -r, "%s", err[0] ? err : log_errname(r));
		goto out_reply;
	}
	resp.success = 1;
	resp.has_stats = d.has_stats;
	resp.stats = d.stats;
out_reply:
	dump_log(s, "DUMP %s%s%s", resp.success ? "succeeded" : "failed: ", resp.errmsg,
		 resp.success ? "" : "");
	reply(s, &resp);
	if ((resp.success || d.keep_lock) && s->ops->dump_done)
		s->ops->dump_done(s->ops->ctx, &d);
	if (d.log_fd >= 0)
		rawsys1(SYS_close, d.log_fd);
	s->log_fd = -1;
	if (d.dir_fd >= 0)
		rawsys1(SYS_close, d.dir_fd);
}

static void handle_list(struct session *s)
{
	struct rpc_sock *socks = calloc(RPC_LIST_MAX, sizeof(*socks));
	struct rpc_resp resp;
	char comm[32] = "";
	unsigned n = 0;
	int fd, r;

	rpc_resp_init(&resp, RPC_SOCKSHIFT_LIST);
	if (!socks) {
		rpc_resp_fail(&resp, ENOMEM, "out of memory");
		goto out_reply;
	}
	r = (s->ops->list ? s->ops->list : control_list_fdtable)(s->ops->ctx, socks, RPC_LIST_MAX, &n);
	if (r < 0) {
		rpc_resp_fail(&resp, -r, "cannot list the sockets: %s", log_errname(r));
		goto out_reply;
	}
	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		long k = rawsys3(SYS_read, fd, comm, sizeof(comm) - 1);
		comm[k > 0 ? k : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		rawsys1(SYS_close, fd);
	}
	resp.success = 1;
	resp.has_process = 1;
	resp.proc_pid = (int)getpid();
	resp.proc_uid = (unsigned)geteuid();
	log_fmt(resp.proc_comm, sizeof(resp.proc_comm), "%s", comm);
	log_fmt(resp.proc_stack, sizeof(resp.proc_stack), "%s",
		s->ops->stack_name ? s->ops->stack_name : "");
	log_fmt(resp.proc_version, sizeof(resp.proc_version), "%s", SOCKSHIFT_VERSION);
	resp.nsocks = n;
	resp.socks = socks;
	/* Shrink the list until it fits the wire limit rather than fail. */
	while (resp.nsocks && rpc_resp_encode(&resp, s->buf, RPC_MSG_MAX) == -EMSGSIZE)
		resp.nsocks /= 2;
out_reply:
	if (resp.success) {
		ssize_t len = rpc_resp_encode(&resp, s->buf, RPC_MSG_MAX);
		if (len > 0)
			control_send(s->fd, s->buf, (size_t)len);
	} else {
		reply(s, &resp);
	}
	free(socks);
}

static int keep_open_allowed(int type)
{
	switch (type) {
	case RPC_VERSION:
	case RPC_FEATURE_CHECK:
	case RPC_CPUINFO_DUMP:
	case RPC_CPUINFO_CHECK:
	case RPC_PAGE_SERVER:
	case RPC_PAGE_SERVER_CHLD:
		return 1;
	}
	return 0;
}

/* One request: 1 to keep reading on this connection, 0 to close it. */
static int dispatch(struct session *s, const struct rpc_req *req)
{
	char err[RPC_ERRMSG_MAX] = "";
	struct rpc_resp resp;
	int r;

	rpc_resp_init(&resp, req->type);
	if (req->keep_open && !keep_open_allowed(req->type)) {
		rpc_resp_fail(&resp, EBADRQC, "keep_open is not allowed with %s", rpc_type_name(req->type));
		reply(s, &resp);
		return 0;
	}
	switch (req->type) {
	case RPC_VERSION:
		resp.success = 1;
		resp.has_version = 1;
		resp.ver_major = CONTROL_CRIU_MAJOR;
		resp.ver_minor = CONTROL_CRIU_MINOR;
		resp.ver_sublevel = CONTROL_CRIU_SUBLEVEL;
		log_fmt(resp.ver_name, sizeof(resp.ver_name), "sockshift %s", SOCKSHIFT_VERSION);
		break;
	case RPC_FEATURE_CHECK:
		/* No memory tracking, no lazy pages, no pidfd store: all false, always present. */
		resp.success = 1;
		resp.has_features = 1;
		break;
	case RPC_CHECK:
		if (!s->ops->check) {
			rpc_resp_fail(&resp, ENOSYS, "checkpoint is not available in this process");
			break;
		}
		r = s->ops->check(s->ops->ctx, err, sizeof(err));
		if (r < 0)
			rpc_resp_fail(&resp, -r, "%s", err[0] ? err : log_errname(r));
		else
			resp.success = 1;
		break;
	case RPC_DUMP:
		handle_dump(s, req);
		return 0;
	case RPC_PRE_DUMP:
	case RPC_SINGLE_PRE_DUMP:
		rpc_resp_fail(&resp, EOPNOTSUPP, "%s is not supported: sockets have no memory to "
			      "pre-copy; send DUMP directly", rpc_type_name(req->type));
		break;
	case RPC_SOCKSHIFT_LIST:
		handle_list(s);
		return 0;
	case RPC_NOTIFY:
		rpc_resp_fail(&resp, EBADRQC, "NOTIFY outside a notification exchange");
		break;
	case RPC_RESTORE:
	case RPC_PAGE_SERVER:
	case RPC_PAGE_SERVER_CHLD:
	case RPC_CPUINFO_DUMP:
	case RPC_CPUINFO_CHECK:
	case RPC_WAIT_PID:
		rpc_resp_fail(&resp, EOPNOTSUPP, "%s is not served by a running process's control "
			      "socket", rpc_type_name(req->type));
		break;
	default:
		rpc_resp_init(&resp, RPC_EMPTY);
		rpc_resp_fail(&resp, EBADRQC, "unknown request type %d", req->type);
		break;
	}
	if (reply(s, &resp) < 0)
		return 0;
	return req->keep_open && resp.success;
}

int control_peer_allowed(const struct control_peer *peer)
{
	return peer->uid == 0 || peer->uid == geteuid();
}

/* A peer we will not serve still gets one answer, after its request (if any) is read. */
static void refuse_peer(struct session *s)
{
	char why[RPC_ERRMSG_MAX];
	struct rpc_req req;
	struct rpc_resp resp;
	ssize_t n;
	int type = RPC_EMPTY;

	n = control_recv(s->fd, s->buf, RPC_MSG_MAX, 1000, NULL);
	if (n > 0 && rpc_req_decode(s->buf, (size_t)n, &req, why, sizeof(why)) == 0)
		type = req.type;
	rpc_resp_init(&resp, type);
	rpc_resp_fail(&resp, EPERM, "uid %u may not use the control socket of a process of uid %u",
		      (unsigned)s->peer.uid, (unsigned)geteuid());
	reply(s, &resp);
}

void control_serve_peer(int fd, const struct control_peer *peer, const struct control_ops *ops)
{
	struct session s = { .fd = fd, .peer = *peer, .ops = ops, .log_fd = -1 };
	char why[RPC_ERRMSG_MAX];
	struct rpc_resp resp;
	struct rpc_req req;
	size_t declared;
	ssize_t n;

	s.buf = malloc(RPC_MSG_MAX);
	if (!s.buf)
		return;
	if (!control_peer_allowed(peer)) {
		refuse_peer(&s);
		goto out_free;
	}
	for (;;) {
		n = control_recv(fd, s.buf, RPC_MSG_MAX, CONTROL_REQ_TIMEOUT_MS, &declared);
		if (n == -EMSGSIZE) {
			rpc_resp_init(&resp, RPC_EMPTY);
			rpc_resp_fail(&resp, EMSGSIZE, "request of %zu bytes, at most %d accepted",
				      declared, RPC_MSG_MAX);
			reply(&s, &resp);
			break;
		}
		if (n < 0)
			break;      /* closed, idle too long, or a socket error: nothing to answer */
		if (rpc_req_decode(s.buf, (size_t)n, &req, why, sizeof(why)) < 0) {
			rpc_resp_init(&resp, req.type);
			rpc_resp_fail(&resp, EBADMSG, "%s", why);
			reply(&s, &resp);
			break;
		}
		logd("control: %s from pid %d%s", rpc_type_name(req.type), (int)peer->pid,
		     req.keep_open ? " (keep_open)" : "");
		if (!dispatch(&s, &req))
			break;
	}
out_free:
	free(s.buf);
}

void control_serve_conn(int fd, const struct control_ops *ops)
{
	struct control_peer peer = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof(cred)) {
		peer.pid = cred.pid;
		peer.uid = cred.uid;
		peer.gid = cred.gid;
	}
	control_serve_peer(fd, &peer, ops);
}
