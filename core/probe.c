/*
 * probe — the kernel feature probes behind `sockshift check` (see probe.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/rtnetlink.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "patch.h"
#include "probe.h"
#include "rawsys.h"

#ifndef TCP_REPAIR_WINDOW
#define TCP_REPAIR_WINDOW 29
#endif

struct probe_result {
	int ret;
	char detail[200];
};

int probe_in_child(int (*fn)(char *detail, size_t len), int new_netns, char *detail, size_t len)
{
	struct probe_result res = { -EIO, "" };
	int pfd[2], status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	if (pid == 0) {
		struct probe_result r = { 0, "" };
		close(pfd[0]);
		if (new_netns && unshare(CLONE_NEWNET) < 0) {
			r.ret = -errno;
			log_fmt(r.detail, sizeof(r.detail), "cannot create a network namespace: %s",
				log_errname(r.ret));
		} else {
			r.ret = fn(r.detail, sizeof(r.detail));
		}
		if (write(pfd[1], &r, sizeof(r)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	ssize_t n;
	do
		n = read(pfd[0], &res, sizeof(res));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(res)) {
		log_fmt(detail, len, "probe process died");
		return -EIO;
	}
	log_fmt(detail, len, "%s", res.detail);
	return res.ret;
}

static int have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (rawsys2(SYS_capget, &h, d) < 0)
		return 0;
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!r && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int netns_run(char *detail, size_t len)
{
	int r = lo_up();

	log_fmt(detail, len, r ? "namespace made, but lo cannot be brought up: %s" :
		"private network namespaces with loopback", log_errname(r));
	return r;
}

/* A connected loopback pair in the current (fresh) namespace; returns the client fd. */
static int loopback_pair(int *lfd, int *cfd, int *afd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int r;

	if ((r = lo_up()) < 0)
		return r;
	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*lfd < 0 || *cfd < 0 || bind(*lfd, (void *)&a, sizeof(a)) || listen(*lfd, 1) ||
	    getsockname(*lfd, (void *)&a, &l) || connect(*cfd, (void *)&a, sizeof(a)))
		return -errno;
	*afd = accept(*lfd, NULL, NULL);
	return *afd < 0 ? -errno : 0;
}

static int repair_run(char *detail, size_t len)
{
	int lfd = -1, cfd = -1, afd = -1, on = 1, off = 0, r;
	struct { unsigned a, b, c, d, e; } win;
	socklen_t wl = sizeof(win);

	r = loopback_pair(&lfd, &cfd, &afd);
	if (r < 0) {
		log_fmt(detail, len, "cannot set up a loopback connection: %s", log_errname(r));
		return r;
	}
	if (setsockopt(cfd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
		r = -errno;
		log_fmt(detail, len, "TCP_REPAIR refused: %s%s", log_errname(r),
			have_cap(CAP_NET_ADMIN) ? "" : " (CAP_NET_ADMIN missing)");
		return r;
	}
	int has_window = getsockopt(cfd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &win, &wl) == 0;
	setsockopt(cfd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	/* Half-closed repair (kernel 4.x+): CRIU's test, shutdown then repair. */
	shutdown(afd, SHUT_WR);
	int half = setsockopt(afd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) == 0;
	log_fmt(detail, len, "TCP_REPAIR works; TCP_REPAIR_WINDOW %s; half-closed repair %s",
		has_window ? "yes" : "no", half ? "yes" : "no");
	return 0;
}

static int rawsock_run(char *detail, size_t len)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0) {
		int r = -errno;
		log_fmt(detail, len, "raw IP sockets refused: %s%s", log_errname(r),
			have_cap(CAP_NET_RAW) ? "" : " (CAP_NET_RAW missing)");
		return r;
	}
	close(fd);
	log_fmt(detail, len, "raw IP sockets (needed to re-create a peer's FIN)");
	return 0;
}

static int nftables_run(char *detail, size_t len)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd < 0) {
		int r = -errno;
		log_fmt(detail, len, "netfilter netlink unavailable: %s", log_errname(r));
		return r;
	}
	close(fd);
	log_fmt(detail, len, "netfilter netlink socket opens%s",
		have_cap(CAP_NET_ADMIN) ? "" : " (CAP_NET_ADMIN missing: rules cannot be added)");
	return have_cap(CAP_NET_ADMIN) ? 0 : -EPERM;
}

/* Sends one rtnetlink request and returns the kernel's ack: 0 or -errno. */
static int rtnl_request(struct nlmsghdr *req)
{
	char buf[4096];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), r = -EIO;

	if (fd < 0)
		return -errno;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, req, req->nlmsg_len, 0) < 0) {
		r = -errno;
		goto out;
	}
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	struct nlmsghdr *h = (void *)buf;
	if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR)
		r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
out:
	close(fd);
	return r;
}

static void rta_add(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *rta = (void *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int tc_run(char *detail, size_t len)
{
	struct {
		struct nlmsghdr h;
		struct tcmsg t;
		char attrs[256];
	} q = { 0 };
	int r = lo_up();

	if (r < 0)
		return r;
	q.h.nlmsg_len = NLMSG_LENGTH(sizeof(q.t));
	q.h.nlmsg_type = RTM_NEWQDISC;
	q.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	q.t.tcm_family = AF_UNSPEC;
	q.t.tcm_ifindex = (int)if_nametoindex("lo");
	q.t.tcm_handle = 0xFFFF0000u;
	q.t.tcm_parent = 0xFFFFFFF1u; /* TC_H_CLSACT */
	rta_add(&q.h, TCA_KIND, "clsact", sizeof("clsact"));
	r = rtnl_request(&q.h);
	if (r < 0) {
		log_fmt(detail, len, "clsact qdisc refused: %s", log_errname(r));
		return r;
	}
	/* The facts file: some kernels have tc but no gact (drop) action. Ask for one. */
	/* RTM_NEWACTION { TCA_ACT_TAB { 1 { KIND "gact", OPTIONS { PARMS } } } }, built by hand. */
	union {
		struct nlmsghdr h;
		char buf[512];
	} a = { 0 };
	struct tcamsg *t = NLMSG_DATA(&a.h);
	struct rtattr *tab, *prio, *opts;
	struct { unsigned index, capab; int action, refcnt, bindcnt; } parms = { 0, 0, 2 /* TC_ACT_SHOT */, 0, 0 };

	a.h.nlmsg_len = NLMSG_LENGTH(sizeof(*t));
	a.h.nlmsg_type = RTM_NEWACTION;
	a.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	t->tca_family = AF_UNSPEC;
	tab = (void *)(a.buf + NLMSG_ALIGN(a.h.nlmsg_len));
	tab->rta_type = TCA_ACT_TAB;
	a.h.nlmsg_len = NLMSG_ALIGN(a.h.nlmsg_len) + RTA_LENGTH(0);
	prio = (void *)(a.buf + NLMSG_ALIGN(a.h.nlmsg_len));
	prio->rta_type = 1;
	a.h.nlmsg_len = NLMSG_ALIGN(a.h.nlmsg_len) + RTA_LENGTH(0);
	rta_add(&a.h, 1 /* TCA_ACT_KIND */, "gact", sizeof("gact"));
	opts = (void *)(a.buf + NLMSG_ALIGN(a.h.nlmsg_len));
	opts->rta_type = 2; /* TCA_ACT_OPTIONS */
	a.h.nlmsg_len = NLMSG_ALIGN(a.h.nlmsg_len) + RTA_LENGTH(0);
	rta_add(&a.h, 2 /* TCA_GACT_PARMS */, &parms, sizeof(parms));
	opts->rta_len = (unsigned short)(a.buf + a.h.nlmsg_len - (char *)opts);
	prio->rta_len = (unsigned short)(a.buf + a.h.nlmsg_len - (char *)prio);
	tab->rta_len = (unsigned short)(a.buf + a.h.nlmsg_len - (char *)tab);
	int g = rtnl_request(&a.h);
	log_fmt(detail, len, "clsact qdisc works; gact drop action %s%s", g == 0 ? "works" : "missing (",
		g == 0 ? "" : log_errname(g));
	if (g != 0)
		log_fmt(detail + strlen(detail), len - strlen(detail), "): use nftables for locks");
	return 0;
}

static int vsock_run(char *detail, size_t len)
{
	unsigned cid = 0;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int r = -errno;
		log_fmt(detail, len, "/dev/vsock: %s", log_errname(r));
		return r;
	}
	int r = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0 ? -errno : 0;
	close(fd);
	/* Opening an AF_VSOCK socket is safe; nothing is connected or sent. */
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		r = -errno;
		log_fmt(detail, len, "AF_VSOCK sockets refused: %s", log_errname(r));
		return r;
	}
	close(s);
	log_fmt(detail, len, "/dev/vsock present, local CID %u", cid);
	return r;
}

static int userns_run(char *detail, size_t len)
{
	if (unshare(CLONE_NEWUSER) < 0) {
		int r = -errno;
		log_fmt(detail, len, "unprivileged user namespaces refused: %s", log_errname(r));
		return r;
	}
	log_fmt(detail, len, "user namespaces (unprivileged netns and repair)");
	return 0;
}

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif

static int sud_run(char *detail, size_t len)
{
	/* Off is always valid where the prctl exists; EINVAL means the kernel lacks it. */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, 0, 0, 0, 0) < 0) {
		int r = -errno;
		log_fmt(detail, len, "Syscall User Dispatch unavailable: %s", log_errname(r));
		return r;
	}
	log_fmt(detail, len, "Syscall User Dispatch (kernel 5.11+)");
	return 0;
}

#define IN_NETNS(fn) static int fn##_ns(char *d, size_t l) { return probe_in_child(fn, 1, d, l); }
#define IN_CHILD(fn) static int fn##_ch(char *d, size_t l) { return probe_in_child(fn, 0, d, l); }
IN_NETNS(netns_run)
IN_NETNS(repair_run)
IN_NETNS(rawsock_run)
IN_NETNS(tc_run)
IN_CHILD(nftables_run)
IN_CHILD(vsock_run)
IN_CHILD(userns_run)
IN_CHILD(sud_run)
static int patch_run(char *d, size_t l) { return patch_probe(d, l); }
IN_CHILD(patch_run)

const struct probe probe_list[] = {
	{ "netns", "network namespaces", "netns stacks, isolated tests", netns_run_ns },
	{ "userns", "user namespaces", "unprivileged stacks and repair", userns_run_ch },
	{ "tcp_repair", "TCP_REPAIR", "checkpoint and migration of TCP connections", repair_run_ns },
	{ "raw_socket", "raw IP sockets (CAP_NET_RAW)", "restoring half-closed connections", rawsock_run_ns },
	{ "nftables", "nftables (netfilter netlink)", "the network lock during checkpoints", nftables_run_ch },
	{ "tc", "traffic control", "alternative locks in tests", tc_run_ns },
	{ "vsock", "VM sockets device", "the vsock stack", vsock_run_ch },
	{ "sud", "Syscall User Dispatch", "the syscall patching safety net", sud_run_ch },
	{ "patch", "syscall-site patching",  "libc-internal socket calls (DNS) on a stack",
	  patch_run_ch },
	{ 0 }
};
