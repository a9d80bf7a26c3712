/*
 * leader_exit — an echo server whose main thread has exited (pthread_exit in main).
 *
 *   leader_exit PORTFILE
 *
 * Listens on 127.0.0.1 (free port, written to PORTFILE), starts a thread that accepts
 * connections and echoes each one in turn, and ends the main thread. The process lives on
 * with its leader a zombie: what the kernel knows as the process's fd table is reachable only
 * through a live thread.
 */
#include <pthread.h>

#include "helpers.h"

static int lfd;

static void *serve(void *arg)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			die("accept");
		while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
			send_all(c, buf, (size_t)n);
		close(c);
	}
	return arg;
}

int main(int argc, char **argv)
{
	char tmp[4096];
	pthread_t th;
	FILE *f;
	int port;

	if (argc != 2) {
		fprintf(stderr, "usage: leader_exit PORTFILE\n");
		return 2;
	}
	lfd = listen_lo(&port, SOCK_CLOEXEC);
	if (pthread_create(&th, NULL, serve, NULL))
		die("pthread_create");
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, argv[1]))
		die("writing %s", argv[1]);
	pthread_exit(NULL);
}
