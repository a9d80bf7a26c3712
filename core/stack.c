/*
 * stack — spec parsing and the process's list of open stacks (see stack.h).
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "real.h"
#include "stack.h"

#define STACK_MAX 16

static int kernel_socket(struct stack *st, int domain, int type, int protocol)
{
	int fd = real.socket(domain, type, protocol);

	return fd < 0 ? -errno : fd;
}

static const struct stack_ops kernel_ops = { .socket = kernel_socket };

static struct stack kernel_stack = { &kernel_ops, STACK_KERNEL, 0, "kernel" };
static struct stack *stacks[STACK_MAX] = { &kernel_stack };
static struct stack *default_stack = &kernel_stack;

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
	log_fmt(why, whylen, "unknown stack '%.100s' (this build offers: kernel)", text);
	return -EINVAL;
}

int stack_open(const struct stack_spec *spec, struct stack **out, char *why, size_t whylen)
{
	switch (spec->kind) {
	case STACK_KERNEL:
		*out = &kernel_stack;
		return 0;
	}
	log_fmt(why, whylen, "stack kind %d cannot be opened", (int)spec->kind);
	return -EINVAL;
}

struct stack *stack_by_id(unsigned id)
{
	return id < STACK_MAX ? stacks[id] : NULL;
}

struct stack *stack_default(void)
{
	return default_stack;
}

void stack_set_default(struct stack *st)
{
	default_stack = st;
}
