/*
 * ioth_vdestack — a libioth plug-in (see ioth_abi.h) for a stack on a VDE network,
 * through Debian's libvdestack: a private network namespace whose tap interface is
 * plugged into the VDE network given as the first VNL (vde:///tmp/sw, ...).
 *
 * Options (comma-separated, after the plug-in name): iface=NAME (default vde0).
 * Sockets are real kernel sockets made inside that namespace (vde_msocket), so only
 * socket() and close() are provided: every other call works on the fd as it is.
 * Built as ioth_vdestack-r.so: reentrant, many stacks share one copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <vdestack.h>

#include "ioth_abi.h"

#define EXPORT __attribute__((visibility("default")))

static void *(*getstackdata)(void);

EXPORT const char *ioth_vdestack_license = "SPDX-License-Identifier: LGPL-2.1-or-later";

EXPORT int ioth_vdestack_socket(int domain, int type, int protocol)
{
	return vde_msocket(getstackdata(), domain, type, protocol);
}

EXPORT void *ioth_vdestack_newstack(const char *vnlv[], const char *options, struct ioth_functions *f)
{
	char ifname[16] = "vde0";
	const char *o = options ? strstr(options, "iface=") : NULL;

	if (!vnlv || !vnlv[0] || !vnlv[0][0]) {
		errno = EINVAL;
		return NULL;
	}
	if (o) {
		size_t n = strcspn(o + 6, ",");
		if (n == 0 || n >= sizeof(ifname)) {
			errno = EINVAL;
			return NULL;
		}
		memcpy(ifname, o + 6, n);
		ifname[n] = '\0';
	}
	getstackdata = f->getstackdata;
	return vde_addstack((char *)vnlv[0], ifname);
}

EXPORT int ioth_vdestack_delstack(void *stackdata)
{
	vde_delstack(stackdata);
	return 0;
}
