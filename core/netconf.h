/*
 * netconf — interfaces, addresses and routes inside a stack, configured through netlink.
 *
 * The user writes commands (config key `net`, env SOCKSHIFT_NET), ';'-separated:
 *     STACK IFACE up | STACK IFACE down
 *     STACK IFACE addr ADDRESS/PREFIX                 (IPv4 or IPv6)
 *     STACK route DEST/PREFIX|default [via GATEWAY] [dev IFACE]
 * STACK is a stack's name (see stack.h / config key `stacks`). netconf_parse() checks the
 * syntax only; netconf_apply() runs one command on a NETLINK_ROUTE socket that was made
 * inside the stack (the stack's own socket(): so the configuration lands in that stack
 * and nowhere else). libnl-route-3 is used here and only here (netconf.c); its errors
 * come back as -errno with a message naming the stack, the interface and libnl's text.
 *
 * Moving a service address between two network namespaces (sockshift migrate --move-addr),
 * written ADDRESS[/PREFIX][,dev=IFACE]:
 *     netconf_move_parse(text, &m, ...)              syntax only
 *     netconf_move_check(fromfd, tofd, &m, ...)      before anything changes: the address is
 *                                                    on an interface of the source, the target
 *                                                    interface exists, the target lacks it
 *     netconf_move(fromfd, tofd, &m, ...)            delete in the source, add in the target;
 *                                                    if the add fails the address is put back
 * fromfd/tofd are NETLINK_ROUTE sockets made inside the source and the target namespace
 * (a netlink socket stays in the namespace it was made in); the caller keeps and closes
 * them. Messages name the namespace, the interface and libnl's text.
 */
#ifndef SOCKSHIFT_NETCONF_H
#define SOCKSHIFT_NETCONF_H

#include <net/if.h>
#include <stddef.h>

#define NETCONF_CMDS_MAX 32

enum netconf_op { NETCONF_UP, NETCONF_DOWN, NETCONF_ADDR, NETCONF_ROUTE };

struct netconf_cmd {
	char stack[64];
	enum netconf_op op;
	char ifname[IF_NAMESIZE];       /* "" for a route without dev */
	int family;                     /* AF_INET/AF_INET6 for addr and route */
	unsigned char addr[16];         /* address, or route destination */
	int prefix;
	int has_gw;
	unsigned char gw[16];
	char text[160];                 /* the command as written, for messages */
};

/* Parses the whole list; 0 with *n set, or -errno with why naming the bad command. */
int netconf_parse(const char *text, struct netconf_cmd *cmds, int max, int *n, char *why, size_t whylen);

/* Runs cmd on nlfd (a NETLINK_ROUTE socket of the stack), which it always closes. */
int netconf_apply(int nlfd, const struct netconf_cmd *cmd, char *why, size_t whylen);

/* An address to move; the first block is parsed, the rest filled by netconf_move_check. */
struct netconf_move {
	int family;                     /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;                     /* in the target; -1: the source's */
	char to_if[IF_NAMESIZE];        /* target interface; "": the source interface's name */
	char text[96];                  /* as written, for messages */
	char from_ns[64], to_ns[64];    /* namespace names for messages (set by the caller) */
	char from_if[IF_NAMESIZE];      /* the interface that holds it in the source */
	int from_prefix;                /* its prefix there (needed to delete and put back) */
	unsigned from_flags;            /* its IFA_F_* flags there */
};

int netconf_move_parse(const char *text, struct netconf_move *m, char *why, size_t whylen);
int netconf_move_check(int fromfd, int tofd, struct netconf_move *m, char *why, size_t whylen);
int netconf_move(int fromfd, int tofd, const struct netconf_move *m, char *why, size_t whylen);

#endif
