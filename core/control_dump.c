/*
 * control_dump — the client side of `sockshift dump` and the checkpoint step of `sockshift
 * migrate`: one DUMP request over the target's control socket (found by pid at its default
 * path, as `sockshift ps` and `swrk` find it), answered synchronously with success or
 * cr_errno/cr_errmsg and sockshift's statistics (criu_resp.ss_dump).
 *
 * The tool, not the target, makes the new images directory (ckpt-PID-TIME-N under the base,
 * as the signal path names it) and sends its absolute path as images_dir. The base and the
 * default mode come from the target's environment (SOCKSHIFT_IMAGES, SOCKSHIFT_ON_DUMP), as
 * the signal path reads them. A process whose SOCKSHIFT_CONTROL is "off", or that has no
 * control socket (a child forked without exec), gets -ENOTCONN: the caller decides whether to
 * use the signal instead (ctlthread.h). Nothing here signals.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "ctlthread.h"
#include "log.h"

struct target_env {
	char control[PATH_MAX];   /* SOCKSHIFT_CONTROL, "" unset */
	char images[PATH_MAX];    /* SOCKSHIFT_IMAGES, "" unset */
	int on_dump_exit;         /* SOCKSHIFT_ON_DUMP=exit */
};

static void read_env(pid_t pid, struct target_env *e)
{
	static char buf[1 << 16];
	char path[64];
	ssize_t n;
	int fd;

	memset(e, 0, sizeof(*e));
	log_fmt(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
		if (!strncmp(p, "SOCKSHIFT_CONTROL=", 18))
			log_fmt(e->control, sizeof(e->control), "%s", p + 18);
		else if (!strncmp(p, "SOCKSHIFT_IMAGES=", 17))
			log_fmt(e->images, sizeof(e->images), "%s", p + 17);
		else if (!strncmp(p, "SOCKSHIFT_ON_DUMP=", 18))
			e->on_dump_exit = !strcmp(p + 18, "exit");
	}
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];

	log_fmt(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A new directory under base, absolute; 0 or -errno with a reason. */
static int make_dir(pid_t pid, const char *base, char *out, size_t size, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	int r = mkdir_p(base);

	if (r == 0 && !realpath(base, abs))
		r = -errno;
	if (r < 0) {
		log_fmt(err, errlen, "cannot create the images directory %s: %s", base, strerror(-r));
		return r;
	}
	for (unsigned n = 1; n < 1000; n++) {
		log_fmt(out, size, "%s/ckpt-%d-%lld-%u", abs, (int)pid, (long long)time(NULL), n);
		if (mkdir(out, 0700) == 0)
			return 0;
		if (errno != EEXIST) {
			r = -errno;
			log_fmt(err, errlen, "cannot create %s: %s", out, strerror(-r));
			return r;
		}
	}
	log_fmt(err, errlen, "no free directory name under %s", abs);
	return -EEXIST;
}

static unsigned long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000u + (unsigned long long)ts.tv_nsec / 1000u;
}

int control_dump_request(pid_t pid, const char *images, int exit_mode, unsigned timeout_ms,
			 struct ctl_status *st, char *err, size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct target_env e;
	struct rpc_resp resp;
	struct rpc_req req;
	unsigned long long t0;
	int r = ctl_pid_shimmed((int)pid);

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	if (r < 0)
		return r;
	if (!r)
		return -ENOTSUP;
	read_env(pid, &e);
	if (!strcmp(e.control, CONTROL_OFF)) {
		log_fmt(err, errlen, "process %d has its control socket disabled (SOCKSHIFT_CONTROL=off)",
			(int)pid);
		return -ENOTCONN;
	}
	if (control_find(pid, path, sizeof(path)) < 0) {
		/* a child forked without exec has the checkpoint signal only (shim/init.c) */
		log_fmt(err, errlen, "process %d has no control socket of this user", (int)pid);
		return -ENOTCONN;
	}
	if (exit_mode < 0)
		exit_mode = e.on_dump_exit;
	r = make_dir(pid, images ? images : e.images[0] ? e.images : CONFIG_IMAGES_DEFAULT, dir,
		     sizeof(dir), err, errlen);
	if (r < 0)
		return r;
	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	log_fmt(req.opts.images_dir, sizeof(req.opts.images_dir), "%s", dir);
	req.opts.has_pid = 1;
	req.opts.pid = (int)pid;
	req.opts.leave_running = !exit_mode;
	req.opts.tcp_established = 1;
	t0 = mono_us();
	r = control_call(path, &req, &resp, NULL, 0, (int)timeout_ms);
	if (r < 0) {
		log_fmt(err, errlen, "%s: %s", path, r == -ETIMEDOUT ? "no answer in time" : strerror(-r));
		rmdir(dir);
		return r;
	}
	if (!resp.success) {
		r = resp.cr_errno > 0 ? -resp.cr_errno : -EIO;
		log_fmt(err, errlen, "%s", resp.errmsg[0] ? resp.errmsg : strerror(-r));
		rmdir(dir);   /* only if nothing was left in it */
		return r;
	}
	log_fmt(st->dir, sizeof(st->dir), "%s", dir);
	log_fmt(st->mode, sizeof(st->mode), "%s", exit_mode ? "exit" : "resume");
	if (resp.has_stats) {
		const struct rpc_dump_stats *s = &resp.stats;
		st->conns = s->conns;
		st->listeners = s->listeners;
		st->skipped = s->skipped;
		st->queued = s->queued;
		st->late = s->late;
		st->bytes = s->bytes;
		st->lock_us = s->lock_us;
		st->pause_us = s->pause_us;
		st->write_us = s->write_us;
		st->total_us = s->total_us;
		if (s->resumed_at_us > t0)
			st->signal_to_resumed_us = s->resumed_at_us - t0;
		log_fmt(st->netlock, sizeof(st->netlock), "%s", s->netlock);
	}
	return 0;
}
