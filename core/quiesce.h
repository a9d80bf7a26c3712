/*
 * quiesce — the gate that keeps a program's threads out of its sockets while they are frozen
 * for a checkpoint (TCP_REPAIR on). Chosen over parking every thread with a signal (DMTCP):
 * see docs/checkpoint.md for the measurements and the reasons.
 *
 * Every hook that can touch a socket's queues or lifetime (send/recv family, read/write family,
 * close, shutdown, dup2 onto an fd) brackets the real call:
 *
 *	struct quiesce_slot *q = quiesce_enter(fd);
 *	r = real.recv(fd, ...);
 *	quiesce_leave(q);
 *
 * Fast path: three plain stores and one load of a read-mostly flag, no atomic read-modify-write,
 * no fence (the control side pays with membarrier(2) instead, the asymmetric-fence trick of
 * userspace RCU). Each thread has its own slot (tid, nesting depth, the fd of its current call).
 *
 * The control thread:
 *
 *	quiesce_freeze(timeout_ms)   gate shut; returns once every thread is either outside the
 *	                             gated calls, waiting at the gate, or asleep in the kernel
 *	                             inside a gated call on the fd it named (a recv, accept or
 *	                             send already blocked there is harmless: it wakes only for
 *	                             packets, and the network lock holds those back)
 *	... pause, save, resume ...
 *	quiesce_thaw()               gate open, waiters continue into their calls
 *
 * quiesce_wait_idle() (hand-over): returns once every other thread sits in a system call,
 * so an event-driven server has finished the input it had and is back in epoll_wait.
 * Threads that call quiesce_set_exempt(1) (the control thread) pass the gate.
 */
#ifndef SOCKSHIFT_QUIESCE_H
#define SOCKSHIFT_QUIESCE_H

#include <stdatomic.h>

#define QUIESCE_SLOTS 4096

struct quiesce_slot {
	atomic_int depth;       /* gated calls this thread is inside (nesting) */
	atomic_int tid;         /* 0 = free */
	atomic_int fd;          /* fd of the current gated call */
	atomic_int waiting;     /* 1 while held at the gate */
	int exempt;             /* the control thread */
	int shared;             /* the overflow slot (slots exhausted): depth is a counter */
	char pad[40];
};

extern atomic_int quiesce_frozen;
extern int quiesce_need_fence;   /* membarrier(2) missing: the fast path fences itself */
extern __thread struct quiesce_slot *quiesce_self __attribute__((tls_model("initial-exec")));

struct quiesce_slot *quiesce_slot_get(void);
void quiesce_wait(struct quiesce_slot *s);

static inline struct quiesce_slot *quiesce_enter(int fd)
{
	struct quiesce_slot *s = quiesce_self;

	if (__builtin_expect(!s, 0))
		s = quiesce_slot_get();
	if (__builtin_expect(s->shared, 0)) {
		atomic_fetch_add(&s->depth, 1);
	} else {
		atomic_store_explicit(&s->depth, atomic_load_explicit(&s->depth, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		atomic_store_explicit(&s->fd, fd, memory_order_relaxed);
		if (__builtin_expect(quiesce_need_fence, 0))
			atomic_thread_fence(memory_order_seq_cst);
		else
			atomic_signal_fence(memory_order_seq_cst);
	}
	if (__builtin_expect(atomic_load_explicit(&quiesce_frozen, memory_order_relaxed), 0) &&
	    !s->exempt)
		quiesce_wait(s);
	return s;
}

static inline void quiesce_leave(struct quiesce_slot *s)
{
	if (__builtin_expect(s->shared, 0))
		atomic_fetch_sub(&s->depth, 1);
	else
		atomic_store_explicit(&s->depth, atomic_load_explicit(&s->depth, memory_order_relaxed) - 1,
				      memory_order_release);
}

/* Once per process (the shim's init): membarrier registration, slot destructor. */
void quiesce_init(void);
/* In a fork child: only the calling thread exists. */
void quiesce_fork_child(void);
void quiesce_set_exempt(int on);

/* 0, or -ETIMEDOUT (the gate is open again and nothing changed). */
int quiesce_freeze(unsigned timeout_ms);
void quiesce_thaw(void);
/* 0 once all other threads sat in system calls for settle_ms; -ETIMEDOUT after timeout_ms. */
int quiesce_wait_idle(unsigned settle_ms, unsigned timeout_ms);

#endif
