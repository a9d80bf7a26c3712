/*
 * plugin_license — libioth's license rule for plug-ins (see plugin_license.h). The table
 * lists, for each copyleft tag it knows, the program licenses that may load it; anything
 * it does not know is refused, as libioth does when in doubt.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "plugin_license.h"

#define SPDX_PREFIX "SPDX-License-Identifier:"

static char program_license[PLUGIN_LICENSE_MAX];

static const struct {
	const char *tag;
	const char *programs[5];
} compatible[] = {
	{ "GPL-2.0-or-later", { "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later" } },
	{ "GPL-2.0-only OR GPL-3.0-only",
	  { "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later" } },
	{ "GPL-3.0-or-later", { "GPL-3.0-only", "GPL-3.0-or-later" } },
};

/* The identifier without the optional "SPDX-License-Identifier:" and spaces around it. */
static const char *bare(const char *s, char *buf, size_t size)
{
	size_t n;

	if (strncasecmp(s, SPDX_PREFIX, sizeof(SPDX_PREFIX) - 1) == 0)
		s += sizeof(SPDX_PREFIX) - 1;
	s += strspn(s, " \t");
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

int plugin_license_ok(const char *prg, const char *tag)
{
	char t[128], p[128];

	if (!tag)
		return 1;
	bare(tag, t, sizeof(t));
	if (strncasecmp(t, "LGPL-", 5) == 0)
		return 1;
	if (!prg || !*bare(prg, p, sizeof(p)))
		return 0;
	if (strcasecmp(p, t) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(compatible) / sizeof(compatible[0]); i++) {
		if (strcasecmp(compatible[i].tag, t) != 0)
			continue;
		for (int j = 0; compatible[i].programs[j]; j++)
			if (strcasecmp(compatible[i].programs[j], p) == 0)
				return 1;
		return 0;
	}
	return 0;
}

void plugin_license_set(const char *prg)
{
	log_fmt(program_license, sizeof(program_license), "%s", prg ? prg : "");
}

int plugin_license_check(const char *name, const char *tag, char *why, size_t whylen)
{
	char t[128];

	if (plugin_license_ok(program_license, tag))
		return 0;
	log_fmt(why, whylen, "plug-in %s is licensed %s (ioth_%s_license), which a program %s%s may "
		"not load; if the program's license allows it, state that license with license = "
		"(SOCKSHIFT_LICENSE)", name, bare(tag, t, sizeof(t)), name,
		program_license[0] ? "licensed " : "that declares no license",
		program_license);
	return -EPERM;
}
