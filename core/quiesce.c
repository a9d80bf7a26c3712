/*
 * quiesce — the checkpoint gate (see quiesce.h). Slots live in one static array; a thread
 * claims one on its first gated call and gives it back from a pthread key destructor. The
 * control side reads /proc/self/task/TID/syscall (raw system calls only, so nothing here
 * re-enters the shim) to tell a thread asleep in the kernel from one about to make its call.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <fcntl.h>

#include "log.h"
#include "quiesce.h"
#include "rawsys.h"

atomic_int quiesce_frozen;
int quiesce_need_fence = 1;
__thread struct quiesce_slot *quiesce_self __attribute__((tls_model("initial-exec")));

static struct quiesce_slot slots[QUIESCE_SLOTS];
static struct quiesce_slot overflow = { .shared = 1 };
static pthread_key_t slot_key;
static int key_ok;

static void slot_release(void *p)
{
	struct quiesce_slot *s = p;

	if (!s || s->shared)
		return;
	atomic_store(&s->depth, 0);
	s->exempt = 0;
	atomic_store(&s->tid, 0);
	quiesce_self = NULL;
}

void quiesce_init(void)
{
	if (rawsys2(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0)
		quiesce_need_fence = 0;
	if (pthread_key_create(&slot_key, slot_release) == 0)
		key_ok = 1;
}

struct quiesce_slot *quiesce_slot_get(void)
{
	int tid = (int)rawsys0(SYS_gettid);

	for (int i = 0; i < QUIESCE_SLOTS; i++) {
		int expect = 0;

		if (atomic_load_explicit(&slots[i].tid, memory_order_relaxed))
			continue;
		if (atomic_compare_exchange_strong(&slots[i].tid, &expect, tid)) {
			quiesce_self = &slots[i];
			if (key_ok)
				pthread_setspecific(slot_key, &slots[i]);
			return &slots[i];
		}
	}
	quiesce_self = &overflow;
	return &overflow;
}

void quiesce_fork_child(void)
{
	struct quiesce_slot *me = quiesce_self;
	int tid = (int)rawsys0(SYS_gettid);

	for (int i = 0; i < QUIESCE_SLOTS; i++)
		if (&slots[i] != me)
			slot_release(&slots[i]);
	if (me && !me->shared)
		atomic_store(&me->tid, tid);
	quiesce_self = me;
	atomic_store(&overflow.depth, 0);
	atomic_store(&quiesce_frozen, 0);
}

void quiesce_set_exempt(int on)
{
	struct quiesce_slot *s = quiesce_self ? quiesce_self : quiesce_slot_get();

	if (!s->shared)
		s->exempt = on;
}

static void futex_wait(atomic_int *addr, int val)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	rawsys6(SYS_futex, (long)addr, FUTEX_WAIT_PRIVATE, val, (long)&ts, 0, 0);
}

void quiesce_wait(struct quiesce_slot *s)
{
	if (s->shared) {
		/* no per-thread state: step out of the count while waiting */
		atomic_fetch_sub(&s->depth, 1);
		while (atomic_load(&quiesce_frozen))
			futex_wait(&quiesce_frozen, 1);
		atomic_fetch_add(&s->depth, 1);
		return;   /* the overflow slot is only ever waited for to drain; see freeze */
	}
	for (;;) {
		atomic_store(&s->waiting, 1);
		while (atomic_load(&quiesce_frozen))
			futex_wait(&quiesce_frozen, 1);
		atomic_store(&s->waiting, 0);
		atomic_thread_fence(memory_order_seq_cst);
		if (!atomic_load(&quiesce_frozen))
			return;
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void nap_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	rawsys2(SYS_nanosleep, (long)&ts, 0);
}

/*
 * What thread tid is doing: 1 = asleep in a system call (*nr, *arg0 filled), 0 = running or
 * faulting, -1 = gone.
 */
static int task_syscall(int tid, long *nr, unsigned long *arg0)
{
	char path[64], buf[256];
	long fd, n;

	log_fmt(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = rawsys4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	n = rawsys3(SYS_read, fd, buf, sizeof(buf) - 1);
	rawsys1(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (buf[0] < '0' || buf[0] > '9')
		return 0;   /* "running" or "-1 ..." (blocked outside a system call) */
	char *end;
	*nr = strtol(buf, &end, 10);
	*arg0 = strtoul(end, NULL, 16);
	return 1;
}

/* May thread of slot s stay where it is while sockets are frozen? */
static int slot_safe(struct quiesce_slot *s)
{
	long nr;
	unsigned long a0;
	int tid = atomic_load(&s->tid), r;

	if (!tid || s->exempt || atomic_load(&s->depth) == 0 || atomic_load(&s->waiting))
		return 1;
	r = task_syscall(tid, &nr, &a0);
	if (r < 0)
		return 1;
	/* asleep inside its gated call: the syscall's first argument is the fd it named */
	return r == 1 && nr != SYS_futex && (long)(int)a0 == atomic_load(&s->fd);
}

int quiesce_freeze(unsigned timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int pending;

	atomic_store(&quiesce_frozen, 1);
	if (!quiesce_need_fence)
		rawsys2(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
	for (unsigned spin = 0;; spin++) {
		pending = atomic_load(&overflow.depth) > 0;
		for (int i = 0; i < QUIESCE_SLOTS && !pending; i++)
			if (atomic_load_explicit(&slots[i].tid, memory_order_relaxed) && !slot_safe(&slots[i]))
				pending = 1;
		if (!pending)
			return 0;
		if (now_ms() > deadline)
			break;
		if (spin > 20)
			nap_us(50);
	}
	logw("checkpoint: threads did not leave their socket calls within %u ms", timeout_ms);
	quiesce_thaw();
	return -ETIMEDOUT;
}

void quiesce_thaw(void)
{
	atomic_store(&quiesce_frozen, 0);
	rawsys6(SYS_futex, (long)&quiesce_frozen, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
}

static int exempt_tid(int tid)
{
	for (int i = 0; i < QUIESCE_SLOTS; i++)
		if (slots[i].exempt && atomic_load(&slots[i].tid) == tid)
			return 1;
	return 0;
}

/* 1 if every other thread is asleep in a system call right now. */
static int all_idle(void)
{
	char buf[4096] __attribute__((aligned(8)));
	int self = (int)rawsys0(SYS_gettid), idle = 1;
	long dfd = rawsys4(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (dfd < 0)
		return 1;
	for (;;) {
		long n = rawsys3(SYS_getdents64, dfd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int tid = atoi(d->d_name);
			long nr;
			unsigned long a0;

			off += d->d_reclen;
			if (tid <= 0 || tid == self || exempt_tid(tid))
				continue;
			if (task_syscall(tid, &nr, &a0) == 0)
				idle = 0;
		}
	}
	rawsys1(SYS_close, dfd);
	return idle;
}

int quiesce_wait_idle(unsigned settle_ms, unsigned timeout_ms)
{
	long start = now_ms(), idle_since = -1;

	for (;;) {
		long t = now_ms();

		if (all_idle()) {
			if (idle_since < 0)
				idle_since = t;
			if (t - idle_since >= (long)settle_ms)
				return 0;
		} else {
			idle_since = -1;
		}
		if (t - start > (long)timeout_ms)
			return -ETIMEDOUT;
		nap_us(500);
	}
}
