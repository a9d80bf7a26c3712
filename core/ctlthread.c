/*
 * ctlthread — the control thread, the checkpoint signal and its chaining (see ctlthread.h).
 * The handler is async-signal-safe: an atomic increment and a futex wake (raw system call),
 * then the program's handler if it set one. No fd: the shim adds nothing a program could see
 * in /proc/self/fd or close. Everything else runs on the control thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "config.h"
#include "ctlthread.h"
#include "log.h"
#include "progfd.h"
#include "quiesce.h"
#include "rawsys.h"
#include "real.h"
#include "restore.h"

static int ctl_sig;                 /* 0 until ctl_start */
static atomic_int wake_seq;         /* bumped by the handler: checkpoints asked for */
static atomic_int wake_word;        /* bumped by every wake-up: the control thread waits on it */
static atomic_int forked;
static struct sigaction prog_act;   /* the program's wish for ctl_sig (SIG_DFL at start) */
static atomic_llong sig_time_us;    /* when the signal arrived, for the pause measurement */
static struct config ctl_cfg;
static unsigned seq;
static atomic_int restore_done;     /* 1: the constructor's restore_run returned */

int ctl_signal_number(void)
{
	return ctl_sig;
}

int ctl_signal_parse(const char *s)
{
	static const struct { const char *n; int v; } names[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "URG", SIGURG }, { "WINCH", SIGWINCH }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
		{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
		{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "CONT", SIGCONT }, { "TSTP", SIGTSTP },
		{ "KILL", SIGKILL }, { "STOP", SIGSTOP }, { "SEGV", SIGSEGV }, { "BUS", SIGBUS },
		{ "ILL", SIGILL }, { "FPE", SIGFPE }, { "CHLD", SIGCHLD }, { "ABRT", SIGABRT },
		{ "TRAP", SIGTRAP },
	};
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	if (*s >= '0' && *s <= '9') {
		v = strtol(s, &end, 10);
		return (*end || v < 1 || v > SIGRTMAX) ? -EINVAL : (int)v;
	}
	if (!strncmp(s, "RTMIN", 5) || !strncmp(s, "RTMAX", 5)) {
		int base = s[3] == 'I' ? SIGRTMIN : SIGRTMAX;

		if (!s[5])
			return base;
		v = strtol(s + 5, &end, 10);
		if (*end)
			return -EINVAL;
		v += base;
		return (v < SIGRTMIN || v > SIGRTMAX) ? -EINVAL : (int)v;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].n))
			return names[i].v;
	return -EINVAL;
}

void ctl_run_dir(char *buf, size_t size)
{
	if (geteuid() == 0)
		log_fmt(buf, size, "/run/sockshift");
	else
		log_fmt(buf, size, "/tmp/sockshift-run-%u", (unsigned)geteuid());
}

void ctl_req_path(char *buf, size_t size, int pid)
{
	char d[128];

	ctl_run_dir(d, sizeof(d));
	log_fmt(buf, size, "%s/%d.req", d, pid);
}

void ctl_status_path(char *buf, size_t size, int pid)
{
	char d[128];

	ctl_run_dir(d, sizeof(d));
	log_fmt(buf, size, "%s/%d.status", d, pid);
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	int e = errno;

	if (!atomic_load(&forked) && ctl_sig) {
		atomic_store(&sig_time_us, mono_us());
		atomic_fetch_add(&wake_seq, 1);
		atomic_fetch_add(&wake_word, 1);
		rawsys3(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1);
	}
	/* the program's own handler for this signal, as it asked for it */
	if (prog_act.sa_flags & SA_SIGINFO) {
		if (prog_act.sa_sigaction)
			prog_act.sa_sigaction(sig, info, uctx);
	} else if (prog_act.sa_handler != SIG_DFL && prog_act.sa_handler != SIG_IGN) {
		prog_act.sa_handler(sig);
	}
	errno = e;
}

int ctl_sigaction(int sig, const struct sigaction *act, struct sigaction *old, int *handled)
{
	*handled = 0;
	if (!ctl_sig || sig != ctl_sig)
		return 0;
	*handled = 1;
	if (old)
		*old = prog_act;
	if (act)
		prog_act = *act;   /* ours stays installed and calls this one */
	return 0;
}

/* Reads and removes a request the tool left (only ours, only small, only a regular file). */
static void read_request(char *images, size_t size, int *exit_mode)
{
	char path[256], buf[4096];
	struct stat st;
	int fd;
	ssize_t n;

	ctl_req_path(path, sizeof(path), (int)getpid());
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		logw("checkpoint: ignoring %s (not a private regular file of ours)", path);
		goto out;
	}
	n = rawsys3(SYS_read, fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		goto out;
	buf[n] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "images=", 7) && line[7])
			log_fmt(images, size, "%s", line + 7);
		else if (!strcmp(line, "mode=exit"))
			*exit_mode = 1;
		else if (!strcmp(line, "mode=resume"))
			*exit_mode = 0;
	}
out:
	rawsys1(SYS_close, fd);
	unlink(path);
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
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

static void write_status(unsigned s, int err, const char *dir, const struct checkpoint_result *r,
			 long long from_signal_us, int exit_mode)
{
	char path[256], tmp[300], rd[128], buf[2048];
	int fd;
	size_t n;

	ctl_run_dir(rd, sizeof(rd));
	if (mkdir_p(rd) < 0)
		return;
	ctl_status_path(path, sizeof(path), (int)getpid());
	log_fmt(tmp, sizeof(tmp), "%s.tmp", path);
	n = log_fmt(buf, sizeof(buf),
		    "seq=%u\nerr=%d\nerror=%s\ndir=%s\nmode=%s\nconns=%u\nlisteners=%u\nskipped=%u\n"
		    "bytes=%llu\nlock_us=%llu\npause_us=%llu\nsignal_to_resumed_us=%lld\nwrite_us=%llu\n"
		    "total_us=%llu\nnetlock=%s\nqueued=%u\nlate=%u\n",
		    s, err, err ? log_errname(-err) : "", dir, exit_mode ? "exit" : "resume", r->nconns,
		    r->nlisteners, r->nskipped, (unsigned long long)r->bytes,
		    (unsigned long long)r->lock_us, (unsigned long long)r->pause_us, from_signal_us,
		    (unsigned long long)r->write_us, (unsigned long long)r->total_us, r->netlock, r->nqueued, r->nlate);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	rawsys3(SYS_write, fd, buf, n);
	rawsys1(SYS_fsync, fd);
	rawsys1(SYS_close, fd);
	rename(tmp, path);
}

static void do_checkpoint(void)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	char images[PATH_MAX], dir[PATH_MAX + 64];
	int exit_mode = ctl_cfg.on_dump_exit, err;
	long long t_sig = atomic_load(&sig_time_us);

	log_fmt(images, sizeof(images), "%s", ctl_cfg.images);
	read_request(images, sizeof(images), &exit_mode);
	seq++;
	log_fmt(dir, sizeof(dir), "%s/ckpt-%d-%lld-%u", images, (int)getpid(), (long long)time(NULL), seq);
	memset(&r, 0, sizeof(r));
	err = mkdir_p(images);
	if (err) {
		loge("checkpoint: cannot create %s: %s", images, log_errname(-err));
	} else {
		o.dir = dir;
		o.stack = ctl_cfg.stack;
		o.exit_mode = exit_mode;
		o.strict = ctl_cfg.strict;
		err = checkpoint_run(&o, &r);
	}
	long long from_sig = t_sig && r.resumed_at_us ? (long long)r.resumed_at_us - t_sig : 0;
	write_status(seq, err, dir, &r, from_sig, exit_mode);
	if (err) {
		loge("checkpoint %u failed: %s; the program goes on with its sockets as they were", seq,
		     log_errname(-err));
		return;
	}
	logi("checkpoint %u: %u connections, %u listeners, %u skipped, %llu bytes, pause %llu us -> %s%s",
	     seq, r.nconns, r.nlisteners, r.nskipped, (unsigned long long)r.bytes,
	     (unsigned long long)r.pause_us, dir, exit_mode ? " (handing over: exiting)" : "");
	if (exit_mode)
		rawsys1(SYS_exit_group, CTL_EXIT_HANDED_OVER);
}

static void *ctl_main(void *arg)
{
	sigset_t set;

	/* program signals go to the program's threads; the checkpoint signal may come here */
	sigfillset(&set);
	sigdelset(&set, ctl_sig);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	quiesce_set_exempt(1);
	int seen = arg ? 0 : atomic_load(&wake_seq);
	for (;;) {
		int word = atomic_load(&wake_word);

		/* A private fd table (progfd.h) gives the program back the kernel's fast fd lookups;
		 * not before a restore is over: restore_expire closes fds in the program's table. */
		if (!progfd_detached() && atomic_load(&restore_done) == 1 &&
		    restore_next_timeout_ms() < 0) {
			int r = progfd_detach(NULL, 0);
			if (r < 0 && atomic_exchange(&restore_done, 2) == 1)   /* tried once */
				logw("control thread: no private fd table (%s): every socket call of the "
				     "program pays for a shared one", log_errname(r));
		}
		int timeout = restore_next_timeout_ms();

		if (timeout < 0 || timeout > 1000)
			timeout = 1000;   /* a restore may start after this thread (constructor) */
		struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };
		if (atomic_load(&wake_seq) == seen)
			rawsys4(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, word, &ts);
		int now = atomic_load(&wake_seq);
		if (now != seen) {
			seen = now;   /* signals that arrive during a checkpoint make one more */
			do_checkpoint();
		}
		if (!progfd_detached())
			restore_expire();   /* it works in the program's fd table */
	}
	return NULL;
}

void ctl_prepare(const struct config *cfg)
{
	ctl_cfg = *cfg;
}

/* from_zero: the thread counts checkpoint requests from wake_seq 0 (a fork child's, where
 * requests may come in before it runs). */
static int start_thread(int from_zero)
{
	pthread_t th;
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = -pthread_create(&th, &attr, ctl_main, from_zero ? &ctl_sig : NULL);
	pthread_attr_destroy(&attr);
	if (err)
		return err;
	pthread_setname_np(th, "sockshift-ctl");
	return 0;
}

int ctl_start(void)
{
	struct sigaction sa;
	sigset_t set;
	int err;

	if (ctl_sig)
		return 0;
	ctl_sig = ctl_cfg.ckpt_signal;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	prog_act.sa_handler = SIG_DFL;
	if (real.sigaction(ctl_sig, &sa, NULL) < 0)
		return -errno;
	err = start_thread(0);
	if (err)
		return err;
	/*
	 * The program's threads (created later from this one) inherit a mask that blocks the
	 * signal, so it lands on the control thread and never interrupts the program's own
	 * epoll_wait/poll/nanosleep with EINTR. A program that unblocks it may get it itself,
	 * and its handler runs chained as usual.
	 */
	sigemptyset(&set);
	sigaddset(&set, ctl_sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return 0;
}

void ctl_restore_done(void)
{
	int expect = 0;

	if (atomic_compare_exchange_strong(&restore_done, &expect, 1)) {
		atomic_fetch_add(&wake_word, 1);   /* a wake-up without a checkpoint */
		rawsys3(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1);
	}
}

void ctl_fork_child(void)
{
	atomic_store(&forked, 1);
}

int ctl_start_child(void)
{
	if (!ctl_sig || !atomic_load(&forked))
		return 0;
	/* the handler and the program's wishes are inherited; only the thread is missing */
	atomic_store(&wake_seq, 0);
	atomic_store(&forked, 0);   /* a signal from now on counts (it waits, blocked, for the thread) */
	int err = start_thread(1);
	if (err)
		atomic_store(&forked, 1);
	return err;
}
