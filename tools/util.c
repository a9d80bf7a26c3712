/*
 * util — shared helpers of the sockshift command (see util.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *util_prog = "sockshift";

void util_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", util_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void util_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", util_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *util_opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		util_die(EXIT_USAGE, "%s needs a value (see --help)", name);
	return argv[++*i];
}

int util_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int util_find_shim(char *out, size_t size)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	static const char *const rel[] = { "/../lib/libsockshift.so", "/../lib/sockshift/libsockshift.so" };

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				char cand[PATH_MAX + 64], real_path[PATH_MAX];
				snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
				if (access(cand, R_OK) == 0 && realpath(cand, real_path)) {
					snprintf(out, size, "%s", real_path);
					return 0;
				}
			}
		}
	}
	snprintf(out, size, "%s/libsockshift.so", SOCKSHIFT_LIBDIR);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

void util_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}
