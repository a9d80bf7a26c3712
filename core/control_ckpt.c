/*
 * control_ckpt — DUMP over the control socket, on top of the checkpoint (checkpoint.h).
 *
 * CRIU clients name an existing, usually empty, images directory; checkpoint_run() creates
 * its own directory (temporary name, then rename). So the checkpoint is written into
 * DIR/.sockshift-ckpt-PID and its files are then moved up into DIR, where `crit` and the
 * restore side find them as CRIU lays them out.
 *
 * Notifications go out from the checkpoint's stage callback (checkpoint.h), at the moments
 * CRIU promises ("pre-dump" was sent by the server before the dump began):
 *   "network-lock"   once the nftables lock holds, before any socket is frozen;
 *   "post-dump"      the images are already in DIR and every socket is still in repair mode
 *                    with the lock held: a client holding its acknowledgement holds a frozen
 *                    process (resume and exit mode alike). A refusal (or a lost client)
 *                    undoes the checkpoint: every socket resumed, lock lifted, error reply, and
 *                    in exit mode the process keeps running (as CRIU resumes a failed dump);
 *   "network-unlock" resume mode, once the sockets run and the lock is lifted; also after a
 *                    failure that followed "network-lock". Not after a hand-over (the lock is
 *                    the restorer's to lift).
 * The callback is passed in exit mode always (the images are then laid out while the
 * sockets can still be given back) and in resume mode only with notify_scripts: there it
 * makes the images be written before the sockets resume, which lengthens the pause.
 * Checkpoints over the control socket are serialised here (ckpt_lock); checkpoint_run()
 * serialises them with the signal-triggered path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "control.h"
#include "ctlthread.h"
#include "fdtable.h"
#include "log.h"
#include "quiesce.h"
#include "rawsys.h"
#include "stack.h"

static pthread_mutex_t ckpt_lock = PTHREAD_MUTEX_INITIALIZER;

static int count_established(const struct fdt_rec *rec, void *arg)
{
	if ((rec->domain == AF_INET || rec->domain == AF_INET6) && rec->type == SOCK_STREAM &&
	    (rec->state & FDT_CONNECTED))
		(*(unsigned *)arg)++;
	return 0;
}

/* Moves every file of tmp (a child of dirfd named name) into dirfd, then removes tmp. */
static int move_up(int dirfd, const char *name, char *err, size_t errlen)
{
	int tfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	struct dirent *e;
	DIR *d;

	if (tfd < 0)
		return -errno;
	d = fdopendir(tfd);
	if (!d) {
		r = -errno;
		rawsys1(SYS_close, tfd);
		return r;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (renameat(tfd, e->d_name, dirfd, e->d_name) < 0) {
			r = -errno;
			log_fmt(err, errlen, "cannot move %s into the images directory: %s", e->d_name,
				log_errname(r));
			break;
		}
	}
	closedir(d);
	if (!r && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	fsync(dirfd);
	return r;
}

/* What the stage callback needs: the request, where the images go, what went wrong. */
struct stages {
	struct control_dump *d;
	const char *tmpname;
	char *err;
	size_t errlen;
	int moved;              /* the images are in d->dir_fd already */
	int unlock_err;         /* the client's answer to network-unlock */
};

static int on_stage(enum checkpoint_stage stage, void *arg)
{
	struct stages *g = arg;
	const char *name = checkpoint_stage_name(stage);
	int r;

	switch (stage) {
	case CHECKPOINT_PRE_DUMP:
		return 0;       /* sent by the server before the dump began (control.h, step 2) */
	case CHECKPOINT_POST_DUMP:
		r = move_up(g->d->dir_fd, g->tmpname, g->err, g->errlen);
		if (r < 0) {
			if (!g->err[0])
				log_fmt(g->err, g->errlen, "cannot lay out the images in %s: %s",
					g->d->dir_path, log_errname(r));
			return r;
		}
		g->moved = 1;
		break;
	case CHECKPOINT_NETWORK_LOCK:
	case CHECKPOINT_NETWORK_UNLOCK:
		break;
	}
	r = g->d->notify(g->d, name);
	if (r < 0 && stage == CHECKPOINT_NETWORK_UNLOCK)
		g->unlock_err = r;
	else if (r < 0)
		log_fmt(g->err, g->errlen, "%s notification: %s; the checkpoint was undone, every "
			"socket resumed and the process goes on", name, r == -ECANCELED ?
			"the client reported a script error" : log_errname(r));
	return r;
}

int control_ckpt_dump(void *ctx, struct control_dump *d, char *err, size_t errlen)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result res;
	char tmpname[64], tmp[PATH_MAX + 64];
	struct stack *st = stack_default();
	struct stages g = { .d = d, .err = err, .errlen = errlen };
	unsigned established = 0;
	int r;

	fdt_foreach(count_established, &established);
	if (established && !d->tcp_established) {
		log_fmt(err, errlen, "%u established TCP connection(s); set tcp_established to "
			"checkpoint them", established);
		return -EBUSY;
	}
	log_fmt(tmpname, sizeof(tmpname), ".sockshift-ckpt-%d", (int)getpid());
	log_fmt(tmp, sizeof(tmp), "%s/%s", d->dir_path, tmpname);
	o.dir = tmp;
	o.stack = st ? st->name : NULL;
	o.exit_mode = !d->leave_running;
	g.tmpname = tmpname;
	if (o.exit_mode || d->notify_scripts) {
		o.notify = on_stage;
		o.notify_arg = &g;
	}
	pthread_mutex_lock(&ckpt_lock);
	quiesce_set_exempt(1);      /* this thread runs the checkpoint: it passes the gate */
	r = checkpoint_run(&o, &res);
	if (r < 0) {
		pthread_mutex_unlock(&ckpt_lock);
		if (!err[0])
			log_fmt(err, errlen, "checkpoint failed: %s", log_errname(r));
		return r;
	}
	if (!g.moved)
		r = move_up(d->dir_fd, tmpname, err, errlen);
	if (r < 0 && !err[0])
		log_fmt(err, errlen, "cannot lay out the images in %s: %s", d->dir_path, log_errname(r));
	if (r == 0 && g.unlock_err < 0) {
		r = g.unlock_err;
		log_fmt(err, errlen, "network-unlock notification: %s (the process goes on)",
			r == -ECANCELED ? "the client reported a script error" : log_errname(r));
	}
	logi("control: checkpoint for pid %d: %u connections, %u listeners, %u skipped, pause %llu us "
	     "-> %s", (int)d->client_pid, res.nconns, res.nlisteners, res.nskipped,
	     (unsigned long long)res.pause_us, d->dir_path);
	d->has_stats = 1;
	d->stats.conns = res.nconns;
	d->stats.listeners = res.nlisteners;
	d->stats.skipped = res.nskipped;
	d->stats.queued = res.nqueued;
	d->stats.late = res.nlate;
	d->stats.bytes = res.bytes;
	d->stats.lock_us = res.lock_us;
	d->stats.pause_us = res.pause_us;
	d->stats.write_us = res.write_us;
	d->stats.total_us = res.total_us;
	d->stats.resumed_at_us = o.exit_mode ? 0 : res.resumed_at_us;
	log_fmt(d->stats.netlock, sizeof(d->stats.netlock), "%s", res.netlock);
	if (o.exit_mode)
		d->keep_lock = 1;   /* handed over: frozen and locked until this process ends */
	pthread_mutex_unlock(&ckpt_lock);
	return r;
}

void control_ckpt_done(void *ctx, struct control_dump *d)
{
	if (!d->leave_running) {
		logi("control: handed over to %s; exiting", d->dir_path);
		rawsys1(SYS_exit_group, CTL_EXIT_HANDED_OVER);
	}
}

int control_ckpt_check(void *ctx, char *err, size_t errlen)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f) {
		log_fmt(err, errlen, "cannot read /proc/self/status");
		return -EIO;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	if (!(eff & (1ull << 12))) {
		log_fmt(err, errlen, "TCP_REPAIR and the network lock need CAP_NET_ADMIN, which this "
			"process does not have");
		return -EPERM;
	}
	return 0;
}
