/*
 * netlock — the network lock: while a connection is frozen, no packet of it may reach or leave
 * the host, or the kernel answers with an RST (closed socket) or marks unsent data as sent
 * (socket in repair mode). One nftables table per lock, driven through libnftables (no `nft`
 * process): a set of frozen 4-tuples and a drop rule in the input and output hooks, with
 * packets marked REPAIR_MARK (0xC114, the forged FINs of the repair engine) let through.
 * A hand-over also holds its listeners: a second group of sets (listen4/listen6: address .
 * port; lports: port, for wildcard listeners) whose input rule drops a new client's SYN, so
 * the client retransmits it (1 s later) instead of meeting an RST while no listener exists.
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
/* netlock_add plus listeners whose new SYNs are held (lis: their local addresses, a wildcard
 * address holds the port on every address), all in one transaction. */
int netlock_add_all(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs,
		    const struct sockaddr_storage *lis, size_t nlis);
/* Lets new SYNs to these listeners through again (one transaction; all must be present). */
int netlock_del_listeners(struct netlock *nl, const struct sockaddr_storage *lis, size_t nlis);
/* Removes connections from the lock (one transaction; all must be present). */
int netlock_del(struct netlock *nl, const struct netlock_conn *c, size_t n, unsigned dirs);
/* A handle on an existing table by name (a lock another process left: hand-over, unlock). */
int netlock_open(const char *name, struct netlock **out);
/* Frees nl and leaves the table in place (a hand-over keeps the lock past exit). */
void netlock_release(struct netlock *nl);
/* Deletes the table (unlocks everything) and frees nl; safe on NULL. */
int netlock_destroy(struct netlock *nl);
const char *netlock_name(const struct netlock *nl);

/*
 * Run nft commands in the lock's context (tests and diagnostics: counters, listing).
 * *out, if given, receives the command's output (malloc'd, caller frees).
 */
int netlock_cmd(const char *cmds, char **out);

#endif
