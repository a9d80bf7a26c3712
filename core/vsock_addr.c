/*
 * vsock_addr — the AF_INET/AF_INET6 addresses a program on the vsock stack sees, and the
 * vsock error mapping (see vsock.h for the documented CID -> address mapping).
 * Pure functions: no sockets, no globals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "vsock.h"

uint32_t vsock_addr_cid_ipv4(uint32_t cid)
{
	if (cid == VSOCK_CID_LOCAL)
		return htonl(INADDR_LOOPBACK);
	if (cid == VSOCK_CID_ANY)
		return htonl(INADDR_ANY);
	if (cid >= (1u << 22))
		return htonl(0x647fffffu);              /* 100.127.255.255 */
	return htonl(0x64400000u + cid);                /* 100.64.0.0 + cid */
}

unsigned vsock_addr_port(uint32_t port)
{
	if (port == VSOCK_PORT_ANY)
		return 0;
	return port <= 65535 ? port : 49152 + port % 16384;
}

/* A one-host outgoing rule that targets cid, used to show the address the program knows. */
static const struct vsock_rule *reverse(const struct vsock_rules *rules, int domain, uint32_t cid)
{
	if (!rules)
		return NULL;
	for (unsigned i = 0; i < rules->n; i++) {
		const struct vsock_rule *r = &rules->r[i];
		if (r->cid != cid)
			continue;
		/* Never make a remote peer look local: servers trust loopback peers. */
		if ((r->family == AF_INET && r->addr[0] == 127) ||
		    (r->family == AF_INET6 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)r->addr)))
			continue;
		if (r->family == AF_INET && r->prefix == 32)
			return r;
		if (r->family == AF_INET6 && r->prefix == 128 && domain == AF_INET6)
			return r;
	}
	return NULL;
}

socklen_t vsock_addr_fake(int domain, uint32_t cid, uint32_t port, const struct vsock_rules *rules,
			  struct sockaddr_storage *out)
{
	const struct vsock_rule *r = reverse(rules, domain, cid);
	uint32_t v4 = vsock_addr_cid_ipv4(cid);
	unsigned p = vsock_addr_port(port);

	memset(out, 0, sizeof(*out));
	if (r && r->family == AF_INET)
		memcpy(&v4, r->addr, 4);
	if (domain != AF_INET6) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		in->sin_addr.s_addr = v4;
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)p);
	if (r && r->family == AF_INET6) {
		memcpy(&in6->sin6_addr, r->addr, 16);
	} else if (!r && cid == VSOCK_CID_LOCAL) {
		in6->sin6_addr = in6addr_loopback;
	} else if (!r && cid == VSOCK_CID_ANY) {
		in6->sin6_addr = in6addr_any;
	} else {
		in6->sin6_addr.s6_addr[10] = 0xff;
		in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&in6->sin6_addr.s6_addr[12], &v4, 4);
	}
	return sizeof(*in6);
}

void vsock_addr_copy_out(const struct sockaddr_storage *ss, socklen_t sslen, struct sockaddr *addr,
			 socklen_t *len)
{
	if (!addr || !len)
		return;
	memcpy(addr, ss, *len < sslen ? *len : sslen);
	*len = sslen;
}

int vsock_err_connect(int err)
{
	switch (err) {
	case ECONNRESET:
		return ECONNREFUSED;    /* virtio: an RST answers a connect to a port nobody listens on */
	case ENODEV:
		return ENETUNREACH;     /* no transport reaches that CID */
	default:
		return err;
	}
}
