/*
 * config — parsing and validation (see config.h for the contract).
 *
 * File format: UTF-8 text, one "key = value" per line; blank lines and lines starting
 * with '#' or ';' are ignored; a value may be wrapped in double quotes to keep leading or
 * trailing spaces. Keys may appear once. Lines may not be longer than CONFIG_LINE_MAX.
 * After the plain keys, [stack NAME] sections describe named stacks:
 *     [stack lab]
 *     spec = vdestack:vde:///tmp/sw        once: the stack (as in stacks = NAME=SPEC)
 *     net  = vde0 up; vde0 addr 10.0.0.2/24    any number: netconf commands without the
 *     net  = route default via 10.0.0.254      leading STACK, which is the section's name
 * A section adds "NAME=SPEC" to `stacks` and "NAME CMD" to `net`: stack_setup.c sees one
 * configuration whichever way it was written (SOCKSHIFT_STACKS/SOCKSHIFT_NET replace
 * both, as the environment replaces any file key).
 * Parsing works on a private copy of the configuration, committed only on success.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_cfg.h"
#include "config.h"
#include "log.h"
#include "rawsys.h"
#include "netconf.h"
#include "route.h"
#include "stack.h"
#include "stack_setup.h"
#include "vsock.h"

#define CONFIG_KEYS_MAX 32

static int copy_value(char *dst, size_t size, const char *value, char *why, size_t whylen)
{
	size_t n = strlen(value);

	if (n >= size) {
		log_fmt(why, whylen, "value is %zu bytes, at most %zu allowed", n, size - 1);
		return -ENAMETOOLONG;
	}
	memcpy(dst, value, n + 1);
	return 0;
}

/* A spec, or the name of a named stack (checked once all sources are read: check_stack). */
static int apply_stack(struct config *cfg, const char *value, char *why, size_t whylen)
{
	struct stack_spec spec;
	int r = stack_spec_parse(value, &spec, why, whylen);

	if (r < 0 && !stack_setup_name_ok(value))
		return r;
	return copy_value(cfg->stack, sizeof(cfg->stack), value, why, whylen);
}

/* stack = NAME must name a stack of `stacks` (or of a [stack NAME] section); the message
 * is the setting's usual one. */
static int check_stack(const struct config *cfg, char *why, size_t whylen)
{
	static struct stack_setup_entry list[STACK_MAX];
	struct stack_spec spec;
	char inner[256], ignored[64];
	int n;

	if (stack_spec_parse(cfg->stack, &spec, inner, sizeof(inner)) == 0)
		return 0;
	if (stack_setup_parse_list(cfg->stacks, list, STACK_MAX - 1, &n, ignored, sizeof(ignored)) == 0)
		for (int i = 0; i < n; i++)
			if (strcmp(list[i].name, cfg->stack) == 0)
				return 0;
	log_fmt(why, whylen, "expected %s, or a stack name; %s, and no stack in stacks = or a "
		"[stack NAME] section is named so", config_keys[0].expected, inner);
	return -EINVAL;
}

static int apply_log(struct config *cfg, const char *value, char *why, size_t whylen)
{
	int level = log_level_parse(value);

	if (level < 0) {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	cfg->log_level = level;
	return 0;
}

static int apply_log_file(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (!value[0]) {
		log_fmt(why, whylen, "the path is empty");
		return -EINVAL;
	}
	return copy_value(cfg->log_file, sizeof(cfg->log_file), value, why, whylen);
}

static int apply_conf(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (!value[0]) {
		log_fmt(why, whylen, "the path is empty");
		return -EINVAL;
	}
	return copy_value(cfg->conf_path, sizeof(cfg->conf_path), value, why, whylen);
}

static int apply_stacks(struct config *cfg, const char *value, char *why, size_t whylen)
{
	struct stack_setup_entry list[STACK_MAX];
	int n, r = stack_setup_parse_list(value, list, STACK_MAX - 1, &n, why, whylen);

	return r < 0 ? r : copy_value(cfg->stacks, sizeof(cfg->stacks), value, why, whylen);
}

static int apply_net(struct config *cfg, const char *value, char *why, size_t whylen)
{
	static struct netconf_cmd cmds[NETCONF_CMDS_MAX];
	int n, r = netconf_parse(value, cmds, NETCONF_CMDS_MAX, &n, why, whylen);

	return r < 0 ? r : copy_value(cfg->net, sizeof(cfg->net), value, why, whylen);
}

static int apply_routes(struct config *cfg, const char *value, char *why, size_t whylen)
{
	static struct route_table t;
	int r = route_parse(value, &t, why, whylen);

	return r < 0 ? r : copy_value(cfg->routes, sizeof(cfg->routes), value, why, whylen);
}

/* vsock stack mapping rules (vsock.h), checked here so a bad rule is a config error. */
static int apply_vsock_rules(char *dst, size_t size, const char *value, enum vsock_rule_kind kind,
			     char *why, size_t whylen)
{
	static struct vsock_rules rules;
	int r = vsock_rules_parse(value, kind, &rules, why, whylen);

	return r < 0 ? r : copy_value(dst, size, value, why, whylen);
}

static int apply_vsock_connect(struct config *cfg, const char *value, char *why, size_t whylen)
{
	return apply_vsock_rules(cfg->vsock_connect, sizeof(cfg->vsock_connect), value,
				 VSOCK_RULE_CONNECT, why, whylen);
}

static int apply_vsock_listen(struct config *cfg, const char *value, char *why, size_t whylen)
{
	return apply_vsock_rules(cfg->vsock_listen, sizeof(cfg->vsock_listen), value,
				 VSOCK_RULE_LISTEN, why, whylen);
}

/* The control socket (control.h): a path, or "off". */
static int apply_control(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (!value[0]) {
		log_fmt(why, whylen, "the value is empty");
		return -EINVAL;
	}
	if (strcmp(value, "off") && value[0] != '/') {
		log_fmt(why, whylen, "'%s' is not an absolute path", value);
		return -EINVAL;
	}
	if (strlen(value) >= 108) {
		log_fmt(why, whylen, "a socket path has at most 107 bytes");
		return -ENAMETOOLONG;
	}
	return copy_value(cfg->control, sizeof(cfg->control), value, why, whylen);
}

/* syscall-site patching (core/patch.h) */
static int apply_patch(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (!strcmp(value, "on") || !strcmp(value, "1"))
		cfg->patch = 1;
	else if (!strcmp(value, "off") || !strcmp(value, "0"))
		cfg->patch = 0;
	else {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	return 0;
}

static int apply_patch_libs(struct config *cfg, const char *value, char *why, size_t whylen)
{
	return copy_value(cfg->patch_libs, sizeof(cfg->patch_libs), value, why, whylen);
}

static int apply_patch_cache(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (strcmp(value, "off") && value[0] != '/') {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	return copy_value(cfg->patch_cache, sizeof(cfg->patch_cache), value, why, whylen);
}

/* The program's license for libioth plug-ins' tags (plugin_license.h): an SPDX id. */
static int apply_license(struct config *cfg, const char *value, char *why, size_t whylen)
{
	for (const char *c = value; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      strchr(".-+ ():", *c))) {
			log_fmt(why, whylen, "'%.60s' is not an SPDX license expression", value);
			return -EINVAL;
		}
	return copy_value(cfg->license, sizeof(cfg->license), value, why, whylen);
}

const struct config_key config_keys[] = {
	{ "stack",    "SOCKSHIFT_STACK",    "a stack: kernel, netns:NAME|/PATH|new, vdestack:VNL or "
					    "plugin:NAME[,OPTIONS] [VNL...]", apply_stack },
	{ "log",      "SOCKSHIFT_LOG",      "one of error|warn|info|debug", apply_log },
	{ "log_file", "SOCKSHIFT_LOG_FILE", "a file path to append the log to", apply_log_file },
	{ "stacks",   "SOCKSHIFT_STACKS",   "named stacks: NAME=SPEC; NAME=SPEC ...", apply_stacks },
	{ "net",      "SOCKSHIFT_NET",      "netlink commands: STACK IFACE up|down|addr A/P; "
					    "STACK route DEST/P|default [via GW] [dev IFACE]", apply_net },
	{ "routes",   "SOCKSHIFT_ROUTES",   "routing rules: to|from PREFIX STACK; default STACK",
	  apply_routes },
	{ "vsock_connect", "SOCKSHIFT_VSOCK_CONNECT", "vsock connect rules: PREFIX[:PORT]=CID[:VPORT], ...",
	  apply_vsock_connect },
	{ "vsock_listen", "SOCKSHIFT_VSOCK_LISTEN", "vsock listen rules: ADDR:PORT[=VPORT], ...",
	  apply_vsock_listen },
	{ "control",  "SOCKSHIFT_CONTROL",  "an absolute path for the control socket, or off",
	  apply_control },
	{ "signal",   "SOCKSHIFT_SIGNAL",   "a signal name or number (SIGPWR, RTMIN+3, 30)",
	  checkpoint_cfg_signal },
	{ "images",   "SOCKSHIFT_IMAGES",   "a directory for checkpoint images", checkpoint_cfg_images },
	{ "on_dump",  "SOCKSHIFT_ON_DUMP",  "resume or exit", checkpoint_cfg_on_dump },
	{ "restore",  "SOCKSHIFT_RESTORE",  "a checkpoint directory to restore at start",
	  checkpoint_cfg_restore },
	{ "restore_grace", "SOCKSHIFT_RESTORE_GRACE", "a duration: 10s, 500ms", checkpoint_cfg_grace },
	{ "strict",   "SOCKSHIFT_STRICT",   "0 or 1", checkpoint_cfg_strict },
	{ "patch",    "SOCKSHIFT_PATCH",    "on or off", apply_patch },
	{ "patch_libs", "SOCKSHIFT_PATCH_LIBS", "library names to patch besides libc: NAME[:NAME...]",
	  apply_patch_libs },
	{ "patch_cache", "SOCKSHIFT_PATCH_CACHE", "an absolute directory for the patch plan cache, or off",
	  apply_patch_cache },
	{ "license",  "SOCKSHIFT_LICENSE",  "the program's SPDX license, e.g. GPL-2.0-or-later (for "
					    "plug-ins' license tags)", apply_license },
	{ NULL,       "SOCKSHIFT_CONF",     "a config file path", apply_conf },
	{ 0 }
};

/* Passed by the shim to exec'd children (see fdenv.h); not user configuration. */
static const char *const internal_env[] = { "SOCKSHIFT_FDS", "SOCKSHIFT_PLUGIN_NS", NULL };

int config_env_is_internal(const char *name)
{
	for (int i = 0; internal_env[i]; i++)
		if (strcmp(name, internal_env[i]) == 0)
			return 1;
	return 0;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->stack, "kernel", sizeof("kernel"));
	cfg->log_level = LOGL_WARN;
	cfg->ckpt_signal = SIGPWR;
	memcpy(cfg->images, CONFIG_IMAGES_DEFAULT, sizeof(CONFIG_IMAGES_DEFAULT));
	cfg->restore_grace_ms = CONFIG_RESTORE_GRACE_DEFAULT_MS;
	cfg->patch = 1;
}

static const struct config_key *key_by_name(const char *key)
{
	for (const struct config_key *k = config_keys; k->env; k++)
		if (k->key && strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static void known_keys(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const struct config_key *k = config_keys; k->env; k++)
		if (k->key)
			n += log_fmt(buf + n, size - n, "%s%s", n ? ", " : "", k->key);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* ---- [stack NAME] sections ---- */

struct section {
	char name[STACK_NAME_MAX];   /* "" before the first section */
	unsigned line;               /* of its header */
	int has_spec;
};

/* Appends text to dst ("; "-separated), then re-parses the whole with check. */
static int append_item(char *dst, size_t size, const char *text,
		       int (*check)(const char *all, char *why, size_t whylen), char *why, size_t whylen)
{
	static char all[CONFIG_LINE_MAX];
	int r;

	if ((size_t)log_fmt(all, sizeof(all), "%s%s%s", dst, dst[0] ? "; " : "", text) >= size) {
		log_fmt(why, whylen, "the stacks and their net commands add up to more than %zu bytes",
			size - 1);
		return -E2BIG;
	}
	r = check(all, why, whylen);
	if (r == 0)
		memcpy(dst, all, strlen(all) + 1);
	return r;
}

static int check_stacks(const char *all, char *why, size_t whylen)
{
	static struct stack_setup_entry list[STACK_MAX];
	int n;

	return stack_setup_parse_list(all, list, STACK_MAX - 1, &n, why, whylen);
}

static int check_net(const char *all, char *why, size_t whylen)
{
	static struct netconf_cmd cmds[NETCONF_CMDS_MAX];
	int n;

	return netconf_parse(all, cmds, NETCONF_CMDS_MAX, &n, why, whylen);
}

static int section_end(const struct section *sec, char *why, size_t whylen)
{
	if (sec->name[0] && !sec->has_spec) {
		log_fmt(why, whylen, "[stack %s] (line %u) has no 'spec = SPEC' line", sec->name,
			sec->line);
		return -EINVAL;
	}
	return 0;
}

/* "[stack NAME]": ends the previous section, starts one. */
static int section_start(struct section *sec, char *s, unsigned lineno, char *why, size_t whylen)
{
	size_t n = strlen(s);
	char *name;
	int r = section_end(sec, why, whylen);

	if (r < 0)
		return r;
	if (s[n - 1] != ']' || strncmp(s, "[stack", 6) != 0 || (s[6] != ' ' && s[6] != '\t')) {
		log_fmt(why, whylen, "unknown section %.80s (sections are [stack NAME])", s);
		return -EINVAL;
	}
	s[n - 1] = '\0';
	name = trim(s + 7);
	if (!stack_setup_name_ok(name) || strlen(name) >= sizeof(sec->name)) {
		log_fmt(why, whylen, "[stack %.60s]: not a stack name (letters, digits, '_', '-'; not "
			"kernel, none or default)", name);
		return -EINVAL;
	}
	memcpy(sec->name, name, strlen(name) + 1);
	sec->line = lineno;
	sec->has_spec = 0;
	return 0;
}

/* "spec = SPEC" or "net = CMD; CMD" inside [stack NAME]. */
static int section_key(struct config *cfg, struct section *sec, const char *key, const char *value,
		       char *why, size_t whylen)
{
	char item[CONFIG_LINE_MAX], inner[CONFIG_ERR_MAX / 2], *save = NULL, *cmd;
	size_t len = 0;
	int r;

	if (strcmp(key, "spec") == 0) {
		if (sec->has_spec) {
			log_fmt(why, whylen, "[stack %s]: spec given twice", sec->name);
			return -EINVAL;
		}
		log_fmt(item, sizeof(item), "%s=%s", sec->name, value);
		r = append_item(cfg->stacks, sizeof(cfg->stacks), item, check_stacks, inner, sizeof(inner));
		if (r < 0)
			log_fmt(why, whylen, "[stack %s]: spec: %s", sec->name, inner);
		sec->has_spec = r == 0;
		return r;
	}
	if (strcmp(key, "net") != 0) {
		log_fmt(why, whylen, "[stack %s]: unknown key '%.80s' (a section has spec and net)",
			sec->name, key);
		return -EINVAL;
	}
	char copy[CONFIG_LINE_MAX];
	log_fmt(copy, sizeof(copy), "%s", value);
	item[0] = '\0';
	for (cmd = strtok_r(copy, ";", &save); cmd; cmd = strtok_r(NULL, ";", &save)) {
		cmd = trim(cmd);
		if (*cmd)
			len += (size_t)log_fmt(item + len, sizeof(item) - len, "%s%s %s", len ? "; " : "",
					       sec->name, cmd);
	}
	if (!item[0]) {
		log_fmt(why, whylen, "[stack %s]: net: the value is empty", sec->name);
		return -EINVAL;
	}
	r = append_item(cfg->net, sizeof(cfg->net), item, check_net, inner, sizeof(inner));
	if (r < 0)
		log_fmt(why, whylen, "[stack %s]: net: %s", sec->name, inner);
	return r;
}

/* Parses one logical line; returns 0 or -errno with the reason in why. */
static int parse_line(struct config *cfg, struct section *sec, char *line, unsigned seen[], char *why,
		      size_t whylen, unsigned lineno)
{
	char *s = trim(line), *eq, *key, *value;
	const struct config_key *k;
	char expected[256];

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return section_start(sec, s, lineno, why, whylen);
	eq = strchr(s, '=');
	if (!eq) {
		log_fmt(why, whylen, "expected 'key = value', got '%.80s'", s);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!*key) {
		log_fmt(why, whylen, "missing key before '='");
		return -EINVAL;
	}
	if (sec->name[0]) {
		size_t n = strlen(value);
		if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
			value[n - 1] = '\0';
			value++;
		}
		return section_key(cfg, sec, key, value, why, whylen);
	}
	k = key_by_name(key);
	if (!k) {
		known_keys(expected, sizeof(expected));
		log_fmt(why, whylen, "unknown key '%.80s' (known keys: %s)", key, expected);
		return -EINVAL;
	}
	unsigned idx = (unsigned)(k - config_keys);
	if (seen[idx]) {
		log_fmt(why, whylen, "key '%s' given twice (first at line %u)", key, seen[idx]);
		return -EINVAL;
	}
	seen[idx] = lineno;
	size_t vlen = strlen(value);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value[vlen - 1] = '\0';
		value++;
	} else if (value[0] == '"') {
		log_fmt(why, whylen, "%s: unterminated quoted value", key);
		return -EINVAL;
	}
	char inner[CONFIG_ERR_MAX / 2];
	int r = k->apply(cfg, value, inner, sizeof(inner));
	if (r < 0)
		log_fmt(why, whylen, "%s: expected %s; %s", key, k->expected, inner);
	return r;
}

static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		log_fmt(err, errlen, "SOCKSHIFT_CONF: cannot open '%s': %s (%s)", path,
			strerror(-r), log_errname(r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		log_fmt(err, errlen, "SOCKSHIFT_CONF: '%s' is not a regular file", path);
		goto err_close;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		r = -EFBIG;
		log_fmt(err, errlen, "SOCKSHIFT_CONF: '%s' is larger than %d bytes", path, CONFIG_FILE_MAX);
		goto err_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		log_fmt(err, errlen, "SOCKSHIFT_CONF: out of memory reading '%s'", path);
		goto err_close;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			log_fmt(err, errlen, "SOCKSHIFT_CONF: cannot read '%s': %s (%s)", path,
				strerror(-r), log_errname(r));
			goto err_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	rawsys1(SYS_close, fd); /* not close(): the shim's hook would re-enter its own init */
	*out = buf;
	*outlen = len;
	return 0;

err_free:
	free(buf);
err_close:
	rawsys1(SYS_close, fd); /* not close(): the shim's hook would re-enter its own init */
	return r;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	unsigned seen[CONFIG_KEYS_MAX] = { 0 }; /* line of each key's first use */
	char *buf = NULL, *line, *next, why[CONFIG_ERR_MAX];
	struct section sec = { "", 0, 0 };
	struct config tmp = *cfg;
	unsigned lineno = 0;
	size_t len = 0;
	int r;

	r = read_file(path, &buf, &len, err, errlen);
	if (r < 0)
		return r;
	if (memchr(buf, '\0', len)) {
		log_fmt(err, errlen, "%s: contains a NUL byte; not a text config file", path);
		r = -EINVAL;
		goto out;
	}
	for (line = buf; line && *line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strlen(line) > CONFIG_LINE_MAX) {
			log_fmt(err, errlen, "%s:%u: line longer than %d bytes", path, lineno, CONFIG_LINE_MAX);
			r = -E2BIG;
			goto out;
		}
		r = parse_line(&tmp, &sec, line, seen, why, sizeof(why), lineno);
		if (r < 0) {
			log_fmt(err, errlen, "%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	r = section_end(&sec, why, sizeof(why));
	if (r < 0) {
		log_fmt(err, errlen, "%s:%u: %s", path, lineno, why);
		goto out;
	}
	/* stack = NAME must name a stack of this file (the line of the stack key) */
	if (seen[0] && (r = check_stack(&tmp, why, sizeof(why))) < 0) {
		log_fmt(err, errlen, "%s:%u: stack: %s", path, seen[0], why);
		goto out;
	}
	log_fmt(tmp.conf_path, sizeof(tmp.conf_path), "%s", path);
	*cfg = tmp;
out:
	free(buf);
	return r;
}

static const char *env_find(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static const struct config_key *key_by_env(const char *var, size_t len)
{
	for (const struct config_key *k = config_keys; k->env; k++)
		if (strlen(k->env) == len && strncmp(k->env, var, len) == 0)
			return k;
	return NULL;
}

/* Rejects SOCKSHIFT_* variables nobody knows: most likely a typo of a real one. */
static int check_unknown_env(char *const *envp, char *err, size_t errlen)
{
	for (; envp && *envp; envp++) {
		const char *e = *envp, *eq = strchr(e, '=');
		char name[128];
		if (strncmp(e, "SOCKSHIFT_", 10) != 0 || !eq)
			continue;
		size_t len = (size_t)(eq - e);
		if (key_by_env(e, len))
			continue;
		log_fmt(name, sizeof(name), "%.*s", (int)len, e);
		if (config_env_is_internal(name))
			continue;
		char known[512];
		size_t n = 0;
		for (const struct config_key *k = config_keys; k->env; k++)
			n += log_fmt(known + n, sizeof(known) - n, "%s%s", n ? ", " : "", k->env);
		log_fmt(err, errlen, "%s: unknown variable (known: %s)", name, known);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, char *const *envp, char *err, size_t errlen)
{
	struct config tmp;
	char why[CONFIG_ERR_MAX];
	const char *path;
	int r;

	config_defaults(&tmp);
	r = check_unknown_env(envp, err, errlen);
	if (r < 0)
		return r;
	path = env_find(envp, "SOCKSHIFT_CONF");
	if (path) {
		if (!path[0]) {
			log_fmt(err, errlen, "SOCKSHIFT_CONF: expected a config file path; the value is empty");
			return -EINVAL;
		}
		r = config_load_file(&tmp, path, err, errlen);
		if (r < 0)
			return r;
	}
	for (const struct config_key *k = config_keys; k->env; k++) {
		const char *v = env_find(envp, k->env);
		if (!v || !k->key)
			continue;
		r = k->apply(&tmp, v, why, sizeof(why));
		if (r < 0) {
			log_fmt(err, errlen, "%s: expected %s; %s", k->env, k->expected, why);
			return r;
		}
	}
	r = check_stack(&tmp, why, sizeof(why));
	if (r < 0) {
		log_fmt(err, errlen, "%s: %s", env_find(envp, "SOCKSHIFT_STACK") ? "SOCKSHIFT_STACK"
			: "stack (of the file, with SOCKSHIFT_STACKS)", why);
		return r;
	}
	*cfg = tmp;
	return 0;
}
