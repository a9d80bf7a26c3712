/*
 * init — the constructor: resolve libc, load the configuration, open the log, bring up the
 * stack, take over inherited sockets. Fails closed: a configuration that does not parse or
 * a stack that cannot be opened ends the program here, before main(), with a message that
 * names the problem and exit status 125.
 *
 * Also holds what the exec hooks need to keep the shim in children: the library's own path
 * and the SOCKSHIFT_* settings this process started with.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctlthread.h"
#include "epolltrack.h"
#include "fdtable.h"
#include "ownfd.h"
#include "progfd.h"
#include "quiesce.h"
#include "rawsys.h"
#include "restore.h"
#include "shim.h"
#include "sock.h"
#include "route.h"
#include "stack.h"
#include "stack_setup.h"

extern char **environ;

atomic_int shim_ready;
static pthread_once_t shim_once = PTHREAD_ONCE_INIT;

/* Read by hook_exec.c. */
char shim_self_path[4096];
char *shim_keep_env[16];
static char keep_store[8192];

void shim_fatal(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	size_t n;

	n = log_fmt(msg, sizeof(msg), "sockshift: ");
	va_start(ap, fmt);
	n += log_vfmt(msg + n, sizeof(msg) - n - 1, fmt, ap);
	va_end(ap);
	msg[n++] = '\n';
	rawsys3(SYS_write, 2, msg, n);
	rawsys1(SYS_exit_group, status);
	__builtin_unreachable();
}

static void find_self(void)
{
	Dl_info info;

	if (dladdr((void *)&shim_init, &info) && info.dli_fname && info.dli_fname[0] == '/')
		log_fmt(shim_self_path, sizeof(shim_self_path), "%s", info.dli_fname);
}

/* The settings children must keep, copied now: the program may change environ later. */
static void save_keep_env(void)
{
	size_t used = 0;
	int n = 0;

	for (char **e = environ; e && *e && n < 15; e++) {
		if (strncmp(*e, "SOCKSHIFT_", 10) || !strncmp(*e, "SOCKSHIFT_FDS=", 14))
			continue;
		size_t len = strlen(*e) + 1;
		if (used + len > sizeof(keep_store))
			break;
		memcpy(keep_store + used, *e, len);
		shim_keep_env[n++] = keep_store + used;
		used += len;
	}
	shim_keep_env[n] = NULL;
}

static void log_fd_moved(int oldfd, int newfd)
{
	if (log_get_fd() == oldfd)
		log_set_fd(newfd);
}

static void open_log(const struct config *cfg)
{
	char prefix[32];

	log_fmt(prefix, sizeof(prefix), "sockshift[%ld]", rawsys0(SYS_getpid));
	log_set_prefix(prefix);
	log_set_level(cfg->log_level);
	if (!cfg->log_file[0]) {
		log_set_fd(2);
		return;
	}
	int fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "SOCKSHIFT_LOG_FILE: cannot open '%s' for appending: %s",
			   cfg->log_file, log_errname(-errno));
	fd = ownfd_adopt(fd);
	if (fd < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "SOCKSHIFT_LOG_FILE: cannot keep the log fd: %s",
			   log_errname(fd));
	ownfd_set_moved_cb(log_fd_moved);
	log_set_fd(fd);
}

static void fork_prepare(void) { fdt_fork_prepare(); }
static void fork_parent(void) { fdt_fork_parent(); }

/* A fork child whose control thread is still to start: its pid, so a vfork child of it (same
 * memory, another pid) never starts threads. */
atomic_int shim_fork_pending;

static void fork_child(void)
{
	char prefix[32];

	fdt_fork_child();
	quiesce_fork_child();
	progfd_fork_child();
	ctl_fork_child();
	log_fmt(prefix, sizeof(prefix), "sockshift[%ld]", rawsys0(SYS_getpid));
	log_set_prefix(prefix);
	/* Not here: fork may have been called in a signal handler. The next hooked call of
	 * the child (shim_enter sees shim_ready 0) starts it: child_start(). */
	atomic_store(&shim_fork_pending, (int)rawsys0(SYS_getpid));
	atomic_store_explicit(&shim_ready, 0, memory_order_release);
}

/* Set on the thread running do_init: libraries that bring up stacks (libvdestack, libnl)
 * call hooked functions from inside it, which must go straight through, not wait on the
 * pthread_once that is running. */
static __thread int shim_initializing;

static void do_init(void)
{
	char err[CONFIG_ERR_MAX], why[CONFIG_ERR_MAX];
	static struct config cfg; /* large (stack lists); the constructor's stack may be small */
	int saved = errno;

	shim_initializing = 1;
	shim_resolve();
	if (config_load(&cfg, environ, err, sizeof(err)) < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "%s", err);
	open_log(&cfg);
	if (stack_setup_apply(&cfg, why, sizeof(why)) < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "%s", why);
	shim_patch_start(&cfg);   /* before any thread of ours starts */
	epolltrack_enable(route_active());
	quiesce_init();
	restore_prepare(&cfg);   /* restore_run() in the constructor: it needs the hooks */
	unsetenv("SOCKSHIFT_RESTORE");   /* children must not restore the same images again */
	find_self();
	save_keep_env();
	const char *fds = getenv("SOCKSHIFT_FDS");
	if (fds && sock_adopt_inherited(fds, err, sizeof(err)) < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "%s", err);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	ctl_prepare(&cfg);   /* ctl_start() in the constructor */
	shim_control_start(&cfg);
	logi("started: stack=%s%s log=%s%s%s", stack_default()->name, route_active() ? " +routes" : "",
	     log_level_name(cfg.log_level), cfg.conf_path[0] ? " conf=" : "", cfg.conf_path);
	errno = saved;
	atomic_store_explicit(&shim_ready, 1, memory_order_release);
	shim_initializing = 0;
}

/*
 * A fork child's first hooked call (not close/dup/fcntl/fork/exec: shim_enter_nostart, so
 * that fork + exec costs no thread): its own checkpoint control thread, so that a pre-fork
 * server's children can be checkpointed by their pid (the signal; `sockshift dump` uses it for
 * a process without a control socket). No control socket: children mostly end with _exit(),
 * which runs no exit handler, so each would leave its socket file behind. One thread wins;
 * the others go on meanwhile (hooks work without the control thread).
 */
static void child_start(void)
{
	int expect = (int)rawsys0(SYS_getpid), saved = errno;

	if (!atomic_compare_exchange_strong(&shim_fork_pending, &expect, 0))
		return;   /* another thread starts it, or a vfork child of the child */
	int r = ctl_start_child();
	if (r < 0)
		logw("fork child: no checkpoint control thread: %s", log_errname(r));
	errno = saved;
	atomic_store_explicit(&shim_ready, 1, memory_order_release);
}

void shim_init(void)
{
	if (shim_initializing)
		return;
	if (atomic_load(&shim_fork_pending)) {
		child_start();
		return;
	}
	pthread_once(&shim_once, do_init);
}

__attribute__((constructor)) static void shim_constructor(void)
{
	shim_init();
	char err[CONFIG_ERR_MAX];
	if (ctl_start() < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "cannot start the checkpoint control thread");
	if (restore_run(err, sizeof(err)) < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "SOCKSHIFT_RESTORE: %s", err);
	ctl_restore_done();   /* the control thread may take its own fd table now */
}
