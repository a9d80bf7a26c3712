/*
 * epolltrack — see epolltrack.h. Raw system calls only: this runs inside the shim's
 * epoll_ctl hook and must not re-enter it.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "epolltrack.h"
#include "fdtable.h"
#include "log.h"
#include "rawsys.h"

struct reg {
	int used;
	int epfd;
	int fd;
	struct epoll_event ev;
};

static struct reg regs[EPOLLTRACK_MAX];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int enabled;

void epolltrack_enable(int on)
{
	enabled = on;
}

static struct reg *find(int epfd, int fd)
{
	for (int i = 0; i < EPOLLTRACK_MAX; i++)
		if (regs[i].used && regs[i].epfd == epfd && regs[i].fd == fd)
			return &regs[i];
	return NULL;
}

static void note(int epfd, int op, int fd, const struct epoll_event *ev)
{
	struct reg *r;

	pthread_mutex_lock(&lock);
	r = find(epfd, fd);
	if (op == EPOLL_CTL_DEL) {
		if (r)
			r->used = 0;
	} else if (r) {
		r->ev = *ev;
	} else {
		for (int i = 0; i < EPOLLTRACK_MAX; i++) {
			if (regs[i].used)
				continue;
			regs[i] = (struct reg){ 1, epfd, fd, *ev };
			r = &regs[i];
			break;
		}
		if (!r)
			logw("more than %d epoll registrations of sockets; fd %d would lose its "
			     "registration on epfd %d if re-homed", EPOLLTRACK_MAX, fd, epfd);
	}
	pthread_mutex_unlock(&lock);
}

int epolltrack_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	long r = rawsys4(SYS_epoll_ctl, epfd, op, fd, (long)ev);

	if (r == 0 && enabled && (op == EPOLL_CTL_DEL || ev) && fdt_known(fd))
		note(epfd, op, fd, ev);
	return (int)r;
}

void epolltrack_forget(int fd)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < EPOLLTRACK_MAX; i++)
		if (regs[i].used && regs[i].fd == fd)
			regs[i].used = 0;
	pthread_mutex_unlock(&lock);
}

int epolltrack_restore(int fd)
{
	int n = 0, err = 0;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < EPOLLTRACK_MAX; i++) {
		if (!regs[i].used || regs[i].fd != fd)
			continue;
		struct epoll_event ev = regs[i].ev;
		long r = rawsys4(SYS_epoll_ctl, regs[i].epfd, EPOLL_CTL_ADD, fd, (long)&ev);
		if (r == -EEXIST) /* the old socket is still open elsewhere: refresh */
			r = rawsys4(SYS_epoll_ctl, regs[i].epfd, EPOLL_CTL_MOD, fd, (long)&ev);
		if (r == -EBADF || r == -EINVAL) {
			regs[i].used = 0; /* the epoll fd is gone */
			continue;
		}
		if (r < 0 && !err)
			err = (int)r;
		if (r == 0)
			n++;
	}
	pthread_mutex_unlock(&lock);
	return err ? err : n;
}

int epolltrack_count(int fd)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < EPOLLTRACK_MAX; i++)
		n += regs[i].used && regs[i].fd == fd;
	pthread_mutex_unlock(&lock);
	return n;
}
