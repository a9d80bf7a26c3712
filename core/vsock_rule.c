/*
 * vsock_rule — parsing and matching of the vsock mapping rules (syntax in vsock.h).
 * Pure functions: no sockets, no globals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vsock.h"

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "*", "a.b.c.d[/len]" or "[v6][/len]" (brackets optional when no port follows). */
static int parse_prefix(const char *s, size_t n, int allow_len, struct vsock_rule *r)
{
	char buf[64];
	const char *slash;
	uint64_t len;

	if (n == 1 && s[0] == '*') {
		r->family = 0;
		return 0;
	}
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash && !allow_len)
		return -EINVAL;
	size_t alen = slash ? (size_t)(slash - buf) : n;
	char *a = buf;
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, r->addr) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, a, r->addr) == 1)
		r->family = AF_INET6;
	else
		return -EINVAL;
	unsigned max = r->family == AF_INET ? 32 : 128;
	r->prefix = max;
	if (slash) {
		if (parse_u64(slash + 1, strlen(slash + 1), max, &len) < 0)
			return -EINVAL;
		r->prefix = (unsigned)len;
	}
	return 0;
}

/* Splits "ADDR[:PORT]": the port is after the last ':' unless the address is bare IPv6. */
static int parse_addr_port(const char *s, size_t n, int need_port, struct vsock_rule *r)
{
	const char *colon = NULL;
	uint64_t v;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -EINVAL;
		/* "[v6]/len:port" or "[v6]:port" or "[v6]/len" */
		colon = memchr(close, ':', n - (size_t)(close - s));
	} else {
		const char *first = memchr(s, ':', n);
		if (first && !memchr(first + 1, ':', n - (size_t)(first + 1 - s)))
			colon = first;          /* exactly one ':' => IPv4 or '*' with a port */
	}
	size_t alen = colon ? (size_t)(colon - s) : n;
	if (parse_prefix(s, alen, !need_port, r) < 0)
		return -EINVAL;
	r->port = -1;
	if (!colon)
		return need_port ? -EINVAL : 0;
	size_t plen = n - alen - 1;
	if (plen == 1 && colon[1] == '*')
		return 0;
	if (parse_u64(colon + 1, plen, 65535, &v) < 0)
		return -EINVAL;
	r->port = (int)v;
	return 0;
}

static int parse_cid(const char *s, size_t n, uint32_t *cid)
{
	uint64_t v;

	if (n == 5 && strncmp(s, "local", 5) == 0)
		return *cid = VSOCK_CID_LOCAL, 0;
	if (n == 4 && strncmp(s, "host", 4) == 0)
		return *cid = VSOCK_CID_HOST, 0;
	if (parse_u64(s, n, 0xfffffffeu, &v) < 0)
		return -EINVAL;
	*cid = (uint32_t)v;
	return 0;
}

static int parse_one(const char *s, size_t n, enum vsock_rule_kind kind, struct vsock_rule *r)
{
	const char *eq = memchr(s, '=', n);
	size_t lhs = eq ? (size_t)(eq - s) : n;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	r->vport = -1;
	if (parse_addr_port(s, lhs, kind == VSOCK_RULE_LISTEN, r) < 0)
		return -EINVAL;
	if (kind == VSOCK_RULE_CONNECT) {
		if (!eq)
			return -EINVAL;
		const char *t = eq + 1, *c = memchr(t, ':', n - lhs - 1);
		size_t tl = n - lhs - 1, cl = c ? (size_t)(c - t) : tl;
		if (parse_cid(t, cl, &r->cid) < 0)
			return -EINVAL;
		if (c) {
			if (parse_u64(c + 1, tl - cl - 1, 0xfffffffeu, &v) < 0)
				return -EINVAL;
			r->vport = (int64_t)v;
		}
		return 0;
	}
	if (eq) {
		if (r->port < 0)        /* "*:*=N" would send every port to one vsock port */
			return -EINVAL;
		if (parse_u64(eq + 1, n - lhs - 1, 0xfffffffeu, &v) < 0)
			return -EINVAL;
		r->vport = (int64_t)v;
	}
	return 0;
}

int vsock_rules_parse(const char *text, enum vsock_rule_kind kind, struct vsock_rules *out,
		      char *why, size_t whylen)
{
	const char *p = text ? text : "";

	memset(out, 0, sizeof(*out));
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if (out->n == VSOCK_RULES_MAX) {
			log_fmt(why, whylen, "more than %d rules", VSOCK_RULES_MAX);
			return -EINVAL;
		}
		if (parse_one(p, (size_t)(e - p), kind, &out->r[out->n]) < 0) {
			log_fmt(why, whylen, "bad rule '%.*s' (expected %s)", (int)(e - p), p,
				kind == VSOCK_RULE_CONNECT ? "PREFIX[:PORT]=CID[:VPORT]" : "ADDR:PORT[=VPORT]");
			return -EINVAL;
		}
		out->n++;
		p = e;
	}
	return 0;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

int vsock_rules_match(const struct vsock_rules *rules, const struct sockaddr *sa, socklen_t len)
{
	unsigned char a[16];
	int fam;
	unsigned port;

	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(a, &in->sin_addr, 4);
		fam = AF_INET;
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memcpy(a, &in6->sin6_addr.s6_addr[12], 4);
			fam = AF_INET;
		} else {
			memcpy(a, &in6->sin6_addr, 16);
			fam = AF_INET6;
		}
	} else {
		return -1;
	}
	for (unsigned i = 0; i < rules->n; i++) {
		const struct vsock_rule *r = &rules->r[i];
		if (r->port >= 0 && (unsigned)r->port != port)
			continue;
		if (r->family == 0)
			return (int)i;
		if (r->family != fam)
			continue;
		/* An unspecified address (0.0.0.0 / ::) in a rule matches only itself. */
		if (prefix_eq(a, r->addr, r->prefix))
			return (int)i;
	}
	return -1;
}

uint32_t vsock_rule_vport(const struct vsock_rule *rule, unsigned port)
{
	return rule->vport >= 0 ? (uint32_t)rule->vport : port;
}
