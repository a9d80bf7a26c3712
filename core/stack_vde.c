/*
 * stack_vde — vdestack:VNL, a stack on a VDE network (vde:///tmp/sw, ...): a private
 * network namespace with a tap interface "vde0" plugged into that network, made by
 * Debian's libvdestack. It is the libioth plug-in "vdestack" (core/plugins/ioth_vdestack.c,
 * installed as LIBDIR/ioth/ioth_vdestack-r.so) opened through the plug-in loader, so the
 * same code serves vdestack:VNL and plugin:vdestack VNL.
 */
#include <string.h>

#include "stack.h"

int stack_vde_open(struct stack *st, const char *arg, char *why, size_t whylen)
{
	const char *vnlv[2] = { arg, NULL };

	return stack_plugin_load(st, "vdestack", "", vnlv, why, whylen);
}
