/*
 * vsock — TCP programs over VM sockets: mapping rules, address faking, option emulation.
 *
 * The vsock stack (core/stack_vsock.c) gives an AF_INET/AF_INET6 SOCK_STREAM socket of an
 * unmodified program a real AF_VSOCK stream socket (or, on the host of a Firecracker /
 * Cloud Hypervisor VM, an AF_UNIX stream socket to the VMM: "hybrid vsock", hvsock.h).
 * This header holds the pure parts that decide how, testable with no vsock traffic:
 *
 *  - Rules. Outgoing: "PREFIX[:PORT]=CID[:VPORT]" — a connect to an address inside PREFIX
 *    (and to PORT, if given) goes to vsock CID, port VPORT or else the program's port.
 *    Incoming: "ADDR:PORT[=VPORT]" — a bind()+listen() on ADDR:PORT listens on vsock port
 *    VPORT (default PORT). ADDR/PREFIX may be "*" (any), "a.b.c.d[/len]" or "[v6][/len]";
 *    PORT may be "*" (any; the vsock port is then the program's). CID is a number or one
 *    of "local" (1) and "host" (2). Rules are separated by ',' and tried in order; the
 *    first match wins. A connect no rule matches fails with ENETUNREACH, a bind on a
 *    non-zero port no rule matches with EADDRNOTAVAIL: nothing leaks to another network.
 *
 *  - Addresses the program sees (getsockname/getpeername/accept). A connected socket
 *    reports the address it asked for as peer; a listener reports what it bound. Where
 *    only a vsock (cid, port) is known (accepted peers, an autobound client's name) the
 *    documented mapping is used:
 *        CID 1 (local)          -> 127.0.0.1
 *        CID c (any other)      -> 100.64.0.0 + c   (RFC 6598 space, c < 2^22; larger
 *                                   CIDs saturate at 100.127.255.255)
 *        CID -1 (any)           -> 0.0.0.0
 *        port p <= 65535        -> p
 *        port p  > 65535        -> 49152 + p % 16384 (vsock autobind ports are 32-bit)
 *    AF_INET6 sockets get the same IPv4 address v4-mapped (::ffff:a.b.c.d), except CID 1,
 *    which is ::1. An outgoing rule whose PREFIX is one host (a /32 or /128) is used in
 *    reverse first: a peer at that rule's CID shows as that address, unless it is a
 *    loopback address (servers trust loopback peers; only CID 1 may look local).
 *
 *  - Options. Levels IPPROTO_TCP, IPPROTO_IP and IPPROTO_IPV6, which vsock rejects with
 *    ENOPROTOOPT, are accepted and read back as set (never applied); unset ones read as a
 *    Linux TCP socket's defaults. SO_DOMAIN and SO_PROTOCOL answer as for TCP;
 *    SO_REUSEPORT is accepted and read back (vsock gives EOPNOTSUPP).
 *
 *  - Errors. vsock reports a missing listener as ECONNRESET; a connect (and the SO_ERROR of
 *    a non-blocking connect) reports ECONNREFUSED instead, as TCP would. ENODEV (no route
 *    to that CID) becomes ENETUNREACH.
 */
#ifndef SOCKSHIFT_VSOCK_H
#define SOCKSHIFT_VSOCK_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#define VSOCK_RULES_MAX   32
#define VSOCK_CID_LOCAL   1u
#define VSOCK_CID_HOST    2u
#define VSOCK_CID_ANY     0xffffffffu
#define VSOCK_PORT_ANY    0xffffffffu

/* One rule. family 0 = any address ("*"). port -1 = any port. */
struct vsock_rule {
	int family;             /* 0, AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; 4 bytes used for AF_INET */
	unsigned prefix;        /* prefix length in bits */
	int port;               /* -1 = any */
	uint32_t cid;           /* outgoing rules only */
	int64_t vport;          /* -1 = the program's port */
};

struct vsock_rules {
	unsigned n;
	struct vsock_rule r[VSOCK_RULES_MAX];
};

enum vsock_rule_kind {
	VSOCK_RULE_CONNECT = 0,
	VSOCK_RULE_LISTEN  = 1,
};

/* Parses a ','-separated rule list of that kind ("" is an empty list). 0 or -EINVAL with
 * the offending rule and what was expected in why. */
int vsock_rules_parse(const char *text, enum vsock_rule_kind kind, struct vsock_rules *out,
		      char *why, size_t whylen);

/* Finds the first rule matching an AF_INET/AF_INET6 address (v4-mapped IPv6 matches IPv4
 * rules too). Returns its index or -1. */
int vsock_rules_match(const struct vsock_rules *rules, const struct sockaddr *sa, socklen_t len);

/* The vsock port a matched rule gives for the program's port. */
uint32_t vsock_rule_vport(const struct vsock_rule *rule, unsigned port);

/* Fills an AF_INET (domain AF_INET) or AF_INET6 address for a vsock (cid, port) following
 * the mapping above; rules (may be NULL) are consulted in reverse first. Returns its length. */
socklen_t vsock_addr_fake(int domain, uint32_t cid, uint32_t port, const struct vsock_rules *rules,
			  struct sockaddr_storage *out);
/* The fake IPv4 address (network order) for a CID. */
uint32_t vsock_addr_cid_ipv4(uint32_t cid);
/* The fake port for a vsock port. */
unsigned vsock_addr_port(uint32_t port);

/* Copies addr into the caller's (addr, *len) the way the kernel does: truncates to *len and
 * sets *len to the full length. */
void vsock_addr_copy_out(const struct sockaddr_storage *ss, socklen_t sslen, struct sockaddr *addr,
			 socklen_t *len);

/* Option emulation. Is (level, name) answered by the emulation on this socket domain? */
int vsock_opt_emulated(int level, int name);
/* Checks a setsockopt value for an emulated option: 0 or -EINVAL/-EFAULT like Linux TCP. */
int vsock_opt_check(int level, int name, const void *val, socklen_t len);
/* Default value of an emulated option on a fresh TCP socket (0 for ones it does not know).
 * connected: 0 not connected, 1 connected, 2 listening (TCP_INFO's tcpi_state, TCP_MAXSEG).
 * Writes at most *len bytes of an int (or struct) and updates *len. */
int vsock_opt_default(int domain, int level, int name, int connected, void *val, socklen_t *len);

/* vsock error -> what a TCP program expects, for connect()/SO_ERROR. */
int vsock_err_connect(int err);

#endif
