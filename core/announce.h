/*
 * announce — tell a link that an address now lives on one of our interfaces, so the peers
 * there update their neighbour entry at once instead of sending to the old MAC until the entry
 * expires (sockshift migrate --move-addr, after the address was moved).
 *
 *	announce_addr("eth0", AF_INET, addr, 3, 100);   three announcements, 100 ms apart
 *
 * IPv4: a gratuitous ARP, an ARP request whose sender and target are the address, from the
 * interface's MAC to the broadcast address, sent on an AF_PACKET socket. A Linux peer with
 * an entry for the address takes the new MAC (a gratuitous ARP overrides even a REACHABLE
 * entry; it becomes STALE and is confirmed on first use). IPv6: an unsolicited neighbour
 * advertisement to all-nodes (ff02::1) with the override flag and the target link-layer
 * address option, from the address itself, hop limit 255 (RFC 4861 7.2.6), on a raw ICMPv6
 * socket (the kernel fills the IPv6 header and checksum); the address must be usable (added
 * with nodad, or past DAD).
 *
 * Works in the network namespace of the calling thread; needs CAP_NET_RAW there. The first
 * announcement goes out before the call returns; with count > 1 the call sleeps
 * interval_ms between them. 0, or -errno (no such interface, no MAC: e.g. loopback -> -EINVAL).
 */
#ifndef SOCKSHIFT_ANNOUNCE_H
#define SOCKSHIFT_ANNOUNCE_H

int announce_addr(const char *ifname, int family, const unsigned char addr[16], unsigned count,
		  unsigned interval_ms);

#endif
