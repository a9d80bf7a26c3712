/*
 * announce — gratuitous ARP and unsolicited neighbour advertisements (see announce.h).
 * Sockets are reached through the real table (real.h): core is also linked into the shim.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>

#include "announce.h"
#include "real.h"

/* RFC 826 for Ethernet and IPv4: the header and both address pairs. */
struct garp {
	struct arphdr h;
	unsigned char sha[ETH_ALEN], sip[4], tha[ETH_ALEN], tip[4];
} __attribute__((packed));

/* RFC 4861 4.4 with one option: the target link-layer address. */
struct una {
	struct nd_neighbor_advert na;
	unsigned char opt_type, opt_len, mac[ETH_ALEN];
} __attribute__((packed));

static int fail(int fd)
{
	int r = -errno;

	if (fd >= 0)
		real.close(fd);
	return r;
}

static int send_garp(int ifindex, const unsigned char mac[ETH_ALEN], const unsigned char *ip)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = ifindex, .sll_halen = ETH_ALEN };
	struct garp g = { .h = { .ar_hrd = htons(ARPHRD_ETHER), .ar_pro = htons(ETH_P_IP),
				 .ar_hln = ETH_ALEN, .ar_pln = 4, .ar_op = htons(ARPOP_REQUEST) } };
	int fd = real.socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));

	if (fd < 0)
		return fail(-1);
	memset(to.sll_addr, 0xff, ETH_ALEN);
	memcpy(g.sha, mac, ETH_ALEN);
	memcpy(g.sip, ip, 4);
	memcpy(g.tip, ip, 4);   /* sender = target: gratuitous; tha stays zero (a request) */
	if (real.sendto(fd, &g, sizeof(g), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return fail(fd);
	real.close(fd);
	return 0;
}

static int send_una(int ifindex, const unsigned char mac[ETH_ALEN], const unsigned char *ip)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
	struct una m = { .na = { .nd_na_type = ND_NEIGHBOR_ADVERT,
				 .nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE },
			 .opt_type = ND_OPT_TARGET_LINKADDR, .opt_len = 1 };
	int hops = 255, fd = real.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);

	if (fd < 0)
		return fail(-1);
	memcpy(&from.sin6_addr, ip, 16);
	if (IN6_IS_ADDR_LINKLOCAL(&from.sin6_addr))
		from.sin6_scope_id = (uint32_t)ifindex;
	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	memcpy(&m.na.nd_na_target, ip, 16);
	memcpy(m.mac, mac, ETH_ALEN);
	if (real.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    real.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0 ||
	    real.bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    real.sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return fail(fd);
	real.close(fd);
	return 0;
}

/* The interface's index and MAC; -EINVAL if it has no Ethernet address (loopback, tun). */
static int link_mac(const char *ifname, int *ifindex, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr;
	int fd = real.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(-1);
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		real.close(fd);
		return -ENODEV;
	}
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		return fail(fd);
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return fail(fd);
	real.close(fd);
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -EINVAL;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

int announce_addr(const char *ifname, int family, const unsigned char addr[16], unsigned count,
		  unsigned interval_ms)
{
	unsigned char mac[ETH_ALEN];
	int ifindex = 0, r;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	r = link_mac(ifname, &ifindex, mac);
	for (unsigned i = 0; r == 0 && i < count; i++) {
		if (i) {
			struct timespec ts = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		r = family == AF_INET ? send_garp(ifindex, mac, addr) : send_una(ifindex, mac, addr);
	}
	return r;
}
