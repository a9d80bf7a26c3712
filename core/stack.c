/*
 * stack — spec parsing and the process's list of open stacks (see stack.h). The kinds
 * live in stack_<kind>.c; this file only dispatches to them and keeps the list.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "real.h"
#include "stack.h"

static int kernel_socket(struct stack *st, int domain, int type, int protocol)
{
	int fd = real.socket(domain, type, protocol);

	return fd < 0 ? -errno : fd;
}

static const struct stack_ops kernel_ops = { .socket = kernel_socket };

static struct stack kernel_stack = { &kernel_ops, STACK_KERNEL, 0, "kernel", -1, NULL };
static struct stack *stacks[STACK_MAX] = { &kernel_stack };
static struct stack stack_store[STACK_MAX];
static unsigned nstacks = 1;
static struct stack *default_stack = &kernel_stack;

static const struct {
	const char *prefix;
	enum stack_kind kind;
	const char *arg_help;
} kinds[] = {
	{ "netns:", STACK_NETNS, "netns:NAME, netns:/PATH or netns:new" },
	{ "vdestack:", STACK_VDESTACK, "vdestack:VNL, e.g. vdestack:vde:///tmp/sw" },
	{ "plugin:", STACK_PLUGIN, "plugin:NAME[,OPTIONS] [VNL...]" },
	{ "vsock:", STACK_VSOCK, "vsock, vsock:guest or vsock:/PATH/TO/VMM/vsock.sock" },
};

#define OFFERED "kernel, netns:NAME|/PATH|new, vdestack:VNL, plugin:NAME[,OPTIONS] [VNL...], vsock[:guest|:/PATH]"

int stack_spec_parse(const char *text, struct stack_spec *spec, char *why, size_t whylen)
{
	memset(spec, 0, sizeof(*spec));
	if (!text || !text[0]) {
		log_fmt(why, whylen, "the value is empty");
		return -EINVAL;
	}
	if (strcmp(text, "kernel") == 0) {
		spec->kind = STACK_KERNEL;
		return 0;
	}
	if (strcmp(text, "vsock") == 0) {
		spec->kind = STACK_VSOCK;
		memcpy(spec->arg, "guest", sizeof("guest"));
		return 0;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(text, kinds[i].prefix, n) != 0)
			continue;
		if (!text[n]) {
			log_fmt(why, whylen, "'%.100s' lacks its argument (%s)", text, kinds[i].arg_help);
			return -EINVAL;
		}
		if (strlen(text + n) >= sizeof(spec->arg)) {
			log_fmt(why, whylen, "the argument of '%.40s...' is longer than %zu bytes", text,
				sizeof(spec->arg) - 1);
			return -ENAMETOOLONG;
		}
		if (kinds[i].kind == STACK_NETNS && text[n] != '/' && strchr(text + n, '/')) {
			log_fmt(why, whylen, "'%.100s': a namespace name has no '/' (%s)", text,
				kinds[i].arg_help);
			return -EINVAL;
		}
		spec->kind = kinds[i].kind;
		memcpy(spec->arg, text + n, strlen(text + n) + 1);
		return 0;
	}
	log_fmt(why, whylen, "unknown stack '%.100s' (this build offers: " OFFERED ")", text);
	return -EINVAL;
}

int stack_open_named(const char *name, const struct stack_spec *spec, struct stack **out, char *why,
		     size_t whylen)
{
	struct stack *st;
	int r;

	if (spec->kind == STACK_KERNEL) {
		*out = &kernel_stack;
		return 0;
	}
	if (stack_by_name(name)) {
		log_fmt(why, whylen, "a stack named '%.60s' is already open", name);
		return -EEXIST;
	}
	if (nstacks >= STACK_MAX) {
		log_fmt(why, whylen, "at most %d stacks per process", STACK_MAX - 1);
		return -ENOSPC;
	}
	st = &stack_store[nstacks];
	memset(st, 0, sizeof(*st));
	st->kind = spec->kind;
	st->id = nstacks;
	st->nsfd = -1;
	log_fmt(st->name, sizeof(st->name), "%s", name);
	switch (spec->kind) {
	case STACK_NETNS:
		r = stack_netns_open(st, spec->arg, why, whylen);
		break;
	case STACK_VDESTACK:
		r = stack_vde_open(st, spec->arg, why, whylen);
		break;
	case STACK_PLUGIN:
		r = stack_plugin_open(st, spec->arg, why, whylen);
		break;
	case STACK_VSOCK:
		r = stack_vsock_open(st, spec->arg, why, whylen);
		break;
	default:
		log_fmt(why, whylen, "stack kind %d cannot be opened", (int)spec->kind);
		r = -EINVAL;
	}
	if (r < 0)
		return r;
	stacks[nstacks++] = st;
	*out = st;
	return 0;
}

int stack_open(const struct stack_spec *spec, struct stack **out, char *why, size_t whylen)
{
	static const char *const prefix[] = { "kernel", "netns:", "vdestack:", "plugin:", "vsock:" };
	char name[STACK_NAME_MAX];

	log_fmt(name, sizeof(name), "%s%s", prefix[spec->kind], spec->kind ? spec->arg : "");
	return stack_open_named(name, spec, out, why, whylen);
}

struct stack *stack_by_id(unsigned id)
{
	return id < STACK_MAX ? stacks[id] : NULL;
}

struct stack *stack_by_name(const char *name)
{
	for (unsigned i = 0; i < nstacks; i++)
		if (strcmp(stacks[i]->name, name) == 0)
			return stacks[i];
	return NULL;
}

struct stack *stack_default(void)
{
	return default_stack;
}

void stack_set_default(struct stack *st)
{
	default_stack = st;
}
