/*
 * hook_epoll — epoll_ctl, so that a socket re-homed at connect/bind time keeps its epoll
 * registrations (core/epolltrack.h). Everything else about epoll is the kernel's.
 */
#include <sys/epoll.h>

#include "epolltrack.h"
#include "shim.h"

SHIM_API int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int e = errno;

	shim_enter();
	return (int)shim_ret(epolltrack_ctl(epfd, op, fd, ev), e);
}
