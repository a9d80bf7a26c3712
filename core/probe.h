/*
 * probe — what this machine's kernel offers sockshift, measured rather than guessed.
 *
 * Each probe runs in a forked child (most also in a fresh network namespace), so it
 * changes nothing in the caller and leaves nothing behind. A probe returns 0 when the
 * feature works, or -errno, and writes one line of detail ("CAP_NET_ADMIN missing", the
 * local vsock CID, ...). `sockshift check` prints them; later features consult them.
 * Nothing here connects or sends on AF_VSOCK: the vsock probe only opens a socket and
 * asks /dev/vsock for the local CID.
 */
#ifndef SOCKSHIFT_PROBE_H
#define SOCKSHIFT_PROBE_H

#include <stddef.h>

struct probe {
	const char *name;        /* short id, e.g. "netns" */
	const char *what;        /* one line for people */
	const char *needed_for;  /* which sockshift feature depends on it */
	int (*run)(char *detail, size_t len);
};

extern const struct probe probe_list[];

/* Runs fn(detail) in a child process; its return value and detail come back. */
int probe_in_child(int (*fn)(char *detail, size_t len), int new_netns, char *detail, size_t len);

#endif
