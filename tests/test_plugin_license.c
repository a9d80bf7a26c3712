/*
 * test_plugin_license — libioth's license rule for plug-ins: untagged and LGPL plug-ins
 * always load; a copyleft tag needs a compatible program license; unknown tags and tags
 * without a program license are refused; and the message names plug-in, tag and program.
 */
#include <errno.h>

#include "plugin_license.h"
#include "test_util.h"

TestSuite(plugin_license);

static const struct {
	const char *prg, *tag;
	int ok;
} cases[] = {
	{ NULL, NULL, 1 },
	{ "", NULL, 1 },
	{ NULL, "SPDX-License-Identifier: LGPL-2.1-or-later", 1 },
	{ NULL, "LGPL-3.0-only", 1 },
	{ NULL, "SPDX-License-Identifier: GPL-2.0-or-later", 0 },
	{ "", "GPL-2.0-or-later", 0 },
	{ "GPL-2.0-only", "SPDX-License-Identifier: GPL-2.0-or-later", 1 },
	{ "SPDX-License-Identifier: GPL-3.0-or-later", "GPL-2.0-or-later", 1 },
	{ "gpl-2.0-or-later", "GPL-2.0-OR-LATER", 1 },
	{ "MIT", "GPL-2.0-or-later", 0 },
	{ "GPL-2.0-only", "GPL-3.0-or-later", 0 },
	{ "GPL-3.0-only", "GPL-3.0-or-later", 1 },
	{ "GPL-2.0-only", "GPL-2.0-only OR GPL-3.0-only", 1 },
	{ "Apache-2.0", "Apache-2.0", 1 },              /* the very same license */
	{ "GPL-3.0-or-later", "LicenseRef-Proprietary", 0 },   /* unknown: refused */
	{ "GPL-2.0-or-later", "GPL-2.0-only", 0 },
};

ParameterizedTestParameters(plugin_license, rule)
{
	return test_index_params(sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(int *i, plugin_license, rule)
{
	cr_assert(eq(int, plugin_license_ok(cases[*i].prg, cases[*i].tag), cases[*i].ok),
		  "program '%s', plug-in '%s'", cases[*i].prg ? cases[*i].prg : "(none)",
		  cases[*i].tag ? cases[*i].tag : "(none)");
}

Test(plugin_license, message_names_everything)
{
	char why[400] = "";

	plugin_license_set("");
	cr_assert(eq(int, plugin_license_check("lwipv6", "SPDX-License-Identifier: GPL-2.0-or-later", why,
						 sizeof(why)), -EPERM));
	cr_assert(strstr(why, "plug-in lwipv6 is licensed GPL-2.0-or-later (ioth_lwipv6_license), "
			      "which a program that declares no license may not load") != NULL, "%s", why);
	cr_assert(strstr(why, "SOCKSHIFT_LICENSE") != NULL, "%s", why);
	plugin_license_set("MIT");
	cr_assert(eq(int, plugin_license_check("x", "GPL-3.0-or-later", why, sizeof(why)), -EPERM));
	cr_assert(strstr(why, "a program licensed MIT may not load") != NULL, "%s", why);
	plugin_license_set("GPL-3.0-only");
	cr_assert(eq(int, plugin_license_check("x", "GPL-3.0-or-later", why, sizeof(why)), 0));
	cr_assert(eq(int, plugin_license_check("x", NULL, why, sizeof(why)), 0));
}
