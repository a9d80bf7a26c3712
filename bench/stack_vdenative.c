/*
 * stack_vdenative — netbench (bench/netbench.c) as a plain libvdestack program: the
 * baseline for the shim on a vdestack stack. A constructor makes one libvdestack stack on
 * $VDENATIVE_VNL, brings its lo up and makes it the default, so netbench's own socket()
 * calls (libvdestack's exported socket) create their sockets there: the same program,
 * the same stack, without sockshift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <vdestack.h>

static struct vdestack *stack;

/* The helper libvdestack made would outlive us otherwise. */
static void vdenative_fini(void)
{
	vde_delstack(stack);
}

static __attribute__((constructor)) void vdenative_init(void)
{
	char *vnl = getenv("VDENATIVE_VNL");
	struct vdestack *st = vnl ? vde_addstack(vnl, "vde0") : NULL;

	if (!st) {
		fprintf(stderr, "stack_vdenative: set VDENATIVE_VNL to a VDE network that exists\n");
		exit(1);
	}
	if (vde_stackcmd(st, "/bin/ip link set lo up") != 0) {
		fprintf(stderr, "stack_vdenative: cannot bring lo up in the stack\n");
		exit(1);
	}
	vde_default_stack(st);
	stack = st;
	atexit(vdenative_fini);
}

#include "netbench.c"
