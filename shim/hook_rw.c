/*
 * hook_rw — read/write/readv/writev, only so that the checkpoint gate (core/quiesce.h) also
 * covers programs that use the generic calls on sockets (redis, socat). Only fds the fd table
 * knows as sockets pass the gate (a lock-free two-load lookup): files, pipes and the private
 * pipes of stack helpers (libvdestack's) go straight to libc.
 *
 * These never start the shim's initialisation: they run inside it (the config file is read
 * with read()) and inside allocators' own initialisation (jemalloc reads /proc with its
 * lock held). Until the real table is filled they make the system call directly.
 */
#include "fdtable.h"
#include "quiesce.h"
#include "rawsys.h"
#include "shim.h"
#include "vpoll_gate.h"
#include "vsock_sock.h"

ssize_t __read(int fd, void *buf, size_t len);

static ssize_t raw3(long nr, int fd, const void *p, long n)
{
	long r = rawsys3(nr, fd, p, n);

	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
ssize_t __write(int fd, const void *buf, size_t len);

SHIM_API ssize_t read(int fd, void *buf, size_t len)
{
	if (unlikely(!real.read))
		return raw3(SYS_read, fd, buf, len);
	VPOLL_GATE(fd, stack_vpoll_read(fd, buf, len));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	struct quiesce_slot *q = fdt_known(fd) ? quiesce_enter(fd) : NULL;
	ssize_t r = real.read(fd, buf, len);
	if (q)
		quiesce_leave(q);
	return r;
}
SHIM_API ssize_t __read(int fd, void *buf, size_t len) __attribute__((alias("read")));

SHIM_API ssize_t write(int fd, const void *buf, size_t len)
{
	if (unlikely(!real.write))
		return raw3(SYS_write, fd, buf, len);
	VPOLL_GATE(fd, stack_vpoll_write(fd, buf, len));
	struct quiesce_slot *q = fdt_known(fd) ? quiesce_enter(fd) : NULL;
	ssize_t r = real.write(fd, buf, len);
	if (q)
		quiesce_leave(q);
	return r;
}
SHIM_API ssize_t __write(int fd, const void *buf, size_t len) __attribute__((alias("write")));

SHIM_API ssize_t readv(int fd, const struct iovec *iov, int n)
{
	if (unlikely(!real.readv))
		return raw3(SYS_readv, fd, iov, n);
	VPOLL_GATE(fd, stack_vpoll_readv(fd, iov, n));
	int g_ = vsock_read_gate(fd);
	if (unlikely(g_ < 0))
		return shim_ret(g_, errno);
	struct quiesce_slot *q = fdt_known(fd) ? quiesce_enter(fd) : NULL;
	ssize_t r = real.readv(fd, iov, n);
	if (q)
		quiesce_leave(q);
	return r;
}

SHIM_API ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (unlikely(!real.writev))
		return raw3(SYS_writev, fd, iov, n);
	VPOLL_GATE(fd, stack_vpoll_writev(fd, iov, n));
	struct quiesce_slot *q = fdt_known(fd) ? quiesce_enter(fd) : NULL;
	ssize_t r = real.writev(fd, iov, n);
	if (q)
		quiesce_leave(q);
	return r;
}
