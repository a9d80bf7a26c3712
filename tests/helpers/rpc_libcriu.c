/*
 * rpc_libcriu — a CRIU client built on Debian's libcriu, pointed at a sockshift control
 * socket with criu_set_service_address(). Prints one line per result for the tests:
 *
 *	rpc_libcriu SOCK version              "version N"   (criu_get_version)
 *	rpc_libcriu SOCK check                "check R"     (criu_check)
 *	rpc_libcriu SOCK dump DIR [FAILAT]    "notify ACTION" per notification, then "dump R";
 *	                                      the notify callback fails at action FAILAT
 *	rpc_libcriu SOCK dumpfd N             "dump R" with images_dir_fd N as given
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
	printf("notify %s\n", action);
	fflush(stdout);
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
	criu_set_service_address(argv[1]);
	if (!strcmp(argv[2], "version")) {
		printf("version %d\n", criu_get_version());
		return 0;
	}
	if (!strcmp(argv[2], "check")) {
		printf("check %d\n", criu_check());
		return 0;
	}
	if (!strcmp(argv[2], "dump") && argc >= 4) {
		int dfd = open(argv[3], O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			perror(argv[3]);
			return 1;
		}
		if (argc >= 5)
			fail_at = argv[4];
		criu_set_images_dir_fd(dfd);
		criu_set_leave_running(true);
		criu_set_tcp_established(true);
		criu_set_log_file("dump.log");
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
