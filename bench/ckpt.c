/*
 * bench/ckpt — the checkpoint module's pause and the hand-over's downtime for N established
 * loopback connections (1 KiB unread in each), in a private network namespace, the peers in a
 * child process; each N in a fresh process.
 *
 *   pause      checkpoint_run in resume mode: gate shut -> every socket saved and resumed ->
 *              gate open (the program's threads could run again); median of 3
 *   total      the same checkpoint from the fd-table snapshot to the lock lifted and the
 *              images written
 *   hand-over  checkpoint_run in exit mode (images synced, sockets frozen, lock kept), silent
 *              close, then restore_run as a new process does it (read + validate images,
 *              rebuild, lift the lock, resume): the time the connections are locked, i.e.
 *              the peers' downtime, not counting the new program's own start-up
 *   gate       ns per quiesce_enter/quiesce_leave pair (the cost on every gated call)
 *
 * usage: [CKPT_DIR=DIR] ckpt [-r rounds] N...   (needs root: unshare, TCP_REPAIR, nftables)
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "../tests/repair_fixture.h"
#include "checkpoint.h"
#include "config.h"
#include "fdtable.h"
#include "quiesce.h"
#include "real.h"
#include "restore.h"
#include "stack.h"

#define QB 1024

static void die(const char *what)
{
	fprintf(stderr, "bench/ckpt: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void one(int n, int rounds, const char *base)
{
	struct stack_spec spec;
	struct stack *st;
	char why[256], dir[512];
	uint16_t port;
	int pfd[2], lfd, *fds = calloc(n, sizeof(int));
	double pause[16], total[16];
	char k;

	real_use_libc();
	if (stack_spec_parse("kernel", &spec, why, sizeof(why)) || stack_open(&spec, &st, why, sizeof(why)))
		die(why);
	stack_set_default(st);
	if (fx_netns())
		die("unshare (run as root)");
	lfd = fx_listen(FAM4, 0, &port);
	if (lfd < 0 || pipe(pfd) < 0)
		die("listen");
	pid_t peers = fx_spawn_peers(port, n, QB, pfd[1]);
	if (peers < 0)
		die("fork");
	for (int i = 0; i < n; i++) {
		struct fdt_rec r;

		fds[i] = accept(lfd, NULL, NULL);
		if (fds[i] < 0)
			die("accept");
		fdt_rec_init(&r, fds[i], AF_INET, SOCK_STREAM, 0, 0, FDT_ORIGIN_ACCEPT);
		fdt_add(&r);
	}
	if (read(pfd[0], &k, 1) != 1)
		die("peer process failed");
	for (int i = 0; i < n; i++)
		if (fx_wait_inq(fds[i], QB, 5000))
			die("recv queue not filled");
	close(lfd);

	for (int r = 0; r < rounds; r++) {
		struct checkpoint_opts o = { .dir = dir };
		struct checkpoint_result res;

		snprintf(dir, sizeof(dir), "%s/n%d-r%d", base, n, r);
		if (checkpoint_run(&o, &res))
			die("checkpoint");
		pause[r] = res.pause_us / 1e3;
		total[r] = res.total_us / 1e3;
	}
	qsort(pause, rounds, sizeof(double), cmp);
	qsort(total, rounds, sizeof(double), cmp);

	/* hand-over */
	struct checkpoint_opts o = { .dir = dir, .exit_mode = 1, .idle_ms = 1 };
	struct checkpoint_result res;
	struct config cfg;
	char err[512];

	snprintf(dir, sizeof(dir), "%s/n%d-exit", base, n);
	double t0 = now_us();
	if (checkpoint_run(&o, &res))
		die("hand-over checkpoint");
	double t_saved = now_us();
	quiesce_thaw();                   /* a real hand-over exits here with the gate shut */
	for (int i = 0; i < n; i++)
		close(fds[i]);            /* still in repair mode: silent */
	fdt_clear();
	config_defaults(&cfg);
	snprintf(cfg.restore, sizeof(cfg.restore), "%s", dir);
	cfg.restore_grace_ms = 600000;
	restore_prepare(&cfg);
	double t1 = now_us();
	if (restore_run(err, sizeof(err)))
		die(err);
	double t_restored = now_us();
	double down = (t_saved - t0) / 1e3 - res.lock_us / 1e3 + (t_restored - t1) / 1e3;

	/* the gate, uncontended */
	struct quiesce_slot *q;
	double g0 = now_us();
	for (int i = 0; i < 10000000; i++) {
		q = quiesce_enter(3);
		__asm__ volatile("" ::: "memory");
		quiesce_leave(q);
	}
	double gate = (now_us() - g0) * 1e3 / 1e7;

	printf("%6d  pause %8.2f ms  total %8.2f ms  hand-over downtime %8.2f ms "
	       "(save+sync %.2f, restore %.2f)  gate %.2f ns\n",
	       n, pause[rounds / 2], total[rounds / 2], down, (t_saved - t0) / 1e3 - res.lock_us / 1e3,
	       (t_restored - t1) / 1e3, gate);
	fflush(stdout);
	kill(peers, SIGKILL);
	waitpid(peers, NULL, 0);
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 65536, 65536 };
	char base[512];
	int rounds = 3, i = 1;

	if (argc > 2 && !strcmp(argv[1], "-r")) {
		rounds = atoi(argv[2]);
		i = 3;
	}
	if (rounds < 1 || rounds > 16)
		rounds = 3;
	if (geteuid() != 0) {
		fprintf(stderr, "bench/ckpt: needs root\n");
		return 77;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	/* where the images go: CKPT_DIR (default /tmp; /dev/shm shows the cost without a disk) */
	snprintf(base, sizeof(base), "%s/sockshift-bench-ckpt-XXXXXX",
		 getenv("CKPT_DIR") ? getenv("CKPT_DIR") : "/tmp");
	if (!mkdtemp(base))
		die("mkdtemp");
	for (; i < argc; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			one(atoi(argv[i]), rounds, base);
			_exit(0);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fprintf(stderr, "bench/ckpt: N=%s failed\n", argv[i]);
	}
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? 1 : 0;
}
