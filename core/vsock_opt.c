/*
 * vsock_opt — TCP/IP-level socket options on a socket that is really AF_VSOCK (or AF_UNIX
 * for hybrid vsock). The kernel rejects them (ENOPROTOOPT); programs set TCP_NODELAY,
 * keepalive tuning or IP_TOS as a matter of course, so they are accepted, remembered in the
 * fd table, and read back as set. This file knows which options that covers, how Linux TCP
 * validates their values, and what a fresh TCP socket reports for ones never set.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>

#include "vsock.h"

int vsock_opt_emulated(int level, int name)
{
	if (level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_IPV6)
		return 1;
	if (level == SOL_SOCKET)
		return name == SO_DOMAIN || name == SO_PROTOCOL || name == SO_REUSEPORT;
	return 0;
}

/* Options whose value is a struct, not an int. */
static int is_struct_opt(int level, int name)
{
	return level == IPPROTO_TCP && (name == TCP_INFO || name == TCP_CONGESTION ||
					name == TCP_MD5SIG || name == TCP_ULP);
}

int vsock_opt_check(int level, int name, const void *val, socklen_t len)
{
	int v;

	if (level == SOL_SOCKET && (name == SO_DOMAIN || name == SO_PROTOCOL))
		return -ENOPROTOOPT;            /* read-only, as on TCP */
	if (is_struct_opt(level, name))
		return len == 0 ? -EINVAL : 0;
	if (len < sizeof(int))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(&v, val, sizeof(v));
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
			return v < 1 || v > 32767 ? -EINVAL : 0;
		case TCP_KEEPCNT:
			return v < 1 || v > 127 ? -EINVAL : 0;
		case TCP_MAXSEG:
			return v != 0 && (v < 88 || v > 65535) ? -EINVAL : 0;
		case TCP_USER_TIMEOUT:
		case TCP_NOTSENT_LOWAT:
			return v < 0 ? -EINVAL : 0;
		}
	}
	if (level == IPPROTO_IP && name == IP_TTL)
		return v != -1 && (v < 1 || v > 255) ? -EINVAL : 0;
	return 0;
}

int vsock_opt_default(int domain, int level, int name, int connected, void *val, socklen_t *len)
{
	int v = 0;

	if (!val || !len)
		return -EFAULT;
	if (level == IPPROTO_TCP && name == TCP_INFO) {
		struct tcp_info ti;
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_state = connected == 2 ? TCP_LISTEN : connected ? TCP_ESTABLISHED : TCP_CLOSE;
		ti.tcpi_rto = 200000;
		ti.tcpi_snd_mss = ti.tcpi_rcv_mss = ti.tcpi_advmss = 65483;
		ti.tcpi_pmtu = 65535;
		ti.tcpi_snd_cwnd = 10;
		socklen_t n = *len < sizeof(ti) ? *len : sizeof(ti);
		memcpy(val, &ti, n);
		*len = n;
		return 0;
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		static const char cc[16] = "cubic";
		socklen_t n = *len < sizeof(cc) ? *len : sizeof(cc);
		memcpy(val, cc, n);
		*len = n;
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_DOMAIN)
		v = domain;
	else if (level == SOL_SOCKET && name == SO_PROTOCOL)
		v = IPPROTO_TCP;
	else if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_KEEPIDLE:  v = 7200; break;
		case TCP_KEEPINTVL: v = 75; break;
		case TCP_KEEPCNT:   v = 9; break;
		case TCP_MAXSEG:    v = connected == 1 ? 65483 : 536; break;
		case TCP_SYNCNT:    v = 6; break;
		case TCP_NOTSENT_LOWAT: v = -1; break;
		}
	} else if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TTL:        v = 64; break;
		case IP_MTU_DISCOVER: v = IP_PMTUDISC_WANT; break;
		}
	} else if (level == IPPROTO_IPV6) {
		switch (name) {
		case IPV6_UNICAST_HOPS: v = 64; break;
		}
	}
	if (*len < sizeof(int)) {
		/* Linux TCP answers a 1-byte buffer with one byte for boolean-like options. */
		if (*len == 0)
			return -EINVAL;
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
		return 0;
	}
	memcpy(val, &v, sizeof(v));
	*len = sizeof(int);
	return 0;
}
