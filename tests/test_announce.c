/*
 * test_announce — the address announcements (announce.h), in a private network namespace
 * (skipped when unshare is denied): a veth pair a0/a1; announce_addr on a0 and the frame
 * captured on a1 with an AF_PACKET socket: the gratuitous ARP (request, sender = target =
 * the address, a0's MAC, broadcast) and the unsolicited NA (ff02::1, hop limit 255, override
 * flag, the target and a0's MAC in the option). Plus the errors: no such interface, an
 * interface without a MAC, a family it cannot announce.
 */
#include "test_util.h"
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <poll.h>
#include "repair_fixture.h"
#include "announce.h"
#include "real.h"

TestSuite(announce, .init = real_use_libc, .timeout = 30);

static void veth(void)
{
	int err = fx_netns();

	if (err == -EPERM || err == -EACCES)
		cr_skip_test("cannot unshare a network namespace (%s)", strerror(-err));
	cr_assert(eq(int, err, 0));
	if (system("ip link add a0 type veth peer name a1 && ip link set a0 up && ip link set a1 up && "
		   "ip addr add fd00:9::10/64 dev a0 nodad") != 0)
		cr_skip_test("cannot make a veth pair here (ip link add)");
}

static void mac_of(const char *ifname, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, ifname);
	cr_assert(eq(int, ioctl(fd, SIOCGIFHWADDR, &ifr), 0));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
}

/* The first frame of ethertype proto arriving on a1 that pass() accepts, into buf. */
static ssize_t capture(int proto, int (*pass)(const unsigned char *, ssize_t), void (*send)(void),
		       unsigned char *buf, size_t size)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto),
				   .sll_ifindex = (int)if_nametoindex("a1") };
	int fd = socket(AF_PACKET, SOCK_DGRAM, htons(proto));
	ssize_t n = -1;

	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0));
	send();
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(fd, buf, size, 0);
		if (n > 0 && pass(buf, n))
			break;
		n = -1;
	}
	close(fd);
	cr_assert(gt(int, (int)n, 0), "nothing captured on a1");
	return n;
}

static unsigned char ip4[4] = { 10, 9, 9, 10 };
static struct in6_addr ip6;

static void send4(void)
{
	unsigned char a[16] = { 0 };

	memcpy(a, ip4, 4);
	cr_assert(eq(int, announce_addr("a0", AF_INET, a, 2, 10), 0));
}

static void send6(void)
{
	cr_assert(eq(int, announce_addr("a0", AF_INET6, (unsigned char *)&ip6, 1, 0), 0));
}

static int is_arp(const unsigned char *b, ssize_t n)
{
	return n >= 28;
}

/* SOCK_DGRAM on ETH_P_IPV6: the IPv6 header and the ICMPv6 message */
static int is_na(const unsigned char *b, ssize_t n)
{
	const struct ip6_hdr *h = (const void *)b;

	return n >= (ssize_t)(sizeof(*h) + 32) && h->ip6_nxt == IPPROTO_ICMPV6 &&
	       b[sizeof(*h)] == ND_NEIGHBOR_ADVERT;
}

Test(announce, gratuitous_arp)
{
	unsigned char buf[256], mac[ETH_ALEN], zero[ETH_ALEN] = { 0 };

	veth();
	mac_of("a0", mac);
	capture(ETH_P_ARP, is_arp, send4, buf, sizeof(buf));
	cr_assert(eq(int, buf[0] << 8 | buf[1], ARPHRD_ETHER));
	cr_assert(eq(int, buf[2] << 8 | buf[3], ETH_P_IP));
	cr_assert(eq(int, buf[6] << 8 | buf[7], 1), "an ARP request");
	cr_assert(eq(int, memcmp(buf + 8, mac, ETH_ALEN), 0), "sender MAC is a0's");
	cr_assert(eq(int, memcmp(buf + 14, ip4, 4), 0), "sender IP is the address");
	cr_assert(eq(int, memcmp(buf + 18, zero, ETH_ALEN), 0));
	cr_assert(eq(int, memcmp(buf + 24, ip4, 4), 0), "target IP is the address: gratuitous");
}

Test(announce, unsolicited_na)
{
	unsigned char buf[256], mac[ETH_ALEN];
	struct in6_addr all;

	veth();
	mac_of("a0", mac);
	inet_pton(AF_INET6, "fd00:9::10", &ip6);
	inet_pton(AF_INET6, "ff02::1", &all);
	capture(ETH_P_IPV6, is_na, send6, buf, sizeof(buf));
	const struct ip6_hdr *h = (const void *)buf;
	const struct nd_neighbor_advert *na = (const void *)(buf + sizeof(*h));
	const unsigned char *opt = (const unsigned char *)(na + 1);

	cr_assert(eq(int, h->ip6_hlim, 255), "RFC 4861: hop limit 255");
	cr_assert(eq(int, memcmp(&h->ip6_src, &ip6, 16), 0), "from the address itself");
	cr_assert(eq(int, memcmp(&h->ip6_dst, &all, 16), 0), "to all nodes");
	cr_assert(ne(int, (int)(na->nd_na_flags_reserved & ND_NA_FLAG_OVERRIDE), 0), "override flag");
	cr_assert(eq(int, (int)(na->nd_na_flags_reserved & ND_NA_FLAG_SOLICITED), 0), "unsolicited");
	cr_assert(eq(int, memcmp(&na->nd_na_target, &ip6, 16), 0));
	cr_assert(eq(int, opt[0], ND_OPT_TARGET_LINKADDR));
	cr_assert(eq(int, opt[1], 1));
	cr_assert(eq(int, memcmp(opt + 2, mac, ETH_ALEN), 0), "target link-layer address is a0's");
}

Test(announce, errors)
{
	unsigned char a[16] = { 127, 0, 0, 1 };

	cr_assert(eq(int, announce_addr("nosuch0", AF_INET, a, 1, 0), -ENODEV));
	cr_assert(eq(int, announce_addr("lo", AF_INET, a, 1, 0), -EINVAL), "lo has no MAC");
	cr_assert(eq(int, announce_addr("lo", AF_UNIX, a, 1, 0), -EAFNOSUPPORT));
	cr_assert(eq(int, announce_addr("an-interface-name-too-long", AF_INET, a, 1, 0), -ENODEV));
}
