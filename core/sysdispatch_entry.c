/*
 * sysdispatch_entry — the bridge from a patched syscall site (kernel calling convention)
 * to sysdispatch_call() (C calling convention), x86-64 only.
 *
 * A stub reaches it with `call` after stepping 128 bytes below the red zone. It keeps
 * what the syscall instruction keeps: every general register but rax/rcx/r11, and the
 * whole extended state (x87, SSE, AVX, AVX-512 ...) with xsave/xrstor — code around a
 * syscall may hold live vector registers that our C code and libc's string functions
 * would otherwise clobber. Frame on its own stack:
 *
 *     rbp-8 rax(nr, then result)  rbp-16 rdi  -24 rsi  -32 rdx  -40 r10  -48 r8  -56 r9
 *     [xsave area, 64-byte aligned, sysdispatch_xsave_size bytes]
 */
#include <cpuid.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "sysdispatch.h"

extern __thread int sysdispatch_busy;

#if defined(__x86_64__)

long sysdispatch_handle(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
__attribute__((visibility("hidden"))) long sysdispatch_xsave_size = 4096;
__attribute__((visibility("hidden"))) int sysdispatch_use_xsave;
void sysdispatch_entry(void);

/* Called only from the entry below. */
__attribute__((visibility("hidden"), used)) long sysdispatch_handle(long nr, long a0, long a1, long a2,
								   long a3, long a4, long a5)
{
	return sysdispatch_call(nr, a0, a1, a2, a3, a4, a5);
}

__asm__(
	"	.text\n"
	"	.globl sysdispatch_entry\n"
	"	.hidden sysdispatch_entry\n"
	"	.type sysdispatch_entry,@function\n"
	"sysdispatch_entry:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rbp, -16\n"
	"	mov %rsp, %rbp\n"
	"	.cfi_def_cfa_register %rbp\n"
	"	push %rax\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	push %rdx\n"
	"	push %r10\n"
	"	push %r8\n"
	"	push %r9\n"
	"	sub sysdispatch_xsave_size(%rip), %rsp\n"
	"	and $-64, %rsp\n"
	"	cmpl $0, sysdispatch_use_xsave(%rip)\n"
	"	je 1f\n"
	"	xor %eax, %eax\n"
	"	mov %rax, 512(%rsp)\n"
	"	mov %rax, 520(%rsp)\n"
	"	mov %rax, 528(%rsp)\n"
	"	mov %rax, 536(%rsp)\n"
	"	mov %rax, 544(%rsp)\n"
	"	mov %rax, 552(%rsp)\n"
	"	mov %rax, 560(%rsp)\n"
	"	mov %rax, 568(%rsp)\n"
	"	mov $-1, %eax\n"
	"	mov $-1, %edx\n"
	"	xsave64 (%rsp)\n"
	"	jmp 2f\n"
	"1:	fxsave64 (%rsp)\n"
	"2:	mov -8(%rbp), %rdi\n"
	"	mov -16(%rbp), %rsi\n"
	"	mov -24(%rbp), %rdx\n"
	"	mov -32(%rbp), %rcx\n"
	"	mov -40(%rbp), %r8\n"
	"	mov -48(%rbp), %r9\n"
	"	sub $16, %rsp\n"
	"	mov -56(%rbp), %rax\n"
	"	mov %rax, (%rsp)\n"
	"	call sysdispatch_handle\n"
	"	add $16, %rsp\n"
	"	mov %rax, -8(%rbp)\n"
	"	cmpl $0, sysdispatch_use_xsave(%rip)\n"
	"	je 3f\n"
	"	mov $-1, %eax\n"
	"	mov $-1, %edx\n"
	"	xrstor64 (%rsp)\n"
	"	jmp 4f\n"
	"3:	fxrstor64 (%rsp)\n"
	"4:	mov -8(%rbp), %rax\n"
	"	mov -16(%rbp), %rdi\n"
	"	mov -24(%rbp), %rsi\n"
	"	mov -32(%rbp), %rdx\n"
	"	mov -40(%rbp), %r10\n"
	"	mov -48(%rbp), %r8\n"
	"	mov -56(%rbp), %r9\n"
	"	leave\n"
	"	.cfi_def_cfa %rsp, 8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size sysdispatch_entry, .-sysdispatch_entry\n");

int sysdispatch_setup(uint64_t *entry, int32_t *tls_off, char *why, size_t whylen)
{
	unsigned a, b, c, d;
	char *tp;

	if (!__get_cpuid(1, &a, &b, &c, &d)) {
		log_fmt(why, whylen, "cpuid leaf 1 unavailable");
		return -ENOTSUP;
	}
	if (!(d & bit_FXSAVE)) {
		log_fmt(why, whylen, "the CPU has no fxsave: vector state cannot be kept");
		return -ENOTSUP;
	}
	if ((c & bit_OSXSAVE) && __get_cpuid_count(0xd, 0, &a, &b, &c, &d) && b >= 576) {
		sysdispatch_use_xsave = 1;
		sysdispatch_xsave_size = (long)b + 64;
	} else {
		sysdispatch_use_xsave = 0;
		sysdispatch_xsave_size = 512 + 64;
	}
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	*tls_off = (int32_t)((char *)&sysdispatch_busy - tp);
	*entry = (uint64_t)(uintptr_t)&sysdispatch_entry;
	return 0;
}

#else

int sysdispatch_setup(uint64_t *entry, int32_t *tls_off, char *why, size_t whylen)
{
	log_fmt(why, whylen, "syscall-site patching exists for x86-64 only");
	return -ENOTSUP;
}

#endif
