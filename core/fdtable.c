/*
 * fdtable — the per-fd socket records (see fdtable.h).
 *
 * Layout: a fixed array of chunk pointers; each chunk holds FDT_CHUNK slots and is mmap'd
 * the first time an fd in its range is added. A slot's `used` flag is the only thing read
 * without the lock, so a lookup costs two loads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "fdtable.h"
#include "progfd.h"
#include "rawsys.h"

#define FDT_CHUNK  1024
#define FDT_CHUNKS (FDT_FD_MAX / FDT_CHUNK)

struct fdt_slot {
	atomic_int used;
	struct fdt_rec rec;
};

static _Atomic(struct fdt_slot *) chunks[FDT_CHUNKS];
static pthread_mutex_t fdt_mutex = PTHREAD_MUTEX_INITIALIZER;

static struct fdt_slot *slot_peek(int fd)
{
	struct fdt_slot *c;

	/* records are the program's numbers; on a thread with its own fd table (progfd.h) a
	 * number names another file, which has no record */
	if (fd < 0 || fd >= FDT_FD_MAX || progfd_detached())
		return NULL;
	c = atomic_load_explicit(&chunks[fd / FDT_CHUNK], memory_order_acquire);
	return c ? &c[fd % FDT_CHUNK] : NULL;
}

/* Called with the lock held. */
static struct fdt_slot *slot_make(int fd)
{
	struct fdt_slot *c = slot_peek(fd);
	long p;

	if (c || fd < 0 || fd >= FDT_FD_MAX)
		return c;
	p = rawsys6(SYS_mmap, 0, FDT_CHUNK * sizeof(struct fdt_slot), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p < 0 && p > -4096)
		return NULL;
	atomic_store_explicit(&chunks[fd / FDT_CHUNK], (struct fdt_slot *)p, memory_order_release);
	return &((struct fdt_slot *)p)[fd % FDT_CHUNK];
}

static struct fdt_slot *slot_used(int fd)
{
	struct fdt_slot *s = slot_peek(fd);

	return s && atomic_load_explicit(&s->used, memory_order_acquire) ? s : NULL;
}

void fdt_rec_init(struct fdt_rec *rec, int fd, int domain, int type, int protocol, unsigned stack_id,
		  unsigned origin)
{
	memset(rec, 0, offsetof(struct fdt_rec, opts));
	rec->fd = fd;
	rec->domain = domain;
	rec->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	rec->protocol = protocol;
	rec->stack_id = stack_id;
	rec->origin = origin;
	rec->status_flags = (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0;
	rec->fd_flags = (type & SOCK_CLOEXEC) ? FD_CLOEXEC : 0;
	rec->backlog = -1;
}

static size_t rec_size(const struct fdt_rec *rec)
{
	return offsetof(struct fdt_rec, opts) + rec->nopts * sizeof(rec->opts[0]);
}

static atomic_uint fdt_gen;   /* see fdt_generation */

unsigned fdt_generation(void)
{
	return atomic_load(&fdt_gen);
}

int fdt_add(const struct fdt_rec *rec)
{
	struct fdt_slot *s;

	pthread_mutex_lock(&fdt_mutex);
	s = slot_make(rec->fd);
	if (!s) {
		pthread_mutex_unlock(&fdt_mutex);
		return -EBADF;
	}
	atomic_store_explicit(&s->used, 0, memory_order_release);
	memcpy(&s->rec, rec, rec_size(rec));
	atomic_store_explicit(&s->used, 1, memory_order_release);
	atomic_fetch_add(&fdt_gen, 1);
	pthread_mutex_unlock(&fdt_mutex);
	return 0;
}

int fdt_get(int fd, struct fdt_rec *out)
{
	struct fdt_slot *s;
	int r = -ENOENT;

	pthread_mutex_lock(&fdt_mutex);
	s = slot_used(fd);
	if (s) {
		memcpy(out, &s->rec, rec_size(&s->rec));
		r = 0;
	}
	pthread_mutex_unlock(&fdt_mutex);
	return r;
}

int fdt_known(int fd)
{
	return slot_used(fd) != NULL;
}

void fdt_del(int fd)
{
	struct fdt_slot *s = slot_peek(fd);

	if (s && atomic_exchange_explicit(&s->used, 0, memory_order_acq_rel))
		atomic_fetch_add(&fdt_gen, 1);
}

void fdt_del_range(unsigned first, unsigned last)
{
	if (last >= FDT_FD_MAX)
		last = FDT_FD_MAX - 1;
	for (unsigned fd = first; fd <= last; fd++) {
		/* Skip whole unallocated chunks rather than walking a million slots. */
		if (fd % FDT_CHUNK == 0 && !atomic_load(&chunks[fd / FDT_CHUNK])) {
			fd += FDT_CHUNK - 1;
			continue;
		}
		fdt_del((int)fd);
	}
}

int fdt_dup(int oldfd, int newfd, int cloexec)
{
	struct fdt_slot *src, *dst;
	int r = 0;

	pthread_mutex_lock(&fdt_mutex);
	src = slot_used(oldfd);
	if (!src) {
		fdt_del(newfd);
		goto out;
	}
	dst = slot_make(newfd);
	if (!dst) {
		r = -EBADF;
		goto out;
	}
	atomic_store_explicit(&dst->used, 0, memory_order_release);
	memcpy(&dst->rec, &src->rec, rec_size(&src->rec));
	dst->rec.fd = newfd;
	dst->rec.fd_flags = cloexec ? FD_CLOEXEC : 0;
	atomic_store_explicit(&dst->used, 1, memory_order_release);
	atomic_fetch_add(&fdt_gen, 1);
out:
	pthread_mutex_unlock(&fdt_mutex);
	return r;
}

/* Runs fn on fd's record under the lock. */
static int with_rec(int fd, void (*fn)(struct fdt_rec *rec, const void *arg), const void *arg)
{
	struct fdt_slot *s;
	int r = -ENOENT;

	pthread_mutex_lock(&fdt_mutex);
	s = slot_used(fd);
	if (s) {
		fn(&s->rec, arg);
		r = 0;
	}
	pthread_mutex_unlock(&fdt_mutex);
	return r;
}

struct opt_arg {
	int level, name;
	const void *val;
	socklen_t len;
};

static void set_opt(struct fdt_rec *rec, const void *p)
{
	const struct opt_arg *a = p;
	struct fdt_opt *o = NULL;

	if (a->len > FDT_OPTVAL_MAX) {
		rec->state |= FDT_OPTS_OVERFLOW;
		return;
	}
	for (unsigned i = 0; i < rec->nopts; i++)
		if (rec->opts[i].level == a->level && rec->opts[i].name == a->name)
			o = &rec->opts[i];
	if (!o) {
		if (rec->nopts == FDT_OPT_MAX) {
			rec->state |= FDT_OPTS_OVERFLOW;
			return;
		}
		o = &rec->opts[rec->nopts++];
	}
	o->level = a->level;
	o->name = a->name;
	o->len = a->len;
	memcpy(o->val, a->val, a->len);
}

int fdt_set_opt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct opt_arg a = { level, name, val, len };

	return with_rec(fd, set_opt, &a);
}

struct state_arg {
	unsigned set, clear;
};

static void set_state(struct fdt_rec *rec, const void *p)
{
	const struct state_arg *a = p;

	rec->state = (rec->state & ~a->clear) | a->set;
}

int fdt_set_state(int fd, unsigned set, unsigned clear)
{
	struct state_arg a = { set, clear };

	return with_rec(fd, set_state, &a);
}

static void set_backlog(struct fdt_rec *rec, const void *p)
{
	rec->backlog = *(const int *)p;
	rec->state |= FDT_LISTENING;
}

int fdt_set_backlog(int fd, int backlog)
{
	return with_rec(fd, set_backlog, &backlog);
}

static void set_status(struct fdt_rec *rec, const void *p)
{
	rec->status_flags = *(const int *)p & O_NONBLOCK;
}

int fdt_set_status_flags(int fd, int flags)
{
	return with_rec(fd, set_status, &flags);
}

static void set_fdflags(struct fdt_rec *rec, const void *p)
{
	rec->fd_flags = *(const int *)p & FD_CLOEXEC;
}

int fdt_set_fd_flags(int fd, int flags)
{
	return with_rec(fd, set_fdflags, &flags);
}

void fdt_set_fd_flags_range(unsigned first, unsigned last, int flags)
{
	if (last >= FDT_FD_MAX)
		last = FDT_FD_MAX - 1;
	pthread_mutex_lock(&fdt_mutex);
	for (unsigned fd = first; fd <= last; fd++) {
		if (fd % FDT_CHUNK == 0 && !atomic_load(&chunks[fd / FDT_CHUNK])) {
			fd += FDT_CHUNK - 1;   /* a chunk never allocated has no records */
			continue;
		}
		struct fdt_slot *s = slot_used((int)fd);
		if (s)
			set_fdflags(&s->rec, &flags);
	}
	pthread_mutex_unlock(&fdt_mutex);
}

int fdt_foreach(int (*fn)(const struct fdt_rec *rec, void *arg), void *arg)
{
	int r = 0;

	pthread_mutex_lock(&fdt_mutex);
	for (unsigned c = 0; c < FDT_CHUNKS && !r; c++) {
		struct fdt_slot *chunk = atomic_load(&chunks[c]);
		for (unsigned i = 0; chunk && i < FDT_CHUNK && !r; i++)
			if (atomic_load(&chunk[i].used))
				r = fn(&chunk[i].rec, arg);
	}
	pthread_mutex_unlock(&fdt_mutex);
	return r;
}

static int count_one(const struct fdt_rec *rec, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

unsigned fdt_count(void)
{
	unsigned n = 0;

	fdt_foreach(count_one, &n);
	return n;
}

void fdt_clear(void)
{
	fdt_del_range(0, FDT_FD_MAX - 1);
}

void fdt_fork_prepare(void)
{
	pthread_mutex_lock(&fdt_mutex);
}

void fdt_fork_parent(void)
{
	pthread_mutex_unlock(&fdt_mutex);
}

void fdt_fork_child(void)
{
	pthread_mutex_init(&fdt_mutex, NULL);
}
