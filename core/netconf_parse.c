/*
 * netconf_parse — the text form of stack configuration commands (see netconf.h).
 * Pure parsing, no netlink: tested on its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "netconf.h"

#define WORDS_MAX 8

static int parse_prefix(const char *s, int *family, unsigned char *addr, int *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long p;

	if (strcmp(s, "default") == 0 || strcmp(s, "default6") == 0) {
		*family = s[7] ? AF_INET6 : AF_INET;
		memset(addr, 0, 16);
		*prefix = 0;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	*family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*family, buf, addr) != 1)
		return -EINVAL;
	p = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || p < 0 || p > (*family == AF_INET ? 32 : 128))
		return -EINVAL;
	*prefix = (int)p;
	return 0;
}

static int parse_one(char *s, struct netconf_cmd *c, char *why, size_t whylen)
{
	char *w[WORDS_MAX], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == WORDS_MAX) {
			log_fmt(why, whylen, "too many words");
			return -EINVAL;
		}
		w[n++] = t;
	}
	if (n < 3) {
		log_fmt(why, whylen, "expected 'STACK IFACE up|down|addr A/P' or 'STACK route DEST via GW'");
		return -EINVAL;
	}
	if (strlen(w[0]) >= sizeof(c->stack)) {
		log_fmt(why, whylen, "stack name too long");
		return -EINVAL;
	}
	strcpy(c->stack, w[0]);
	if (strcmp(w[1], "route") == 0) {
		c->op = NETCONF_ROUTE;
		if (parse_prefix(w[2], &c->family, c->addr, &c->prefix) < 0) {
			log_fmt(why, whylen, "route destination '%s' is not ADDRESS/PREFIX or default", w[2]);
			return -EINVAL;
		}
		for (int i = 3; i < n; i += 2) {
			if (i + 1 >= n) {
				log_fmt(why, whylen, "'%s' needs a value", w[i]);
				return -EINVAL;
			}
			if (strcmp(w[i], "via") == 0) {
				if (inet_pton(c->family, w[i + 1], c->gw) != 1) {
					log_fmt(why, whylen, "gateway '%s' is not an %s address", w[i + 1],
						c->family == AF_INET ? "IPv4" : "IPv6");
					return -EINVAL;
				}
				c->has_gw = 1;
			} else if (strcmp(w[i], "dev") == 0) {
				if (strlen(w[i + 1]) >= sizeof(c->ifname)) {
					log_fmt(why, whylen, "interface name '%s' is too long", w[i + 1]);
					return -EINVAL;
				}
				strcpy(c->ifname, w[i + 1]);
			} else {
				log_fmt(why, whylen, "unknown route word '%s' (via GW, dev IFACE)", w[i]);
				return -EINVAL;
			}
		}
		if (!c->has_gw && !c->ifname[0]) {
			log_fmt(why, whylen, "a route needs 'via GATEWAY' or 'dev IFACE'");
			return -EINVAL;
		}
		return 0;
	}
	if (strlen(w[1]) >= sizeof(c->ifname)) {
		log_fmt(why, whylen, "interface name '%s' is too long", w[1]);
		return -EINVAL;
	}
	strcpy(c->ifname, w[1]);
	if ((strcmp(w[2], "up") == 0 || strcmp(w[2], "down") == 0) && n == 3) {
		c->op = w[2][0] == 'u' ? NETCONF_UP : NETCONF_DOWN;
		return 0;
	}
	if (strcmp(w[2], "addr") == 0 && n == 4) {
		c->op = NETCONF_ADDR;
		if (parse_prefix(w[3], &c->family, c->addr, &c->prefix) < 0 || strncmp(w[3], "default", 7) == 0) {
			log_fmt(why, whylen, "address '%s' is not ADDRESS/PREFIX", w[3]);
			return -EINVAL;
		}
		return 0;
	}
	log_fmt(why, whylen, "expected 'up', 'down' or 'addr ADDRESS/PREFIX' after the interface, got '%s'",
		w[2]);
	return -EINVAL;
}

int netconf_parse(const char *text, struct netconf_cmd *cmds, int max, int *n, char *why, size_t whylen)
{
	char buf[4096], *save = NULL;

	*n = 0;
	if (strlen(text) >= sizeof(buf)) {
		log_fmt(why, whylen, "the command list is longer than %zu bytes", sizeof(buf) - 1);
		return -E2BIG;
	}
	strcpy(buf, text);
	for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char one[160], inner[200];
		while (*item == ' ' || *item == '\t')
			item++;
		if (!*item)
			continue;
		if (*n == max) {
			log_fmt(why, whylen, "at most %d commands", max);
			return -E2BIG;
		}
		struct netconf_cmd *c = &cmds[*n];
		memset(c, 0, sizeof(*c));
		log_fmt(c->text, sizeof(c->text), "%s", item);
		log_fmt(one, sizeof(one), "%s", item);
		int r = parse_one(one, c, inner, sizeof(inner));
		if (r < 0) {
			log_fmt(why, whylen, "'%.100s': %s", c->text, inner);
			return r;
		}
		(*n)++;
	}
	return 0;
}

int netconf_move_parse(const char *text, struct netconf_move *m, char *why, size_t whylen)
{
	char buf[96], *comma, *slash;

	memset(m, 0, sizeof(*m));
	m->prefix = -1;
	if (strlen(text) >= sizeof(buf)) {
		log_fmt(why, whylen, "'%.60s...' is too long", text);
		return -EINVAL;
	}
	log_fmt(m->text, sizeof(m->text), "%s", text);
	strcpy(buf, text);
	comma = strchr(buf, ',');
	if (comma) {
		*comma++ = '\0';
		if (strncmp(comma, "dev=", 4) || !comma[4] || strchr(comma, ',')) {
			log_fmt(why, whylen, "'%s': expected ADDRESS[/PREFIX][,dev=IFACE]", text);
			return -EINVAL;
		}
		if (strlen(comma + 4) >= sizeof(m->to_if)) {
			log_fmt(why, whylen, "'%s': interface name '%s' is too long", text, comma + 4);
			return -EINVAL;
		}
		strcpy(m->to_if, comma + 4);
	}
	slash = strchr(buf, '/');
	if (slash ? parse_prefix(buf, &m->family, m->addr, &m->prefix) :
		    (m->family = strchr(buf, ':') ? AF_INET6 : AF_INET,
		     inet_pton(m->family, buf, m->addr) == 1 ? 0 : -EINVAL)) {
		log_fmt(why, whylen, "'%s': '%s' is not an IPv4 or IPv6 ADDRESS[/PREFIX]", text, buf);
		return -EINVAL;
	}
	return 0;
}
