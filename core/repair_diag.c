/*
 * repair_diag — find one TCP socket in the kernel's sock_diag tables (NETLINK_SOCK_DIAG), by
 * its inode, to learn what the socket API does not tell: the peer of a SYN_SENT socket
 * (getpeername says ENOTCONN) and the backlog of a listening socket (idiag_wqueue).
 * One dump per call: meant for the rare states, not for the ESTABLISHED fast path.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

#include "repair_int.h"

static void diag_addr(union repair_addr *a, int family, const __be32 *w, __be16 port)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = family;
	if (family == AF_INET) {
		memcpy(&a->v4.sin_addr, w, 4);
		a->v4.sin_port = port;
	} else {
		memcpy(&a->v6.sin6_addr, w, 16);
		a->v6.sin6_port = port;
	}
}

/* Scan one batch of replies; 1 = found, 0 = go on, -errno. */
static int diag_scan(const char *buf, ssize_t n, ino_t ino, int family, struct repair_diag *out)
{
	const struct nlmsghdr *h;

	for (h = (const void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		const struct inet_diag_msg *m = NLMSG_DATA(h);

		if (h->nlmsg_type == NLMSG_DONE)
			return -ENOENT;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error ? e->error : -EIO;
		}
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->idiag_inode != ino)
			continue;
		diag_addr(&out->src, family, m->id.idiag_src, m->id.idiag_sport);
		diag_addr(&out->dst, family, m->id.idiag_dst, m->id.idiag_dport);
		out->state = m->idiag_state;
		out->backlog = m->idiag_wqueue;
		return 1;
	}
	return 0;
}

int repair_diag_lookup(int fd, int family, uint32_t states, struct repair_diag *out)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = states },
	};
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct stat st;
	int nfd, err = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	nfd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nfd < 0)
		return -errno;
	if (sendto(nfd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		err = -errno;
		goto close_nl;
	}
	while (!err) {
		ssize_t n = recv(nfd, buf, sizeof(buf), 0);

		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0) {
			err = -ENOENT;
			break;
		}
		err = diag_scan(buf, n, st.st_ino, family, out);
	}
	if (err == 1)
		err = 0;
close_nl:
	close(nfd);
	return err;
}
