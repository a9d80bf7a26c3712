/*
 * repair_fin — forge one TCP packet "from the peer" to a restored socket, to re-create a FIN
 * the peer had sent (CLOSE_WAIT, LAST_ACK, CLOSING, CLOSE) or its ACK of our FIN (FIN_WAIT2,
 * CLOSE). TCP_REPAIR has no way to put a FIN into the receive queue, so the kernel is made to
 * receive one.
 *
 * Built by hand on a raw IPPROTO_RAW socket (the header is ours: IP_HDRINCL for IPv4, implied for
 * IPv6 IPPROTO_RAW), with no TCP options (the kernel accepts a segment without the timestamp
 * option), SO_MARK = REPAIR_MARK so the network lock lets it through. v4-mapped IPv6 endpoints
 * are sent as IPv4, which is what the kernel sees on the wire for them. Needs CAP_NET_RAW.
 * No library: libnet in Debian 12 (1.1.6) ships no pkg-config file and its IPv6 raw path adds
 * nothing for one fixed-size packet.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>

#include "repair_int.h"

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void fill_tcp(struct tcphdr *th, uint16_t sport, uint16_t dport, uint32_t seq,
		     uint32_t ack, uint16_t win, uint8_t flags)
{
	memset(th, 0, sizeof(*th));
	th->source = sport;
	th->dest = dport;
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = sizeof(*th) / 4;
	th->fin = !!(flags & TH_FIN);
	th->ack = !!(flags & TH_ACK);
	th->rst = !!(flags & TH_RST);
	th->window = htons(win);
}

static int send_raw(int family, const void *pkt, size_t len, const struct sockaddr *to,
		    socklen_t tolen)
{
	int mark = REPAIR_MARK, one = 1, err = 0;
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
	    (family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) ||
	    sendto(fd, pkt, len, 0, to, tolen) != (ssize_t)len)
		err = -errno;
	close(fd);
	if (err)
		rerr("repair: forging a packet: %s (needs CAP_NET_RAW)", log_errname(-err));
	return err;
}

static int forge4(struct in_addr src, uint16_t sport, struct in_addr dst, uint16_t dport,
		  uint32_t seq, uint32_t ack, uint16_t win, uint8_t flags)
{
	struct { struct iphdr ip; struct tcphdr tcp; } p;
	struct { uint32_t s, d; uint8_t z, proto; uint16_t len; } ph;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };

	_Static_assert(sizeof(p) == 40 && sizeof(ph) == 12, "no padding in the v4 packet");

	memset(&p, 0, sizeof(p));
	p.ip.version = 4;
	p.ip.ihl = 5;
	p.ip.tot_len = htons(sizeof(p));
	p.ip.id = htons(242);
	p.ip.frag_off = htons(IP_DF);
	p.ip.ttl = 64;
	p.ip.protocol = IPPROTO_TCP;
	p.ip.saddr = src.s_addr;
	p.ip.daddr = dst.s_addr;
	p.ip.check = csum_fold(csum_add(0, &p.ip, sizeof(p.ip)));
	fill_tcp(&p.tcp, sport, dport, seq, ack, win, flags);
	ph = (typeof(ph)){ src.s_addr, dst.s_addr, 0, IPPROTO_TCP, htons(sizeof(p.tcp)) };
	p.tcp.check = csum_fold(csum_add(csum_add(0, &ph, sizeof(ph)), &p.tcp, sizeof(p.tcp)));
	return send_raw(AF_INET, &p, sizeof(p), (struct sockaddr *)&to, sizeof(to));
}

static int forge6(const struct in6_addr *src, uint16_t sport, const struct in6_addr *dst,
		  uint16_t dport, uint32_t seq, uint32_t ack, uint16_t win, uint8_t flags)
{
	struct { struct ip6_hdr ip; struct tcphdr tcp; } p;
	struct { struct in6_addr s, d; uint32_t len; uint8_t z[3], nh; } ph;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = *dst };

	_Static_assert(sizeof(p) == 60 && sizeof(ph) == 40, "no padding in the v6 packet");

	memset(&p, 0, sizeof(p));
	p.ip.ip6_flow = htonl(6u << 28);
	p.ip.ip6_plen = htons(sizeof(p.tcp));
	p.ip.ip6_nxt = IPPROTO_TCP;
	p.ip.ip6_hlim = 64;
	p.ip.ip6_src = *src;
	p.ip.ip6_dst = *dst;
	fill_tcp(&p.tcp, sport, dport, seq, ack, win, flags);
	memset(&ph, 0, sizeof(ph));
	ph.s = *src;
	ph.d = *dst;
	ph.len = htonl(sizeof(p.tcp));
	ph.nh = IPPROTO_TCP;
	p.tcp.check = csum_fold(csum_add(csum_add(0, &ph, sizeof(ph)), &p.tcp, sizeof(p.tcp)));
	return send_raw(AF_INET6, &p, sizeof(p), (struct sockaddr *)&to, sizeof(to));
}

int repair_fin_forge(const union repair_addr *from, const union repair_addr *to, uint32_t seq,
		     uint32_t ack, uint16_t win, uint8_t flags)
{
	if (from->sa.sa_family == AF_INET)
		return forge4(from->v4.sin_addr, from->v4.sin_port, to->v4.sin_addr,
			      to->v4.sin_port, seq, ack, win, flags);
	if (repair_addr_mapped(from)) {
		struct in_addr s, d;

		memcpy(&s, &from->v6.sin6_addr.s6_addr[12], 4);
		memcpy(&d, &to->v6.sin6_addr.s6_addr[12], 4);
		return forge4(s, from->v6.sin6_port, d, to->v6.sin6_port, seq, ack, win, flags);
	}
	return forge6(&from->v6.sin6_addr, from->v6.sin6_port, &to->v6.sin6_addr,
		      to->v6.sin6_port, seq, ack, win, flags);
}
