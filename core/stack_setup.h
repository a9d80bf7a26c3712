/*
 * stack_setup — brings up every stack the configuration names, configures them through
 * netlink and installs the routing rules. Called once at start (shim/init.c); any failure
 * is fatal there (fail closed), with a message naming the stack and what went wrong.
 *
 * Settings it reads (config.h):
 *     stack   = SPEC | NAME                   the default stack (kernel unless set), by
 *                                             spec or by the name of a named stack
 *     stacks  = NAME=SPEC; NAME=SPEC ...      named stacks, for routing rules and `net`
 *     net     = STACK IFACE up; ...           netconf.h; STACK may be "default"
 *     routes  = to PREFIX NAME; ...           route.h; a `default NAME` rule replaces `stack`
 * Several stacks of one kind are fine (two netns:new, two vdestack on one switch).
 * A config file may also describe a stack in a [stack NAME] section (config.c): its
 * `spec` and `net` lines are added to `stacks` and `net` above, so both take one path.
 */
#ifndef SOCKSHIFT_STACK_SETUP_H
#define SOCKSHIFT_STACK_SETUP_H

#include <stddef.h>

#include "stack.h"

struct config;

struct stack_setup_entry {
	char name[STACK_NAME_MAX];
	struct stack_spec spec;
};

/* Whether s can name a stack: letters, digits, '_', '-'; not kernel, none or default. */
int stack_setup_name_ok(const char *s);

/* Parses "NAME=SPEC; ..." (names: stack_setup_name_ok). */
int stack_setup_parse_list(const char *text, struct stack_setup_entry *out, int max, int *n, char *why,
			   size_t whylen);

/* Opens, configures and routes; 0, or -errno with why filled. */
int stack_setup_apply(const struct config *cfg, char *why, size_t whylen);

#endif
