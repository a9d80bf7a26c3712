/*
 * cmd_check — `sockshift check [--json]`: which kernel features this machine offers, each
 * measured by a probe in core/probe.c, and what depends on the missing ones.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "probe.h"
#include "util.h"

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift check [--json]\n"
		"\n"
		"Probes this machine (in throw-away child processes and network namespaces) for\n"
		"the kernel features sockshift uses: network and user namespaces, TCP_REPAIR,\n"
		"raw sockets, nftables, traffic control, the vsock device and Syscall User\n"
		"Dispatch. Nothing is changed and no vsock connection is made.\n"
		"Exit status: 0 all features available, 1 some are missing, 2 usage error.\n");
}

int cmd_check(int argc, char **argv)
{
	int json = 0, missing = 0;

	for (int i = 1; i < argc; i++) {
		if (util_is_help(argv[i])) {
			check_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			util_warn("check: unknown argument '%s'", argv[i]);
			check_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (json)
		printf("{\"version\": \"%s\", \"features\": [", SOCKSHIFT_VERSION);
	for (const struct probe *p = probe_list; p->name; p++) {
		char detail[200] = "";
		int r = p->run(detail, sizeof(detail));
		missing += r != 0;
		if (json) {
			printf("%s\n  {\"name\": ", p == probe_list ? "" : ",");
			util_json_str(p->name);
			printf(", \"available\": %s, \"error\": ", r == 0 ? "true" : "false");
			util_json_str(r ? log_errname(r) : "");
			printf(", \"detail\": ");
			util_json_str(detail);
			printf(", \"needed_for\": ");
			util_json_str(p->needed_for);
			printf("}");
		} else {
			printf("%-4s %-30s %s\n", r == 0 ? "yes" : "no", p->what, detail);
			if (r)
				printf("     %-30s -> affects: %s\n", "", p->needed_for);
		}
	}
	if (json)
		printf("\n]}\n");
	else
		printf("\n%s\n", missing ? "Some features are missing (see above)." :
		       "Every feature sockshift uses is available.");
	return missing ? EXIT_OPFAIL : 0;
}
