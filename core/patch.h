/*
 * patch — reroute the `syscall` instructions inside libc (and named libraries) so that the
 * socket calls glibc makes internally (resolver, getaddrinfo sorting, nscd client,
 * if_nametoindex, getifaddrs, syslog, ...) and raw syscall sites reach core/sysdispatch.c,
 * the same logic as the shim's symbol hooks. Every other system call still goes straight
 * to the kernel from a stub next to the library. See docs/patching.md for the layout.
 *
 * Call sequence (the shim does this once at start, before main):
 *     struct patch_stats st;
 *     sysdispatch_guard_real();            // core's own libc calls bypass the stubs
 *     patch_set_cache("");                 // the default plan cache directory
 *     if (patch_objects("libfoo.so:libbar", &st) < 0) -> fail closed
 * patch_objects() is idempotent per object (an object is patched at most once) and
 * serialised by one lock, so it may be called again later (after dlopen) from any thread.
 *
 * How a site is patched, in order of preference:
 *   pad:    the 2-byte `syscall` becomes a 2-byte `jmp rel8` into alignment padding
 *           between two functions (never executed, found from the unwind tables), where
 *           a 5-byte `jmp rel32` leads to the site's stub. Nothing else moves.
 *   window: the syscall and up to 3 neighbours on each side become a `jmp rel32` to the
 *           stub, which runs the displaced instructions (RIP-relative operands re-based).
 *           Refused when a displaced instruction (other than the first) is a jump target,
 *           is itself a branch, call, ret or endbr64, when the function has exception
 *           landing pads or an indirect jump (jump table), or when the process already
 *           has more than one thread (a 5-byte write is not atomic for other CPUs).
 * A site that fits neither is left alone with a log line (its calls bypass sockshift).
 * A site whose number is a constant loaded right before it (mov $110,%eax; syscall) and
 * is not a socket call is not patched at all, unless a jump in its function lands on the
 * syscall (or the function has a jump table): most of libc's sites, and all of its hot
 * non-socket wrappers, keep their plain syscall and cost nothing.
 * Sites of rt_sigreturn, clone, clone3, fork and vfork (a constant number loaded right
 * before the syscall) are never touched.
 *
 * Returns 0 or -errno: -ENOENT when libc cannot be found, -ENOTSUP on a CPU or kernel
 * where the stubs cannot work, -ENOMEM when no memory within +-2 GiB of a library is free.
 */
#ifndef SOCKSHIFT_PATCH_H
#define SOCKSHIFT_PATCH_H

#include <stddef.h>
#include <stdint.h>

struct patch_stats {
	unsigned objects;   /* objects patched by this call */
	unsigned sites;     /* syscall instructions found */
	unsigned pad;       /* patched through padding */
	unsigned window;    /* patched by displacing neighbours */
	unsigned skipped;   /* deliberately left alone (sigreturn, clone, ...) */
	unsigned constant;  /* a constant number that is never routed: left as is, costs nothing */
	unsigned refused;   /* could not be patched safely (logged) */
};

/* One function of a code region: [start, end) and whether it has exception landing pads. */
struct patch_func {
	uint64_t start, end;
	unsigned has_lsda;
};

/* extra: NULL or a ':'-separated list of substrings of library paths to patch besides libc. */
int patch_objects(const char *extra, struct patch_stats *st);

/* The plan cache (SOCKSHIFT_PATCH_CACHE): "" for the default directory
 * ($XDG_CACHE_HOME/sockshift or ~/.cache/sockshift, only if that home belongs to the
 * user), "off", or a directory; it must be (or is created as) a 0700 directory owned by
 * the user, else no cache is used. Keyed by each
 * library's build-id, device, inode, size and mtime and by sockshift's own build; a plan
 * read back is checked against the bytes in memory before anything is written. Call
 * before patch_objects(); the string must stay valid. Without a call: no cache. */
void patch_set_cache(const char *setting);

/* Patches one region of code whose functions are given (sorted by start; padding between
 * them is usable). The region must be mapped and executable; used by patch_objects() and
 * by the unit tests on crafted code. */
int patch_region(uint8_t *code, size_t len, const struct patch_func *funcs, size_t nfuncs,
		 const char *name, struct patch_stats *st);

/* Works out whether patching can work here (CPU state saving, memory near libc); 0 or
 * -errno with a reason. Used by `sockshift check`. */
int patch_probe(char *detail, size_t len);

#endif
