/*
 * test_patch — the syscall-site patcher on crafted code: each test writes a few tiny
 * functions into fresh executable memory, describes their bounds the way the unwind
 * tables would, patches them and runs them. Covers the pad and window layouts, a
 * RIP-relative operand moved into the stub, a jump into the window, a too-short function,
 * endbr64, sites never touched (rt_sigreturn) or left as they are (a constant non-socket
 * number), a socket call routed through core, and patching while other threads run the
 * code being patched.
 */
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "fdtable.h"
#include "log.h"
#include "patch_int.h"
#include "real.h"
#include "sysdispatch.h"
#include "test_util.h"

static uint8_t *page;

static void setup(void)
{
	real_use_libc();
	fdt_clear();
	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(page != MAP_FAILED);
	memset(page, 0xcc, 8192);
	log_set_fd(2);
	log_set_level(LOGL_INFO);
	patch_test_threads = 1;   /* Criterion's worker has threads of its own */
}

TestSuite(patch, .init = setup);

/* Copies code to page+off (still writable until seal()). */
static uint64_t put_code(size_t off, const void *bytes, size_t len)
{
	memcpy(page + off, bytes, len);
	return (uintptr_t)(page + off);
}

static void seal(void)
{
	cr_assert(eq(int, mprotect(page, 8192, PROT_READ | PROT_EXEC), 0));
}

typedef long (*fn3)(long, long, long);

static const uint8_t getpid_fn[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };   /* mov $39,%eax; syscall; ret */
/* mov %rdi,%rax; syscall; ret (6 bytes: the number is known at run time only); xchg %ax,%ax */
static const uint8_t sys_fn[] = { 0x48, 0x89, 0xf8, 0x0f, 0x05, 0xc3, 0x66, 0x90 };
static const uint8_t nop8[] = { 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 };           /* nopl 0x0(%rax,%rax,1) */

Test(patch, pad_layout_moves_nothing)
{
	struct patch_stats st = { 0 };
	uint64_t f = put_code(0, sys_fn, sizeof(sys_fn));
	put_code(8, nop8, 8);
	put_code(16, (uint8_t[]){ 0x31, 0xc0, 0xc3 }, 3);
	struct patch_func funcs[] = { { f, f + 6, 0 }, { f + 16, f + 19, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.sites, 1));
	cr_assert(eq(u32, st.pad, 1));
	cr_assert(eq(u8, page[3], 0xeb));                  /* syscall -> jmp rel8 */
	cr_assert(eq(u8, page[0], 0x48));                  /* the mov stays */
	cr_assert(eq(u8, page[6], 0xe9));                  /* padding -> jmp rel32 */
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(SYS_getpid, 0, 0), (long)getpid()));
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(SYS_getppid, 0, 0), (long)getppid()));
}

Test(patch, window_layout_when_no_padding)
{
	struct patch_stats st = { 0 };
	uint64_t f = put_code(0, sys_fn, sizeof(sys_fn));
	struct patch_func funcs[] = { { f, f + 8, 0 }, { f + 8, f + 16, 0 } };
	put_code(8, sys_fn, sizeof(sys_fn));
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.sites, 2));
	cr_assert(eq(u32, st.window, 2), "pad %u window %u refused %u", st.pad, st.window, st.refused);
	cr_assert(eq(u8, page[0], 0xe9));                  /* mov+syscall -> jmp rel32 */
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(SYS_getpid, 0, 0), (long)getpid()));
	cr_assert(eq(long, ((fn3)(uintptr_t)(f + 8))(SYS_getpid, 0, 0), (long)getpid()));
}

/* The hot non-socket wrappers of libc (getppid: mov $110,%eax; syscall) keep their code. */
Test(patch, constant_non_socket_number_is_left_as_is)
{
	struct patch_stats st = { 0 };
	uint64_t f = put_code(0, getpid_fn, sizeof(getpid_fn));
	put_code(8, nop8, 8);
	const uint8_t rd[] = { 0x31, 0xc0, 0x0f, 0x05, 0xc3 };   /* xor %eax,%eax (read) ; syscall ; ret */
	uint64_t g = put_code(16, rd, sizeof(rd));
	put_code(21, nop8, 8);
	struct patch_func funcs[] = { { f, f + 8, 0 }, { g, g + 5, 0 }, { f + 32, f + 40, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 3, "t", &st), 0));
	cr_assert(eq(u32, st.sites, 2));
	cr_assert(eq(u32, st.constant, 2));
	cr_assert(eq(u32, st.pad + st.window + st.refused, 0));
	cr_assert(eq(int, memcmp(page, getpid_fn, sizeof(getpid_fn)), 0));
	cr_assert(eq(int, memcmp(page + 8, nop8, 8), 0), "no pad slot taken");
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(0, 0, 0), (long)getpid()));
}

/* mov $39,%eax ; jmp .+0 (a jump lands on the syscall: the number may come from elsewhere) */
Test(patch, constant_number_reached_by_a_jump_is_patched)
{
	struct patch_stats st = { 0 };
	const uint8_t code[] = { 0xb8, 39, 0, 0, 0, 0xeb, 0x00, 0x0f, 0x05, 0xc3 };
	uint64_t f = put_code(0, code, sizeof(code));
	put_code(sizeof(code), (uint8_t[]){ 0x66, 0x0f, 0x1f, 0x44, 0, 0 }, 6);   /* nopw 0(%rax,%rax) */
	struct patch_func funcs[] = { { f, f + sizeof(code), 0 }, { f + 16, f + 20, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.constant, 0));
	cr_assert(eq(u32, st.pad, 1));
	cr_assert(eq(u8, page[7], 0xeb));
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(0, 0, 0), (long)getpid()));
}

Test(patch, rip_relative_operand_is_rebased)
{
	struct patch_stats st = { 0 };
	/* mov 0x100(%rip),%eax ; syscall ; ret — the number lives in data after the code */
	uint64_t f = put_code(0, (uint8_t[]){ 0x8b, 0x05, 0x00, 0x01, 0, 0, 0x0f, 0x05, 0xc3 }, 9);
	uint32_t nr = SYS_getppid;
	memcpy(page + 6 + 0x100, &nr, 4);
	struct patch_func funcs[] = { { f, f + 9, 0 }, { f + 9, f + 10, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.window, 1));
	cr_assert(eq(u8, page[0], 0xe9));
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(0, 0, 0), (long)getppid()));
}

Test(patch, jump_into_window_is_refused)
{
	struct patch_stats st = { 0 };
	/* mov $39,%eax ; jmp .+0 (lands on the syscall) ; syscall ; ret */
	const uint8_t code[] = { 0xb8, 39, 0, 0, 0, 0xeb, 0x00, 0x0f, 0x05, 0xc3 };
	uint64_t f = put_code(0, code, sizeof(code));
	struct patch_func funcs[] = { { f, f + sizeof(code), 0 }, { f + sizeof(code), f + 16, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.refused, 1));
	cr_assert(eq(int, memcmp(page, code, sizeof(code)), 0), "refused code must stay as it was");
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(0, 0, 0), (long)getpid()));
}

Test(patch, too_short_function_is_refused)
{
	struct patch_stats st = { 0 };
	const uint8_t code[] = { 0x48, 0x89, 0xf8, 0x0f, 0x05, 0xc3 };   /* mov %rdi,%rax ; syscall ; ret */
	uint64_t f = put_code(0, code, sizeof(code));
	struct patch_func funcs[] = { { f + 3, f + 6, 0 }, { f + 6, f + 16, 0 } };
	seal();

	/* Only [syscall; ret] is described as the function: 3 bytes, ret cannot move. */
	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.refused, 1));
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(SYS_getpid, 0, 0), (long)getpid()));
}

Test(patch, endbr64_is_never_displaced)
{
	struct patch_stats st = { 0 };
	const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x05, 0xc3 };  /* endbr64 ; syscall ; ret */
	uint64_t f = put_code(0, code, sizeof(code));
	struct patch_func funcs[] = { { f, f + 7, 0 }, { f + 7, f + 16, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.refused, 1));
	cr_assert(eq(int, memcmp(page, code, sizeof(code)), 0));
}

Test(patch, landing_pads_forbid_windows)
{
	struct patch_stats st = { 0 };
	uint64_t f = put_code(0, sys_fn, sizeof(sys_fn));
	struct patch_func funcs[] = { { f, f + 8, 1 }, { f + 8, f + 16, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.refused, 1));
}

Test(patch, sigreturn_is_left_alone)
{
	struct patch_stats st = { 0 };
	const uint8_t code[] = { 0x48, 0xc7, 0xc0, 15, 0, 0, 0, 0x0f, 0x05 };  /* mov $15,%rax ; syscall */
	uint64_t f = put_code(0, code, sizeof(code));
	put_code(9, nop8, 7);
	struct patch_func funcs[] = { { f, f + 9, 0 }, { f + 16, f + 20, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.skipped, 1));
	cr_assert(eq(int, memcmp(page, code, sizeof(code)), 0));
}

Test(patch, socket_call_is_routed_through_core)
{
	struct patch_stats st = { 0 };
	const uint8_t code[] = { 0xb8, 41, 0, 0, 0, 0x0f, 0x05, 0xc3 };       /* socket(rdi, rsi, rdx) */
	uint64_t f = put_code(0, code, sizeof(code));
	put_code(8, nop8, 8);
	struct patch_func funcs[] = { { f, f + 8, 0 }, { f + 16, f + 20, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.pad, 1));
	long fd = ((fn3)(uintptr_t)f)(AF_INET, SOCK_STREAM, 0);
	cr_assert(ge(long, fd, 0));
	cr_assert(ne(int, fdt_known((int)fd), 0), "a socket made through a patched site is tracked");
	/* And an error comes back kernel-style, errno untouched. */
	errno = 1234;
	cr_assert(eq(long, ((fn3)(uintptr_t)f)(12345, SOCK_STREAM, 0), -EAFNOSUPPORT));
	cr_assert(eq(int, errno, 1234));
	close((int)fd);
}

/* Vector registers live across a routed call must survive it (the entry saves them). */
Test(patch, vector_registers_survive_the_slow_path)
{
	struct patch_stats st = { 0 };
	/* movq %rcx,%xmm7 ; mov $41,%eax ; syscall ; movq %xmm7,%rax ; ret  — returns rcx */
	const uint8_t code[] = { 0x66, 0x48, 0x0f, 0x6e, 0xf9, 0xb8, 41, 0, 0, 0, 0x0f, 0x05,
				 0x66, 0x48, 0x0f, 0x7e, 0xf8, 0xc3 };
	uint64_t f = put_code(0, code, sizeof(code));
	put_code(sizeof(code), nop8, 8);
	struct patch_func funcs[] = { { f, f + sizeof(code), 0 }, { f + 32, f + 40, 0 } };
	seal();

	cr_assert(eq(int, patch_region(page, 4096, funcs, 2, "t", &st), 0));
	cr_assert(eq(u32, st.pad, 1));
	long (*f4)(long, long, long, long) = (void *)(uintptr_t)f;
	cr_assert(eq(long, f4(AF_INET, SOCK_DGRAM, 0, 0x1122334455667788), 0x1122334455667788));
}

/* A stand-in for sysdispatch_entry: records that the slow path was taken. */
long test_entry_nr;
void test_entry(void);
__asm__(".text\n"
	"test_entry:\n"
	"	mov %rax, test_entry_nr(%rip)\n"
	"	mov $0x5eed, %eax\n"
	"	ret\n");

/* The stub sends exactly the routed numbers to the slow path, and every other number to
 * the kernel unchanged (only harmless numbers are run for real). */
Test(patch, stub_sends_exactly_the_routed_numbers_to_the_slow_path)
{
	struct patch_site s = { 0 };
	uint64_t entry;
	int32_t tls_off;
	char why[64];

	cr_assert(eq(int, sysdispatch_setup(&entry, &tls_off, why, sizeof(why)), 0));
	/* site: mov %rcx,%rax ; jmp stub        resume: ret        stub at +64 */
	uint64_t f = put_code(0, (uint8_t[]){ 0x48, 0x89, 0xc8 }, 3);
	patch_emit_jmp32(page + 3, f + 3, f + 64);
	page[8] = 0xc3;
	s.win_end = f + 8;
	cr_assert(gt(int, patch_emit_stub(page + 64, f + 64, &s, (uintptr_t)&test_entry, tls_off), 0));
	seal();
	/* fn(a0, a1, a2, nr): the syscall gets a0..a2 and the number from %rcx */
	long (*fn)(long, long, long, long) = (long (*)(long, long, long, long))(uintptr_t)f;

	for (long nr = 0; nr < 600; nr++) {
		if (!sysdispatch_routed(nr))
			continue;
		test_entry_nr = -1;
		cr_assert(eq(long, fn(0, 0, 0, nr), 0x5eed), "routed %ld", nr);
		cr_assert(eq(long, test_entry_nr, nr));
	}
	static const long plain[] = { SYS_getpid, SYS_getppid, SYS_uname, SYS_kill, SYS_timerfd_gettime,
				      SYS_pipe2, SYS_clock_adjtime, SYS_syncfs, SYS_setns, 64 + 1000, 100000, -1, -300 };
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		long nr = plain[i];
		cr_assert(eq(int, sysdispatch_routed(nr), 0));
		test_entry_nr = -1;
		long want = syscall(nr, 0, 0, 0, 0, 0, 0);
		if (want < 0)
			want = -errno;
		long got = fn(0, 0, 0, nr);
		cr_assert(eq(long, got, want), "number %ld", nr);
		cr_assert(eq(long, test_entry_nr, -1), "number %ld took the slow path", nr);
	}
}

static atomic_int stop, bad;
static atomic_long calls;

static void *hammer(void *arg)
{
	fn3 fn = (fn3)arg;
	long pid = getpid();

	while (!atomic_load(&stop)) {
		if (fn(SYS_getpid, 0, 0) != pid)
			atomic_store(&bad, 1);
		atomic_fetch_add(&calls, 1);
	}
	return NULL;
}

Test(patch, patching_while_threads_run_the_code)
{
	struct patch_stats st = { 0 };
	pthread_t t[3];
	/* 64 copies of sys_fn, each followed by 10 bytes of padding. */
	struct patch_func funcs[65];
	for (int i = 0; i < 64; i++) {
		uint64_t f = put_code(i * 16, sys_fn, sizeof(sys_fn));
		put_code(i * 16 + 8, nop8, 8);
		funcs[i] = (struct patch_func){ f, f + 6, 0 };
	}
	funcs[64] = (struct patch_func){ (uintptr_t)page + 1024, (uintptr_t)page + 1030, 0 };
	seal();
	patch_test_threads = 0;   /* real answer: 4+ threads */
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)funcs[i * 20].start);
	while (atomic_load(&calls) < 3000)
		;
	cr_assert(eq(int, patch_region(page, 4096, funcs, 65, "t", &st), 0));
	cr_assert(eq(u32, st.pad, 64));
	cr_assert(eq(u32, st.window, 0), "no multi-byte rewrites while threads run");
	long seen = atomic_load(&calls);
	while (atomic_load(&calls) < seen + 30000)
		;
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert(eq(int, atomic_load(&bad), 0));
	cr_assert(eq(u8, page[3], 0xeb));
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (!strstr(info->dlpi_name, "/libc.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			*(const uint8_t **)arg = (const uint8_t *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	return 1;
}

Test(patch, libc_unwind_table_gives_sorted_functions)
{
	const uint8_t *hdr = NULL;
	struct patch_func *f;
	size_t n;

	dl_iterate_phdr(find_libc, &hdr);
	cr_assert(hdr != NULL);
	patch_mem_begin();
	cr_assert(eq(int, patch_eh_funcs(hdr, &f, &n), 0));
	cr_assert(gt(sz, n, 1000));
	for (size_t i = 1; i < n; i++)
		cr_assert(le(u64, f[i - 1].start, f[i].start));
	uint64_t gp = (uintptr_t)&getppid;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= f[i].start == gp;
	cr_assert(ne(int, found, 0), "getppid starts a function");
	patch_mem_end();
}
