/*
 * rpc — the one wrapper around the generated rpc.pb-c code (see rpc.h for the contract).
 *
 * Decoding copies every field the service uses into struct rpc_req, checking string
 * lengths against the struct's buffers, and frees the protobuf-c tree before returning.
 * Encoding builds a protobuf-c tree on the stack from struct rpc_resp (or rpc_req) and
 * packs it into the caller's buffer after checking the packed size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rpc.h"
#include "rpc.pb-c.h"

static const char *const type_names[] = {
	[RPC_EMPTY] = "EMPTY", [RPC_DUMP] = "DUMP", [RPC_RESTORE] = "RESTORE",
	[RPC_CHECK] = "CHECK", [RPC_PRE_DUMP] = "PRE_DUMP", [RPC_PAGE_SERVER] = "PAGE_SERVER",
	[RPC_NOTIFY] = "NOTIFY", [RPC_CPUINFO_DUMP] = "CPUINFO_DUMP",
	[RPC_CPUINFO_CHECK] = "CPUINFO_CHECK", [RPC_FEATURE_CHECK] = "FEATURE_CHECK",
	[RPC_VERSION] = "VERSION", [RPC_WAIT_PID] = "WAIT_PID",
	[RPC_PAGE_SERVER_CHLD] = "PAGE_SERVER_CHLD", [RPC_SINGLE_PRE_DUMP] = "SINGLE_PRE_DUMP",
};

const char *rpc_type_name(int type)
{
	if (type == RPC_SOCKSHIFT_LIST)
		return "SOCKSHIFT_LIST";
	if (type < 0 || (size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[type];
}

void rpc_req_init(struct rpc_req *req, int type)
{
	memset(req, 0, sizeof(*req));
	req->type = type;
	req->opts.images_dir_fd = -1;
	req->opts.log_level = 2;
}

void rpc_resp_init(struct rpc_resp *resp, int type)
{
	memset(resp, 0, sizeof(*resp));
	resp->type = type;
	if (type == RPC_DUMP || type == RPC_PRE_DUMP || type == RPC_SINGLE_PRE_DUMP)
		resp->has_dump = 1;
	if (type == RPC_RESTORE) {
		resp->has_restore = 1;
		resp->restore_pid = -1;
	}
}

void rpc_resp_fail(struct rpc_resp *resp, int err, const char *fmt, ...)
{
	va_list ap;

	resp->success = 0;
	resp->cr_errno = err;
	va_start(ap, fmt);
	log_vfmt(resp->errmsg, sizeof(resp->errmsg), fmt, ap);
	va_end(ap);
}

/* Copies a decoded string; -EBADMSG if it does not fit or holds a NUL (it cannot, but the
 * length check is what matters). */
static int take_str(char *dst, size_t size, const char *src, const char *field, char *err,
		    size_t errlen)
{
	size_t n;

	dst[0] = '\0';
	if (!src)
		return 0;
	n = strlen(src);
	if (n >= size) {
		log_fmt(err, errlen, "criu_opts.%s is %zu bytes, at most %zu accepted", field, n,
			size - 1);
		return -EBADMSG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static void note_unsupported(struct rpc_opts *o, const char *name)
{
	if (!o->unsupported[0])
		log_fmt(o->unsupported, sizeof(o->unsupported), "%s", name);
}

static int take_opts(struct rpc_opts *o, const CriuOpts *m, char *err, size_t errlen)
{
	int r;

	o->has_images_dir_fd = m->has_images_dir_fd;
	o->images_dir_fd = m->has_images_dir_fd ? m->images_dir_fd : -1;
	r = take_str(o->images_dir, sizeof(o->images_dir), m->images_dir, "images_dir", err, errlen);
	if (r < 0)
		return r;
	r = take_str(o->log_file, sizeof(o->log_file), m->log_file, "log_file", err, errlen);
	if (r < 0)
		return r;
	o->has_pid = m->has_pid;
	o->pid = m->pid;
	o->leave_running = m->has_leave_running && m->leave_running;
	o->leave_stopped = m->has_leave_stopped && m->leave_stopped;
	o->tcp_established = m->has_tcp_established && m->tcp_established;
	o->tcp_skip_in_flight = m->has_tcp_skip_in_flight && m->tcp_skip_in_flight;
	o->tcp_close = m->has_tcp_close && m->tcp_close;
	o->ext_unix_sk = m->has_ext_unix_sk && m->ext_unix_sk;
	o->log_level = m->has_log_level ? m->log_level : 2;
	o->has_work_dir_fd = m->has_work_dir_fd;
	o->work_dir_fd = m->has_work_dir_fd ? m->work_dir_fd : -1;
	o->notify_scripts = m->has_notify_scripts && m->notify_scripts;
	o->network_lock = m->has_network_lock ? (int)m->network_lock : 0;
	o->timeout = m->has_timeout ? m->timeout : 0;
	if (m->has_track_mem && m->track_mem)
		note_unsupported(o, "track_mem");
	if (m->has_lazy_pages && m->lazy_pages)
		note_unsupported(o, "lazy_pages");
	if (m->parent_img && m->parent_img[0])
		note_unsupported(o, "parent_img");
	if (m->ps)
		note_unsupported(o, "ps");
	if (m->has_status_fd)
		note_unsupported(o, "status_fd");
	if (o->has_pid && o->pid < 0)
		return log_fmt(err, errlen, "criu_opts.pid %d is negative", o->pid), -EBADMSG;
	if (m->has_network_lock && (m->network_lock < 1 || m->network_lock > 3))
		return log_fmt(err, errlen, "criu_opts.network_lock %u is not 1, 2 or 3",
			       m->network_lock), -EBADMSG;
	return 0;
}

int rpc_req_decode(const void *buf, size_t len, struct rpc_req *out, char *err, size_t errlen)
{
	CriuReq *m;
	int r = 0;

	rpc_req_init(out, RPC_EMPTY);
	if (len > RPC_MSG_MAX) {
		log_fmt(err, errlen, "request of %zu bytes, at most %d accepted", len, RPC_MSG_MAX);
		return -EBADMSG;
	}
	m = criu_req__unpack(NULL, len, buf);
	if (!m) {
		log_fmt(err, errlen, "malformed criu_req (%zu bytes do not decode)", len);
		return -EBADMSG;
	}
	out->type = (int)m->type;
	if (m->opts) {
		out->has_opts = 1;
		r = take_opts(&out->opts, m->opts, err, errlen);
	}
	out->has_notify_success = m->has_notify_success;
	out->notify_success = m->has_notify_success && m->notify_success;
	out->keep_open = m->has_keep_open && m->keep_open;
	if (m->features) {
		out->has_features = 1;
		out->feat_mem_track = m->features->has_mem_track && m->features->mem_track;
		out->feat_lazy_pages = m->features->has_lazy_pages && m->features->lazy_pages;
		out->feat_pidfd_store = m->features->has_pidfd_store && m->features->pidfd_store;
	}
	out->has_pid = m->has_pid;
	out->pid = m->pid;
	criu_req__free_unpacked(m, NULL);
	return r;
}

ssize_t rpc_resp_encode(const struct rpc_resp *resp, void *buf, size_t size)
{
	CriuResp m = CRIU_RESP__INIT;
	CriuDumpResp dump = CRIU_DUMP_RESP__INIT;
	CriuRestoreResp rst = CRIU_RESTORE_RESP__INIT;
	CriuVersion ver = CRIU_VERSION__INIT;
	CriuFeatures feat = CRIU_FEATURES__INIT;
	CriuNotify notify = CRIU_NOTIFY__INIT;
	SsRpcProcess proc = SS_RPC_PROCESS__INIT;
	SsRpcDumpStats stats = SS_RPC_DUMP_STATS__INIT;
	SsRpcSocket *socks = NULL, **sockp = NULL;
	ssize_t r;

	m.type = (CriuReqType)resp->type;
	m.success = !!resp->success;
	if (resp->cr_errno) {
		m.has_cr_errno = 1;
		m.cr_errno = resp->cr_errno;
	}
	if (resp->errmsg[0])
		m.cr_errmsg = (char *)resp->errmsg;
	if (resp->has_dump) {
		dump.has_restored = 1;
		dump.restored = !!resp->restored;
		m.dump = &dump;
	}
	if (resp->has_restore) {
		rst.pid = resp->restore_pid;
		m.restore = &rst;
	}
	if (resp->has_version) {
		ver.major_number = resp->ver_major;
		ver.minor_number = resp->ver_minor;
		ver.has_sublevel = 1;
		ver.sublevel = resp->ver_sublevel;
		if (resp->ver_name[0])
			ver.name = (char *)resp->ver_name;
		m.version = &ver;
	}
	if (resp->has_features) {
		feat.has_mem_track = feat.has_lazy_pages = feat.has_pidfd_store = 1;
		feat.mem_track = !!resp->feat_mem_track;
		feat.lazy_pages = !!resp->feat_lazy_pages;
		feat.pidfd_store = !!resp->feat_pidfd_store;
		m.features = &feat;
	}
	if (resp->notify_script[0]) {
		notify.script = (char *)resp->notify_script;
		if (resp->notify_pid) {
			notify.has_pid = 1;
			notify.pid = resp->notify_pid;
		}
		m.notify = &notify;
	}
	if (resp->has_process) {
		proc.pid = resp->proc_pid;
		proc.has_uid = 1;
		proc.uid = resp->proc_uid;
		proc.comm = (char *)resp->proc_comm;
		proc.stack = (char *)resp->proc_stack;
		proc.version = (char *)resp->proc_version;
		m.ss_process = &proc;
	}
	if (resp->has_stats) {
		const struct rpc_dump_stats *t = &resp->stats;
		stats.has_conns = stats.has_listeners = stats.has_skipped = stats.has_bytes = 1;
		stats.has_lock_us = stats.has_pause_us = stats.has_write_us = stats.has_total_us = 1;
		stats.has_resumed_at_us = stats.has_queued = stats.has_late = 1;
		stats.queued = t->queued;
		stats.late = t->late;
		stats.conns = t->conns;
		stats.listeners = t->listeners;
		stats.skipped = t->skipped;
		stats.bytes = t->bytes;
		stats.lock_us = t->lock_us;
		stats.pause_us = t->pause_us;
		stats.write_us = t->write_us;
		stats.total_us = t->total_us;
		stats.resumed_at_us = t->resumed_at_us;
		stats.netlock = t->netlock[0] ? (char *)t->netlock : NULL;
		m.ss_dump = &stats;
	}
	if (resp->nsocks) {
		socks = calloc(resp->nsocks, sizeof(*socks));
		sockp = calloc(resp->nsocks, sizeof(*sockp));
		if (!socks || !sockp) {
			r = -ENOMEM;
			goto out_free;
		}
		for (unsigned i = 0; i < resp->nsocks; i++) {
			const struct rpc_sock *s = &resp->socks[i];
			ss_rpc_socket__init(&socks[i]);
			socks[i].fd = s->fd;
			socks[i].domain = s->domain;
			socks[i].type = s->type;
			socks[i].has_protocol = socks[i].has_state = 1;
			socks[i].protocol = s->protocol;
			socks[i].state = s->state;
			socks[i].local = s->local[0] ? (char *)s->local : NULL;
			socks[i].peer = s->peer[0] ? (char *)s->peer : NULL;
			socks[i].stack = s->stack[0] ? (char *)s->stack : NULL;
			sockp[i] = &socks[i];
		}
		m.n_ss_sockets = resp->nsocks;
		m.ss_sockets = sockp;
	}
	r = (ssize_t)criu_resp__get_packed_size(&m);
	if ((size_t)r > size) {
		r = -EMSGSIZE;
		goto out_free;
	}
	r = (ssize_t)criu_resp__pack(&m, buf);
out_free:
	free(sockp);
	free(socks);
	return r;
}

ssize_t rpc_req_encode(const struct rpc_req *req, void *buf, size_t size)
{
	CriuReq m = CRIU_REQ__INIT;
	CriuOpts o = CRIU_OPTS__INIT;
	CriuFeatures f = CRIU_FEATURES__INIT;
	const struct rpc_opts *q = &req->opts;
	size_t n;

	m.type = (CriuReqType)req->type;
	if (req->has_opts) {
		o.has_images_dir_fd = 1;    /* CRIU's proto requires it whenever opts is sent */
		o.images_dir_fd = q->images_dir_fd;
		o.images_dir = q->images_dir[0] ? (char *)q->images_dir : NULL;
		o.has_pid = q->has_pid;
		o.pid = q->pid;
		o.has_leave_running = q->leave_running;
		o.leave_running = !!q->leave_running;
		o.has_tcp_established = q->tcp_established;
		o.tcp_established = !!q->tcp_established;
		o.has_tcp_skip_in_flight = q->tcp_skip_in_flight;
		o.tcp_skip_in_flight = !!q->tcp_skip_in_flight;
		o.has_tcp_close = q->tcp_close;
		o.tcp_close = !!q->tcp_close;
		o.has_log_level = 1;
		o.log_level = q->log_level;
		o.log_file = q->log_file[0] ? (char *)q->log_file : NULL;
		o.has_notify_scripts = q->notify_scripts;
		o.notify_scripts = !!q->notify_scripts;
		if (q->network_lock) {
			o.has_network_lock = 1;
			o.network_lock = (uint32_t)q->network_lock;
		}
		m.opts = &o;
	}
	m.has_notify_success = req->has_notify_success;
	m.notify_success = !!req->notify_success;
	m.has_keep_open = req->keep_open;
	m.keep_open = !!req->keep_open;
	if (req->has_features) {
		f.has_mem_track = f.has_lazy_pages = f.has_pidfd_store = 1;
		f.mem_track = !!req->feat_mem_track;
		f.lazy_pages = !!req->feat_lazy_pages;
		f.pidfd_store = !!req->feat_pidfd_store;
		m.features = &f;
	}
	m.has_pid = req->has_pid;
	m.pid = req->pid;
	n = criu_req__get_packed_size(&m);
	if (n > size)
		return -EMSGSIZE;
	return (ssize_t)criu_req__pack(&m, buf);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	log_fmt(dst, size, "%s", src ? src : "");
}

int rpc_resp_decode(const void *buf, size_t len, struct rpc_resp *out, struct rpc_sock *socks,
		    unsigned max_socks)
{
	CriuResp *m;

	memset(out, 0, sizeof(*out));
	if (len > RPC_MSG_MAX)
		return -EBADMSG;
	m = criu_resp__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	out->type = (int)m->type;
	out->success = m->success;
	out->cr_errno = m->has_cr_errno ? m->cr_errno : 0;
	copy_str(out->errmsg, sizeof(out->errmsg), m->cr_errmsg);
	if (m->dump) {
		out->has_dump = 1;
		out->restored = m->dump->has_restored && m->dump->restored;
	}
	if (m->version) {
		out->has_version = 1;
		out->ver_major = m->version->major_number;
		out->ver_minor = m->version->minor_number;
		out->ver_sublevel = m->version->has_sublevel ? m->version->sublevel : 0;
		copy_str(out->ver_name, sizeof(out->ver_name), m->version->name);
	}
	if (m->features) {
		out->has_features = 1;
		out->feat_mem_track = m->features->mem_track;
		out->feat_lazy_pages = m->features->lazy_pages;
		out->feat_pidfd_store = m->features->pidfd_store;
	}
	if (m->notify) {
		copy_str(out->notify_script, sizeof(out->notify_script), m->notify->script);
		out->notify_pid = m->notify->has_pid ? m->notify->pid : 0;
	}
	if (m->ss_process) {
		out->has_process = 1;
		out->proc_pid = m->ss_process->pid;
		out->proc_uid = m->ss_process->uid;
		copy_str(out->proc_comm, sizeof(out->proc_comm), m->ss_process->comm);
		copy_str(out->proc_stack, sizeof(out->proc_stack), m->ss_process->stack);
		copy_str(out->proc_version, sizeof(out->proc_version), m->ss_process->version);
	}
	if (m->ss_dump) {
		const SsRpcDumpStats *t = m->ss_dump;
		out->has_stats = 1;
		out->stats.conns = t->conns;
		out->stats.listeners = t->listeners;
		out->stats.skipped = t->skipped;
		out->stats.queued = t->queued;
		out->stats.late = t->late;
		out->stats.bytes = t->bytes;
		out->stats.lock_us = t->lock_us;
		out->stats.pause_us = t->pause_us;
		out->stats.write_us = t->write_us;
		out->stats.total_us = t->total_us;
		out->stats.resumed_at_us = t->resumed_at_us;
		copy_str(out->stats.netlock, sizeof(out->stats.netlock), t->netlock);
	}
	out->socks = socks;
	for (size_t i = 0; i < m->n_ss_sockets && out->nsocks < max_socks; i++) {
		const SsRpcSocket *s = m->ss_sockets[i];
		struct rpc_sock *d = &socks[out->nsocks++];
		d->fd = s->fd;
		d->domain = s->domain;
		d->type = s->type;
		d->protocol = s->protocol;
		d->state = s->state;
		copy_str(d->local, sizeof(d->local), s->local);
		copy_str(d->peer, sizeof(d->peer), s->peer);
		copy_str(d->stack, sizeof(d->stack), s->stack);
	}
	criu_resp__free_unpacked(m, NULL);
	return 0;
}
