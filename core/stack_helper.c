/*
 * stack_helper — plug-in helper processes end with the program (see stack_helper.h).
 *
 * The trampoline runs in the new child before the plug-in's own function. With CLONE_VM
 * the child shares our memory and even our thread's TLS (errno included), so it touches
 * nothing but its own slot and raw system calls before handing over.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "rawsys.h"
#include "real.h"
#include "stack.h"
#include "stack_helper.h"

struct slot {
	int (*fn)(void *);
	void *arg;
	long parent;            /* the process that cloned */
};

#define SLOTS 16
static struct slot slots[SLOTS];
static unsigned nslot;
static long watching;           /* the tid inside a plug-in's newstack, 0 if none */

void stack_helper_watch_begin(void)
{
	watching = rawsys0(SYS_gettid);
}

void stack_helper_watch_end(void)
{
	watching = 0;
}

static int trampoline(void *p)
{
	struct slot *s = p;

	rawsys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	if (rawsys0(SYS_getppid) != s->parent) /* the program died before the line above */
		rawsys1(SYS_exit, 0);
	return s->fn(s->arg);
}

long stack_helper_clone(int (*fn)(void *), void *stack, int flags, void *arg, pid_t *ptid, void *tls,
			pid_t *ctid)
{
	long self = rawsys0(SYS_getpid), tid = rawsys0(SYS_gettid);
	struct slot *s;
	int r;

	if (!watching || watching != tid || (flags & CLONE_THREAD)) {
		r = real.clone(fn, stack, flags, arg, ptid, tls, ctid);
		return r < 0 ? -errno : r;
	}
	if (tid != self) {
		logw("a plug-in stack opened on thread %ld, not the main thread: its helper process "
		     "is not tied to the program's life", tid);
		r = real.clone(fn, stack, flags, arg, ptid, tls, ctid);
		return r < 0 ? -errno : r;
	}
	/* Each clone gets its own slot: the child may read it after we clone again. */
	s = &slots[nslot++ % SLOTS];
	*s = (struct slot){ fn, arg, self };
	r = real.clone(trampoline, stack, flags, s, ptid, tls, ctid);
	if (r < 0)
		return -errno;
	logd("plug-in helper %d started; it gets SIGKILL when this process dies", r);
	return r;
}

struct survivors {
	unsigned stack_id;
	int n;
};

static int count_survivor(const struct fdt_rec *rec, void *arg)
{
	struct survivors *sv = arg;
	int fl;

	if (rec->stack_id != sv->stack_id)
		return 0;
	fl = real.fcntl(rec->fd, F_GETFD);
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		sv->n++;
	return 0;
}

int stack_helper_exec_prepare(int dirfd, const char *path)
{
	int ended = 0, checked = 0;

	for (unsigned id = 1; id < STACK_MAX; id++) {
		struct stack *st = stack_by_id(id);
		struct survivors sv = { id, 0 };
		if (!st || (st->kind != STACK_PLUGIN && st->kind != STACK_VDESTACK) ||
		    !stack_plugin_owned(st))
			continue;   /* joined, made by the parent of a forked child, or ended */
		fdt_foreach(count_survivor, &sv);
		if (sv.n) {
			logi("exec: stack %s stays for %d socket(s) the new image inherits; it joins "
			     "the stack, whose helper ends with this process", st->name, sv.n);
			continue;
		}
		/* Programs that search PATH themselves (dash) call execve once per directory:
		 * only end stacks for a file that can be executed. */
		if (!checked++ && path && rawsys4(SYS_faccessat, dirfd, (long)path, X_OK, 0) < 0)
			return 0;
		int r = stack_plugin_close(st);
		if (r > 0) {
			logd("exec: stack %s ended before exec (no socket on it survives)", st->name);
			ended++;
		} else if (r < 0) {
			logw("exec: stack %s cannot be ended (%s); its helper ends with this process",
			     st->name, log_errname(r));
		}
	}
	return ended;
}

void stack_helper_exec_failed(int n)
{
	if (n > 0)
		logw("exec failed after %d plug-in stack(s) were ended for it: new sockets on them "
		     "fail with ENETDOWN", n);
}
