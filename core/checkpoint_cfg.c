/*
 * checkpoint_cfg — the checkpoint and hand-over settings of config_keys[] (config.c):
 * SOCKSHIFT_SIGNAL, SOCKSHIFT_IMAGES, SOCKSHIFT_ON_DUMP, SOCKSHIFT_RESTORE,
 * SOCKSHIFT_RESTORE_GRACE, SOCKSHIFT_STRICT. Each checks its value and stores it in cfg.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_cfg.h"
#include "config.h"
#include "ctlthread.h"
#include "log.h"

static int path_value(char *dst, size_t size, const char *value, char *why, size_t whylen)
{
	size_t n = strlen(value);

	if (!n) {
		log_fmt(why, whylen, "the path is empty");
		return -EINVAL;
	}
	if (n >= size) {
		log_fmt(why, whylen, "the path is too long");
		return -ENAMETOOLONG;
	}
	memcpy(dst, value, n + 1);
	return 0;
}

int checkpoint_cfg_signal(struct config *cfg, const char *value, char *why, size_t whylen)
{
	int sig = ctl_signal_parse(value);

	if (sig < 0) {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	    sig == SIGFPE || sig == SIGCHLD) {
		log_fmt(why, whylen, "%s cannot be the checkpoint signal", value);
		return -EINVAL;
	}
	cfg->ckpt_signal = sig;
	return 0;
}

int checkpoint_cfg_images(struct config *cfg, const char *value, char *why, size_t whylen)
{
	return path_value(cfg->images, sizeof(cfg->images), value, why, whylen);
}

int checkpoint_cfg_restore(struct config *cfg, const char *value, char *why, size_t whylen)
{
	return path_value(cfg->restore, sizeof(cfg->restore), value, why, whylen);
}

int checkpoint_cfg_on_dump(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (!strcmp(value, "resume"))
		cfg->on_dump_exit = 0;
	else if (!strcmp(value, "exit"))
		cfg->on_dump_exit = 1;
	else {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	return 0;
}

/* "10s", "500ms", "2" (seconds); at most one hour. */
int checkpoint_cfg_grace(struct config *cfg, const char *value, char *why, size_t whylen)
{
	char *end;
	unsigned long v = strtoul(value, &end, 10);

	if (end == value || value[0] == '-') {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	if (!strcmp(end, "ms"))
		;
	else if (!*end || !strcmp(end, "s"))
		v *= 1000;
	else {
		log_fmt(why, whylen, "unknown unit in '%s'", value);
		return -EINVAL;
	}
	if (v > 3600000) {
		log_fmt(why, whylen, "'%s' is longer than an hour", value);
		return -ERANGE;
	}
	cfg->restore_grace_ms = (unsigned)v;
	return 0;
}

int checkpoint_cfg_strict(struct config *cfg, const char *value, char *why, size_t whylen)
{
	if (strcmp(value, "0") && strcmp(value, "1")) {
		log_fmt(why, whylen, "got '%s'", value);
		return -EINVAL;
	}
	cfg->strict = value[0] == '1';
	return 0;
}
