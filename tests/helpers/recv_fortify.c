/*
 * recv_fortify — built with -O2 -D_FORTIFY_SOURCE=2, as distributions build packages, so
 * recv() and recvfrom() into a buffer of known size become __recv_chk / __recvfrom_chk.
 *
 *   recv_fortify [LEN]      LEN: bytes asked for (default 64; a run-time value, so the
 *                           compiler must keep the checking variants)
 *
 * A TCP pair on 127.0.0.1 carries one message read with recv(); a UDP pair carries one
 * datagram read with recvfrom(). LEN above 64 makes glibc abort the program (buffer
 * overflow detected), which shows the checking variants are in use. Prints both messages and the UDP sender's port.
 */
#define _GNU_SOURCE
#include "helpers.h"

int main(int argc, char **argv)
{
	size_t want = argc > 1 ? (size_t)atoi(argv[1]) : 64;
	char buf[64], dbuf[64];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	int port;

	/* No clamping of want: if the compiler could prove want <= sizeof(buf) it would call
	 * plain recv(). A too large LEN is caught by glibc's check (the point of FORTIFY). */
	/* TCP: recv -> __recv_chk */
	int lfd = listen_lo(&port, 0);
	int c = connect_lo(port);
	int s = accept(lfd, NULL, NULL);
	if (s < 0)
		die("accept");
	send_all(c, "hello over tcp", 14);
	ssize_t n = recv(s, buf, want, 0);
	if (n < 0)
		die("recv");
	printf("tcp: %.*s\n", (int)n, buf);

	/* UDP: recvfrom -> __recvfrom_chk */
	struct sockaddr_in a = lo_addr(0);
	socklen_t alen = sizeof(a);
	int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
	if (u1 < 0 || u2 < 0)
		die("socket");
	if (bind(u1, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(u1, (struct sockaddr *)&a, &alen) < 0)
		die("bind");
	if (sendto(u2, "hello over udp", 14, 0, (struct sockaddr *)&a, sizeof(a)) != 14)
		die("sendto");
	n = recvfrom(u1, dbuf, want, 0, (struct sockaddr *)&from, &flen);
	if (n < 0)
		die("recvfrom");
	printf("udp: %.*s (from a port %s)\n", (int)n, dbuf, from.sin_port ? "set" : "missing");
	close(u1), close(u2), close(s), close(c), close(lfd);
	return 0;
}
