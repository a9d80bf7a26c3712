/*
 * test_sysdispatch — the C-level hook behind patched sites and syscall(): socket numbers
 * go through core (fd table, debug line), others straight to the kernel, the busy flag
 * and the real-table guards keep core's own calls from being routed twice, errors come
 * back kernel-style without touching errno. Also the SOCKSHIFT_PATCH settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "sysdispatch.h"
#include "test_logcap.h"
#include "test_util.h"

extern __thread int sysdispatch_busy;
TestSuite(sysdispatch, .init = logcap_start, .fini = logcap_stop);

Test(sysdispatch, routed_numbers)
{
	cr_assert(ne(int, sysdispatch_routed(SYS_socket), 0));
	cr_assert(ne(int, sysdispatch_routed(SYS_getsockopt), 0));
	cr_assert(ne(int, sysdispatch_routed(SYS_accept4), 0));
	cr_assert(ne(int, sysdispatch_routed(SYS_recvmmsg), 0));
	cr_assert(ne(int, sysdispatch_routed(SYS_sendmmsg), 0));
	cr_assert(ne(int, sysdispatch_routed(SYS_close), 0));
	cr_assert(eq(int, sysdispatch_routed(SYS_read), 0));
	cr_assert(eq(int, sysdispatch_routed(SYS_getppid), 0));
	cr_assert(eq(int, sysdispatch_routed(SYS_clone), 0));
	cr_assert(eq(int, sysdispatch_routed(-1), 0));
	cr_assert(eq(int, sysdispatch_routed(40), 0));
	cr_assert(eq(int, sysdispatch_routed(56), 0));
}

Test(sysdispatch, socket_goes_through_core_and_close_forgets_it)
{
	long fd = sysdispatch_call(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
	cr_assert(ge(long, fd, 0));
	cr_assert(ne(int, fdt_known((int)fd), 0));
	cr_assert(eq(long, sysdispatch_call(SYS_close, fd, 0, 0, 0, 0, 0), 0));
	cr_assert(eq(int, fdt_known((int)fd), 0));
	const char *log = logcap_read();
	cr_assert(ne(ptr, strstr(log, "socket inet/dgram/0 stack=kernel"), NULL), "%s", log);
	cr_assert(ne(ptr, strstr(log, "close fd="), NULL), "%s", log);
}

Test(sysdispatch, errors_are_kernel_style_and_errno_is_untouched)
{
	errno = 4321;
	cr_assert(eq(long, sysdispatch_call(SYS_connect, -1, 0, 0, 0, 0, 0), -EBADF));
	cr_assert(eq(long, sysdispatch_call(SYS_socket, 12345, SOCK_STREAM, 0, 0, 0, 0), -EAFNOSUPPORT));
	cr_assert(eq(int, errno, 4321));
}

Test(sysdispatch, other_numbers_go_to_the_kernel)
{
	cr_assert(eq(long, sysdispatch_call(SYS_getppid, 0, 0, 0, 0, 0, 0), (long)getppid()));
	cr_assert(eq(str, (char *)logcap_read(), ""));
}

Test(sysdispatch, busy_flag_bypasses_core)
{
	sysdispatch_busy = 1;
	long fd = sysdispatch_call(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
	sysdispatch_busy = 0;
	cr_assert(ge(long, fd, 0));
	cr_assert(eq(int, fdt_known((int)fd), 0), "a call made while busy is not routed");
	close((int)fd);
}

static int seen_busy;
static int probe_socket(int d, int t, int p)
{
	seen_busy = sysdispatch_busy;
	return socket(d, t, p);
}

Test(sysdispatch, guards_set_the_flag_around_real_calls)
{
	real.socket = probe_socket;
	sysdispatch_guard_real();
	cr_assert(ne(ptr, (void *)real.socket, (void *)probe_socket));
	int fd = real.socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, seen_busy, 1));
	cr_assert(eq(int, sysdispatch_busy, 0));
	close(fd);
}

Test(sysdispatch, patch_settings)
{
	char err[CONFIG_ERR_MAX];
	struct config cfg;
	char *on[] = { NULL };
	char *off[] = { "SOCKSHIFT_PATCH=off", "SOCKSHIFT_PATCH_LIBS=libfoo:libbar", NULL };
	char *bad[] = { "SOCKSHIFT_PATCH=maybe", NULL };

	cr_assert(eq(int, config_load(&cfg, on, err, sizeof(err)), 0));
	cr_assert(eq(int, cfg.patch, 1), "on by default");
	cr_assert(eq(int, config_load(&cfg, off, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(int, cfg.patch, 0));
	cr_assert(eq(str, cfg.patch_libs, "libfoo:libbar"));
	cr_assert(lt(int, config_load(&cfg, bad, err, sizeof(err)), 0));
	cr_assert(ne(ptr, strstr(err, "SOCKSHIFT_PATCH"), NULL), "%s", err);
}
