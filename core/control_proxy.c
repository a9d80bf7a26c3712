/*
 * control_proxy — DUMP relayed to another process's control socket: the heart of
 * `sockshift swrk FD`, the `criu swrk` stand-in for clients that only know how to spawn criu
 * (libcriu's service binary, pycriu's use_binary, go-criu, runc).
 *
 *	client ──socketpair── swrk (session: checks, images dir, log_file, pre-dump)
 *	                        └── control socket of opts.pid ── DUMP{images_dir_fd = swrk's fd}
 *
 * The target resolves the images directory through /proc/<swrk pid>/fd/<n>, so it needs the
 * same access to the swrk process as to a direct client (same uid, or root).
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "real.h"

int control_find(pid_t pid, char *buf, size_t size)
{
	char dirs[4][PATH_MAX];
	struct stat st;
	int n = control_default_dirs(dirs, 4);

	for (int i = 0; i < n; i++) {
		log_fmt(buf, size, "%s/%d.sock", dirs[i], (int)pid);
		if (stat(buf, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
	}
	return -ESRCH;
}

int control_proxy_dump(void *ctx, struct control_dump *d, char *err, size_t errlen)
{
	static char buf[RPC_MSG_MAX];
	char path[PATH_MAX];
	struct rpc_resp resp;
	struct rpc_req req;
	ssize_t n;
	int fd, r;

	if (d->pid <= 0) {
		log_fmt(err, errlen, "swrk: set criu_opts.pid to the process to checkpoint "
			"(the client itself is not served here)");
		return -ESRCH;
	}
	if (control_find(d->pid, path, sizeof(path)) < 0) {
		log_fmt(err, errlen, "pid %d has no control socket of this user (is it running under "
			"sockshift?)", (int)d->pid);
		return -ESRCH;
	}
	fd = control_connect(path);
	if (fd < 0) {
		log_fmt(err, errlen, "%s: %s", path, log_errname(fd));
		return fd == -ECONNREFUSED ? -ESRCH : fd;
	}
	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	req.opts.images_dir_fd = d->dir_fd;
	req.opts.has_pid = 1;
	req.opts.pid = d->pid;
	req.opts.leave_running = d->leave_running;
	req.opts.tcp_established = d->tcp_established;
	req.opts.tcp_skip_in_flight = d->tcp_skip_in_flight;
	req.opts.tcp_close = d->tcp_close;
	req.opts.network_lock = d->network_lock;
	req.opts.log_level = d->log_level;
	req.opts.notify_scripts = 1;
	n = rpc_req_encode(&req, buf, sizeof(buf));
	r = n < 0 ? (int)n : control_send(fd, buf, (size_t)n);
	while (r == 0) {
		n = control_recv(fd, buf, sizeof(buf), CONTROL_NOTIFY_TIMEOUT_MS, NULL);
		if (n < 0 || rpc_resp_decode(buf, (size_t)n, &resp, NULL, 0) < 0) {
			r = n < 0 ? (int)n : -EBADMSG;
			log_fmt(err, errlen, "pid %d's control socket: %s", (int)d->pid, log_errname(r));
			break;
		}
		if (resp.type != RPC_NOTIFY) {
			if (!resp.success) {
				r = resp.cr_errno > 0 ? -resp.cr_errno : -EIO;
				log_fmt(err, errlen, "%s", resp.errmsg[0] ? resp.errmsg : log_errname(r));
			}
			break;
		}
		int ok = 0;
		if (strcmp(resp.notify_script, "pre-dump"))
			ok = d->notify(d, resp.notify_script);
		if (!d->leave_running && !strcmp(resp.notify_script, "network-lock"))
			d->keep_lock = 1;      /* exit mode: the target keeps its lock when it ends */
		rpc_req_init(&req, RPC_NOTIFY);
		req.has_notify_success = 1;
		req.notify_success = ok == 0;
		n = rpc_req_encode(&req, buf, sizeof(buf));
		r = n < 0 ? (int)n : control_send(fd, buf, (size_t)n);
	}
	real.close(fd);
	return r;
}
