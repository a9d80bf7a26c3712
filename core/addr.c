/*
 * addr — async-signal-safe rendering of socket addresses (see addr.h).
 * IPv6 follows RFC 5952: lowercase, the longest run of two or more zero groups becomes "::",
 * and v4-mapped addresses end in dotted quad.
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "log.h"

static size_t fmt_v4(char *buf, size_t size, const unsigned char *b)
{
	return log_fmt(buf, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static size_t fmt_v6(char *buf, size_t size, const struct in6_addr *a)
{
	unsigned g[8];
	int best = -1, bestlen = 0;
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		g[i] = (a->s6_addr[2 * i] << 8) | a->s6_addr[2 * i + 1];
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		n = log_fmt(buf, size, "::ffff:");
		return n + fmt_v4(buf + n, size - n, a->s6_addr + 12);
	}
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > bestlen && j - i >= 2)
			best = i, bestlen = j - i;
		i = j > i ? j : i + 1;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			n += log_fmt(buf + n, size - n, "::");
			i += bestlen - 1;
			continue;
		}
		if (i && i != best + bestlen)
			n += log_fmt(buf + n, size - n, ":");
		n += log_fmt(buf + n, size - n, "%x", g[i]);
	}
	return n;
}

char *addr_format(char *buf, size_t size, const struct sockaddr *addr, socklen_t len)
{
	size_t n;

	if (!size)
		return buf;
	if (!addr || len < sizeof(sa_family_t)) {
		log_fmt(buf, size, "-");
		return buf;
	}
	switch (addr->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)addr;
		if (len < sizeof(*in))
			break;
		n = fmt_v4(buf, size, (const unsigned char *)&in->sin_addr);
		log_fmt(buf + n, size - n, ":%u", ntohs(in->sin_port));
		return buf;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)addr;
		if (len < sizeof(*in6))
			break;
		n = log_fmt(buf, size, "[");
		n += fmt_v6(buf + n, size - n, &in6->sin6_addr);
		log_fmt(buf + n, size - n, "]:%u", ntohs(in6->sin6_port));
		return buf;
	}
	case AF_UNIX: {
		const struct sockaddr_un *un = (const void *)addr;
		size_t plen = len - offsetof(struct sockaddr_un, sun_path);
		if (len <= offsetof(struct sockaddr_un, sun_path))
			log_fmt(buf, size, "unix:(unnamed)");
		else if (un->sun_path[0] == '\0')
			log_fmt(buf, size, "unix:@%.*s", (int)(plen - 1), un->sun_path + 1);
		else
			log_fmt(buf, size, "unix:%.*s", (int)plen, un->sun_path);
		return buf;
	}
	case AF_NETLINK: {
		const struct sockaddr_nl *nl = (const void *)addr;
		if (len < sizeof(*nl))
			break;
		log_fmt(buf, size, "netlink:%u", nl->nl_pid);
		return buf;
	}
	case AF_VSOCK: {
		const struct sockaddr_vm *vm = (const void *)addr;
		if (len < sizeof(*vm))
			break;
		log_fmt(buf, size, "vsock:%u:%u", vm->svm_cid, vm->svm_port);
		return buf;
	}
	}
	log_fmt(buf, size, "family=%d(len=%u)", addr->sa_family, (unsigned)len);
	return buf;
}

const char *addr_family_name(int family)
{
	switch (family) {
	case AF_UNIX: return "unix";
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_NETLINK: return "netlink";
	case AF_PACKET: return "packet";
	case AF_VSOCK: return "vsock";
	default: return "other";
	}
}

const char *addr_type_name(int type)
{
	switch (type & 0xf) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "dgram";
	case SOCK_RAW: return "raw";
	case SOCK_SEQPACKET: return "seqpacket";
	default: return "other";
	}
}
