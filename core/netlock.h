/*
 * netlock — the network lock: while a connection is frozen, no packet of it may reach or leave
 * the host, or the kernel answers with an RST (closed socket) or marks unsent data as sent
 * (socket in repair mode). One nftables table per lock, driven through libnftables (no `nft`
 * process): a set of frozen 4-tuples and a drop rule in the input and output hooks, with
 * packets marked REPAIR_MARK (0xC114, the forged FINs of the repair engine) let through.
 *
 *	struct netlock *nl;
 *	netlock_create(&nl);                       empty table "inet sockshift_<pid>_<n>"
 *	netlock_add(nl, conns, n, NETLOCK_BOTH);   all n connections in one transaction
 *	... pause, save, close / restore ...
 *	netlock_destroy(nl);                       the table goes, packets flow; frees nl
 *
 * Works in whatever network namespace the calling thread is in at netlock_create (the table
 * lives there). Needs CAP_NET_ADMIN over that namespace. v4-mapped IPv6 connections are locked
 * by their IPv4 addresses, which is what their packets carry.
 */
#ifndef SOCKSHIFT_NETLOCK_H
#define SOCKSHIFT_NETLOCK_H

#include <stddef.h>        /* size_t */
#include <sys/socket.h>    /* struct sockaddr_storage */

struct netlock;

/* One connection as seen from this host. */
struct netlock_conn {
	struct sockaddr_storage self, peer;
};

#define NETLOCK_INBOUND  0x1   /* drop peer -> self */
#define NETLOCK_OUTBOUND 0x2   /* drop self -> peer */
#define NETLOCK_BOTH     (NETLOCK_INBOUND | NETLOCK_OUTBOUND)

int netlock_create(struct netlock **out);
int netlock_add(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs);
/* Deletes the table (unlocks everything) and frees nl; safe on NULL. */
int netlock_destroy(struct netlock *nl);
const char *netlock_name(const struct netlock *nl);

/*
 * Run nft commands in the lock's context (tests and diagnostics: counters, listing).
 * *out, if given, receives the command's output (malloc'd, caller frees).
 */
int netlock_cmd(const char *cmds, char **out);

#endif
