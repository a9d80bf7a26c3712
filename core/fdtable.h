/*
 * fdtable — what the shim knows about each socket fd of the process.
 *
 * One record per fd number: the stack the socket lives on, its family/type/protocol, how
 * it came to be, its state (bound, listening, connected, shut down), its status and fd
 * flags, and the socket options the program set (replayed when a socket is re-homed or
 * restored). Records follow the program's dup/close/fork/exec (the shim calls in here).
 *
 * Concurrency: lookups and removals are lock-free (fdt_del is async-signal-safe, so close()
 * from a signal handler is fine); additions and updates take one mutex, which the shim's
 * fork hook holds across fork() so a child never inherits it locked.
 * Storage is mmap'd in chunks on first use; nothing here calls malloc.
 */
#ifndef SOCKSHIFT_FDTABLE_H
#define SOCKSHIFT_FDTABLE_H

#include <fcntl.h>
#include <sys/socket.h>

#define FDT_FD_MAX      (1 << 20)   /* fds at or above this are not tracked */
#define FDT_OPT_MAX     16          /* options remembered per socket */
#define FDT_OPTVAL_MAX  32          /* longest option value remembered */

enum fdt_origin {
	FDT_ORIGIN_SOCKET = 0,  /* socket() */
	FDT_ORIGIN_PAIR,        /* socketpair() */
	FDT_ORIGIN_ACCEPT,      /* accept()/accept4() */
	FDT_ORIGIN_INHERITED,   /* passed across exec */
	FDT_ORIGIN_RECEIVED,    /* SCM_RIGHTS */
};

enum fdt_state {
	FDT_BOUND         = 1 << 0,
	FDT_LISTENING     = 1 << 1,
	FDT_CONNECTED     = 1 << 2,
	FDT_SHUT_RD       = 1 << 3,
	FDT_SHUT_WR       = 1 << 4,
	FDT_OPTS_OVERFLOW = 1 << 5,   /* more options were set than could be remembered */
};

struct fdt_opt {
	int level;
	int name;
	unsigned len;
	unsigned char val[FDT_OPTVAL_MAX];
};

struct fdt_rec {
	int fd;
	int domain;
	int type;               /* SOCK_STREAM etc., without SOCK_NONBLOCK/SOCK_CLOEXEC */
	int protocol;
	unsigned stack_id;      /* see stack_by_id() */
	unsigned origin;        /* enum fdt_origin */
	unsigned state;         /* enum fdt_state bits */
	int status_flags;       /* O_NONBLOCK as last set through the shim */
	int fd_flags;           /* FD_CLOEXEC */
	int backlog;            /* listen() backlog, -1 if not listening */
	unsigned nopts;
	struct fdt_opt opts[FDT_OPT_MAX];
};

/* Fills a fresh record for fd (no options, not bound). */
void fdt_rec_init(struct fdt_rec *rec, int fd, int domain, int type, int protocol, unsigned stack_id,
		  unsigned origin);

/* Adds or replaces the record of rec->fd. -EBADF if the fd cannot be tracked. */
int fdt_add(const struct fdt_rec *rec);
/* Copies the record of fd into *out; -ENOENT if fd is not a known socket. */
int fdt_get(int fd, struct fdt_rec *out);
/* Lock-free: is fd a known socket? */
int fdt_known(int fd);
/* Lock-free and async-signal-safe. */
void fdt_del(int fd);
void fdt_del_range(unsigned first, unsigned last);
/* newfd becomes a copy of oldfd's record (if oldfd is known), with FD_CLOEXEC as given. */
int fdt_dup(int oldfd, int newfd, int cloexec);

int fdt_set_opt(int fd, int level, int name, const void *val, socklen_t len);
int fdt_set_state(int fd, unsigned set, unsigned clear);
int fdt_set_backlog(int fd, int backlog);
int fdt_set_status_flags(int fd, int flags);
int fdt_set_fd_flags(int fd, int flags);
/* The same for every record in [first, last] (close_range with CLOSE_RANGE_CLOEXEC). */
void fdt_set_fd_flags_range(unsigned first, unsigned last, int flags);

/* Calls fn for a copy of every record, in fd order, under the table lock; stops at fn != 0. */
int fdt_foreach(int (*fn)(const struct fdt_rec *rec, void *arg), void *arg);
unsigned fdt_count(void);
/* Changes whenever a record is added, replaced or removed (fdt_set_* leave it): the same value
 * at two times means the same sockets at the same numbers in between. Lock-free. */
unsigned fdt_generation(void);
/* Forgets every record (tests). */
void fdt_clear(void);

/* fork protocol: lock before fork, unlock in the parent, reinit the lock in the child. */
void fdt_fork_prepare(void);
void fdt_fork_parent(void);
void fdt_fork_child(void);

#endif
