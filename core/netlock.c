/*
 * netlock — the nftables network lock (see netlock.h). The only file that talks to libnftables.
 * Every change is one nft command buffer, which libnftables applies as one transaction, so a
 * set of connections is locked all at once or not at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>

#include "netlock.h"
#include "log.h"

#define LOCK_MARK "0xc114"

struct netlock {
	char name[48];
};

static int run(const char *cmds, char **out)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int rc, err = 0;

	if (!nft)
		return -ENOMEM;
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	rc = nft_run_cmd_from_buffer(nft, cmds);
	if (rc) {
		const char *e = nft_ctx_get_error_buffer(nft);

		loge("netlock: nft failed: %s", e ? e : "?");
		err = -EIO;
	} else if (out) {
		const char *o = nft_ctx_get_output_buffer(nft);

		*out = strdup(o ? o : "");
		if (!*out)
			err = -ENOMEM;
	}
	nft_ctx_free(nft);
	return err;
}

int netlock_cmd(const char *cmds, char **out)
{
	return run(cmds, out);
}

const char *netlock_name(const struct netlock *nl)
{
	return nl->name;
}

int netlock_create(struct netlock **out)
{
	static unsigned seq;
	struct netlock *nl = calloc(1, sizeof(*nl));
	char cmd[2048];
	const char *hooks[] = { "input", "output" };
	size_t off;
	int err;

	if (!nl)
		return -ENOMEM;
	snprintf(nl->name, sizeof(nl->name), "sockshift_%d_%u", (int)getpid(),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	off = snprintf(cmd, sizeof(cmd),
		       "add table inet %s\n"
		       "add set inet %s conns4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n"
		       "add set inet %s conns6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n"
		       "add set inet %s listen4 { type ipv4_addr . inet_service; }\n"
		       "add set inet %s listen6 { type ipv6_addr . inet_service; }\n"
		       "add set inet %s lports { type inet_service; }\n",
		       nl->name, nl->name, nl->name, nl->name, nl->name, nl->name);
	for (int i = 0; i < 2; i++)
		off += snprintf(cmd + off, sizeof(cmd) - off,
				"add chain inet %s %s { type filter hook %s priority -150; }\n"
				"add rule inet %s %s meta mark " LOCK_MARK " accept\n"
				"add rule inet %s %s ip saddr . tcp sport . ip daddr . tcp dport @conns4 drop\n"
				"add rule inet %s %s ip6 saddr . tcp sport . ip6 daddr . tcp dport @conns6 drop\n",
				nl->name, hooks[i], hooks[i], nl->name, hooks[i], nl->name, hooks[i],
				nl->name, hooks[i]);
	/* held listeners: a new client's SYN is dropped (it retransmits), not answered */
	off += snprintf(cmd + off, sizeof(cmd) - off,
			"add rule inet %s input tcp flags & (syn | ack) == syn ip daddr . tcp dport @listen4 drop\n"
			"add rule inet %s input tcp flags & (syn | ack) == syn ip6 daddr . tcp dport @listen6 drop\n"
			"add rule inet %s input tcp flags & (syn | ack) == syn tcp dport @lports drop\n",
			nl->name, nl->name, nl->name);
	err = run(cmd, NULL);
	if (err) {
		free(nl);
		return err;
	}
	*out = nl;
	return 0;
}

/* "a . port" for one address; v4-mapped IPv6 as IPv4. Returns 4 or 6, 0 if unsupported. */
static int fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in *v4 = (const void *)ss;
	const struct sockaddr_in6 *v6 = (const void *)ss;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &v4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s . %u", a, ntohs(v4->sin_port));
		return 4;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
		inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], a, sizeof(a));
		snprintf(buf, len, "%s . %u", a, ntohs(v6->sin6_port));
		return 4;
	}
	inet_ntop(AF_INET6, &v6->sin6_addr, a, sizeof(a));
	snprintf(buf, len, "%s . %u", a, ntohs(v6->sin6_port));
	return 6;
}

/* Elements go in batches of this many per "add element" statement: parsing one statement per
 * element makes a 10,000-connection lock take seconds. */
#define BATCH 512

/* Whether a is the wildcard address (0.0.0.0, ::, ::ffff:0.0.0.0). */
static int wildcard(const struct sockaddr_storage *a)
{
	const struct sockaddr_in6 *v6 = (const void *)a;

	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) ||
	       (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && !memcmp(&v6->sin6_addr.s6_addr[12], "\0\0\0\0", 4));
}

static uint16_t port(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port
					     : ((const struct sockaddr_in6 *)a)->sin6_port);
}

/* One "VERB element" statement per listener appended at cmd + *off (cap checked by caller). */
static int listeners(struct netlock *nl, const struct sockaddr_storage *l, size_t nl_n,
		     const char *verb, char *cmd, size_t cap, size_t *off)
{
	char a[80];

	for (size_t i = 0; i < nl_n; i++) {
		int f;

		if (wildcard(&l[i])) {
			*off += snprintf(cmd + *off, cap - *off, "%s element inet %s lports { %u }\n", verb,
					 nl->name, port(&l[i]));
			continue;
		}
		f = fmt_addr(&l[i], a, sizeof(a));
		if (!f)
			return -EAFNOSUPPORT;
		*off += snprintf(cmd + *off, cap - *off, "%s element inet %s listen%d { %s }\n", verb,
				 nl->name, f, a);
	}
	return 0;
}

static int elements(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs,
		    const struct sockaddr_storage *lis, size_t nlis, const char *verb)
{
	size_t cap = 256 + n * 2 * 120 + nlis * 160, off = 0, cnt[2] = { 0, 0 };
	char *cmd, s[80], p[80];
	int err;

	if (!n && !nlis)
		return 0;
	if ((n && !(dirs & NETLOCK_BOTH)) || n > (1u << 24) || nlis > (1u << 16))
		return -EINVAL;
	cmd = malloc(cap);
	if (!cmd)
		return -ENOMEM;
	err = listeners(nl, lis, nlis, verb, cmd, cap, &off);
	if (err) {
		free(cmd);
		return err;
	}
	/* one pass per family: v4 elements, then v6 elements */
	for (int pass = 0; pass < 2; pass++) {
		int fam = pass ? 6 : 4;

		for (size_t i = 0; i < n; i++) {
			int fs = fmt_addr(&c[i].self, s, sizeof(s));
			int fp = fmt_addr(&c[i].peer, p, sizeof(p));

			if (!fs || fs != fp) {
				free(cmd);
				return -EAFNOSUPPORT;
			}
			if (fs != fam)
				continue;
			for (unsigned d = NETLOCK_INBOUND; d <= NETLOCK_OUTBOUND; d <<= 1) {
				if (!(dirs & d))
					continue;
				if (cnt[pass] % BATCH == 0)
					off += snprintf(cmd + off, cap - off, "%s%s element inet %s conns%d { ",
							cnt[pass] ? " }\n" : "", verb, nl->name, fam);
				else
					off += snprintf(cmd + off, cap - off, ", ");
				off += snprintf(cmd + off, cap - off, "%s . %s", d == NETLOCK_INBOUND ? p : s,
						d == NETLOCK_INBOUND ? s : p);
				cnt[pass]++;
			}
		}
		if (cnt[pass])
			off += snprintf(cmd + off, cap - off, " }\n");
	}
	err = run(cmd, NULL);
	free(cmd);
	return err;
}

int netlock_add(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs)
{
	return elements(nl, c, n, dirs, NULL, 0, "add");
}

int netlock_add_all(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs,
		    const struct sockaddr_storage *lis, size_t nlis)
{
	return elements(nl, c, n, dirs, lis, nlis, "add");
}

int netlock_del(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs)
{
	return elements(nl, c, n, dirs, NULL, 0, "delete");
}

int netlock_del_listeners(struct netlock *nl, const struct sockaddr_storage *lis, size_t nlis)
{
	return elements(nl, NULL, 0, 0, lis, nlis, "delete");
}

int netlock_open(const char *name, struct netlock **out)
{
	struct netlock *nl;
	size_t len = strlen(name);

	if (!len || len >= sizeof(nl->name) || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		return -EINVAL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	memcpy(nl->name, name, len + 1);
	*out = nl;
	return 0;
}

void netlock_release(struct netlock *nl)
{
	free(nl);
}

int netlock_destroy(struct netlock *nl)
{
	char cmd[96];
	int err;

	if (!nl)
		return 0;
	snprintf(cmd, sizeof(cmd), "delete table inet %s\n", nl->name);
	err = run(cmd, NULL);
	free(nl);
	return err;
}
