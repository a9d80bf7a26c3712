/*
 * test_checkpoint — the checkpoint module (checkpoint.h), its settings (checkpoint_cfg.c,
 * ctl_signal_parse) and the quiesce gate (quiesce.h), in-process, each live test in a private
 * network namespace (skipped when unshare is denied): a resume-mode checkpoint of a listener,
 * a connection with data queued both ways and a UDP socket; a hand-over checkpoint that fails
 * to write and gives every socket back; the stage callback (order, the connection in repair
 * mode and the lock held during post-dump, data flowing after it, refusals undone); the gate
 * waiting for a running call but not for one asleep in the kernel.
 */
#include "test_util.h"
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/sockios.h>
#include "repair_fixture.h"
#include "checkpoint.h"
#include "config.h"
#include "ctlthread.h"
#include "fdtable.h"
#include "image.h"
#include "quiesce.h"
#include "real.h"
#include "restore.h"

static void init(void)
{
	real_use_libc();
	fdt_clear();
}

TestSuite(checkpoint, .init = init, .timeout = 60);

int checkpoint_cfg_signal(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_grace(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_on_dump(struct config *cfg, const char *value, char *why, size_t whylen);

static const struct { const char *in; int sig; } sigs[] = {
	{ "SIGPWR", SIGPWR }, { "PWR", SIGPWR }, { "30", 30 }, { "USR2", SIGUSR2 },
	{ "RTMIN+3", 0 /* SIGRTMIN+3 */ }, { "SIGKILL", -1 }, { "CHLD", -1 }, { "BOGUS", -1 },
	{ "", -1 }, { "99", -1 }, { "RTMIN+99", -1 },
};

ParameterizedTestParameters(checkpoint, signal_setting)
{
	return test_index_params(sizeof(sigs) / sizeof(sigs[0]));
}

ParameterizedTest(int *i, checkpoint, signal_setting)
{
	struct config cfg;
	char why[200];
	int want = sigs[*i].sig ? sigs[*i].sig : SIGRTMIN + 3;
	int r;

	config_defaults(&cfg);
	cr_assert(eq(int, cfg.ckpt_signal, SIGPWR));
	r = checkpoint_cfg_signal(&cfg, sigs[*i].in, why, sizeof(why));
	if (sigs[*i].sig < 0) {
		cr_assert(lt(int, r, 0), "'%s' accepted", sigs[*i].in);
		cr_assert(ne(int, (int)strlen(why), 0));
	} else {
		cr_assert(eq(int, r, 0), "'%s': %s", sigs[*i].in, why);
		cr_assert(eq(int, cfg.ckpt_signal, want));
	}
}

Test(checkpoint, grace_and_mode)
{
	struct config cfg;
	char why[200];

	config_defaults(&cfg);
	cr_assert(eq(u32, cfg.restore_grace_ms, CONFIG_RESTORE_GRACE_DEFAULT_MS));
	cr_assert(eq(int, checkpoint_cfg_grace(&cfg, "500ms", why, sizeof(why)), 0));
	cr_assert(eq(u32, cfg.restore_grace_ms, 500));
	cr_assert(eq(int, checkpoint_cfg_grace(&cfg, "3", why, sizeof(why)), 0));
	cr_assert(eq(u32, cfg.restore_grace_ms, 3000));
	cr_assert(lt(int, checkpoint_cfg_grace(&cfg, "3m", why, sizeof(why)), 0));
	cr_assert(lt(int, checkpoint_cfg_grace(&cfg, "-1", why, sizeof(why)), 0));
	cr_assert(lt(int, checkpoint_cfg_grace(&cfg, "7200s", why, sizeof(why)), 0));
	cr_assert(eq(int, checkpoint_cfg_on_dump(&cfg, "exit", why, sizeof(why)), 0));
	cr_assert(eq(int, cfg.on_dump_exit, 1));
	cr_assert(lt(int, checkpoint_cfg_on_dump(&cfg, "stop", why, sizeof(why)), 0));
}

Test(checkpoint, env_keys_known)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	char *env[] = { "SOCKSHIFT_SIGNAL=USR2", "SOCKSHIFT_IMAGES=/tmp/x", "SOCKSHIFT_ON_DUMP=exit",
			"SOCKSHIFT_RESTORE_GRACE=2s", "SOCKSHIFT_STRICT=1", NULL };

	cr_assert(eq(int, config_load(&cfg, env, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(int, cfg.ckpt_signal, SIGUSR2));
	cr_assert(eq(str, cfg.images, "/tmp/x"));
	cr_assert(eq(int, cfg.strict, 1));
}

static void netns(void)
{
	int err = fx_netns();

	if (err == -EPERM || err == -EACCES)
		cr_skip_test("cannot unshare a network namespace (%s)", strerror(-err));
	cr_assert(eq(int, err, 0));
	struct netlock *nl;
	if (netlock_create(&nl) < 0)
		cr_skip_test("nftables is not usable here");
	netlock_destroy(nl);
}

static void track(int fd, int domain, int type)
{
	struct fdt_rec r;

	fdt_rec_init(&r, fd, domain, type, 0, 0, FDT_ORIGIN_SOCKET);
	cr_assert(eq(int, fdt_add(&r), 0));
}

/* listener l, client c, accepted a; data queued both ways; all tracked. */
static void pair(int *l, int *c, int *a)
{
	union repair_addr la = fx_addr(FAM4, 0);
	socklen_t len = sizeof(la);
	char buf[5000];

	memset(buf, 'q', sizeof(buf));
	*l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, bind(*l, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, listen(*l, 8), 0));
	getsockname(*l, &la.sa, &len);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(*c, &la.sa, sizeof(la.v4)), 0));
	*a = accept(*l, NULL, NULL);
	cr_assert(ge(int, *a, 0));
	cr_assert(eq(int, (int)send(*c, buf, 3000, 0), 3000));
	cr_assert(eq(int, (int)send(*a, buf, 5000, 0), 5000));
	usleep(20000);
	track(*l, AF_INET, SOCK_STREAM);
	track(*c, AF_INET, SOCK_STREAM);
	track(*a, AF_INET, SOCK_STREAM);
}

static void expect_bytes(int fd, int n)
{
	char buf[8192];
	int got = 0;

	while (got < n) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		cr_assert(gt(int, (int)r, 0), "recv after checkpoint: %s", strerror(errno));
		got += (int)r;
	}
	cr_assert(eq(int, got, n));
}

static int lock_tables(void)
{
	char *out = NULL;
	int n = 0;

	cr_assert(eq(int, netlock_cmd("list tables inet\n", &out), 0));
	for (char *p = out; (p = strstr(p, "sockshift_")); p++)
		n++;
	free(out);
	return n;
}

Test(checkpoint, resume_keeps_everything)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	struct image_set set;
	char dir[] = "/tmp/sockshift-ckpt-XXXXXX", sub[64];
	int l, c, a, u;

	netns();
	pair(&l, &c, &a);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	track(u, AF_INET, SOCK_DGRAM);
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(sub, sizeof(sub), "%s/c1", dir);
	o.dir = sub;
	cr_assert(eq(int, checkpoint_run(&o, &r), 0));
	cr_assert(eq(u32, r.nconns, 2));
	cr_assert(eq(u32, r.nlisteners, 1));
	cr_assert(eq(u32, r.nskipped, 1));
	cr_assert(eq(u64, r.bytes, 8000), "queued bytes: 3000 unread at a, 5000 unread at c");
	cr_assert(eq(int, lock_tables(), 0), "the lock was not lifted");
	/* the sockets carry on: queued data arrives, new data flows */
	expect_bytes(a, 3000);
	expect_bytes(c, 5000);
	cr_assert(eq(int, (int)send(c, "x", 1, 0), 1));
	expect_bytes(a, 1);
	cr_assert(eq(int, image_read_dir(sub, &set), 0));
	cr_assert(eq(u64, set.nconns, 3));
	cr_assert(eq(u64, set.nskipped, 1));
	cr_assert(eq(int, set.skipped[0].fd, u));
	cr_assert(ne(ptr, strstr(set.skipped[0].reason, "udp"), NULL), "%s", set.skipped[0].reason);
	image_set_free(&set);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert(eq(int, system(cmd), 0));
}

Test(checkpoint, failed_handover_gives_sockets_back)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	char dir[] = "/tmp/sockshift-ckpt-XXXXXX";
	int l, c, a;

	netns();
	pair(&l, &c, &a);
	char file[80];
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(file, sizeof(file), "%s/keep", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	o.dir = dir;           /* exists and is not empty: the image writer's rename fails */
	o.exit_mode = 1;
	o.idle_ms = 1;
	cr_assert(lt(int, checkpoint_run(&o, &r), 0));
	cr_assert(eq(int, lock_tables(), 0));
	expect_bytes(a, 3000);
	expect_bytes(c, 5000);
	unlink(file);
	rmdir(dir);
}

Test(checkpoint, strict_refuses_unsaveable)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	track(u, AF_INET, SOCK_DGRAM);
	o.dir = "/tmp/sockshift-ckpt-strict-never";
	o.strict = 1;
	cr_assert(eq(int, checkpoint_run(&o, &r), -EOPNOTSUPP));
	struct stat st;
	cr_assert(lt(int, stat(o.dir, &st), 0));
}

/* ---- the stage callback (CRIU's notify scripts) ---- */
static struct {
	int a, c;                  /* a: checkpointed connection; c: its untracked peer */
	int refuse, refuse_with;   /* the stage to refuse (-1 none) and the value returned */
	const char *dir;
	char order[128];
	int repair_post, tables_post, dir_post, repair_unlock, tables_unlock, tables_lock;
	int unacked_post;             /* c's bytes not acknowledged 100 ms after sending */
} sp;

static int tcp_repair_on(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert(eq(int, getsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &v, &len), 0));
	return v;
}

static int probe_stage(enum checkpoint_stage st, void *arg)
{
	struct stat sb;

	cr_assert(eq(ptr, arg, &sp));
	strcat(sp.order, checkpoint_stage_name(st));
	strcat(sp.order, " ");
	if (st == CHECKPOINT_NETWORK_LOCK) {
		sp.tables_lock = lock_tables();
	} else if (st == CHECKPOINT_POST_DUMP) {
		sp.repair_post = tcp_repair_on(sp.a);
		sp.tables_post = lock_tables();
		sp.dir_post = stat(sp.dir, &sb) == 0;
		/* sent while frozen: dropped by the lock, retransmitted after it */
		cr_assert(eq(int, (int)send(sp.c, "z", 1, 0), 1));
		usleep(100000);
		cr_assert(eq(int, tcp_repair_on(sp.a), 1), "the connection resumed during post-dump");
		cr_assert(eq(int, ioctl(sp.c, SIOCOUTQ, &sp.unacked_post), 0));
	} else if (st == CHECKPOINT_NETWORK_UNLOCK) {
		sp.repair_unlock = tcp_repair_on(sp.a);
		sp.tables_unlock = lock_tables();
	}
	return (int)st == sp.refuse ? sp.refuse_with : 0;
}

/* l listening, c its client (untracked: the other end of the wire), a accepted and tracked */
static void one_conn(int *l)
{
	union repair_addr la = fx_addr(FAM4, 0);
	socklen_t len = sizeof(la);

	*l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, bind(*l, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, listen(*l, 8), 0));
	getsockname(*l, &la.sa, &len);
	sp.c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(sp.c, &la.sa, sizeof(la.v4)), 0));
	sp.a = accept(*l, NULL, NULL);
	cr_assert(ge(int, sp.a, 0));
	track(sp.a, AF_INET, SOCK_STREAM);
}

static int run_with_stages(int exit_mode, int refuse, int refuse_with, char *dir, size_t size,
			   struct checkpoint_result *r)
{
	struct checkpoint_opts o = { 0 };
	char tmpl[] = "/tmp/sockshift-ckpt-XXXXXX";
	int l;

	netns();
	one_conn(&l);
	cr_assert(ne(ptr, mkdtemp(tmpl), NULL));
	snprintf(dir, size, "%s/c1", tmpl);
	sp.dir = dir;
	sp.refuse = refuse;
	sp.refuse_with = refuse_with;
	o.dir = dir;
	o.exit_mode = exit_mode;
	o.idle_ms = 1;
	o.notify = probe_stage;
	o.notify_arg = &sp;
	return checkpoint_run(&o, r);
}

static void rm_tree(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	cr_assert(eq(int, system(cmd), 0));
}

Test(checkpoint, stages_resume_mode_frozen_until_post_dump_returns)
{
	struct checkpoint_result r;
	char dir[96];

	cr_assert(eq(int, run_with_stages(0, -1, 0, dir, sizeof(dir), &r), 0));
	cr_assert(eq(str, sp.order, "pre-dump network-lock post-dump network-unlock "));
	cr_assert(eq(int, sp.tables_lock, 1), "network-lock came before the lock existed");
	cr_assert(eq(int, sp.repair_post, 1), "post-dump: the connection is not in repair mode");
	cr_assert(eq(int, sp.tables_post, 1), "post-dump: the network lock is not held");
	cr_assert(eq(int, sp.dir_post, 1), "post-dump came before the images were written");
	cr_assert(eq(int, sp.unacked_post, 1), "a byte sent during post-dump was acknowledged");
	cr_assert(eq(int, sp.repair_unlock, 0), "network-unlock: the connection is still frozen");
	cr_assert(eq(int, sp.tables_unlock, 0), "network-unlock: the lock is still there");
	cr_assert(ge(u64, r.pause_us, 100000), "the pause must cover the post-dump wait");
	expect_bytes(sp.a, 1);             /* the byte sent during post-dump, retransmitted */
	cr_assert(eq(int, (int)send(sp.a, "y", 1, 0), 1));
	expect_bytes(sp.c, 1);
	rm_tree(dir);
}

Test(checkpoint, handover_refused_at_post_dump_gives_sockets_back)
{
	struct checkpoint_result r;
	char dir[96];

	cr_assert(eq(int, run_with_stages(1, CHECKPOINT_POST_DUMP, 1, dir, sizeof(dir), &r),
		     -ECANCELED));
	cr_assert(eq(str, sp.order, "pre-dump network-lock post-dump network-unlock "));
	cr_assert(eq(int, sp.repair_post, 1));
	cr_assert(eq(int, sp.tables_post, 1));
	cr_assert(eq(int, sp.repair_unlock, 0), "network-unlock before the sockets resumed");
	cr_assert(eq(int, sp.tables_unlock, 0));
	cr_assert(eq(int, tcp_repair_on(sp.a), 0));
	cr_assert(eq(int, lock_tables(), 0));
	expect_bytes(sp.a, 1);
	cr_assert(eq(int, (int)send(sp.a, "y", 1, 0), 1));
	expect_bytes(sp.c, 1);
	rm_tree(dir);
}

Test(checkpoint, refused_at_pre_dump_touches_nothing)
{
	struct checkpoint_result r;
	struct stat sb;
	char dir[96];

	cr_assert(eq(int, run_with_stages(0, CHECKPOINT_PRE_DUMP, -EPIPE, dir, sizeof(dir), &r),
		     -EPIPE));
	cr_assert(eq(str, sp.order, "pre-dump "));
	cr_assert(lt(int, stat(dir, &sb), 0));
	cr_assert(eq(int, lock_tables(), 0));
	rm_tree(dir);
}

Test(checkpoint, refused_at_network_lock_unlocks)
{
	struct checkpoint_result r;
	struct stat sb;
	char dir[96];

	cr_assert(eq(int, run_with_stages(1, CHECKPOINT_NETWORK_LOCK, -ETIMEDOUT, dir, sizeof(dir), &r),
		     -ETIMEDOUT));
	cr_assert(eq(str, sp.order, "pre-dump network-lock network-unlock "));
	cr_assert(eq(int, sp.tables_lock, 1));
	cr_assert(eq(int, sp.tables_unlock, 0));
	cr_assert(lt(int, stat(dir, &sb), 0));
	cr_assert(eq(int, (int)send(sp.c, "x", 1, 0), 1));
	expect_bytes(sp.a, 1);
	rm_tree(dir);
}

/* ---- connections still in a listener's accept queue at a hand-over ---- */

/* l listening and tracked; c connected to it and sent "hello", never accepted */
static void queued_conn(int *l, int *c)
{
	union repair_addr la = fx_addr(FAM4, 0);
	socklen_t len = sizeof(la);

	*l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, bind(*l, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, listen(*l, 8), 0));
	getsockname(*l, &la.sa, &len);
	track(*l, AF_INET, SOCK_STREAM);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(*c, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, (int)send(*c, "hello", 5, 0), 5));
	usleep(20000);
}

Test(checkpoint, handover_saves_accept_queue)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	struct image_set set;
	char dir[] = "/tmp/sockshift-ckpt-XXXXXX", sub[64];
	int l, c;

	netns();
	queued_conn(&l, &c);
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(sub, sizeof(sub), "%s/c1", dir);
	o.dir = sub;
	o.exit_mode = 1;
	o.idle_ms = 1;
	cr_assert(eq(int, checkpoint_run(&o, &r), 0));
	cr_assert(eq(u32, r.nconns, 1), "the queued connection was not saved");
	cr_assert(eq(u32, r.nlisteners, 1));
	cr_assert(eq(u64, r.bytes, 5));
	cr_assert(eq(int, fcntl(l, F_GETFL) & O_NONBLOCK, 0), "the listener's mode changed");
	fcntl(l, F_SETFL, O_NONBLOCK);
	cr_assert(lt(int, accept(l, NULL, NULL), 0), "the queue was not drained");
	cr_assert(eq(int, lock_tables(), 1), "exit mode keeps the lock");
	cr_assert(eq(int, image_read_dir(sub, &set), 0));
	cr_assert(eq(u64, set.nconns, 2));
	int k = set.conns[0].listening ? 1 : 0;
	cr_assert(eq(int, set.conns[k].fd, -1), "a queued connection has no program fd");
	cr_assert(eq(u32, set.conns[k].data.inq_len, 5));
	cr_assert(eq(int, memcmp(set.conns[k].inq, "hello", 5), 0));
	image_set_free(&set);
	struct netlock *nl;
	cr_assert(eq(int, netlock_open(r.netlock, &nl), 0));
	netlock_destroy(nl);
	rm_tree(sub);
}

Test(checkpoint, failed_handover_gives_queued_back_through_accept)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	struct sockaddr_in peer, cself;
	socklen_t plen = sizeof(peer), clen = sizeof(cself);
	char dir[] = "/tmp/sockshift-ckpt-XXXXXX", file[80], buf[16];
	int l, c, a;

	netns();
	queued_conn(&l, &c);
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(file, sizeof(file), "%s/keep", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	o.dir = dir;           /* not empty: the image writer fails after the queue was drained */
	o.exit_mode = 1;
	o.idle_ms = 1;
	cr_assert(lt(int, checkpoint_run(&o, &r), 0));
	cr_assert(eq(int, lock_tables(), 0));
	a = accept(l, (struct sockaddr *)&peer, &plen);   /* the placeholder */
	cr_assert(ge(int, a, 0));
	cr_assert(eq(int, restore_accepted(l, a, (struct sockaddr *)&peer, &plen, 0), 1));
	getsockname(c, (struct sockaddr *)&cself, &clen);
	cr_assert(eq(int, peer.sin_port, cself.sin_port), "accept() reports the real client");
	cr_assert(eq(int, (int)recv(a, buf, sizeof(buf), 0), 5));
	cr_assert(eq(int, memcmp(buf, "hello", 5), 0));
	cr_assert(eq(int, (int)send(a, "back", 4, 0), 4));
	cr_assert(eq(int, (int)recv(c, buf, sizeof(buf), 0), 4));
	unlink(file);
	rmdir(dir);
}

/* ---- the gate ---- */
static int gate_fd;
static atomic_int gate_state;

static void *in_call_sleeping(void *arg)
{
	char b;
	struct quiesce_slot *q = quiesce_enter(gate_fd);

	atomic_store(&gate_state, 1);
	recv(gate_fd, &b, 1, 0);          /* asleep in the kernel on the fd it named */
	quiesce_leave(q);
	return NULL;
}

static void *in_call_running(void *arg)
{
	struct quiesce_slot *q = quiesce_enter(gate_fd);

	atomic_store(&gate_state, 1);
	while (atomic_load(&gate_state) == 1)
		;                         /* "about to make its call": not safe */
	quiesce_leave(q);
	return NULL;
}

Test(checkpoint, gate_waits_for_running_not_for_asleep)
{
	int sv[2];
	pthread_t th;

	quiesce_init();
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0));
	gate_fd = sv[0];
	atomic_store(&gate_state, 0);
	pthread_create(&th, NULL, in_call_sleeping, NULL);
	while (!atomic_load(&gate_state))
		usleep(1000);
	usleep(20000);
	cr_assert(eq(int, quiesce_freeze(1000), 0), "a thread asleep in recv must not block the freeze");
	quiesce_thaw();
	cr_assert(eq(int, (int)write(sv[1], "x", 1), 1));
	pthread_join(th, NULL);

	atomic_store(&gate_state, 0);
	pthread_create(&th, NULL, in_call_running, NULL);
	while (!atomic_load(&gate_state))
		usleep(1000);
	cr_assert(eq(int, quiesce_freeze(200), -ETIMEDOUT), "a running thread must hold the freeze");
	atomic_store(&gate_state, 2);
	pthread_join(th, NULL);
	cr_assert(eq(int, quiesce_freeze(1000), 0));
	quiesce_thaw();
}

/* ---- sockets the program creates, accepts, puts to listen or closes between the snapshot
 * and the freeze: the second snapshot (checkpoint.c, rescan) ---- */

static struct {
	int l, c0, a0;          /* before the checkpoint: listener, and one connection (c0, a0) */
	int lsn;                /* a socket, tracked but not listening yet */
	int c, a;               /* connected and accepted in the window */
	int close_both;         /* the window closes c0 as well as a0 */
} win;

static void drain_n(int fd, int n)
{
	char buf[8192];

	for (int got = 0; got < n;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		cr_assert(gt(int, (int)r, 0));
		got += (int)r;
	}
}

/* Runs on the checkpoint's thread between the first snapshot and the freeze, as the program's
 * own thread would (the test has no shim: the fd table is told by hand, as the hooks do):
 * accepts c (a), puts lsn to listen, closes a0 (and c0). */
static void in_window(void *arg)
{
	union repair_addr la;
	char buf[300];

	(void)arg;
	memset(buf, 'w', sizeof(buf));
	win.a = accept(win.l, NULL, NULL);
	cr_assert(ge(int, win.a, 0));
	track(win.c, AF_INET, SOCK_STREAM);
	track(win.a, AF_INET, SOCK_STREAM);
	cr_assert(eq(int, (int)send(win.c, buf, 100, 0), 100));
	cr_assert(eq(int, (int)send(win.a, buf, 200, 0), 200));
	la = fx_addr(FAM4, 0);
	cr_assert(eq(int, bind(win.lsn, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, listen(win.lsn, 8), 0));
	drain_n(win.a0, 3000);   /* read first: a close with unread data would reset */
	close(win.a0);
	fdt_del(win.a0);
	if (win.close_both) {
		drain_n(win.c0, 5000);
		close(win.c0);
		fdt_del(win.c0);
	}
	usleep(20000);
}

static void window_setup(struct checkpoint_opts *o, char *dir, size_t size, int close_both)
{
	char tmpl[] = "/tmp/sockshift-ckpt-XXXXXX";

	netns();
	memset(&win, 0, sizeof(win));
	win.close_both = close_both;
	pair(&win.l, &win.c0, &win.a0);
	/* c's handshake is done, it waits in l's queue (a hand-over holds new SYNs from the lock
	 * on: a connect in the window would wait for the new process) */
	union repair_addr la;
	socklen_t len = sizeof(la);
	getsockname(win.l, &la.sa, &len);
	win.c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(win.c, &la.sa, sizeof(la.v4)), 0));
	win.lsn = socket(AF_INET, SOCK_STREAM, 0);
	track(win.lsn, AF_INET, SOCK_STREAM);
	cr_assert(ne(ptr, mkdtemp(tmpl), NULL));
	snprintf(dir, size, "%s/c1", tmpl);
	o->dir = dir;
	o->idle_ms = 1;
	o->test_window = in_window;
}

static const struct image_conn *find_fd(const struct image_set *set, int fd)
{
	for (size_t i = 0; i < set->nconns; i++)
		if (set->conns[i].fd == fd)
			return &set->conns[i];
	return NULL;
}

Test(checkpoint, second_snapshot_saves_window_sockets_resume)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	struct image_set set;
	char dir[96], b;

	window_setup(&o, dir, sizeof(dir), 0);
	cr_assert(eq(int, checkpoint_run(&o, &r), 0));
	cr_assert(eq(u32, r.nlate, 3), "c, a and the new listener");
	cr_assert(eq(u32, r.nconns, 3), "c0, c, a (a0 was closed)");
	cr_assert(eq(u32, r.nlisteners, 2));
	cr_assert(eq(u32, r.nskipped, 0));
	cr_assert(eq(u64, r.bytes, 5300), "5000 unread at c0, 100 at a, 200 at c");
	cr_assert(eq(int, lock_tables(), 0), "the lock was not lifted");
	cr_assert(eq(int, image_read_dir(dir, &set), 0));
	cr_assert(eq(u64, set.nconns, 5));
	cr_assert(eq(ptr, (void *)find_fd(&set, win.a0), NULL), "a closed socket was saved");
	const struct image_conn *ic = find_fd(&set, win.c), *ia = find_fd(&set, win.a);
	cr_assert(ne(ptr, (void *)ic, NULL));
	cr_assert(ne(ptr, (void *)ia, NULL));
	cr_assert(eq(u32, ic->data.inq_len, 200));
	cr_assert(eq(u32, ia->data.inq_len, 100));
	cr_assert(ne(ptr, (void *)find_fd(&set, win.lsn), NULL));
	cr_assert(eq(int, find_fd(&set, win.lsn)->listening, 1));
	image_set_free(&set);
	/* everything goes on: the window's connection both ways, c0's data then a0's FIN */
	expect_bytes(win.a, 100);
	expect_bytes(win.c, 200);
	cr_assert(eq(int, (int)send(win.c, "x", 1, 0), 1));
	expect_bytes(win.a, 1);
	cr_assert(eq(int, (int)send(win.a, "y", 1, 0), 1));
	expect_bytes(win.c, 1);
	expect_bytes(win.c0, 5000);
	cr_assert(eq(int, (int)recv(win.c0, &b, 1, 0), 0), "a0's FIN did not arrive");
	rm_tree(dir);
}

/* the lock's conns4 set, as nft lists it */
static char *conns4(const char *table)
{
	char cmd[128], *out = NULL;

	snprintf(cmd, sizeof(cmd), "list set inet %s conns4\n", table);
	cr_assert(eq(int, netlock_cmd(cmd, &out), 0));
	return out;
}

static unsigned local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&a, &len), 0));
	return ntohs(a.sin_port);
}

static int port_listed(const char *list, unsigned port)
{
	char p[16];

	snprintf(p, sizeof(p), ". %u,", port);
	if (strstr(list, p))
		return 1;
	snprintf(p, sizeof(p), ". %u\n", port);
	return strstr(list, p) != NULL || (snprintf(p, sizeof(p), ". %u }", port), strstr(list, p));
}

Test(checkpoint, second_snapshot_locks_new_and_unlocks_closed_handover)
{
	struct checkpoint_opts o = { 0 };
	struct checkpoint_result r;
	struct netlock *nl;
	char dir[96], *list;
	unsigned c0_port;

	window_setup(&o, dir, sizeof(dir), 1);
	c0_port = local_port(win.c0);   /* before the window closes it */
	o.exit_mode = 1;
	cr_assert(eq(int, checkpoint_run(&o, &r), 0));
	cr_assert(eq(u32, r.nlate, 3));
	cr_assert(eq(u32, r.nconns, 2), "c, a (c0 and a0 were closed)");
	cr_assert(eq(u32, r.nqueued, 0));
	cr_assert(eq(int, lock_tables(), 1), "exit mode keeps the lock");
	list = conns4(r.netlock);
	cr_assert(ne(int, port_listed(list, local_port(win.c)), 0), "the window's connection is not locked: %s", list);
	cr_assert(eq(int, port_listed(list, c0_port), 0), "the closed connection is still locked: %s", list);
	free(list);
	cr_assert(eq(int, netlock_open(r.netlock, &nl), 0));
	netlock_destroy(nl);
	rm_tree(dir);
}
