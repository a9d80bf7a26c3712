/*
 * ctlthread — the shim's control thread: the checkpoint signal wakes it, it runs the
 * checkpoint (checkpoint.h) away from the program's threads, reports the outcome in a status
 * file, and in exit mode ends the process once the images are safe. It also closes restored
 * connections nobody claimed within the grace period (restore.h).
 *
 * The signal (SOCKSHIFT_SIGNAL, default SIGPWR) is caught by a handler that only wakes the
 * control thread (a futex, no fd), then calls the program's own handler for that signal if it installed one: the
 * sigaction()/signal() hooks record the program's handler instead of replacing ours. The
 * control thread keeps the signal unblocked, so a program that blocks it in all its threads
 * (or reads it through signalfd) still gets checkpointed.
 *
 * Requests from `sockshift dump` (another process) go through the run directory
 * (ctl_run_dir: /run/sockshift for root, /tmp/sockshift-run-UID otherwise):
 *	PID.req      written by the tool before it signals: "images=DIR\nmode=exit|resume\n"
 *	PID.status   written by the shim after each checkpoint: "key=value" lines, "seq=" first
 */
#ifndef SOCKSHIFT_CTLTHREAD_H
#define SOCKSHIFT_CTLTHREAD_H

#include <signal.h>
#include <stddef.h>

struct config;

/* Exit status of a process that handed its connections over (exit mode, images complete). */
#define CTL_EXIT_HANDED_OVER 0

/* Remembers the configuration (the shim's init); ctl_start() later, from the shim's
 * constructor: never from inside an allocator's initialisation, where pthread_create
 * would deadlock (jemalloc reads /proc, i.e. calls our read hook, under its init lock). */
void ctl_prepare(const struct config *cfg);
/* Starts the control thread and installs the signal handler; 0 or -errno. */
int ctl_start(void);
/* The shim's constructor ran restore_run: once no restored connection is pending, the control
 * thread moves to a private fd table (progfd.h) so the program keeps the kernel's fast
 * single-table fd lookups. Before that it shares the program's table. */
void ctl_restore_done(void);
/* In a fork child: the control thread is the parent's; the signal only reaches the program
 * until ctl_start_child() (the shim calls it at the child's first hooked call, never from the
 * fork handler, which may run inside a signal handler) starts the child's own. 0 or -errno. */
void ctl_fork_child(void);
int ctl_start_child(void);
/* The signal hooks: 1 if sig is the checkpoint signal and was handled here, else 0. */
int ctl_sigaction(int sig, const struct sigaction *act, struct sigaction *old, int *handled);
int ctl_signal_number(void);

/* Run directory and the request/status paths for pid. */
void ctl_run_dir(char *buf, size_t size);
void ctl_req_path(char *buf, size_t size, int pid);
void ctl_status_path(char *buf, size_t size, int pid);

/* ---- the requesting side (sockshift dump / migrate; ctlthread_req.c) ---- */
struct ctl_status {
	unsigned seq;
	int err;                  /* -errno of the checkpoint, 0 ok */
	char error[64], dir[4096], mode[16], netlock[64];
	unsigned conns, listeners, skipped;
	unsigned queued, late;    /* of those: from accept queues, found by the second snapshot */
	unsigned long long bytes, lock_us, pause_us, signal_to_resumed_us, write_us, total_us;
};
/* Reads pid's last status; -ENOENT if it never checkpointed. */
int ctl_status_read(int pid, struct ctl_status *st);
/* 1 if pid runs with libsockshift.so loaded, 0 if not, -errno (no such process). */
int ctl_pid_shimmed(int pid);
/*
 * Asks pid for a checkpoint (images: NULL = its SOCKSHIFT_IMAGES; exit_mode -1 = its
 * SOCKSHIFT_ON_DUMP) and waits up to timeout_ms for the status. 0 with *st filled, or -errno:
 * -ESRCH no such process, -ENOTSUP not under sockshift, -ETIMEDOUT, or the checkpoint's error.
 */
int ctl_dump_request(int pid, const char *images, int exit_mode, unsigned timeout_ms,
		     struct ctl_status *st);

/* Parses a signal name or number ("SIGPWR", "PWR", "30", "RTMIN+3"); the number or -EINVAL. */
int ctl_signal_parse(const char *s);

#endif
