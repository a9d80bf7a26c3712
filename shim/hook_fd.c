/*
 * hook_fd — calls that close or duplicate fds: close, close_range, closefrom, dup, dup2,
 * dup3, fcntl. They keep the fd table in step with the kernel and protect the shim's own
 * fds (ownfd.h) from programs that close or dup2 over "every" fd.
 * A record is dropped *before* the kernel closes the fd, so another thread's new socket
 * that reuses the number can never have its fresh record wiped.
 */
#include <stdarg.h>

#include "fdtable.h"
#include "ownfd.h"
#include "progfd.h"
#include "quiesce.h"
#include "shim.h"
#include "sock.h"
#include "vpoll_gate.h"

int __close(int fd);
int __dup2(int oldfd, int newfd);
int __fcntl(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...);
void closefrom(int lowfd);

SHIM_API int close(int fd)
{
	shim_enter_nostart();
	if (unlikely(ownfd_is(fd)) && !progfd_detached())
		return 0; /* the log fd stays ours; the program believed it closed something */
	if (unlikely(stack_vpoll_owns(fd))) {
		fdt_del(fd);
		VPOLL_GATE(fd, stack_vpoll_close(fd));
	}
	struct quiesce_slot *q_ = quiesce_enter(fd);   /* no close of a frozen socket */
	int known = fdt_known(fd);
	if (known)
		fdt_del(fd);
	int r = real.close(fd);
	quiesce_leave(q_);
	if (unlikely(known && LOG_ON(LOGL_DEBUG))) {
		int e = errno;
		sock_closed(fd, r, e);
		errno = e;
	}
	return r;
}
SHIM_API int __close(int fd) __attribute__((alias("close")));

/* Closes [first, last] except our own fds, in pieces. */
static int close_range_sparing(unsigned first, unsigned last, int flags)
{
	unsigned lo = first;
	int r = 0;

	for (unsigned fd = first; fd <= last && fd >= first; ) {
		if (fd >= OWNFD_MIN_NUMBER && ownfd_is((int)fd) && !progfd_detached()) {
			if (fd > lo)
				r |= real.close_range(lo, fd - 1, flags);
			lo = fd + 1;
		}
		/* Only the high range can hold our fds; jump there. */
		fd = fd < OWNFD_MIN_NUMBER ? OWNFD_MIN_NUMBER : fd + 1;
		if (fd > OWNFD_MIN_NUMBER + 4096)
			break;
	}
	if (lo <= last && lo >= first)
		r |= real.close_range(lo, last, flags);
	return r ? -1 : 0;
}

SHIM_API int close_range(unsigned int first, unsigned int last, int flags)
{
	shim_enter_nostart();
	if (unlikely(!real.close_range))
		return errno = ENOSYS, -1;
	if (first > last)
		return real.close_range(first, last, flags);
	struct quiesce_slot *q_ = quiesce_enter((int)first);
	if (!(flags & CLOSE_RANGE_CLOEXEC)) {
		stack_vpoll_close_range(first, last);
		fdt_del_range(first, last);
	}
	int r = close_range_sparing(first, last, flags);
	quiesce_leave(q_);
	if ((flags & CLOSE_RANGE_CLOEXEC) && r == 0) {
		int e = errno;
		fdt_set_fd_flags_range(first, last, FD_CLOEXEC);   /* exec must not pass them on */
		errno = e;
	}
	if (unlikely(LOG_ON(LOGL_DEBUG))) {
		int e = errno;
		sock_closed_range(first, last, flags, r, e);
		errno = e;
	}
	return r;
}

SHIM_API void closefrom(int lowfd)
{
	shim_enter_nostart();
	if (lowfd < 0)
		lowfd = 0;
	int e = errno;
	if (real.close_range && close_range((unsigned)lowfd, ~0U, 0) == 0) {
		errno = e;
		return;
	}
	errno = e;
	stack_vpoll_close_range((unsigned)lowfd, ~0U);
	fdt_del_range((unsigned)lowfd, ~0U);
	if (real.closefrom)
		real.closefrom(lowfd);
}

/* A user-space stack's socket: duplicated and mapped by core (always close-on-exec). */
static int vpoll_dup(const char *call, int oldfd, int newfd, int minfd)
{
	int e = errno, r = stack_vpoll_dup(oldfd, newfd, minfd);

	if (r >= 0 && r != oldfd)
		sock_duped(call, oldfd, r, 1, 0);
	return (int)shim_ret(r, e);
}

SHIM_API int dup(int oldfd)
{
	shim_enter_nostart();
	if (unlikely(stack_vpoll_owns(oldfd)))
		return vpoll_dup("dup", oldfd, -1, 0);
	int r = real.dup(oldfd);
	if (r >= 0 || fdt_known(oldfd)) {
		int e = errno;
		sock_duped("dup", oldfd, r, 0, e);
		errno = e;
	}
	return r;
}

static int dup_onto(const char *call, int oldfd, int newfd, int flags, int use_dup3)
{
	shim_enter_nostart();
	if (unlikely(ownfd_is(newfd)) && !progfd_detached()) {
		int e = errno;
		ownfd_evacuate(newfd);
		errno = e;
	}
	if (unlikely(stack_vpoll_owns(oldfd)))
		return vpoll_dup(call, oldfd, newfd, -1);
	if (unlikely(stack_vpoll_owns(newfd))) {   /* the dup closes it: its plug-in socket goes */
		int e = errno, f = stack_vpoll_forget(newfd);
		if (f < 0)
			return (int)shim_ret(f, e);
	}
	struct quiesce_slot *q_ = quiesce_enter(oldfd);   /* dup2 onto a frozen socket closes it */
	int r = use_dup3 ? real.dup3(oldfd, newfd, flags) : real.dup2(oldfd, newfd);
	quiesce_leave(q_);
	if (r >= 0 || fdt_known(oldfd)) {
		int e = errno;
		sock_duped(call, oldfd, r, flags & O_CLOEXEC, e);
		errno = e;
	}
	return r;
}

SHIM_API int dup2(int oldfd, int newfd)
{
	return dup_onto("dup2", oldfd, newfd, 0, 0);
}
SHIM_API int __dup2(int oldfd, int newfd) __attribute__((alias("dup2")));

SHIM_API int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto("dup3", oldfd, newfd, flags, 1);
}

static int fcntl_common(int fd, int cmd, void *arg, int use64)
{
	shim_enter_nostart();
	if (unlikely(stack_vpoll_owns(fd))) {
		int e = errno, r = stack_vpoll_fcntl(fd, cmd, (long)arg);
		if (r >= 0)
			sock_fcntl_done(fd, cmd, (long)arg, r, 0);
		return (int)shim_ret(r, e);
	}
	int r = use64 && real.fcntl64 ? real.fcntl64(fd, cmd, arg) : real.fcntl(fd, cmd, arg);
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
	case F_SETFL:
	case F_SETFD:
		if (r >= 0 && (fdt_known(fd))) {
			int e = errno;
			sock_fcntl_done(fd, cmd, (long)arg, r, e);
			errno = e;
		}
	}
	return r;
}

/* The variadic argument is an int or a pointer; glibc forwards it as a pointer too. */
SHIM_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, 0);
}
SHIM_API int __fcntl(int fd, int cmd, ...) __attribute__((alias("fcntl")));

SHIM_API int fcntl64(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, 1);
}
