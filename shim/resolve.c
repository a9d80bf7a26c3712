/*
 * resolve — fills core's real table with the functions the shim interposes on.
 *
 * dlsym(RTLD_NEXT) finds the next definition after this library, normally libc's. If it
 * ever returned our own hook (a broken link order, or a second copy of the shim), every
 * call would recurse forever, so that is checked and fatal. Optional functions (newer
 * glibc additions) may be missing; their hooks then answer ENOSYS.
 */
#include <dlfcn.h>

#include "shim.h"

void closefrom(int lowfd);
pid_t _Fork(void);

void shim_resolve(void)
{
	void *p;

#define RESOLVE(name, mandatory)                                                          \
	p = dlsym(RTLD_NEXT, #name);                                                      \
	if (p == (void *)&name)                                                            \
		shim_fatal(SHIM_EXIT_CONFIG, "dlsym(RTLD_NEXT, %s) returned the shim's own " \
			   "hook; is libsockshift.so loaded twice?", #name);              \
	if (!p && mandatory)                                                              \
		shim_fatal(SHIM_EXIT_CONFIG, "cannot find the C library's %s", #name);    \
	real.name = (typeof(real.name))p;
	REAL_FUNCS(RESOLVE)
#undef RESOLVE
}
