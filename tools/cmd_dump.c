/*
 * cmd_dump — `sockshift dump PID [--images DIR] [--exit] [--timeout SECONDS]`: checkpoint the
 * TCP sockets of a running shimmed process and report what was saved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "ctlthread.h"
#include "log.h"
#include "real.h"
#include "util.h"

static void dump_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift dump PID [--images DIR] [--exit] [--timeout SECONDS]\n"
		"\n"
		"Checkpoints every TCP socket of PID, a program running under sockshift: a DUMP request\n"
		"over its control socket (docs/control.md) saves the sockets into a new directory\n"
		"under DIR (default: the process's SOCKSHIFT_IMAGES) and resumes them, or with --exit\n"
		"leaves them frozen for a new process (SOCKSHIFT_RESTORE) and ends PID. A process\n"
		"started with SOCKSHIFT_CONTROL=off is sent its checkpoint signal instead\n"
		"(SOCKSHIFT_SIGNAL, default SIGPWR). Waits for the result (default 30 s).\n"
		"Prints: connections, listeners, skipped sockets, queued bytes, pause, directory.\n"
		"Exit status: 0 saved, 1 the checkpoint failed or PID is not under sockshift, 2 usage.\n");
}

int cmd_dump(int argc, char **argv)
{
	const char *images = NULL, *v;
	int pid = 0, exit_mode = -1, r;
	unsigned timeout = 30;
	struct ctl_status st;
	char err[RPC_ERRMSG_MAX] = "";
	int signalled = 0;

	for (int i = 1; i < argc; i++) {
		if (util_is_help(argv[i])) {
			dump_usage(stdout);
			return 0;
		} else if ((v = util_opt_value(argc, argv, &i, "--images"))) {
			images = v;
		} else if ((v = util_opt_value(argc, argv, &i, "--timeout"))) {
			timeout = (unsigned)atoi(v);
		} else if (!strcmp(argv[i], "--exit")) {
			exit_mode = 1;
		} else if (!strcmp(argv[i], "--resume")) {
			exit_mode = 0;
		} else if (!pid && atoi(argv[i]) > 0) {
			pid = atoi(argv[i]);
		} else {
			util_warn("dump: unexpected argument '%s'", argv[i]);
			dump_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!pid) {
		dump_usage(stderr);
		return EXIT_USAGE;
	}
	real_use_libc();
	r = control_dump_request(pid, images, exit_mode, timeout * 1000, &st, err, sizeof(err));
	if (r == -ENOTCONN) {
		util_warn("dump: %s: using the checkpoint signal instead", err);
		signalled = 1;
		err[0] = 0;
		memset(&st, 0, sizeof(st));
		r = ctl_dump_request(pid, images, exit_mode, timeout * 1000, &st);
		if (r && st.error[0])
			log_fmt(err, sizeof(err), "%s", st.error);
	}
	if (r == -EACCES || r == -EPERM)
		util_die(EXIT_OPFAIL, "dump: not allowed to inspect or %s process %d: %s", signalled ?
			 "signal" : "ask", pid, err[0] ? err : strerror(-r));
	if (r == -ESRCH)
		util_die(EXIT_OPFAIL, "dump: no process %d%s%s", pid, err[0] ? ": " : "", err);
	if (r == -ENOTSUP)
		util_die(EXIT_OPFAIL, "dump: process %d is not running under sockshift "
			 "(libsockshift.so is not loaded); nothing was signalled", pid);
	if (r == -ETIMEDOUT)
		util_die(EXIT_OPFAIL, "dump: process %d did not report a checkpoint within %u s", pid, timeout);
	if (r)
		util_die(EXIT_OPFAIL, "dump: checkpoint of %d failed: %s (its sockets are unchanged)",
			 pid, err[0] ? err : strerror(-r));
	char seq[16] = "";
	if (signalled)   /* the reply of a DUMP carries no sequence number: its directory names it */
		log_fmt(seq, sizeof(seq), " %u", st.seq);
	printf("checkpoint%s of %d (%s): %u connections, %u listeners, %u skipped, %llu bytes queued\n"
	       "pause %.3f ms (%s to resumed %.3f ms), lock %.3f ms, images %.3f ms, total %.3f ms\n"
	       "images: %s\n",
	       seq, pid, st.mode, st.conns, st.listeners, st.skipped, st.bytes, st.pause_us / 1e3,
	       signalled ? "signal" : "request", st.signal_to_resumed_us / 1e3, st.lock_us / 1e3,
	       st.write_us / 1e3, st.total_us / 1e3, st.dir);
	if (st.queued || st.late)
		printf("of those: %u taken from listeners' accept queues, %u found by the second "
		       "snapshot (created or accepted while the checkpoint began)\n", st.queued, st.late);
	if (!strcmp(st.mode, "exit"))
		printf("network lock kept: %s (lifted by the restoring process, or 'sockshift unlock')\n",
		       st.netlock);
	return 0;
}
