/*
 * fdenv — carry the fd table across exec in the SOCKSHIFT_FDS environment variable.
 *
 * Sockets without FD_CLOEXEC survive exec, but the shim's memory does not. The exec hooks
 * encode the records of those sockets; the new image's shim decodes them at start and
 * checks each against the kernel before trusting it.
 *
 * Format (version 1): "v1" then ";"-separated records of ","-separated fields
 *   fd,domain,type,protocol,stack_id,origin,state,backlog,status_flags[,o=LEVEL:NAME:HEX]...
 * All numbers decimal. Decoding is strict: a malformed value is rejected with its offset.
 */
#ifndef SOCKSHIFT_FDENV_H
#define SOCKSHIFT_FDENV_H

#include <stddef.h>

#include "fdtable.h"

#define FDENV_NAME "SOCKSHIFT_FDS"

/* Writes "SOCKSHIFT_FDS=v1;..." for every known fd without FD_CLOEXEC. Returns the length
 * (0 if there is nothing to carry), or -ENOSPC if buf is too small. No allocation. */
long fdenv_encode(char *buf, size_t size);
/* Upper bound of fdenv_encode()'s output for the current table. */
size_t fdenv_size_hint(void);
/* Parses the value (after "SOCKSHIFT_FDS="); calls fn for each record. */
int fdenv_decode(const char *value, int (*fn)(const struct fdt_rec *rec, void *arg), void *arg,
		 char *err, size_t errlen);

#endif
