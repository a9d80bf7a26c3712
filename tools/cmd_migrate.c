/*
 * cmd_migrate — `sockshift migrate PID [--images DIR] [--netns NAME] [--log-file F] -- CMD ARGS`:
 * zero-downtime hand-over. PID (running under sockshift) is checkpointed in exit mode (a DUMP
 * over its control socket, control.h; the checkpoint signal if SOCKSHIFT_CONTROL=off); CMD is
 * started under the shim with SOCKSHIFT_RESTORE pointing at those images (in network namespace
 * NAME if given); the report gives the downtime, from the signal to the moment the new process
 * lifted the network lock for the connections (all in one nftables transaction, so every
 * connection's downtime is that figure; the listeners' part goes at the new listen()).
 * migrate stays CMD's parent: it forwards SIGINT/SIGTERM and exits with CMD's status.
 *
 * --netns NAME alone (the address is in NAME already; routing decides where packets arrive):
 * once PID reports its checkpoint the lock table is copied into NAME, CMD lifts that copy,
 * and migrate then deletes the original in PID's namespace: held on both sides meanwhile.
 *
 * --move-addr ADDRESS[/PREFIX][,dev=IFACE] (with --netns) also moves the service address:
 * checked before the checkpoint (the address is on an interface of PID's namespace, IFACE
 * exists in NAME and lacks it; otherwise nothing happens and PID keeps running), then moved
 * inside the downtime: once PID has saved its connections and exited, the lock table is
 * copied into NAME (so the peers' packets stay held there too), the address is deleted in
 * PID's namespace and added to IFACE in NAME (put back if that fails: core/netconf), the
 * lock in PID's namespace is dropped, and CMD starts in NAME, restores and lifts the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/netlink.h>

#include "announce.h"
#include "control.h"
#include "ctlthread.h"
#include "log.h"
#include "netconf.h"
#include "netlock.h"
#include "real.h"
#include "util.h"

static pid_t child;

static void migrate_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift migrate PID [--images DIR] [--netns NAME [--move-addr ADDR[/PREFIX][,dev=IFACE]]]\n"
		"                         [--log-file F] [--timeout S] -- CMD [ARGS...]\n"
		"\n"
		"Hands the TCP connections of PID (a program under sockshift) to a new process: PID\n"
		"is checkpointed in exit mode (its sockets frozen, the network lock kept), then CMD\n"
		"runs under sockshift with SOCKSHIFT_RESTORE set to the images, in network namespace\n"
		"NAME (/var/run/netns/NAME) if given, and takes the connections over at accept() and\n"
		"connect(). Images go to DIR, default /dev/shm/sockshift (tmpfs: no disk in the\n"
		"downtime). Prints the downtime (lock to unlock).\n"
		"\n"
		"Without --move-addr the service address must already exist in NAME; the network\n"
		"lock is copied into NAME (packets are held in both namespaces until CMD lifts it).\n"
		"With --move-addr, the address ADDR (found on whichever interface of PID's\n"
		"namespace holds it) is moved,\n"
		"inside the downtime, to interface IFACE of NAME (default: the same interface name)\n"
		"with PREFIX (default: its prefix in PID's namespace), through netlink; the network\n"
		"lock moves with it. It is checked before the checkpoint: if the address is not in\n"
		"PID's namespace, IFACE is not in NAME or NAME has the address already, migrate fails\n"
		"and PID keeps running untouched. If adding it in NAME fails, it is put back.\n"
		"Peers on a shared link may still know the old interface's MAC address: the new\n"
		"side is not announced (no gratuitous ARP / unsolicited NA).\n"
		"Exit status: CMD's; 1 if the hand-over failed, 2 usage error.\n");
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Whether the lock still holds connections (the new process deletes them from its sets once
 * rebuilt; the table itself may stay a little longer for the listeners: netlock.h). */
static int conns_held(const char *name)
{
	char cmd[160], *out = NULL;
	int held;

	if (netlock_cmd("list tables inet\n", &out) < 0)
		return 0;
	held = strstr(out, name) != NULL;
	free(out);
	out = NULL;
	if (!held)
		return 0;   /* the table is gone */
	held = 0;
	/* one set per command: libnftables fails a buffer listing two sets of a table */
	for (int v = 4; v <= 6 && !held; v += 2) {
		snprintf(cmd, sizeof(cmd), "list set inet %s conns%d\n", name, v);
		if (netlock_cmd(cmd, &out) < 0)
			return 0;
		held = strstr(out, "elements") != NULL;
		free(out);
		out = NULL;
	}
	free(out);
	return held;
}

/* ---- the address move (--move-addr) ------------------------------------------------- */

struct mover {
	struct netconf_move m;
	int self_ns, from_ns, to_ns;    /* namespace fds: ours, PID's, NAME's */
	int from_nl, to_nl;             /* NETLINK_ROUTE sockets made inside from_ns / to_ns */
	unsigned announced;             /* gratuitous ARPs / unsolicited NAs sent */
};

static void enter_ns(int nsfd, const char *name)
{
	if (setns(nsfd, CLONE_NEWNET) < 0)
		util_die(EXIT_OPFAIL, "migrate: entering network namespace %s: %s", name, strerror(errno));
}

/* A NETLINK_ROUTE socket made inside nsfd (it stays there whichever namespace we are in). */
static int nl_in(struct mover *mv, int nsfd, const char *name)
{
	int fd;

	enter_ns(nsfd, name);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		util_die(EXIT_OPFAIL, "migrate: netlink socket in namespace %s: %s", name, strerror(errno));
	enter_ns(mv->self_ns, "of sockshift");
	return fd;
}

/* PID's namespace by its /var/run/netns name if it has one, else "of process PID". */
static void ns_label(int pid, const struct stat *ns, char *out, size_t len)
{
	DIR *d = opendir("/var/run/netns");
	struct dirent *e;
	struct stat st;
	char path[4200];

	snprintf(out, len, "of process %d", pid);
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/var/run/netns/%s", e->d_name);
		if (e->d_name[0] != '.' && stat(path, &st) == 0 && st.st_dev == ns->st_dev &&
		    st.st_ino == ns->st_ino) {
			snprintf(out, len, "%.60s", e->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
}

/*
 * The namespaces of a hand-over into NAME: PID's, NAME's and ours, opened before the
 * checkpoint. Returns 1 if PID's namespace is NAME's (nothing to carry across), else 0.
 */
static int ns_open(struct mover *mv, int pid, const char *netns)
{
	char path[4200];
	struct stat a, b;

	real_use_libc();
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	mv->from_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (mv->from_ns < 0 || fstat(mv->from_ns, &a) < 0)
		util_die(EXIT_OPFAIL, "migrate: network namespace of process %d: %s", pid, strerror(errno));
	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	mv->to_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (mv->to_ns < 0 || fstat(mv->to_ns, &b) < 0)
		util_die(EXIT_OPFAIL, "migrate: network namespace %s: %s", netns, strerror(errno));
	mv->self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (mv->self_ns < 0)
		util_die(EXIT_OPFAIL, "migrate: our own network namespace: %s", strerror(errno));
	ns_label(pid, &a, mv->m.from_ns, sizeof(mv->m.from_ns));
	snprintf(mv->m.to_ns, sizeof(mv->m.to_ns), "%s", netns);
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Before the checkpoint: everything the move needs is there, or we stop with nothing done. */
static void mover_prepare(struct mover *mv, const char *text, int pid, const char *netns)
{
	char why[512] = "";

	if (netconf_move_parse(text, &mv->m, why, sizeof(why)) < 0)
		util_die(EXIT_USAGE, "migrate: --move-addr %s", why);
	if (ns_open(mv, pid, netns))
		util_die(EXIT_USAGE, "migrate: --move-addr: process %d runs in namespace %s already", pid,
			 netns);
	mv->from_nl = nl_in(mv, mv->from_ns, mv->m.from_ns);
	mv->to_nl = nl_in(mv, mv->to_ns, netns);
	if (netconf_move_check(mv->from_nl, mv->to_nl, &mv->m, why, sizeof(why)) < 0)
		util_die(EXIT_OPFAIL, "migrate: cannot move the address: %s; nothing was changed, "
			 "process %d keeps running", why, pid);
}

/*
 * The lock table, set elements included, listed in PID's namespace and loaded into NAME's, so
 * the peers' packets are held wherever they arrive. Leaves us in NAME. On failure: back in
 * ours, the connections still locked in PID's namespace, and we stop (nothing was started).
 */
static void lock_copy(struct mover *mv, const char *lock, const char *dir, const char *what)
{
	char cmd[128], *text = NULL;
	int r;

	snprintf(cmd, sizeof(cmd), "list table inet %s\n", lock);
	enter_ns(mv->from_ns, mv->m.from_ns);
	r = netlock_cmd(cmd, &text);
	enter_ns(mv->to_ns, mv->m.to_ns);
	if (r == 0)
		r = netlock_cmd(text, NULL);
	free(text);
	if (r < 0) {
		enter_ns(mv->self_ns, "of sockshift");
		util_die(EXIT_OPFAIL, "migrate: copying the network lock %s from namespace %s to %s: "
			 "%s; %s: the connections stay locked in %s (images in %s: run the new process "
			 "there with SOCKSHIFT_RESTORE=%s, or 'sockshift unlock %s')", lock,
			 mv->m.from_ns, mv->m.to_ns, strerror(-r), what, mv->m.from_ns, dir, dir, lock);
	}
}

/*
 * The address's new home told to the link (gratuitous ARP / unsolicited NA, core/announce.h),
 * count times 50 ms apart; we are in NAME. A failure is reported, not fatal: the peers then
 * learn the MAC when their neighbour entry expires, as without the announcement.
 */
static void announce(struct mover *mv, unsigned count)
{
	int r = announce_addr(mv->m.to_if, mv->m.family, mv->m.addr, count, 50);

	if (r < 0)
		util_warn("migrate: announcing %s on %s in namespace %s: %s", mv->m.text, mv->m.to_if,
			  mv->m.to_ns, strerror(-r));
	else
		mv->announced += count;
}

/*
 * Inside the downtime (PID saved its connections and is gone): lock copied into NAME,
 * address moved, PID's lock dropped. Leaves us inside NAME. Returns the ms it took.
 */
static double mover_run(struct mover *mv, const char *lock, const char *dir)
{
	double t = now_ms();
	char why[1024] = "";
	struct netlock *nl;
	int r;

	if (lock[0])   /* in NAME before the address shows up */
		lock_copy(mv, lock, dir, "the address was not moved");
	r = netconf_move(mv->from_nl, mv->to_nl, &mv->m, why, sizeof(why));
	if (r < 0) {
		if (lock[0] && netlock_open(lock, &nl) == 0)
			netlock_destroy(nl);   /* the copy in NAME; the original in PID's stays */
		enter_ns(mv->self_ns, "of sockshift");
		util_die(EXIT_OPFAIL, "migrate: moving the address: %s; the connections stay locked in "
			 "namespace %s (images in %s: run the new process there with SOCKSHIFT_RESTORE=%s, "
			 "or 'sockshift unlock %s')", why, mv->m.from_ns, dir, dir, lock[0] ? lock : "-");
	}
	announce(mv, 1);   /* the peers' packets come here from now on (held by the lock copy) */
	if (lock[0]) {
		enter_ns(mv->from_ns, mv->m.from_ns);
		if (netlock_open(lock, &nl) == 0 && (r = netlock_destroy(nl)) < 0)
			util_warn("migrate: removing the lock %s from namespace %s: %s (the address is "
				  "gone from there: harmless; 'ip netns exec %s sockshift unlock %s' removes it)",
				  lock, mv->m.from_ns, strerror(-r), mv->m.from_ns, lock);
		enter_ns(mv->to_ns, mv->m.to_ns);
	}
	close(mv->from_nl);
	close(mv->to_nl);
	return now_ms() - t;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int cmd_migrate(int argc, char **argv)
{
	const char *images = NULL, *netns = NULL, *logf = NULL, *move = NULL, *v;
	struct mover mv;
	double t_move = -1;
	unsigned timeout = 30;
	int pid = 0, i, r, status, cross = 0;
	struct ctl_status st;
	char err[RPC_ERRMSG_MAX] = "";

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (util_is_help(argv[i])) {
			migrate_usage(stdout);
			return 0;
		} else if ((v = util_opt_value(argc, argv, &i, "--images"))) {
			images = v;
		} else if ((v = util_opt_value(argc, argv, &i, "--netns"))) {
			netns = v;
		} else if ((v = util_opt_value(argc, argv, &i, "--move-addr"))) {
			move = v;
		} else if ((v = util_opt_value(argc, argv, &i, "--log-file"))) {
			logf = v;
		} else if ((v = util_opt_value(argc, argv, &i, "--timeout"))) {
			timeout = (unsigned)atoi(v);
		} else if (!pid && atoi(argv[i]) > 0) {
			pid = atoi(argv[i]);
		} else {
			migrate_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!pid || i >= argc) {
		migrate_usage(stderr);
		return EXIT_USAGE;
	}
	if (move && !netns)
		util_die(EXIT_USAGE, "migrate: --move-addr needs --netns NAME (where the address goes)");
	if (move)
		mover_prepare(&mv, move, pid, netns);
	else if (netns)
		cross = !ns_open(&mv, pid, netns);
	/* the images only bridge two processes on this host: tmpfs spares the hand-over the
	 * disk's fsync (hundreds of ms at 1000 connections) */
	if (!images && access("/dev/shm", W_OK) == 0)
		images = "/dev/shm/sockshift";
	double t0 = now_ms();
	real_use_libc();
	r = control_dump_request(pid, images, 1, timeout * 1000, &st, err, sizeof(err));
	if (r == -ENOTCONN) {
		util_warn("migrate: %s: using the checkpoint signal instead", err);
		err[0] = 0;
		memset(&st, 0, sizeof(st));
		r = ctl_dump_request(pid, images, 1, timeout * 1000, &st);
		if (r && st.error[0])
			log_fmt(err, sizeof(err), "%s", st.error);
	}
	if (r == -ENOTSUP)
		util_die(EXIT_OPFAIL, "migrate: process %d is not running under sockshift; nothing was "
			 "signalled", pid);
	if (r)
		util_die(EXIT_OPFAIL, "migrate: the checkpoint of %d failed: %s; it keeps running unchanged",
			 pid, err[0] ? err : strerror(-r));
	double t_saved = now_ms();
	if (cross && st.netlock[0]) {
		/* PID's packets may arrive in either namespace until the new process is up (the
		 * user's routing decides): the lock holds them in both; the new process lifts
		 * NAME's copy, we drop PID's once it has */
		lock_copy(&mv, st.netlock, st.dir, "nothing was started");
		printf("network lock %s copied from namespace %s to %s\n", st.netlock, mv.m.from_ns,
		       mv.m.to_ns);
		fflush(stdout);
	} else if (netns && !move) {
		enter_ns(mv.to_ns, netns);   /* the new process lifts the lock there: watch it there */
	}
	for (int k = 0; k < 500 && kill(pid, 0) == 0; k++)
		usleep(10000);
	double t_exited = now_ms();
	if (move)
		t_move = mover_run(&mv, st.netlock, st.dir);

	child = fork();
	if (child < 0)
		util_die(EXIT_OPFAIL, "migrate: fork: %s", strerror(errno));
	if (child == 0) {
		char *run[argc + 6];
		int n = 0;

		if (netns && !move) {   /* with move, mover_run left us in netns */
			char path[4200];
			snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				util_die(EXIT_OPFAIL, "migrate: network namespace %s: %s", netns, strerror(errno));
			close(fd);
		}
		setenv("SOCKSHIFT_RESTORE", st.dir, 1);
		run[n++] = (char *)"run";
		if (logf) {
			run[n++] = (char *)"--log-file";
			run[n++] = (char *)logf;
		}
		run[n++] = (char *)"--";
		for (int k = i; k < argc; k++)
			run[n++] = argv[k];
		run[n] = NULL;
		_exit(cmd_run(n, run));
	}
	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	double t_unlock = -1;
	if (st.netlock[0]) {
		for (int k = 0; k < 3000; k++) {
			if (!conns_held(st.netlock)) {
				t_unlock = now_ms();
				break;
			}
			if (waitpid(child, &status, WNOHANG) == child) {
				char where[200] = "";

				if (cross)
					snprintf(where, sizeof(where), " in namespaces %s and %s", mv.m.from_ns,
						 mv.m.to_ns);
				util_warn("migrate: the new process ended (status %d) before taking over; the "
					  "connections stay locked%s: run it again with SOCKSHIFT_RESTORE=%s, or "
					  "'sockshift unlock %s' to let them go", status, where, st.dir, st.netlock);
				return EXIT_OPFAIL;
			}
			usleep(1000);
		}
	}
	if (cross && t_unlock >= 0) {
		struct netlock *nl;

		enter_ns(mv.from_ns, mv.m.from_ns);
		if (netlock_open(st.netlock, &nl) == 0 && (r = netlock_destroy(nl)) < 0)
			util_warn("migrate: removing the lock %s from namespace %s: %s ('ip netns exec %s "
				  "sockshift unlock %s' removes it)", st.netlock, mv.m.from_ns, strerror(-r),
				  mv.m.from_ns, st.netlock);
		else
			printf("network lock %s removed from namespace %s\n", st.netlock, mv.m.from_ns);
		enter_ns(mv.to_ns, mv.m.to_ns);
	}
	printf("migrated %u connections (%u listeners, %llu bytes queued) from %d to %d\n"
	       "old process: frozen %.1f ms, checkpoint reported after %.1f ms, exited after %.1f ms\n",
	       st.conns, st.listeners, st.bytes, pid, (int)child, st.pause_us / 1e3, t_saved - t0,
	       t_exited - t0);
	if (move) {
		announce(&mv, 2);   /* repeats, out of the downtime, for a lossy link */
		printf("moved %s from %s in namespace %s to %s in namespace %s in %.1f ms; %u %s sent\n",
		       mv.m.text, mv.m.from_if, mv.m.from_ns, mv.m.to_if, mv.m.to_ns, t_move, mv.announced,
		       mv.m.family == AF_INET ? "gratuitous ARPs" : "unsolicited neighbour advertisements");
	}
	if (t_unlock >= 0)
		printf("downtime (signal to lock lifted by the new process): %.1f ms, the same for each "
		       "connection (one transaction)\n", t_unlock - t0);
	else
		printf("downtime: the lock %s was not lifted within 3 s\n", st.netlock);
	fflush(stdout);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
