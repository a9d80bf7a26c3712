/*
 * main — the sockshift command: a table of subcommands, one file each (cmd_*.c).
 */
#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct cmd cmds[] = {
	{ "run",   "run a program with its sockets under sockshift", cmd_run },
	{ "check", "report which kernel features this machine offers", cmd_check },
	{ "show",  "decode checkpoint images for people (or --json for scripts)", cmd_show },
	{ "dump",  "checkpoint the TCP sockets of a running shimmed process", cmd_dump },
	{ "migrate", "hand a running process's connections to a new one (zero downtime)", cmd_migrate },
	{ "unlock", "remove network locks left by crashed checkpoints", cmd_unlock },
	{ "ps",    "list the processes running under sockshift and their sockets", cmd_ps },
	{ "swrk",  "serve CRIU RPC on an inherited socket, as `criu swrk FD` (for CRIU clients)", cmd_swrk },
	{ 0 }
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sockshift [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\n'sockshift COMMAND --help' describes a command; see also sockshift(1).\n"
		   "Exit status: 0 ok, 1 the operation failed, 2 usage or configuration error,\n"
		   "125 the shim stopped the program at start, 126 cannot execute, 127 not found.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (util_is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("sockshift %s\n", SOCKSHIFT_VERSION);
		return 0;
	}
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	util_warn("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
