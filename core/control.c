/*
 * control — where the control socket lives, how it is bound, and the thread that accepts
 * clients one at a time (see control.h). The per-connection protocol is control_serve.c.
 *
 * The thread starts with every signal blocked, so the host program's signals keep going to
 * its own threads. It serves one client at a time: a DUMP in progress makes the next client
 * wait in the listen backlog. In the shim it runs on a private fd table (progfd.h) holding
 * the listening socket and its clients only: the program can neither close them nor pass
 * them to a child, and its own socket calls keep the kernel's unshared-table fast path.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "progfd.h"
#include "rawsys.h"
#include "real.h"

struct control_server {
	int fd;                     /* the listening socket; detached: in the thread's table */
	unsigned flags;             /* CONTROL_SERVER_* */
	atomic_int ready;           /* detached: the thread has its own table (or start_err) */
	int start_err;
	atomic_int stop;
	dev_t dev;                  /* the socket file we bound: unlink only that one */
	ino_t ino;
	pthread_t thread;
	struct control_ops ops;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory the default path uses; see control.h. */
static int default_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char run[64];
	size_t n;

	log_fmt(run, sizeof(run), "/run/user/%u", (unsigned)geteuid());
	if (xdg && xdg[0] == '/' && is_dir(xdg))
		n = log_fmt(buf, size, "%s/sockshift", xdg);
	else if (is_dir(run))
		n = log_fmt(buf, size, "%s/sockshift", run);
	else
		n = log_fmt(buf, size, "/tmp/sockshift-%u", (unsigned)geteuid());
	return n + 1 >= size ? -ENAMETOOLONG : 0;
}

int control_default_path(pid_t pid, char *buf, size_t size)
{
	char dir[PATH_MAX];
	size_t n;
	int r = default_dir(dir, sizeof(dir));

	if (r < 0)
		return r;
	n = log_fmt(buf, size, "%s/%d.sock", dir, (int)pid);
	if (n + 1 >= size || n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int control_default_dirs(char dirs[][PATH_MAX], int max)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n = 0;

	if (n < max && xdg && xdg[0] == '/')
		log_fmt(dirs[n++], PATH_MAX, "%s/sockshift", xdg);
	if (n < max)
		log_fmt(dirs[n++], PATH_MAX, "/run/user/%u/sockshift", (unsigned)geteuid());
	if (n < max)
		log_fmt(dirs[n++], PATH_MAX, "/tmp/sockshift-%u", (unsigned)geteuid());
	return n;
}

/* Creates the default directory (0700) if path is inside it; refuses one that is not ours,
 * is a link, or is open to others: another user could otherwise swap our socket. */
static int prepare_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	size_t n;

	if (default_dir(dir, sizeof(dir)) < 0)
		return 0;
	n = strlen(dir);
	if (strncmp(path, dir, n) != 0 || path[n] != '/' || strchr(path + n + 1, '/'))
		return 0;     /* a path of the user's choosing: theirs to prepare */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int r = -errno;
		log_fmt(err, errlen, "cannot create %s: %s", dir, log_errname(r));
		return r;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0077)) {
		log_fmt(err, errlen, "%s must be a directory of uid %u with mode 0700", dir,
			(unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

/* A live server answers a connect; a stale socket file refuses it. */
static int path_in_use(const struct sockaddr_un *sun)
{
	int c = real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), used;

	if (c < 0)
		return 0;
	used = real.connect(c, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	real.close(c);
	return used;
}

int control_link_default(const char *path, pid_t pid, char *link, size_t size)
{
	char err[256];
	int r = control_default_path(pid, link, size);

	if (r < 0 || !strcmp(link, path))
		return r < 0 ? r : -EEXIST;
	r = prepare_dir(link, err, sizeof(err));
	if (r < 0)
		return r;
	unlink(link);           /* a stale socket or link of an earlier process of this pid */
	return symlink(path, link) < 0 ? -errno : 0;
}

int control_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd, r;

	if (!len || len >= sizeof(sun.sun_path)) {
		log_fmt(err, errlen, "'%s': a socket path must have 1 to %zu bytes", path,
			sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	r = prepare_dir(path, err, errlen);
	if (r < 0)
		return r;
	memcpy(sun.sun_path, path, len + 1);
	fd = real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_fmt(err, errlen, "socket(AF_UNIX, SOCK_SEQPACKET): %s", log_errname(r));
		return r;
	}
	/* A socket left by an earlier process of this pid (or a crash) is replaced; anything
	 * else at the path is not ours to remove. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_fmt(err, errlen, "'%s' exists and is not a socket", path);
			r = -EEXIST;
			goto err_close;
		}
		if (path_in_use(&sun)) {
			log_fmt(err, errlen, "'%s' is served by a running process", path);
			r = -EADDRINUSE;
			goto err_close;
		}
		unlink(path);
	}
	/* 0600 from the start: no window in which another user could connect. */
	mode_t old = umask(0177);
	r = real.bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0) {
		r = -errno;
		log_fmt(err, errlen, "cannot bind '%s': %s", path, log_errname(r));
		goto err_close;
	}
	if (chmod(path, 0600) < 0 || real.listen(fd, 16) < 0) {
		r = -errno;
		log_fmt(err, errlen, "cannot listen on '%s': %s", path, log_errname(r));
		unlink(path);
		goto err_close;
	}
	return fd;

err_close:
	real.close(fd);
	return r;
}

/* Detaching (CONTROL_SERVER_DETACH): the thread's own fd table, with the listening fd only. */
static int serve_detach(struct control_server *srv)
{
	int keep = srv->fd, r = progfd_detach(&keep, 1);

	srv->start_err = r;
	atomic_store(&srv->ready, 1);
	rawsys3(SYS_futex, &srv->ready, FUTEX_WAKE_PRIVATE, 1);
	return r;
}

static void *serve_loop(void *arg)
{
	struct control_server *srv = arg;
	int detach = srv->flags & CONTROL_SERVER_DETACH;

	if (detach && serve_detach(srv) < 0)
		return NULL;   /* the starter sees start_err and cleans up */
	while (!atomic_load(&srv->stop)) {
		struct pollfd p = { .fd = srv->fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		if (atomic_load(&srv->stop))
			break;
		if (p.revents & POLLNVAL) {
			/* not detached, and the program closed it behind our back (a raw close_range) */
			logw("control: the control socket fd %d was closed; control stopped", srv->fd);
			break;
		}
		if (!(p.revents & POLLIN))
			continue;
		int c = real.accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			continue;   /* EAGAIN after a racing close, ECONNABORTED: next one */
		if (!detach) {
			/* Keep the connection away from numbers the program may pick. */
			int hc = (int)rawsys3(SYS_fcntl, c, F_DUPFD_CLOEXEC, 900);
			if (hc >= 0) {
				real.close(c);
				c = hc;
			}
		}
		control_serve_conn(c, &srv->ops);
		real.close(c);
	}
	if (detach)
		rawsys1(SYS_close, srv->fd);   /* in this thread's table only */
	return NULL;
}

int control_server_start(const char *path, const struct control_ops *ops, unsigned flags,
			 struct control_server **out, char *err, size_t errlen)
{
	struct control_server *srv = calloc(1, sizeof(*srv));
	sigset_t all, old;
	int r;

	if (!srv) {
		log_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->ops = *ops;
	srv->flags = flags;
	log_fmt(srv->path, sizeof(srv->path), "%s", path);
	r = control_listen(path, err, errlen);
	if (r < 0)
		goto err_free;
	srv->fd = r;
	struct stat st;
	if (lstat(path, &st) == 0) {
		srv->dev = st.st_dev;
		srv->ino = st.st_ino;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&srv->thread, NULL, serve_loop, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		log_fmt(err, errlen, "cannot start the control thread: %s", log_errname(r));
		goto err_listen;
	}
	pthread_setname_np(srv->thread, "sockshift-rpc");
	if (flags & CONTROL_SERVER_DETACH) {
		while (!atomic_load(&srv->ready))
			rawsys4(SYS_futex, &srv->ready, FUTEX_WAIT_PRIVATE, 0, NULL);
		if (srv->start_err < 0) {
			r = srv->start_err;
			log_fmt(err, errlen, "cannot give the control thread its own fd table: %s",
				log_errname(r));
			pthread_join(srv->thread, NULL);
			goto err_listen;
		}
		/* the thread's table has its own copy; the program's table keeps nothing */
		real.close(srv->fd);
	}
	*out = srv;
	return 0;

err_listen:
	unlink(srv->path);
	real.close(srv->fd);
err_free:
	free(srv);
	return r;
}

const char *control_server_path(const struct control_server *srv)
{
	return srv ? srv->path : "";
}

void control_server_unlink(struct control_server *srv)
{
	struct stat st;

	/* A later process may have taken the path over (a stale-socket replacement): leave
	 * its socket alone. */
	if (srv && srv->path[0] && lstat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
	    st.st_ino == srv->ino)
		unlink(srv->path);
}

void control_server_stop(struct control_server *srv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int c, joined = 0;

	if (!srv)
		return;
	/* Wake the thread with a connection of our own; it sees stop and leaves. */
	atomic_store(&srv->stop, 1);
	memcpy(sun.sun_path, srv->path, sizeof(srv->path));
	c = real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c >= 0 && real.connect(c, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		pthread_join(srv->thread, NULL);
		joined = 1;
	} else {
		pthread_detach(srv->thread);
	}
	if (c >= 0)
		real.close(c);
	control_server_unlink(srv);
	if (!(srv->flags & CONTROL_SERVER_DETACH))
		real.close(srv->fd);
	if (joined)
		free(srv);   /* a thread still running keeps using it */
}
