/*
 * route — parsing and longest-prefix lookup of routing rules (see route.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "route.h"

static struct route_table table;
static int active;

static int parse_prefix(const char *s, struct route_rule *r)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	r->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(r->family, buf, r->addr) != 1)
		return -EINVAL;
	if (!slash) {
		r->prefix = r->family == AF_INET ? 32 : 128;
		return 0;
	}
	p = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || p < 0 || p > (r->family == AF_INET ? 32 : 128))
		return -EINVAL;
	r->prefix = (int)p;
	return 0;
}

static int parse_one(char *s, struct route_rule *r, char *why, size_t whylen)
{
	char *w[4], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 4) {
			n++;
			break;
		}
		w[n++] = t;
	}
	memset(r, 0, sizeof(*r));
	if (n == 2 && strcmp(w[0], "default") == 0) {
		r->dir = ROUTE_DEFAULT;
	} else if (n == 3 && (strcmp(w[0], "to") == 0 || strcmp(w[0], "from") == 0)) {
		r->dir = w[0][0] == 't' ? ROUTE_TO : ROUTE_FROM;
		if (parse_prefix(w[1], r) < 0) {
			log_fmt(why, whylen, "'%s' is not ADDRESS[/LEN]", w[1]);
			return -EINVAL;
		}
	} else {
		log_fmt(why, whylen, "expected 'to PREFIX STACK', 'from PREFIX STACK' or 'default STACK'");
		return -EINVAL;
	}
	if (strlen(w[n - 1]) >= sizeof(r->stack)) {
		log_fmt(why, whylen, "stack name too long");
		return -EINVAL;
	}
	strcpy(r->stack, w[n - 1]);
	return 0;
}

int route_parse(const char *text, struct route_table *t, char *why, size_t whylen)
{
	char buf[4096], *save = NULL;
	int ndefault = 0;

	memset(t, 0, sizeof(*t));
	if (strlen(text) >= sizeof(buf)) {
		log_fmt(why, whylen, "the rule list is longer than %zu bytes", sizeof(buf) - 1);
		return -E2BIG;
	}
	strcpy(buf, text);
	for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char copy[256], inner[200];
		while (*item == ' ' || *item == '\t')
			item++;
		if (!*item)
			continue;
		if (t->n == ROUTE_MAX) {
			log_fmt(why, whylen, "at most %d rules", ROUTE_MAX);
			return -E2BIG;
		}
		log_fmt(copy, sizeof(copy), "%s", item);
		if (parse_one(copy, &t->rules[t->n], inner, sizeof(inner)) < 0) {
			log_fmt(why, whylen, "rule '%.100s': %s", item, inner);
			return -EINVAL;
		}
		if (t->rules[t->n].dir == ROUTE_DEFAULT && ndefault++) {
			log_fmt(why, whylen, "rule '%.100s': a second default rule", item);
			return -EINVAL;
		}
		t->n++;
	}
	return 0;
}

int route_resolve(struct route_table *t, char *why, size_t whylen)
{
	for (int i = 0; i < t->n; i++) {
		struct route_rule *r = &t->rules[i];
		if (strcmp(r->stack, "none") == 0) {
			r->st = NULL;
			continue;
		}
		r->st = stack_by_name(r->stack);
		if (!r->st) {
			log_fmt(why, whylen, "routing rule %d names stack '%s', which is not configured "
				"(define it in stacks)", i + 1, r->stack);
			return -ENOENT;
		}
	}
	return 0;
}

void route_install(const struct route_table *t)
{
	table = *t;
	active = t->n > 0;
}

int route_active(void)
{
	return active;
}

/* The address bytes of sa as (family, 4 or 16 bytes); v4-mapped v6 becomes v4. */
static int addr_of(const struct sockaddr *sa, socklen_t len, int *family, const unsigned char **a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!sa)
		return -EINVAL;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		*family = AF_INET;
		*a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (memcmp(b, mapped, 12) == 0) {
			*family = AF_INET;
			*a = b + 12;
		} else {
			*family = AF_INET6;
			*a = b;
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int prefix_match(const unsigned char *a, const unsigned char *p, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, p, (size_t)bytes) != 0)
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (p[bytes] & mask);
}

int route_lookup_in(const struct route_table *t, enum route_dir dir, const struct sockaddr *sa,
		    socklen_t len, struct stack **out, int *index)
{
	const unsigned char *a = NULL;
	int family = 0, best = -1, dflt = -1;
	int have = addr_of(sa, len, &family, &a) == 0;

	for (int i = 0; i < t->n; i++) {
		const struct route_rule *r = &t->rules[i];
		if (r->dir == ROUTE_DEFAULT) {
			dflt = i;
			continue;
		}
		if (!have || r->dir != dir || r->family != family || !prefix_match(a, r->addr, r->prefix))
			continue;
		if (best < 0 || r->prefix > t->rules[best].prefix)
			best = i;
	}
	if (best < 0)
		best = dflt;
	if (index)
		*index = best;
	if (best < 0)
		return 0;
	*out = t->rules[best].st;
	return 1;
}

int route_lookup(enum route_dir dir, const struct sockaddr *sa, socklen_t len, struct stack **out)
{
	return route_lookup_in(&table, dir, sa, len, out, NULL);
}

struct stack *route_stack_for(enum route_dir dir, const struct sockaddr *sa, socklen_t len)
{
	struct stack *st = NULL;

	if (!active || !route_lookup(dir, sa, len, &st))
		return stack_default();
	return st;
}
