/*
 * cmd_run — `sockshift run [options] -- CMD ARGS...`: validate the configuration the
 * program would get, put the shim in LD_PRELOAD, and exec. Validating here means a bad
 * setting is reported by the tool with exit 2, before the program starts at all.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

extern char **environ;

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift run [--stack S] [--conf FILE] [--log LEVEL] [--log-file FILE] [--] CMD [ARGS...]\n"
		"\n"
		"Runs CMD with libsockshift.so preloaded, so its sockets go through sockshift.\n"
		"  --stack S        the stack for its sockets (SOCKSHIFT_STACK; default kernel)\n"
		"  --conf FILE      a configuration file (SOCKSHIFT_CONF)\n"
		"  --log LEVEL      error, warn, info or debug (SOCKSHIFT_LOG; default warn)\n"
		"  --log-file FILE  append the log there instead of stderr (SOCKSHIFT_LOG_FILE)\n"
		"Options override the environment, which overrides the configuration file.\n"
		"Exit status: CMD's own; 2 for a bad option or configuration, 126 if CMD cannot be\n"
		"executed, 127 if it is not found.\n");
}

static void set(const char *name, const char *value)
{
	if (setenv(name, value, 1) < 0)
		util_die(EXIT_OPFAIL, "cannot set %s: %s", name, strerror(errno));
}

/* Paths become absolute, so children that change directory still find the same files. */
static void set_path(const char *name, const char *value)
{
	char cwd[PATH_MAX], *abs;

	if (value[0] == '/' || !value[0] || !getcwd(cwd, sizeof(cwd))) {
		set(name, value);
		return;
	}
	if (asprintf(&abs, "%s/%s", cwd, value) < 0)
		util_die(EXIT_OPFAIL, "out of memory");
	set(name, abs);
	free(abs);
}

/* Prepends the shim to LD_PRELOAD unless it is already there. */
static void add_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;

	if (old && strstr(old, shim))
		return;
	if (asprintf(&val, "%s%s%s", shim, old && *old ? ":" : "", old && *old ? old : "") < 0)
		util_die(EXIT_OPFAIL, "out of memory");
	set("LD_PRELOAD", val);
	free(val);
}

int cmd_run(int argc, char **argv)
{
	char shim[PATH_MAX], err[CONFIG_ERR_MAX];
	struct config cfg;
	const char *v;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (util_is_help(argv[i])) {
			run_usage(stdout);
			return 0;
		}
		if ((v = util_opt_value(argc, argv, &i, "--stack")))
			set("SOCKSHIFT_STACK", v);
		else if ((v = util_opt_value(argc, argv, &i, "--conf")))
			set_path("SOCKSHIFT_CONF", v);
		else if ((v = util_opt_value(argc, argv, &i, "--log-file")))
			set_path("SOCKSHIFT_LOG_FILE", v);
		else if ((v = util_opt_value(argc, argv, &i, "--log")))
			set("SOCKSHIFT_LOG", v);
		else if (argv[i][0] == '-') {
			util_warn("run: unknown option '%s'", argv[i]);
			run_usage(stderr);
			return EXIT_USAGE;
		} else
			break;
	}
	if (i >= argc) {
		util_warn("run: no command given");
		run_usage(stderr);
		return EXIT_USAGE;
	}
	if (config_load(&cfg, environ, err, sizeof(err)) < 0)
		util_die(EXIT_USAGE, "%s", err);
	if (util_find_shim(shim, sizeof(shim)) < 0)
		util_die(EXIT_OPFAIL, "cannot find libsockshift.so next to this program or in %s",
			 SOCKSHIFT_LIBDIR);
	add_preload(shim);
#ifdef SOCKSHIFT_PRELOAD_FIRST
	add_preload(SOCKSHIFT_PRELOAD_FIRST);
#endif
	execvp(argv[i], argv + i);
	int e = errno;
	util_warn("cannot run '%s': %s", argv[i], strerror(e));
	return e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}
