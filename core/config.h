/*
 * config — one validated, immutable configuration from the environment and a config file.
 *
 * Sources, later ones winning:
 *   1. built-in defaults (stack kernel, log warn, log to stderr);
 *   2. the file named by SOCKSHIFT_CONF, if set (see conf/sockshift.conf for the format);
 *   3. SOCKSHIFT_* environment variables.
 * Every SOCKSHIFT_* variable must be known: a misspelt one is an error, because silently
 * ignoring it could put a program's traffic on the wrong network.
 *
 * config_load() either fills *cfg completely and returns 0, or returns -errno with a
 * message in err that names the variable or FILE:LINE and what was expected. Nothing is
 * half-applied. It allocates nothing and keeps no pointer into envp.
 */
#ifndef SOCKSHIFT_CONFIG_H
#define SOCKSHIFT_CONFIG_H

#include <limits.h>
#include <stddef.h>

#define CONFIG_LINE_MAX   4096       /* longest accepted config line, without the newline */
#define CONFIG_FILE_MAX   (1 << 20)  /* largest accepted config file */
#define CONFIG_ERR_MAX    512
#define CONFIG_STACK_MAX  256

struct config {
	char stack[CONFIG_STACK_MAX];   /* stack spec, validated by stack_spec_parse() */
	int log_level;                  /* LOGL_* */
	char log_file[PATH_MAX];        /* "" = stderr */
	char conf_path[PATH_MAX];       /* the file that was read, "" if none */
	char control[PATH_MAX];         /* control socket path, "off", "" = default (control.h) */
	char stacks[CONFIG_LINE_MAX];   /* "NAME=SPEC; ..." (stack_setup.h) */
	char net[CONFIG_LINE_MAX];      /* netlink commands (netconf.h) */
	char routes[CONFIG_LINE_MAX];   /* routing rules (route.h) */
	char vsock_connect[CONFIG_LINE_MAX]; /* vsock stack: outgoing rules (vsock.h) */
	char vsock_listen[CONFIG_LINE_MAX];  /* vsock stack: listen rules (vsock.h) */
	/* checkpoint and hand-over (docs/checkpoint.md) */
	int ckpt_signal;                /* SOCKSHIFT_SIGNAL, default SIGPWR */
	char images[PATH_MAX];          /* SOCKSHIFT_IMAGES, default CONFIG_IMAGES_DEFAULT */
	int on_dump_exit;               /* SOCKSHIFT_ON_DUMP: 0 resume, 1 exit */
	char restore[PATH_MAX];         /* SOCKSHIFT_RESTORE: images to restore at start, "" none */
	unsigned restore_grace_ms;      /* SOCKSHIFT_RESTORE_GRACE, default 10 s */
	int strict;                     /* SOCKSHIFT_STRICT: unsaveable sockets fail a checkpoint */
	/* syscall-site patching (docs/patching.md) */
	int patch;                      /* SOCKSHIFT_PATCH: 1 on (default), 0 off */
	char patch_libs[CONFIG_STACK_MAX]; /* SOCKSHIFT_PATCH_LIBS: more libraries, "a:b" */
	char license[64];               /* SOCKSHIFT_LICENSE: the program's SPDX license, checked
					 * against plug-ins' tags (plugin_license.h); "" = none */
	char patch_cache[PATH_MAX];     /* SOCKSHIFT_PATCH_CACHE: plan cache dir, "off", "" default */
};

#define CONFIG_IMAGES_DEFAULT "/var/tmp/sockshift"
#define CONFIG_RESTORE_GRACE_DEFAULT_MS 10000

/* One known setting: its config-file key and environment variable. */
struct config_key {
	const char *key;        /* NULL for environment-only settings */
	const char *env;
	const char *expected;   /* what a valid value looks like, for messages */
	int (*apply)(struct config *cfg, const char *value, char *why, size_t whylen);
};

/* The table of known settings (terminated by a zeroed entry). */
extern const struct config_key config_keys[];

/* Internal variables the shim passes to exec'd children; accepted, not configuration. */
int config_env_is_internal(const char *name);

void config_defaults(struct config *cfg);
/* envp: NULL-terminated "NAME=value" array (environ for the real thing). */
int config_load(struct config *cfg, char *const *envp, char *err, size_t errlen);
/* Parse one file into cfg (used by config_load; exposed for tests and `sockshift check`). */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

#endif
