/*
 * stack_netns — stacks that are Linux network namespaces: netns:NAME (/run/netns/NAME),
 * netns:/PATH and netns:new (a private namespace made at open time, loopback up).
 *
 * A socket belongs to the namespace of the thread that creates it, and a thread's network
 * namespace is its own (setns/unshare with CLONE_NEWNET move only the calling thread). So
 * socket() on such a stack is a short "setns dance" on the calling thread, with every
 * signal blocked so no handler of the program runs in the wrong namespace:
 *     home = /proc/thread-self/ns/net;  setns(stack);  socket();  setns(home)
 * Other threads of the program are never touched. If the way back fails the thread would
 * stay in the wrong network, so the process is stopped (fail closed).
 * The namespace fd is one of sockshift's own fds (ownfd.h), high and FD_CLOEXEC; it is
 * inherited by fork, so children keep using the same namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "log.h"
#include "ownfd.h"
#include "rawsys.h"
#include "real.h"
#include "stack.h"

#define HOME_NS "/proc/thread-self/ns/net"

static int open_raw(const char *path)
{
	return (int)rawsys4(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
}

static __attribute__((noreturn)) void lost_home(long err)
{
	char msg[160];
	size_t n = log_fmt(msg, sizeof(msg),
			   "sockshift: cannot return a thread to its network namespace (%s); stopping\n",
			   log_errname((int)err));
	rawsys3(SYS_write, 2, msg, n);
	rawsys1(SYS_exit_group, 125);
	__builtin_unreachable();
}

/* Runs fn(arg) with the calling thread inside nsfd's namespace (nsfd < 0: a new one,
 * whose fd is stored in *newns). Returns fn's result or -errno. */
static int in_netns(int nsfd, int *newns, int (*fn)(void *), void *arg)
{
	sigset_t all, old;
	long home, r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	home = open_raw(HOME_NS);
	if (home < 0) {
		r = home;
		goto out_mask;
	}
	r = nsfd >= 0 ? rawsys2(SYS_setns, nsfd, CLONE_NEWNET) : rawsys1(SYS_unshare, CLONE_NEWNET);
	if (r < 0)
		goto out_home;
	if (newns) {
		r = open_raw(HOME_NS);
		if (r >= 0) {
			*newns = (int)r;
			r = 0;
		}
	}
	if (r == 0)
		r = fn(arg);
	long back = rawsys2(SYS_setns, home, CLONE_NEWNET);
	if (back < 0)
		lost_home(back);
out_home:
	rawsys1(SYS_close, home);
out_mask:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (int)r;
}

struct mk {
	int domain, type, protocol;
};

static int make_socket(void *arg)
{
	struct mk *m = arg;
	int fd = real.socket(m->domain, m->type, m->protocol);

	return fd < 0 ? -errno : fd;
}

static int netns_socket(struct stack *st, int domain, int type, int protocol)
{
	struct mk m = { domain, type, protocol };

	return in_netns(st->nsfd, NULL, make_socket, &m);
}

static const struct stack_ops netns_ops = { .socket = netns_socket };

/* In a fresh namespace: loopback up (ioctl on a socket of that namespace; a netlink
 * configuration is not needed for one flag). */
static int lo_up(void *arg)
{
	struct ifreq ifr;
	long fd = rawsys3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	(void)arg;
	if (fd < 0)
		return (int)fd;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	r = rawsys3(SYS_ioctl, fd, SIOCGIFFLAGS, (long)&ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = rawsys3(SYS_ioctl, fd, SIOCSIFFLAGS, (long)&ifr);
	}
	rawsys1(SYS_close, fd);
	return (int)r;
}

static int noop(void *arg)
{
	(void)arg;
	return 0;
}

static int keep(struct stack *st, int fd)
{
	int own = ownfd_adopt(fd);

	if (own < 0) {
		rawsys1(SYS_close, fd);
		return own;
	}
	st->nsfd = own;
	st->ops = &netns_ops;
	return 0;
}

int stack_netns_open(struct stack *st, const char *arg, char *why, size_t whylen)
{
	char path[300];
	long fd, r;

	if (strcmp(arg, "new") == 0) {
		int nsfd = -1;
		r = in_netns(-1, &nsfd, lo_up, NULL);
		if (r < 0) {
			if (nsfd >= 0)
				rawsys1(SYS_close, nsfd);
			log_fmt(why, whylen, "cannot make a new network namespace: %s (%s)%s",
				strerror((int)-r), log_errname((int)r),
				r == -EPERM ? "; it needs CAP_SYS_ADMIN" : "");
			return (int)r;
		}
		return keep(st, nsfd);
	}
	if (arg[0] == '/')
		log_fmt(path, sizeof(path), "%s", arg);
	else
		log_fmt(path, sizeof(path), "/run/netns/%s", arg);
	fd = open_raw(path);
	if (fd < 0) {
		log_fmt(why, whylen, "cannot open namespace %s: %s (%s)%s", path, strerror((int)-fd),
			log_errname((int)fd), fd == -ENOENT && arg[0] != '/' ?
			"; create it with 'ip netns add'" : "");
		return (int)fd;
	}
	r = rawsys2(SYS_ioctl, fd, NS_GET_NSTYPE);
	if (r != CLONE_NEWNET) {
		rawsys1(SYS_close, fd);
		log_fmt(why, whylen, "%s is not a network namespace", path);
		return -EINVAL;
	}
	/* Prove now that we may enter it, rather than at the first socket(). */
	r = in_netns((int)fd, NULL, noop, NULL);
	if (r == -EPERM) {
		rawsys1(SYS_close, fd);
		log_fmt(why, whylen, "cannot enter namespace %s: %s (%s)", path, strerror((int)-r),
			log_errname((int)r));
		return (int)r;
	}
	return keep(st, (int)fd);
}
