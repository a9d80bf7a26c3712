/*
 * rehome — see rehome.h.
 */
#include <errno.h>
#include <fcntl.h>

#include "epolltrack.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "rehome.h"
#include "stack_vpoll.h"
#include "vsock_sock.h"

int rehome_fd(int fd, struct stack *to)
{
	struct fdt_rec rec;
	int nfd, fl, fdfl, r, e = errno;

	r = fdt_get(fd, &rec);
	if (r < 0)
		return r;
	if (rec.state & FDT_OPTS_OVERFLOW) {
		logw("fd %d: more options were set than recorded; cannot move it to stack %s", fd,
		     to->name);
		return -ENETUNREACH;
	}
	fl = real.fcntl(fd, F_GETFL);
	fdfl = real.fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0) {
		r = -errno;
		goto out_errno;
	}
	nfd = to->ops->socket(to, rec.domain, rec.type | SOCK_CLOEXEC, rec.protocol);
	if (nfd < 0) {
		r = nfd;
		goto out_errno;
	}
	if (stack_vpoll_owns(nfd)) {   /* a user-space stack's socket cannot take another number */
		logw("fd %d: stack %s is a user-space stack; a socket cannot move there", fd, to->name);
		stack_vpoll_close(nfd);
		r = -ENETUNREACH;
		goto out_errno;
	}
	for (unsigned i = 0; i < rec.nopts; i++) {
		const struct fdt_opt *o = &rec.opts[i];
		/* vsock has no TCP/IP options: its stack keeps them as the program set them. */
		r = to->kind == STACK_VSOCK ? vsock_sock_replay_opt(nfd, o->level, o->name, o->val, o->len)
		    : real.setsockopt(nfd, o->level, o->name, o->val, o->len) < 0 ? -errno : 0;
		if (r < 0) {
			logw("fd %d: option %d/%d cannot be set again on stack %s: %s", fd, o->level,
			     o->name, to->name, log_errname(r));
			goto out_nfd;
		}
	}
	if (real.fcntl(nfd, F_SETFL, fl & ~O_ACCMODE) < 0) {
		r = -errno;
		goto out_nfd;
	}
	if (real.dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		r = -errno;
		goto out_nfd;
	}
	real.close(nfd);
	rec.stack_id = to->id;
	fdt_add(&rec);
	r = epolltrack_restore(fd);
	logd("rehome fd=%d -> stack=%s (%u option(s), flags 0x%x, %d epoll registration(s))", fd,
	     to->name, rec.nopts, fl, r < 0 ? 0 : r);
	errno = e;
	return r < 0 ? r : 0;

out_nfd:
	real.close(nfd);
out_errno:
	errno = e;
	return r;
}
