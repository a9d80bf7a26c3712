/*
 * util — what every subcommand shares: error exits, option matching, the shim's path.
 *
 * Exit codes of the sockshift command (documented in sockshift(1)):
 *   0  success          1  the operation failed        2  usage or configuration error
 *   125 the shim stopped the program (bad configuration seen at start)
 *   126 the command cannot be executed   127 the command was not found
 */
#ifndef SOCKSHIFT_TOOLS_UTIL_H
#define SOCKSHIFT_TOOLS_UTIL_H

#include <stddef.h>

#define EXIT_OPFAIL 1
#define EXIT_USAGE  2
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

struct cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* The subcommands, one file each. */
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_swrk(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_unlock(int argc, char **argv);

extern const char *util_prog;

__attribute__((noreturn, format(printf, 2, 3))) void util_die(int code, const char *fmt, ...);
void util_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "--name=value" or "--name value": returns the value (advancing *i) or NULL. */
const char *util_opt_value(int argc, char **argv, int *i, const char *name);
int util_is_help(const char *arg);
/* Prints s as a JSON string literal (quotes, escapes) on stdout. */
void util_json_str(const char *s);
/* Full path of libsockshift.so next to this binary or installed; 0 or -ENOENT. */
int util_find_shim(char *out, size_t size);

#endif
