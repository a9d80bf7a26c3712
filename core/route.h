/*
 * route — routing rules: which stack a socket goes to, by address.
 *
 * Rules (config key `routes`, env SOCKSHIFT_ROUTES), ';'-separated, each:
 *     to   PREFIX STACK     connect()/sendto() to an address in PREFIX  -> STACK
 *     from PREFIX STACK     bind() to a local address in PREFIX         -> STACK
 *     default STACK         everything else (without it: the `stack` setting)
 * PREFIX is ADDRESS/LEN, IPv4 or IPv6 (v4-mapped IPv6 addresses match IPv4 rules).
 * STACK is a stack name (config key `stacks`), "kernel", or "none": a connect/bind that
 * lands on "none" fails with ENETUNREACH (or EADDRNOTAVAIL for bind) instead of going to
 * any stack. The longest matching prefix wins; equal lengths: the first written.
 *
 * route_parse() checks syntax and keeps stack names as text; route_resolve() binds the
 * names to open stacks (fails on an unknown name); route_lookup() is lock-free and
 * allocation-free, the table being immutable after start.
 */
#ifndef SOCKSHIFT_ROUTE_H
#define SOCKSHIFT_ROUTE_H

#include <stddef.h>
#include <sys/socket.h>

#include "stack.h"

#define ROUTE_MAX 64

enum route_dir { ROUTE_TO, ROUTE_FROM, ROUTE_DEFAULT };

struct route_rule {
	enum route_dir dir;
	int family;
	unsigned char addr[16];
	int prefix;
	char stack[STACK_NAME_MAX];
	struct stack *st;               /* after route_resolve(); NULL = "none" */
};

struct route_table {
	int n;
	struct route_rule rules[ROUTE_MAX];
};

int route_parse(const char *text, struct route_table *t, char *why, size_t whylen);
/* Binds names to open stacks (stack_by_name); -ENOENT naming the unknown one. */
int route_resolve(struct route_table *t, char *why, size_t whylen);

/* Installs t as the process's table (copied); route_active() is then true. */
void route_install(const struct route_table *t);
int route_active(void);

/* The stack for an address: 1 and *out set (*out NULL = "none") if a rule matched
 * (a `default` rule matches everything), 0 if no rule did. */
int route_lookup(enum route_dir dir, const struct sockaddr *sa, socklen_t len, struct stack **out);
/* The stack a socket at that address belongs on: the matching rule's, else the default
 * stack; NULL means "none". For code that rebuilds sockets (restore: dir ROUTE_FROM with
 * the connection's local address). */
struct stack *route_stack_for(enum route_dir dir, const struct sockaddr *sa, socklen_t len);
/* The same on an explicit table (tests). */
int route_lookup_in(const struct route_table *t, enum route_dir dir, const struct sockaddr *sa,
		    socklen_t len, struct stack **out, int *index);

#endif
