/*
 * netconf — the one wrapper around libnl-route-3 (see netconf.h). Each command gets its
 * own nl_sock bound to the caller's NETLINK_ROUTE fd (nl_socket_set_fd), so the netlink
 * conversation happens inside whichever stack made that fd. libnl error codes (-NLE_*)
 * are turned into -errno here and their text goes into the message.
 * On a plug-in stack joined from an earlier image (stack_plugin_joined: a program exec'd
 * by one on that stack, see stack_plugin.c), which configured it with the same commands,
 * an address or an identical route that is there already counts as done; elsewhere it is
 * an error (EEXIST).
 * An address move (netconf_move*) works on two caller-owned NETLINK_ROUTE fds, one per
 * namespace; each call duplicates them for its libnl sockets, which close their copy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netconf.h"
#include "real.h"
#include "stack.h"

static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ENODEV;
	case NLE_NODEV: return -ENODEV;
	case NLE_PERM: return -EPERM;
	case NLE_INVAL: return -EINVAL;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_NOACCESS: return -EACCES;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_BUSY: return -EBUSY;
	case NLE_RANGE: return -ERANGE;
	default: return -EIO;
	}
}

static int fail(int nle, const struct netconf_cmd *c, const char *what, char *why, size_t whylen)
{
	log_fmt(why, whylen, "stack %s, interface %s: %s failed: %s (netlink: %s)", c->stack,
		c->ifname[0] ? c->ifname : "-", what, c->text, nl_geterror(nle));
	return nle_to_errno(nle);
}

static int ifindex(struct nl_sock *sk, const struct netconf_cmd *c, struct rtnl_link **link, char *why,
		   size_t whylen)
{
	int r = rtnl_link_get_kernel(sk, 0, c->ifname, link);

	if (r < 0)
		return fail(r, c, "looking up the interface", why, whylen);
	return rtnl_link_get_ifindex(*link);
}

static int link_updown(struct nl_sock *sk, const struct netconf_cmd *c, char *why, size_t whylen)
{
	struct rtnl_link *link = NULL, *change;
	int r = ifindex(sk, c, &link, why, whylen);

	if (r < 0)
		return r;
	change = rtnl_link_alloc();
	if (!change) {
		r = -ENOMEM;
		goto out_link;
	}
	if (c->op == NETCONF_UP)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	r = rtnl_link_change(sk, link, change, 0);
	if (r < 0)
		r = fail(r, c, c->op == NETCONF_UP ? "setting the link up" : "setting the link down", why,
			 whylen);
	rtnl_link_put(change);
out_link:
	rtnl_link_put(link);
	return r;
}

static struct nl_addr *mkaddr(int family, const unsigned char *a, int prefix)
{
	struct nl_addr *na = nl_addr_build(family, a, family == AF_INET ? 4 : 16);

	if (na)
		nl_addr_set_prefixlen(na, prefix);
	return na;
}

static int addr_add(struct nl_sock *sk, const struct netconf_cmd *c, char *why, size_t whylen)
{
	struct rtnl_link *link = NULL;
	struct rtnl_addr *ra;
	struct nl_addr *local;
	int idx = ifindex(sk, c, &link, why, whylen), r;

	if (idx < 0)
		return idx;
	rtnl_link_put(link);
	ra = rtnl_addr_alloc();
	local = mkaddr(c->family, c->addr, c->prefix);
	if (!ra || !local) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_addr_set_ifindex(ra, idx);
	rtnl_addr_set_family(ra, c->family);
	r = rtnl_addr_set_local(ra, local);
	if (r >= 0)
		r = rtnl_addr_add(sk, ra, 0);
	if (r == -NLE_EXIST && stack_plugin_joined(stack_by_name(c->stack)))
		r = 0; /* the earlier image put that address there */
	if (r < 0)
		r = fail(r, c, "adding the address", why, whylen);
out:
	if (local)
		nl_addr_put(local);
	if (ra)
		rtnl_addr_put(ra);
	return r;
}

static void route_found(struct nl_object *o, void *arg)
{
	(void)o;
	*(int *)arg = 1;
}

/* Whether the kernel has a route with every attribute rt has (nexthops included). */
static int route_there(struct nl_sock *sk, struct rtnl_route *rt)
{
	struct nl_cache *cache = NULL;
	int found = 0;

	if (rtnl_route_alloc_cache(sk, rtnl_route_get_family(rt), 0, &cache) < 0)
		return 0;
	nl_cache_foreach_filter(cache, (struct nl_object *)rt, route_found, &found);
	nl_cache_free(cache);
	return found;
}

static int route_add(struct nl_sock *sk, const struct netconf_cmd *c, char *why, size_t whylen)
{
	struct rtnl_link *link = NULL;
	struct rtnl_route *rt;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	int idx = 0, r;

	if (c->ifname[0]) {
		idx = ifindex(sk, c, &link, why, whylen);
		if (idx < 0)
			return idx;
		rtnl_link_put(link);
	}
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = mkaddr(c->family, c->addr, c->prefix);
	if (c->has_gw)
		gw = mkaddr(c->family, c->gw, c->family == AF_INET ? 32 : 128);
	if (!rt || !nh || !dst || (c->has_gw && !gw)) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_route_set_family(rt, (uint8_t)c->family);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, RTPROT_STATIC);
	rtnl_route_set_scope(rt, c->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	if (idx)
		rtnl_route_nh_set_ifindex(nh, idx);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(rt, nh);
	nh = NULL; /* owned by the route now */
	r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL);
	if (r == -NLE_EXIST && stack_plugin_joined(stack_by_name(c->stack)) && route_there(sk, rt))
		r = 0; /* the earlier image put the same route there */
	if (r < 0)
		r = fail(r, c, "adding the route", why, whylen);
out:
	if (nh)
		rtnl_route_nh_free(nh);
	if (gw)
		nl_addr_put(gw);
	if (dst)
		nl_addr_put(dst);
	if (rt)
		rtnl_route_put(rt);
	return r;
}

int netconf_apply(int nlfd, const struct netconf_cmd *cmd, char *why, size_t whylen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nl_sock *sk;
	int r;

	/* libnl wants a bound socket; the kernel picks the port id. */
	if (real.bind(nlfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINVAL) {
		r = -errno;
		real.close(nlfd);
		log_fmt(why, whylen, "stack %s: cannot bind a netlink socket: %s", cmd->stack, strerror(-r));
		return r;
	}
	sk = nl_socket_alloc();
	if (!sk) {
		real.close(nlfd);
		return -ENOMEM;
	}
	r = nl_socket_set_fd(sk, NETLINK_ROUTE, nlfd);
	if (r < 0) {
		real.close(nlfd);
		r = fail(r, cmd, "opening netlink", why, whylen);
		goto out_sk;
	}
	switch (cmd->op) {
	case NETCONF_UP:
	case NETCONF_DOWN:
		r = link_updown(sk, cmd, why, whylen);
		break;
	case NETCONF_ADDR:
		r = addr_add(sk, cmd, why, whylen);
		break;
	case NETCONF_ROUTE:
		r = route_add(sk, cmd, why, whylen);
		break;
	}
out_sk:
	nl_socket_free(sk);
	return r;
}

/* ---- moving an address between namespaces ------------------------------------------ */

static int move_fail(int nle, const char *ns, const char *ifname, const char *what,
		     const struct netconf_move *m, char *why, size_t whylen)
{
	log_fmt(why, whylen, "namespace %s, interface %s: %s %s failed (netlink: %s)", ns,
		ifname[0] ? ifname : "-", what, m->text, nl_geterror(nle));
	return nle_to_errno(nle);
}

/* A libnl socket on a duplicate of fd (nl_socket_free closes it; the caller keeps fd). */
static int move_sock(int fd, struct nl_sock **out)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nl_sock *sk;
	int d = real.fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (d < 0)
		return -errno;
	/* libnl wants a bound socket; the kernel picks the port id (EINVAL: bound already). */
	if (real.bind(d, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINVAL) {
		int r = -errno;

		real.close(d);
		return r;
	}
	sk = nl_socket_alloc();
	if (!sk) {
		real.close(d);
		return -ENOMEM;
	}
	if (nl_socket_set_fd(sk, NETLINK_ROUTE, d) < 0) {
		real.close(d);
		nl_socket_free(sk);
		return -EIO;
	}
	*out = sk;
	return 0;
}

struct addr_hit {
	const struct netconf_move *m;
	int ifindex, prefix;
	unsigned flags;
};

static void addr_match(struct nl_object *o, void *arg)
{
	struct rtnl_addr *ra = (struct rtnl_addr *)o;
	struct addr_hit *h = arg;
	struct nl_addr *local = rtnl_addr_get_local(ra);
	unsigned len = h->m->family == AF_INET ? 4 : 16;

	if (h->ifindex || rtnl_addr_get_family(ra) != h->m->family || !local ||
	    nl_addr_get_len(local) != len || memcmp(nl_addr_get_binary_addr(local), h->m->addr, len))
		return;
	h->ifindex = rtnl_addr_get_ifindex(ra);
	h->prefix = rtnl_addr_get_prefixlen(ra);
	h->flags = rtnl_addr_get_flags(ra);
}

/* Where the address is in sk's namespace: its ifindex (0: nowhere), prefix and flags; or -NLE_*. */
static int addr_find(struct nl_sock *sk, const struct netconf_move *m, struct addr_hit *h)
{
	struct nl_cache *cache = NULL;
	int r = rtnl_addr_alloc_cache(sk, &cache);

	memset(h, 0, sizeof(*h));
	h->m = m;
	if (r < 0)
		return r;
	nl_cache_foreach(cache, addr_match, h);
	nl_cache_free(cache);
	return h->ifindex;
}

/* ifindex of name, or -NLE_*. */
static int link_index(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &link);

	if (r < 0)
		return r;
	r = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return r;
}

/* name of ifindex into out, or -NLE_*. */
static int link_name(struct nl_sock *sk, int idx, char *out)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(sk, idx, NULL, &link);

	if (r < 0)
		return r;
	log_fmt(out, IF_NAMESIZE, "%s", rtnl_link_get_name(link) ? rtnl_link_get_name(link) : "?");
	rtnl_link_put(link);
	return 0;
}

/* Adds (del = 0) or deletes the address on ifindex idx with prefix and flags; 0 or -NLE_*. */
static int addr_change(struct nl_sock *sk, int del, int idx, const struct netconf_move *m, int prefix,
		       unsigned flags)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local = mkaddr(m->family, m->addr, prefix);
	int r = -NLE_NOMEM;

	if (!ra || !local)
		goto out;
	rtnl_addr_set_ifindex(ra, idx);
	rtnl_addr_set_family(ra, m->family);
	r = rtnl_addr_set_local(ra, local);
	if (r < 0)
		goto out;
	rtnl_addr_set_prefixlen(ra, prefix);
	if (del) {
		r = rtnl_addr_delete(sk, ra, 0);
	} else {
		/* no duplicate address detection: the restored sockets bind to it at once */
		if (m->family == AF_INET6)
			flags |= IFA_F_NODAD;
		rtnl_addr_set_flags(ra, flags & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_HOMEADDRESS));
		r = rtnl_addr_add(sk, ra, NLM_F_EXCL);
	}
out:
	if (local)
		nl_addr_put(local);
	if (ra)
		rtnl_addr_put(ra);
	return r;
}

static int move_socks(int fromfd, int tofd, struct nl_sock **from, struct nl_sock **to,
		      const struct netconf_move *m, char *why, size_t whylen)
{
	int r = move_sock(fromfd, from);

	if (r < 0) {
		log_fmt(why, whylen, "namespace %s: no netlink socket: %s", m->from_ns, strerror(-r));
		return r;
	}
	r = move_sock(tofd, to);
	if (r < 0) {
		nl_socket_free(*from);
		log_fmt(why, whylen, "namespace %s: no netlink socket: %s", m->to_ns, strerror(-r));
	}
	return r;
}

int netconf_move_check(int fromfd, int tofd, struct netconf_move *m, char *why, size_t whylen)
{
	struct nl_sock *from, *to;
	struct addr_hit h;
	int r = move_socks(fromfd, tofd, &from, &to, m, why, whylen);

	if (r < 0)
		return r;
	r = addr_find(from, m, &h);
	if (r < 0) {
		r = move_fail(r, m->from_ns, "", "listing the addresses to find", m, why, whylen);
		goto out_socks;
	}
	if (r == 0) {
		log_fmt(why, whylen, "namespace %s: no interface has the address %s", m->from_ns, m->text);
		r = -EADDRNOTAVAIL;
		goto out_socks;
	}
	m->from_prefix = h.prefix;
	m->from_flags = h.flags;
	r = link_name(from, h.ifindex, m->from_if);
	if (r < 0) {
		r = move_fail(r, m->from_ns, "", "naming the interface holding", m, why, whylen);
		goto out_socks;
	}
	if (!m->to_if[0])
		memcpy(m->to_if, m->from_if, sizeof(m->to_if));
	if (m->prefix < 0)
		m->prefix = m->from_prefix;
	r = link_index(to, m->to_if);
	if (r < 0) {
		r = move_fail(r, m->to_ns, m->to_if, "looking up the interface to receive", m, why, whylen);
		goto out_socks;
	}
	r = addr_find(to, m, &h);
	if (r < 0) {
		r = move_fail(r, m->to_ns, m->to_if, "listing the addresses before adding", m, why, whylen);
		goto out_socks;
	}
	if (r > 0) {
		log_fmt(why, whylen, "namespace %s: the address %s is there already (interface index %d)",
			m->to_ns, m->text, h.ifindex);
		r = -EEXIST;
		goto out_socks;
	}
	r = 0;
out_socks:
	nl_socket_free(to);
	nl_socket_free(from);
	return r;
}

int netconf_move(int fromfd, int tofd, const struct netconf_move *m, char *why, size_t whylen)
{
	struct nl_sock *from, *to;
	int fromidx, toidx, r = move_socks(fromfd, tofd, &from, &to, m, why, whylen), back;

	if (r < 0)
		return r;
	fromidx = link_index(from, m->from_if);
	if (fromidx < 0) {
		r = move_fail(fromidx, m->from_ns, m->from_if, "looking up the interface holding", m, why,
			      whylen);
		goto out_socks;
	}
	toidx = link_index(to, m->to_if);
	if (toidx < 0) {
		r = move_fail(toidx, m->to_ns, m->to_if, "looking up the interface to receive", m, why,
			      whylen);
		goto out_socks;
	}
	r = addr_change(from, 1, fromidx, m, m->from_prefix, 0);
	if (r < 0) {
		r = move_fail(r, m->from_ns, m->from_if, "deleting the address", m, why, whylen);
		goto out_socks;
	}
	r = addr_change(to, 0, toidx, m, m->prefix, m->from_flags);
	if (r < 0) {
		r = move_fail(r, m->to_ns, m->to_if, "adding the address", m, why, whylen);
		back = addr_change(from, 0, fromidx, m, m->from_prefix, m->from_flags);
		size_t used = strlen(why);
		if (back < 0)
			log_fmt(why + used, whylen - used, "; putting it back on %s in %s failed too "
				"(netlink: %s): the address is in neither namespace", m->from_if,
				m->from_ns, nl_geterror(back));
		else
			log_fmt(why + used, whylen - used, "; it is back on %s in %s", m->from_if,
				m->from_ns);
	}
out_socks:
	nl_socket_free(to);
	nl_socket_free(from);
	return r;
}
