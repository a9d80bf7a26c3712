/*
 * patch (shim) — starts syscall-site patching at init when SOCKSHIFT_PATCH is on (the
 * default): core's socket calls are guarded first, then libc and the libraries named in
 * SOCKSHIFT_PATCH_LIBS are patched (core/patch.h), with the plan cache of
 * SOCKSHIFT_PATCH_CACHE. It runs before the control thread
 * starts, while the program normally has one thread. Fails closed: if patching was asked
 * for and cannot work on this machine, the program stops here with exit status 125.
 *
 * dlopen() is hooked so that a library named in SOCKSHIFT_PATCH_LIBS and loaded later is
 * patched as soon as it is loaded (other threads may be running: only the 2-byte pad
 * layout is used then). Libraries not named there are never patched; their own raw
 * syscall instructions bypass sockshift (their calls through libc functions do not).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "config.h"
#include "patch.h"
#include "shim.h"
#include "sysdispatch.h"

static int patch_on;
static char patch_libs[CONFIG_STACK_MAX];
static char patch_cache[PATH_MAX];
static void *(*real_dlopen)(const char *, int);

void shim_patch_start(const struct config *cfg)
{
	struct patch_stats st;
	int r;

	shim_syscall_resolve();
	real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	if (!cfg->patch) {
		logd("patch: off (SOCKSHIFT_PATCH=off): libc-internal socket calls bypass sockshift");
		return;
	}
	memcpy(patch_libs, cfg->patch_libs, sizeof(patch_libs));
	memcpy(patch_cache, cfg->patch_cache, sizeof(patch_cache));
	patch_set_cache(patch_cache);
	sysdispatch_set_owner();
	pthread_atfork(NULL, NULL, sysdispatch_set_owner);
	sysdispatch_guard_real();
	r = patch_objects(cfg->patch_libs, &st);
	if (r < 0)
		shim_fatal(SHIM_EXIT_CONFIG, "SOCKSHIFT_PATCH=on, but libc's syscall sites cannot be patched "
			   "here: %s (see the log; SOCKSHIFT_PATCH=off runs without it)", log_errname(r));
	patch_on = 1;
	logd("patch: on: %u object(s), %u syscall sites: %u patched (%u padding, %u moved), %u with a constant "
	     "non-socket number, %u left alone, %u refused", st.objects, st.sites, st.pad + st.window, st.pad,
	     st.window, st.constant, st.skipped, st.refused);
}

SHIM_API void *dlopen(const char *file, int flags)
{
	struct patch_stats st;
	void *h;

	/* No shim_enter(): dlopen is no socket call, and a library loaded while our own
	 * constructor runs must not wait for it. */
	if (!real_dlopen)
		real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	if (!real_dlopen)
		return NULL;
	h = real_dlopen(file, flags);
	if (h && patch_on && patch_libs[0] && atomic_load_explicit(&shim_ready, memory_order_acquire)) {
		int e = errno;
		if (patch_objects(patch_libs, &st) == 0 && st.objects)
			logd("patch: dlopen %s: %u syscall sites: %u patched, %u with a constant non-socket "
			     "number, %u refused", file ? file : "(main)", st.sites, st.pad + st.window,
			     st.constant, st.refused);
		errno = e;
	}
	return h;
}
