/*
 * cmd_swrk — `sockshift swrk FD`: CRIU's `criu swrk FD` for clients that spawn criu on a
 * socketpair (libcriu's criu_set_service_binary, pycriu's use_binary, go-criu, runc). The
 * same session as a control socket (control.h), with DUMP forwarded to the control socket of
 * opts.pid (control_proxy.c). Exits 0 when the client closes the pair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "control.h"
#include "real.h"
#include "util.h"

static void swrk_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift swrk FD\n"
		"\n"
		"Serves CRIU RPC requests on FD, one end of a SOCK_SEQPACKET socketpair inherited\n"
		"from a CRIU client, as `criu swrk FD` would. DUMP checkpoints the process named by\n"
		"criu_opts.pid through its sockshift control socket; VERSION, CHECK and FEATURE_CHECK\n"
		"are answered as a control socket does. Not for use from a shell: point a client's\n"
		"criu binary at sockshift (for libcriu: criu_set_service_binary).\n"
		"Exit status: 0 the client closed the connection, 2 usage error.\n");
}

int cmd_swrk(int argc, char **argv)
{
	static const struct control_ops ops = {
		.dump = control_proxy_dump, .check = control_ckpt_check, .any_pid = 1,
		.stack_name = "swrk",
	};
	int fd, type = 0;
	socklen_t len = sizeof(type);
	char *end;

	if (argc != 2 || util_is_help(argv[1])) {
		swrk_usage(argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : EXIT_USAGE;
	}
	fd = (int)strtol(argv[1], &end, 10);
	if (*end || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET)
		util_die(EXIT_USAGE, "swrk: '%s' is not a SOCK_SEQPACKET socket fd", argv[1]);
	real_use_libc();
	control_serve_conn(fd, &ops);
	return 0;
}
