/*
 * control — starts the control socket server (core/control.h) at init, on a thread with its
 * own fd table (progfd.h: the listening socket is not among the program's fds), and removes
 * the socket at exit.
 *
 * The checkpoint plugs in here: ops.dump / ops.check / ops.dump_done below are what the
 * server calls for DUMP and CHECK (without them the server answers ENOSYS).
 * A process forked without exec has no control socket of its own (the server thread is
 * the parent's); an exec'd child gets its own at its init.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "shim.h"
#include "stack.h"

static struct control_server *server;
static pid_t server_pid;
static char link_path[PATH_MAX];    /* the default-path link to a SOCKSHIFT_CONTROL path */

static void unlink_link(void)
{
	if (link_path[0])
		unlink(link_path);
}

/* An exit-mode hand-over ends the process with exit_group: no atexit handlers run, so the
 * socket goes first. */
static void dump_done(void *ctx, struct control_dump *d)
{
	if (!d->leave_running) {
		control_server_unlink(server);
		unlink_link();
	}
	control_ckpt_done(ctx, d);
}

/* DUMP and CHECK run the checkpoint (core/control_ckpt.c over checkpoint.h). */
static struct control_ops ops = {
	.dump = control_ckpt_dump,
	.dump_done = dump_done,
	.check = control_ckpt_check,
};

static void unlink_at_exit(void)
{
	/* Only the process that bound it: a forked child's exit must not remove it. */
	if (server && getpid() == server_pid) {
		control_server_unlink(server);
		unlink_link();
	}
}

void shim_control_start(const struct config *cfg)
{
	char path[PATH_MAX], err[CONFIG_ERR_MAX];
	int r;

	if (!strcmp(cfg->control, CONTROL_OFF))
		return;
	if (cfg->control[0])
		log_fmt(path, sizeof(path), "%s", cfg->control);
	else if ((r = control_default_path(getpid(), path, sizeof(path))) < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "control socket: no default path: %s "
			   "(set SOCKSHIFT_CONTROL=PATH, or =off)", log_errname(r));
	ops.stack_name = stack_default() ? stack_default()->name : "kernel";
	r = control_server_start(path, &ops, CONTROL_SERVER_DETACH, &server, err, sizeof(err));
	if (r == -EADDRINUSE && cfg->control[0]) {
		/* A child that inherited SOCKSHIFT_CONTROL: its parent has the path. */
		logi("control socket: %s", err);
		if (control_default_path(getpid(), path, sizeof(path)) == 0)
			r = control_server_start(path, &ops, CONTROL_SERVER_DETACH, &server, err,
						 sizeof(err));
	}
	if (r < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "control socket is not available: %s "
			   "(SOCKSHIFT_CONTROL=PATH chooses another path, =off disables it)", err);
	server_pid = getpid();
	if (strcmp(control_server_path(server), path) == 0 && cfg->control[0] &&
	    control_link_default(path, getpid(), link_path, sizeof(link_path)) < 0)
		link_path[0] = '\0';   /* only a convenience for ps and swrk */
	atexit(unlink_at_exit);
	logi("control socket: %s", path);
}
