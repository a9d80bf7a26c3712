/*
 * ioth_kernel — the host's kernel stack as a libioth plug-in (see ioth_abi.h): the
 * smallest plug-in there is, which lets the loader's search order, both link-map modes
 * (ioth_kernel-r.so in the program's namespace, a copy named ioth_kernel.so in a new one)
 * and getstackdata be tested without any network set-up. Options and VNLs are ignored.
 */
#include <errno.h>

#include "ioth_abi.h"

#define EXPORT __attribute__((visibility("default")))

static void *(*getstackdata)(void);
static int kernel_stackdata;

EXPORT int ioth_kernel_socket(int domain, int type, int protocol)
{
	if (getstackdata() != &kernel_stackdata)
		return errno = EBADF, -1;
	return socket(domain, type, protocol);
}

EXPORT void *ioth_kernel_newstack(const char *vnlv[], const char *options, struct ioth_functions *f)
{
	(void)vnlv;
	(void)options;
	getstackdata = f->getstackdata;
	return &kernel_stackdata;
}
