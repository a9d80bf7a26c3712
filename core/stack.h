/*
 * stack — which network stack a socket lives on, and how sockets are made there.
 *
 * A stack spec is the user's text ("kernel"); stack_spec_parse() validates it and names
 * what was expected. Every stack hands the program real kernel file descriptors: only the
 * creation of a socket differs between stacks (ops->socket), all later calls are the
 * kernel's. This release knows the kernel stack; the virtual stacks plug in here.
 */
#ifndef SOCKSHIFT_STACK_H
#define SOCKSHIFT_STACK_H

#include <stddef.h>

enum stack_kind {
	STACK_KERNEL = 0,
};

struct stack_spec {
	enum stack_kind kind;
	char arg[256];          /* text after "kind:", "" if none */
};

struct stack;

struct stack_ops {
	/* Returns a new socket fd on this stack, or -errno. */
	int (*socket)(struct stack *st, int domain, int type, int protocol);
};

struct stack {
	const struct stack_ops *ops;
	enum stack_kind kind;
	unsigned id;            /* index in the process's stack list; 0 = kernel */
	char name[64];          /* for logs: "kernel" */
};

int stack_spec_parse(const char *text, struct stack_spec *spec, char *why, size_t whylen);

/* Opens (brings up) the stack a spec names; fails closed with a message in why. */
int stack_open(const struct stack_spec *spec, struct stack **out, char *why, size_t whylen);
struct stack *stack_by_id(unsigned id);
/* The stack sockets go to by default (set by stack_set_default, kernel until then). */
struct stack *stack_default(void);
void stack_set_default(struct stack *st);

#endif
