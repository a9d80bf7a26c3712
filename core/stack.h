/*
 * stack — which network stack a socket lives on, and how sockets are made there.
 *
 * A stack spec is the user's text; stack_spec_parse() validates it and names what was
 * expected:
 *     kernel                     the host's stack (id 0, always open)
 *     netns:NAME                 the named namespace /run/netns/NAME
 *     netns:/PATH                a namespace file (/proc/PID/ns/net, a bind mount, ...)
 *     netns:new                  a fresh private namespace with lo up (stack_netns.c)
 *     vdestack:VNL               a netns + tap on a VDE network through Debian's libvdestack,
 *                                loaded as the libioth plug-in "vdestack" (stack_plugin.c)
 *     plugin:NAME[,OPTIONS] [VNL...]   a libioth plug-in, see stack_plugin.c
 *     vsock | vsock:guest        TCP over AF_VSOCK inside a VM or enclave (stack_vsock.c)
 *     vsock:/PATH                TCP to a Firecracker/Cloud Hypervisor guest through the
 *                                VMM's vsock Unix socket PATH (hybrid vsock, hvsock.h)
 * Every stack hands the program real kernel file descriptors: only the creation of a
 * socket differs between stacks (ops->socket), all later calls are the kernel's, so
 * poll/epoll, fcntl, dup, fork and TCP_REPAIR work unchanged.
 *
 * Stacks are opened once at start (shim/init.c through stack_setup_apply) and never
 * closed; a stack that cannot be opened stops the program there (fail closed).
 */
#ifndef SOCKSHIFT_STACK_H
#define SOCKSHIFT_STACK_H

#include <stddef.h>

enum stack_kind {
	STACK_KERNEL = 0,
	STACK_NETNS,
	STACK_VDESTACK,
	STACK_PLUGIN,
	STACK_VSOCK,            /* stack_vsock.c, owned by the vsock work */
};

#define STACK_MAX      16
#define STACK_NAME_MAX 64

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
	unsigned id;                    /* index in the process's stack list; 0 = kernel */
	char name[STACK_NAME_MAX];      /* the configured name, or the spec text */
	int nsfd;                       /* netns stacks: the namespace, else -1 */
	void *priv;                     /* the kind's own data */
};

int stack_spec_parse(const char *text, struct stack_spec *spec, char *why, size_t whylen);

/* Opens (brings up) the stack a spec names and adds it to the process's list under
 * spec text as its name; fails closed with a message in why. */
int stack_open(const struct stack_spec *spec, struct stack **out, char *why, size_t whylen);
/* The same, naming the stack (logs, routing rules, images). */
int stack_open_named(const char *name, const struct stack_spec *spec, struct stack **out, char *why,
		     size_t whylen);
struct stack *stack_by_id(unsigned id);
/* A stack opened under that name ("kernel" is always there); NULL if none. */
struct stack *stack_by_name(const char *name);
/* The stack sockets go to by default (set by stack_set_default, kernel until then). */
struct stack *stack_default(void);
void stack_set_default(struct stack *st);

/* The kinds (stack_<kind>.c): fill st->ops and st->priv/nsfd, 0 or -errno + why. */
int stack_netns_open(struct stack *st, const char *arg, char *why, size_t whylen);
int stack_plugin_open(struct stack *st, const char *arg, char *why, size_t whylen);
int stack_vde_open(struct stack *st, const char *arg, char *why, size_t whylen);
int stack_vsock_open(struct stack *st, const char *arg, char *why, size_t whylen);
/* Loads libioth plug-in NAME and makes a stack with it (stack_plugin.c). */
int stack_plugin_load(struct stack *st, const char *name, const char *options, const char *const *vnlv,
		      char *why, size_t whylen);
/* Whether st joined the namespace of the same plug-in stack made by an earlier image (an
 * ancestor that exec'd this one) instead of making a second host; see stack_plugin.c. */
int stack_plugin_joined(const struct stack *st);
/* Whether st is a plug-in stack this process made and has not ended (not joined, not a
 * forked child's copy of its parent's). */
int stack_plugin_owned(const struct stack *st);
/* Ends a plug-in stack this process made (its delstack; before an exec, stack_helper.h):
 * 1 ended, 0 not this process's to end, -ENOTSUP if the plug-in has no delstack. */
int stack_plugin_close(struct stack *st);

#endif
