/*
 * hook_signal — sigaction()/signal() for the checkpoint signal only: the program's handler is
 * recorded and chained from ours (core/ctlthread.c) instead of replacing it. Every other
 * signal goes straight to libc.
 */
#include "ctlthread.h"
#include "shim.h"

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

SHIM_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int e = errno, handled;

	if (unlikely(!real.sigaction))
		shim_init();
	ctl_sigaction(sig, act, old, &handled);
	if (handled)
		return (int)shim_ret(0, e);
	return real.sigaction(sig, act, old);
}
SHIM_API int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
	__attribute__((alias("sigaction")));

SHIM_API sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;
	int e = errno, handled;

	if (unlikely(!real.signal))
		shim_init();
	ctl_sigaction(sig, &act, &old, &handled);
	if (handled) {
		errno = e;
		return old.sa_handler;
	}
	return real.signal(sig, handler);
}
