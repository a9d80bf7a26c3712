/*
 * checkpoint — save every TCP socket of this process, then resume it or leave it frozen for a
 * hand-over. Runs on the shim's control thread (ctlthread.c), or in a test process directly.
 *
 *	struct checkpoint_opts o = { .dir = "/var/lib/x/ckpt-1", .stack = "kernel" };
 *	struct checkpoint_result r;
 *	checkpoint_run(&o, &r);
 *
 * Sequence (docs/checkpoint.md has the reasoning):
 *   1. snapshot the fd table: TCP connections (addresses read now, while they are live),
 *      listeners (recorded), everything else listed as skipped with the reason;
 *   2. network lock: one nftables transaction with every connection's 4-tuple (netlock.h);
 *   3. exit mode only: wait until the program is idle (every thread asleep in a system call),
 *      so input already received has been processed and its answers queued;
 *   4. quiesce (quiesce.h): no thread inside a socket call that repair mode would disturb;
 *      then a second snapshot (the table is stable now): sockets created, accepted or put to
 *      listen since step 1 are classified and join the lock in one more transaction; sockets
 *      closed since step 1 leave the lock (their FIN goes out) and the images;
 *   5. pause + save each connection; one that cannot be saved (a peer reset it meanwhile) is
 *      resumed untouched and listed as skipped, unless opts.strict;
 *   6. resume mode: repair off (options re-applied), lock lifted, gate opened, images written
 *      afterwards (the program runs again while the disk works);
 *      exit mode: images written and synced while frozen; on success the sockets stay in
 *      repair mode and the lock stays, so the caller's exit closes them silently; on failure
 *      everything is resumed as in resume mode and the error returned.
 * Stage callback (opts.notify, for CRIU's notify scripts; NULL = none, as the signal path):
 *   CHECKPOINT_PRE_DUMP       before the network lock, nothing touched yet;
 *   CHECKPOINT_NETWORK_LOCK   right after the lock holds (no socket in repair mode yet);
 *   CHECKPOINT_POST_DUMP      the images are written and synced in opts.dir, every socket is
 *                             still in repair mode, the gate shut and the lock held: the
 *                             process's connections stay frozen until the callback returns;
 *   CHECKPOINT_NETWORK_UNLOCK resume mode: after the sockets resumed and the lock was lifted;
 *                             also after any failure that followed NETWORK_LOCK (the lock is
 *                             gone by then). Never after a successful hand-over (lock kept).
 * A non-zero return at PRE_DUMP, NETWORK_LOCK or POST_DUMP aborts the checkpoint as any
 * failure does (every socket resumed, lock lifted); checkpoint_run returns the callback's
 * value if negative, else -ECANCELED. The images an aborted POST_DUMP saw stay in opts.dir.
 * With a callback, resume mode writes the images before resuming (POST_DUMP must see them
 * while frozen), so pause_us then includes the write and the callback's wait.
 * Every failure leaves every socket as it was and the lock lifted. Calls are serialised (the
 * signal's control thread and the control socket may ask at the same time); the calling
 * thread must be exempt from the gate (quiesce_set_exempt(1)) when the shim is loaded.
 */
#ifndef SOCKSHIFT_CHECKPOINT_H
#define SOCKSHIFT_CHECKPOINT_H

#include <limits.h>     /* PATH_MAX */
#include <stdint.h>     /* uint64_t */

enum checkpoint_stage {
	CHECKPOINT_PRE_DUMP,
	CHECKPOINT_NETWORK_LOCK,
	CHECKPOINT_POST_DUMP,
	CHECKPOINT_NETWORK_UNLOCK,
};

/* CRIU's script name of a stage: "pre-dump", "network-lock", "post-dump", "network-unlock". */
const char *checkpoint_stage_name(enum checkpoint_stage stage);

struct checkpoint_opts {
	const char *dir;        /* the checkpoint directory to create (must not exist) */
	const char *stack;      /* stack name recorded in the manifest; NULL = "kernel" */
	int exit_mode;          /* 1: hand-over; sockets stay frozen on success */
	int strict;             /* 1: any socket that cannot be saved fails the checkpoint */
	unsigned quiesce_ms;    /* how long threads may take to leave socket calls; 0 = 2000 */
	unsigned idle_ms;       /* exit mode: idle settle time; 0 = 5 */
	/* Called at each stage (see above) on the calling thread; 0 to go on. NULL: none. */
	int (*notify)(enum checkpoint_stage stage, void *arg);
	void *notify_arg;
	/* Tests only: called on the calling thread after the first snapshot is locked and before
	 * the freeze (the window the second snapshot covers). NULL normally. */
	void (*test_window)(void *arg);
	void *test_window_arg;
};

struct checkpoint_result {
	unsigned nconns, nlisteners, nskipped;
	unsigned nqueued;        /* of nconns: taken from listeners' accept queues (hand-over) */
	unsigned nlate;          /* of nconns + nlisteners: found by the second snapshot (created,
				  * accepted or put to listen between the first one and the freeze) */
	uint64_t bytes;          /* queue bytes saved */
	uint64_t lock_us;        /* building the network lock */
	uint64_t pause_us;       /* gate shut to gate open (resume mode) or to images synced;
				  * the lock is lifted right after the gate opens */
	uint64_t write_us;       /* writing the images */
	uint64_t total_us;
	uint64_t resumed_at_us;  /* CLOCK_MONOTONIC when the program could run again (resume) */
	char netlock[64];        /* the lock's table (kept in exit mode) */
};

int checkpoint_run(const struct checkpoint_opts *o, struct checkpoint_result *res);

#endif
