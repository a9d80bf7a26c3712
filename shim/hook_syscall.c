/*
 * hook_syscall — the generic syscall(2) function. The number is known only at run time:
 * routed numbers (sysdispatch.h) go through core like any socket call; every other number
 * jumps to libc's syscall() with the caller's registers and stack untouched, so clone,
 * vfork or anything else behaves exactly as without sockshift. Written as a few
 * instructions of assembly for that reason: a C variadic function cannot forward its
 * arguments unchanged. On other architectures the C fallback forwards six arguments.
 */
#include <dlfcn.h>
#include <stdarg.h>

#include "rawsys.h"
#include "shim.h"
#include "sysdispatch.h"

__attribute__((visibility("hidden"))) void *shim_real_syscall;

long shim_syscall_slow(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* Routed numbers, and any number before libc's syscall() is known: C calling convention
 * syscall(nr, a0..a5) is exactly (long nr, long a0, ..., long a5). */
__attribute__((visibility("hidden"), used)) long shim_syscall_slow(long nr, long a0, long a1, long a2,
								 long a3, long a4, long a5)
{
	int e = errno;
	long r;

	/* Before libc's syscall() is known (early, maybe inside the program's malloc, as
	 * jemalloc does with open/read/close): a number we do not route, or close, which
	 * needs only the fd table, must not start our initialisation (it may allocate). */
	if (!sysdispatch_routed(nr))
		return shim_ret(rawsys6(nr, a0, a1, a2, a3, a4, a5), e);
	if (nr != SYS_close)
		shim_enter();
	r = sysdispatch_call(nr, a0, a1, a2, a3, a4, a5);
	return shim_ret(r, e);
}

void shim_syscall_resolve(void)
{
	void *p = dlsym(RTLD_NEXT, "syscall");

	if (p && p != (void *)&syscall)
		__atomic_store_n(&shim_real_syscall, p, __ATOMIC_RELEASE);
}

#if defined(__x86_64__)
__asm__(
	"	.text\n"
	"	.globl syscall\n"
	"	.type syscall,@function\n"
	"syscall:\n"
	"	endbr64\n"
	"	cmp $3, %rdi\n"
	"	je 1f\n"
	"	lea -41(%rdi), %rax\n"
	"	cmp $14, %rax\n"
	"	jbe 1f\n"
	"	cmp $288, %rdi\n"
	"	je 1f\n"
	"	cmp $299, %rdi\n"
	"	je 1f\n"
	"	cmp $307, %rdi\n"
	"	je 1f\n"
	"	mov shim_real_syscall(%rip), %rax\n"
	"	test %rax, %rax\n"
	"	je 1f\n"
	"	jmp *%rax\n"
	"1:	jmp shim_syscall_slow\n"
	"	.size syscall, .-syscall\n");
#else
SHIM_API long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return shim_syscall_slow(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
#endif
