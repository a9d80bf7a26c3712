/*
 * close_all — a program that closes every fd above 2 at start, the way daemons and
 * sandboxes do, and dup2s onto "free" high numbers, then uses sockets.
 *
 *   close_all
 *
 * Closes 3..1023 one by one, then close_range(3, ~0U, 0), then closefrom(3); dup2s
 * stdout onto 900..907 and closes those again; then makes a TCP round trip on 127.0.0.1
 * and prints what came back. Everything must work as without the shim, and nothing the
 * shim does may reach stdout (it did hold one of those numbers).
 */
#include <linux/close_range.h>

#include "helpers.h"

int main(void)
{
	int closed = 0, port;
	char buf[64];

	for (int fd = 3; fd < 1024; fd++)
		if (close(fd) == 0)
			closed++;
	if (close_range(3, ~0U, 0) < 0)
		die("close_range");
	closefrom(3);
	for (int fd = 900; fd < 908; fd++)
		if (dup2(1, fd) != fd)
			die("dup2 onto %d", fd);
	for (int fd = 900; fd < 908; fd++)
		if (close(fd) < 0)
			die("close %d", fd);
	printf("closed everything above 2\n");
	fflush(stdout);

	int l = listen_lo(&port, 0);
	int c = connect_lo(port);
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	send_all(c, "still working", 13);
	size_t n = recv_all(s, buf, 13);
	printf("round trip: %.*s\n", (int)n, buf);
	close(s), close(c), close(l);
	return n == 13 ? 0 : 1;
}
