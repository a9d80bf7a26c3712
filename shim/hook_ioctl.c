/*
 * hook_ioctl — ioctl. For sockets of user-space plug-in stacks (core/stack_vpoll.h) FIONBIO on
 * their vpoll fd must set the plug-in's non-blocking mode (python3's setblocking() uses it),
 * the rest goes to the plug-in's ioctl. On a known socket FIOCLEX/FIONCLEX/FIONBIO also update
 * the fd table (python's os.set_inheritable uses FIONCLEX: exec must see it). Every other fd
 * goes straight to libc.
 *
 * Like read/write, this never starts the shim's initialisation: libraries call ioctl from
 * their constructors (terminal checks); until the real table is filled it is the syscall.
 */
#include <stdarg.h>
#include <sys/ioctl.h>

#include "fdtable.h"
#include "rawsys.h"
#include "sock.h"
#include "vpoll_gate.h"

SHIM_API int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;

	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (unlikely(!real.ioctl)) {
		long r = rawsys3(SYS_ioctl, fd, req, arg);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return (int)r;
	}
	VPOLL_GATE(fd, stack_vpoll_ioctl(fd, req, arg));
	int r = real.ioctl(fd, req, arg);
	if (r >= 0 && (req == FIOCLEX || req == FIONCLEX || req == FIONBIO) && fdt_known(fd)) {
		int e = errno;

		sock_ioctl_done(fd, req);
		errno = e;
	}
	return r;
}
