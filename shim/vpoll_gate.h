/*
 * vpoll_gate — the one check the hooks make for sockets of user-space plug-in stacks
 * (core/stack_vpoll.h): such an fd is a vpoll fd whose every call belongs to the plug-in.
 * One load and a predictable branch while no such socket exists in the process.
 */
#ifndef SOCKSHIFT_VPOLL_GATE_H
#define SOCKSHIFT_VPOLL_GATE_H

#include "shim.h"
#include "stack_vpoll.h"

/* Returns from the hook with call's result (>= 0 or -errno) when fd is such a socket. */
#define VPOLL_GATE(fd, call)                                              \
	do {                                                              \
		if (unlikely(stack_vpoll_owns(fd))) {                     \
			int e_ = errno;                                   \
			return shim_ret((long)(call), e_);                \
		}                                                         \
	} while (0)

#endif
