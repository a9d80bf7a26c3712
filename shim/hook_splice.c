/*
 * hook_splice — sendfile/sendfile64/splice, only so that the checkpoint gate (core/quiesce.h)
 * also covers programs that move data into or out of a socket without a user buffer (web
 * servers sending files). Like hook_rw: only fds the fd table knows as sockets pass the gate;
 * file-to-pipe and pipe-to-file copies go straight to libc.
 *
 * The gate names the call's first argument when it is the socket (sendfile's out_fd,
 * splice's fd_in): a thread asleep there waits for the socket (packets, held by the network
 * lock) and may stay asleep during a freeze, as in send/recv. splice from a pipe into a socket
 * names no fd: asleep there it may be waiting for the pipe, which another thread can fill at
 * any time, so a freeze waits for it to return (or gives up untouched after its timeout).
 * tee and vmsplice only touch pipes; copy_file_range refuses sockets.
 */
#include "fdtable.h"
#include "quiesce.h"
#include "shim.h"

static struct quiesce_slot *gate(int first, int other)
{
	if (fdt_known(first))
		return quiesce_enter(first);
	return fdt_known(other) ? quiesce_enter(-1) : NULL;
}

SHIM_API ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	shim_enter();
	struct quiesce_slot *q = gate(out_fd, in_fd);
	ssize_t r = real.sendfile(out_fd, in_fd, offset, count);
	if (q)
		quiesce_leave(q);
	return r;
}

SHIM_API ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	shim_enter();
	if (unlikely(!real.sendfile64))
		return errno = ENOSYS, -1;
	struct quiesce_slot *q = gate(out_fd, in_fd);
	ssize_t r = real.sendfile64(out_fd, in_fd, offset, count);
	if (q)
		quiesce_leave(q);
	return r;
}

SHIM_API ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
			unsigned int flags)
{
	shim_enter();
	if (unlikely(!real.splice))
		return errno = ENOSYS, -1;
	struct quiesce_slot *q = gate(fd_in, fd_out);
	ssize_t r = real.splice(fd_in, off_in, fd_out, off_out, len, flags);
	if (q)
		quiesce_leave(q);
	return r;
}
