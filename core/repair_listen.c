/*
 * repair_listen — listening sockets are not repairable (the kernel refuses TCP_REPAIR on
 * LISTEN), and need not be: a restore re-creates them from a record of their address, backlog
 * and options. Pending, not yet accepted connections are not carried over.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/tcp.h>

#include "repair_int.h"

int repair_listen_save(int fd, struct repair_listen *out, size_t size)
{
	struct repair_listen l;
	struct repair_diag dg;
	socklen_t alen = sizeof(l.self);
	uint32_t state;
	int err;

	if (size < offsetof(struct repair_listen, opts))
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	err = repair_tcp_state(fd, &state, NULL, NULL, NULL);
	if (err)
		return err;
	if (state != TCP_LISTEN)
		return -EINVAL;
	if (getsockname(fd, &l.self.sa, &alen) < 0)
		return -errno;
	if (repair_diag_lookup(fd, l.self.sa.sa_family, 1u << TCP_LISTEN, &dg) == 0)
		l.backlog = dg.backlog;
	err = repair_opts_save(fd, l.self.sa.sa_family, state, &l.opts);
	if (err)
		return err;
	l.opts.shutdown = 0;
	memcpy(out, &l, size < sizeof(l) ? size : sizeof(l));
	return 0;
}

int repair_listen_restore(int fd, const struct repair_listen *in, size_t size)
{
	struct repair_listen l;
	int on = 1, err;

	if (size < offsetof(struct repair_listen, opts))
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	memcpy(&l, in, size < sizeof(l) ? size : sizeof(l));
	if (l.self.sa.sa_family != AF_INET && l.self.sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	err = repair_opts_apply_early(fd, l.self.sa.sa_family, &l.opts, NULL);
	if (err)
		return err;
	/* a listener's SO_REUSEADDR matters at bind time */
	if (l.opts.reuseaddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		return -errno;
	if (bind(fd, &l.self.sa, repair_addr_len(&l.self)) < 0)
		return -errno;
	if (listen(fd, l.backlog ? (int)l.backlog : SOMAXCONN) < 0)
		return -errno;
	return repair_opts_apply_late(fd, l.self.sa.sa_family, &l.opts);
}
