/*
 * control_list — the answer to SOCKSHIFT_LIST (`sockshift ps`): every socket the fdtable
 * knows, with its addresses as the kernel reports them now.
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "control.h"
#include "fdtable.h"
#include "progfd.h"
#include "real.h"
#include "stack.h"

struct list_ctx {
	struct rpc_sock *socks;
	unsigned max, n;
};

static int add_one(const struct fdt_rec *rec, void *arg)
{
	struct list_ctx *lc = arg;
	struct sockaddr_storage ss;
	struct rpc_sock *s;
	struct stack *st;
	socklen_t len;

	if (lc->n >= lc->max)
		return 1;
	s = &lc->socks[lc->n++];
	memset(s, 0, sizeof(*s));
	s->fd = rec->fd;
	s->domain = rec->domain;
	s->type = rec->type;
	s->protocol = rec->protocol;
	s->state = rec->state;
	int fd = progfd_get(rec->fd);   /* the server thread has its own fd table */
	len = sizeof(ss);
	if (real.getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && len > sizeof(sa_family_t))
		addr_format(s->local, sizeof(s->local), (struct sockaddr *)&ss, len);
	len = sizeof(ss);
	if (real.getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && len > sizeof(sa_family_t))
		addr_format(s->peer, sizeof(s->peer), (struct sockaddr *)&ss, len);
	progfd_put(rec->fd, fd);
	st = stack_by_id(rec->stack_id);
	if (st)
		memcpy(s->stack, st->name, strnlen(st->name, sizeof(s->stack) - 1));
	return 0;
}

int control_list_fdtable(void *ctx, struct rpc_sock *socks, unsigned max, unsigned *n)
{
	struct list_ctx lc = { .socks = socks, .max = max };
	int r = fdt_foreach(add_one, &lc);

	*n = lc.n;
	return r < 0 ? r : 0;
}
