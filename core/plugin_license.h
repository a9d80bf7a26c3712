/*
 * plugin_license — whether a libioth plug-in's license tag lets this program load it, by
 * libioth's rule (its ioth_set_license() and the optional ioth_NAME_license string):
 *
 *     plug-in tag ("SPDX-License-Identifier: X", the prefix optional)   loads when
 *     none                                                               always
 *     LGPL-*                                                             always
 *     the program's own license (case-insensitive)                       always
 *     GPL-2.0-or-later, or "GPL-2.0-only OR GPL-3.0-only"                the program is
 *                                                    GPL-2.0-only/-or-later or GPL-3.0-only/-or-later
 *     GPL-3.0-or-later                                                   GPL-3.0-only/-or-later
 *     anything else, or any tag while the program declares no license    never
 *
 * The program's license is the `license` setting (SOCKSHIFT_LICENSE), an SPDX identifier
 * the user states for the program run under sockshift, as a libioth program states its own
 * with ioth_set_license(); unset, only untagged and LGPL plug-ins load. A refused plug-in
 * stops the program at start (stack_plugin.c).
 */
#ifndef SOCKSHIFT_PLUGIN_LICENSE_H
#define SOCKSHIFT_PLUGIN_LICENSE_H

#include <stddef.h>

#define PLUGIN_LICENSE_MAX 64

/* 1 if a plug-in tagged tag (NULL: none) may be loaded by a program licensed prg (NULL or
 * "": none declared), else 0. */
int plugin_license_ok(const char *prg, const char *tag);

/* The program's license for plugin_license_check ("" = none); set once at start. */
void plugin_license_set(const char *prg);

/* 0, or -EPERM with why naming the plug-in, its tag and the program's license. */
int plugin_license_check(const char *name, const char *tag, char *why, size_t whylen);

#endif
