/*
 * cmd_unlock — `sockshift unlock [--all] [TABLE...]`: remove network locks that no process
 * will lift any more. A lock table is named sockshift_<pid>_<n>; by default the tables of
 * processes that no longer exist are removed (a crashed checkpoint, a hand-over whose new
 * process never started). A hand-over lock outlives its process on purpose until the
 * restoring process lifts it, so run this only when no restore is pending.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netlock.h"
#include "util.h"

static void unlock_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift unlock [--all] [--list] [TABLE...]\n"
		"\n"
		"Removes sockshift's nftables network locks (tables 'inet sockshift_PID_N') in this\n"
		"network namespace: the named TABLEs, all of them with --all, or by default those\n"
		"whose process PID no longer exists. --list only prints them.\n"
		"Exit status: 0 done, 1 a table could not be removed, 2 usage error.\n");
}

static int table_pid(const char *name)
{
	return strncmp(name, "sockshift_", 10) ? -1 : atoi(name + 10);
}

static int drop(const char *name)
{
	struct netlock *nl;
	int r = netlock_open(name, &nl);

	if (!r)
		r = netlock_destroy(nl);
	if (r)
		util_warn("unlock: %s: %s", name, log_errname(-r));
	else
		printf("removed %s\n", name);
	return r;
}

int cmd_unlock(int argc, char **argv)
{
	int all = 0, list = 0, named = 0, failed = 0;
	char *out = NULL;

	log_set_fd(2);
	for (int i = 1; i < argc; i++) {
		if (util_is_help(argv[i])) {
			unlock_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--all")) {
			all = 1;
		} else if (!strcmp(argv[i], "--list")) {
			list = 1;
		} else if (argv[i][0] == '-') {
			unlock_usage(stderr);
			return EXIT_USAGE;
		} else {
			named = 1;
			failed |= drop(argv[i]) != 0;
		}
	}
	if (named)
		return failed ? EXIT_OPFAIL : 0;
	if (netlock_cmd("list tables inet\n", &out) < 0)
		util_die(EXIT_OPFAIL, "unlock: cannot list nftables tables (need CAP_NET_ADMIN)");
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char name[64];
		int pid;

		if (sscanf(line, "table inet %63s", name) != 1 || (pid = table_pid(name)) < 0)
			continue;
		int alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
		if (list) {
			printf("%s%s\n", name, alive ? " (process running)" : " (process gone)");
			continue;
		}
		if (all || !alive)
			failed |= drop(name) != 0;
	}
	free(out);
	return failed ? EXIT_OPFAIL : 0;
}
