/*
 * stack_setup — from configuration text to open, configured, routed stacks (see
 * stack_setup.h). Order: named stacks, the default stack, netlink commands, routes.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "config.h"
#include "log.h"
#include "netconf.h"
#include "plugin_license.h"
#include "route.h"
#include "stack_setup.h"

int stack_setup_name_ok(const char *s)
{
	if (!*s || !strcmp(s, "kernel") || !strcmp(s, "none") || !strcmp(s, "default"))
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || *s == '-' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

int stack_setup_parse_list(const char *text, struct stack_setup_entry *out, int max, int *n, char *why,
			   size_t whylen)
{
	char buf[4096], *save = NULL;

	*n = 0;
	if (strlen(text) >= sizeof(buf)) {
		log_fmt(why, whylen, "the list is longer than %zu bytes", sizeof(buf) - 1);
		return -E2BIG;
	}
	strcpy(buf, text);
	for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *eq, *name, inner[300];
		item = trim(item);
		if (!*item)
			continue;
		eq = strchr(item, '=');
		if (!eq) {
			log_fmt(why, whylen, "'%.100s': expected NAME=SPEC", item);
			return -EINVAL;
		}
		*eq = '\0';
		name = trim(item);
		if (!stack_setup_name_ok(name) || strlen(name) >= STACK_NAME_MAX) {
			log_fmt(why, whylen, "'%.60s' is not a stack name (letters, digits, '_', '-'; "
				"not kernel, none or default)", name);
			return -EINVAL;
		}
		for (int i = 0; i < *n; i++)
			if (strcmp(out[i].name, name) == 0) {
				log_fmt(why, whylen, "stack '%s' is defined twice", name);
				return -EINVAL;
			}
		if (*n == max) {
			log_fmt(why, whylen, "at most %d named stacks", max);
			return -E2BIG;
		}
		if (stack_spec_parse(trim(eq + 1), &out[*n].spec, inner, sizeof(inner)) < 0) {
			log_fmt(why, whylen, "stack '%s': %s", name, inner);
			return -EINVAL;
		}
		strcpy(out[*n].name, name);
		(*n)++;
	}
	return 0;
}

static struct stack *find(const char *name)
{
	if (strcmp(name, "default") == 0)
		return stack_default();
	return stack_by_name(name);
}

static int apply_net(const char *text, char *why, size_t whylen)
{
	struct netconf_cmd cmds[NETCONF_CMDS_MAX];
	char inner[400];
	int n, r;

	r = netconf_parse(text, cmds, NETCONF_CMDS_MAX, &n, inner, sizeof(inner));
	if (r < 0) {
		log_fmt(why, whylen, "net: %s", inner);
		return r;
	}
	for (int i = 0; i < n; i++) {
		struct stack *st = find(cmds[i].stack);
		if (!st) {
			log_fmt(why, whylen, "net: '%s': no stack named '%s'", cmds[i].text, cmds[i].stack);
			return -ENOENT;
		}
		if (st->kind == STACK_KERNEL) {
			log_fmt(why, whylen, "net: '%s': the kernel stack is the host's own; sockshift "
				"configures only its private stacks", cmds[i].text);
			return -EPERM;
		}
		int fd = st->ops->socket(st, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (fd < 0) {
			log_fmt(why, whylen, "net: stack %s: cannot open a netlink socket: %s", st->name,
				log_errname(fd));
			return fd;
		}
		log_fmt(cmds[i].stack, sizeof(cmds[i].stack), "%s", st->name); /* "default" -> its name */
		r = netconf_apply(fd, &cmds[i], inner, sizeof(inner));
		if (r < 0) {
			log_fmt(why, whylen, "net: %s", inner);
			return r;
		}
		logi("stack %s: %s", st->name, cmds[i].text);
	}
	return 0;
}

int stack_setup_apply(const struct config *cfg, char *why, size_t whylen)
{
	struct stack_setup_entry list[STACK_MAX];
	struct route_table *rt = NULL;
	struct stack_spec spec;
	struct stack *st;
	char inner[400];
	int n, r;

	r = stack_setup_parse_list(cfg->stacks, list, STACK_MAX - 1, &n, inner, sizeof(inner));
	if (r < 0) {
		log_fmt(why, whylen, "stacks: %s", inner);
		return r;
	}
	plugin_license_set(cfg->license);   /* checked as each plug-in loads */
	for (int i = 0; i < n; i++) {
		r = stack_open_named(list[i].name, &list[i].spec, &st, inner, sizeof(inner));
		if (r < 0) {
			log_fmt(why, whylen, "stack %s is not available: %s", list[i].name, inner);
			return r;
		}
	}
	r = stack_spec_parse(cfg->stack, &spec, inner, sizeof(inner));
	if (r == 0)
		r = stack_open(&spec, &st, inner, sizeof(inner));
	else if ((st = stack_by_name(cfg->stack)))   /* stack = NAME of a named stack */
		r = 0;
	if (r < 0) {
		log_fmt(why, whylen, "stack '%s' is not available: %s", cfg->stack, inner);
		return r;
	}
	stack_set_default(st);
	static struct route_table table; /* too big for the constructor's stack */
	rt = &table;
	r = route_parse(cfg->routes, rt, inner, sizeof(inner));
	if (r == 0)
		r = route_resolve(rt, inner, sizeof(inner));
	if (r < 0) {
		log_fmt(why, whylen, "routes: %s", inner);
		return r;
	}
	for (int i = 0; i < rt->n; i++) {
		if (rt->rules[i].dir != ROUTE_DEFAULT)
			continue;
		if (strcmp(cfg->stack, "kernel") != 0) {
			log_fmt(why, whylen, "routes: a default rule and stack = %s both name the default "
				"stack; keep one", cfg->stack);
			return -EINVAL;
		}
		/* "default none": sockets are made on the kernel stack but must be routed
		 * at connect/bind, where "none" refuses them. */
		stack_set_default(rt->rules[i].st ? rt->rules[i].st : stack_by_id(0));
	}
	r = apply_net(cfg->net, why, whylen);
	if (r < 0)
		return r;
	route_install(rt);
	return 0;
}
