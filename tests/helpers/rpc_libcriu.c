/*
 * rpc_libcriu — a CRIU client built on Debian's libcriu, pointed at a sockshift control
 * socket with criu_set_service_address(). Prints one line per result for the tests:
 *
 *	rpc_libcriu SOCK version              "version N"   (criu_get_version)
 *	rpc_libcriu SOCK check                "check R"     (criu_check)
 *	rpc_libcriu SOCK dump DIR [FAILAT]    "notify ACTION" per notification, then "dump R";
 *	                                      the notify callback fails at action FAILAT
 *	rpc_libcriu SOCK dumpfd N             "dump R" with images_dir_fd N as given
 *	rpc_libcriu SOCK dumppid DIR PID      "dump R": criu_set_pid(PID), leave running
 *	rpc_libcriu SOCK dumpexit DIR FAILAT  as dump, in exit mode (leave_running=false)
 * With RPC_AT_POST_DUMP=CMD in the environment, the notify callback runs `sh -c CMD` at
 * post-dump (the service holds the sockets frozen meanwhile), prints "post-dump check ok" or
 * "post-dump check failed", and fails the notification if CMD failed.
 * SOCK "swrk:BINARY" uses criu_set_service_binary(BINARY) instead: libcriu spawns
 * `BINARY swrk FD` on a socketpair (sockshift swrk).
 */
#include <criu/criu.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fail_at = "";

static int notify_cb(char *action, criu_notify_arg_t na)
{
	const char *cmd = getenv("RPC_AT_POST_DUMP");

	printf("notify %s\n", action);
	fflush(stdout);
	if (cmd && !strcmp(action, "post-dump")) {
		int ok = system(cmd) == 0;

		printf("post-dump check %s\n", ok ? "ok" : "failed");
		fflush(stdout);
		if (!ok)
			return -1;
	}
	return strcmp(action, fail_at) ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rpc_libcriu SOCK version|check|dump DIR [FAILAT]|dumpfd N\n");
		return 2;
	}
	if (criu_init_opts() < 0) {
		fprintf(stderr, "criu_init_opts failed\n");
		return 1;
	}
	if (!strncmp(argv[1], "swrk:", 5))
		criu_set_service_binary(argv[1] + 5);
	else
		criu_set_service_address(argv[1]);
	if (!strcmp(argv[2], "version")) {
		printf("version %d\n", criu_get_version());
		return 0;
	}
	if (!strcmp(argv[2], "check")) {
		printf("check %d\n", criu_check());
		return 0;
	}
	if ((!strcmp(argv[2], "dump") || !strcmp(argv[2], "dumpexit")) && argc >= 4) {
		int dfd = open(argv[3], O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			perror(argv[3]);
			return 1;
		}
		if (argc >= 5)
			fail_at = argv[4];
		criu_set_images_dir_fd(dfd);
		criu_set_leave_running(!strcmp(argv[2], "dump"));
		criu_set_tcp_established(true);
		criu_set_log_file("dump.log");
		criu_set_notify_cb(notify_cb);
		printf("dump %d\n", criu_dump());
		return 0;
	}
	if (!strcmp(argv[2], "dumppid") && argc >= 5) {
		int dfd = open(argv[3], O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			perror(argv[3]);
			return 1;
		}
		criu_set_images_dir_fd(dfd);
		criu_set_pid(atoi(argv[4]));
		criu_set_leave_running(true);
		criu_set_tcp_established(true);
		criu_set_notify_cb(notify_cb);
		printf("dump %d\n", criu_dump());
		return 0;
	}
	if (!strcmp(argv[2], "dumpfd") && argc >= 4) {
		criu_set_images_dir_fd(atoi(argv[3]));
		criu_set_leave_running(true);
		printf("dump %d\n", criu_dump());
		return 0;
	}
	fprintf(stderr, "rpc_libcriu: unknown command %s\n", argv[2]);
	return 2;
}
