/*
 * test_hvsock — the hybrid vsock handshake against a fake VMM: a child process listening on
 * a Unix socket that speaks the Firecracker / Cloud Hypervisor protocol, or breaks it.
 * Pure AF_UNIX; no vsock anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "hvsock.h"
#include "real.h"
#include "test_util.h"

static char path[108];
static pid_t vmm = -1;

static void setup(void)
{
	real_use_libc();
	snprintf(path, sizeof(path), "/tmp/ss-hvsock-%d.sock", getpid());
	unlink(path);
}

static void teardown(void)
{
	if (vmm > 0) {
		kill(vmm, SIGKILL);
		waitpid(vmm, NULL, 0);
	}
	unlink(path);
}

TestSuite(hvsock, .init = setup, .fini = teardown);

enum behaviour { VMM_OK, VMM_OK_WITH_DATA, VMM_CLOSE, VMM_GARBAGE, VMM_SILENT, VMM_OK_SPLIT, VMM_OK_LATE };

/* Starts the fake VMM; it checks the request line and answers as told. */
static void start_vmm(enum behaviour b)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(sun.sun_path, path, strlen(path) + 1);
	cr_assert(eq(int, bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0));
	cr_assert(eq(int, listen(l, 4), 0));
	vmm = fork();
	cr_assert(ge(int, vmm, 0));
	if (vmm > 0) {
		close(l);
		return;
	}
	int c = accept(l, NULL, NULL);
	char req[64] = "";
	ssize_t n = read(c, req, sizeof(req) - 1);   /* one write by the client: one read */
	if (n <= 0 || strcmp(req, "CONNECT 52\n") != 0)
		_exit(3);
	switch (b) {
	case VMM_OK:
		(void)!write(c, "OK 1073741824\n", 14);
		break;
	case VMM_OK_WITH_DATA:
		(void)!write(c, "OK 1073741825\nhello from the guest", 34);
		break;
	case VMM_OK_SPLIT:
		(void)!write(c, "OK 10", 5);
		usleep(50000);
		(void)!write(c, "73741826\nX", 10);
		break;
	case VMM_OK_LATE:
		usleep(300000);
		(void)!write(c, "OK 1073741827\nlate", 18);
		break;
	case VMM_CLOSE:
		usleep(100000);
		_exit(0);
	case VMM_GARBAGE:
		(void)!write(c, "NOPE\n", 5);
		break;
	case VMM_SILENT:
		pause();
		break;
	}
	/* echo whatever comes next, then close */
	char buf[256];
	while ((n = read(c, buf, sizeof(buf))) > 0)
		(void)!write(c, buf, (size_t)n);
	_exit(0);
}

Test(hvsock, format_and_parse)
{
	char line[32];
	uint32_t p = 0;

	cr_assert(eq(uint, hvsock_format_connect(52, line, sizeof(line)), 11));
	cr_assert(eq(str, line, "CONNECT 52\n"));
	cr_assert(eq(int, hvsock_parse_ok("OK 1073741824", 13, &p), 0));
	cr_assert(eq(u32, p, 1073741824u));
	cr_assert(eq(int, hvsock_parse_ok("ok 7", 4, &p), 0));
	cr_assert(eq(int, hvsock_parse_ok("OK", 2, &p), -EPROTO));
	cr_assert(eq(int, hvsock_parse_ok("OK x", 4, &p), -EPROTO));
	cr_assert(eq(int, hvsock_parse_ok("OK 4294967296", 13, &p), -EPROTO));
	cr_assert(eq(int, hvsock_parse_ok("KO 1", 4, &p), -EPROTO));
}

Test(hvsock, listen_path)
{
	char out[108];

	cr_assert(eq(int, hvsock_listen_path("/run/v.sock", 52, out, sizeof(out)), 0));
	cr_assert(eq(str, out, "/run/v.sock_52"));
	char longp[120];
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[100] = '\0';
	cr_assert(eq(int, hvsock_listen_path(longp, 4000000000u, out, sizeof(out)), -ENAMETOOLONG));
}

Test(hvsock, ok_then_echo)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	uint32_t hp = 0;
	char buf[16];

	start_vmm(VMM_OK);
	cr_assert(eq(int, hvsock_connect(fd, path, 52, 2000, &hp), 0));
	cr_assert(eq(u32, hp, 1073741824u));
	cr_assert(eq(long, (long)write(fd, "ping", 4), 4L));
	cr_assert(eq(long, (long)read(fd, buf, sizeof(buf)), 4L));
	cr_assert(eq(int, memcmp(buf, "ping", 4), 0));
	close(fd);
}

Test(hvsock, data_after_ok_is_kept)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	uint32_t hp = 0;
	char buf[64] = "";

	start_vmm(VMM_OK_WITH_DATA);
	cr_assert(eq(int, hvsock_connect(fd, path, 52, 2000, &hp), 0));
	cr_assert(eq(u32, hp, 1073741825u));
	cr_assert(eq(long, (long)read(fd, buf, sizeof(buf) - 1), 20L));
	cr_assert(eq(str, buf, "hello from the guest"));
	close(fd);
}

Test(hvsock, split_answer_nonblocking)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	uint32_t hp = 0;
	char c = 0;

	start_vmm(VMM_OK_SPLIT);
	cr_assert(eq(int, hvsock_connect(fd, path, 52, 2000, &hp), 0));
	cr_assert(eq(u32, hp, 1073741826u));
	cr_assert(ne(int, fcntl(fd, F_GETFL) & O_NONBLOCK, 0), "O_NONBLOCK was lost");
	struct timeval tv = { 2, 0 };
	fcntl(fd, F_SETFL, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert(eq(long, (long)read(fd, &c, 1), 1L));
	cr_assert(eq(chr, c, 'X'));
	close(fd);
}

Test(hvsock, vmm_closes_before_answer_is_refused)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	start_vmm(VMM_CLOSE);
	cr_assert(eq(int, hvsock_connect(fd, path, 52, 2000, NULL), -ECONNREFUSED));
	close(fd);
}

Test(hvsock, garbage_answer_is_eproto)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	start_vmm(VMM_GARBAGE);
	cr_assert(eq(int, hvsock_connect(fd, path, 52, 2000, NULL), -EPROTO));
	close(fd);
}

Test(hvsock, silent_vmm_times_out)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	start_vmm(VMM_SILENT);
	cr_assert(eq(int, hvsock_connect(fd, path, 52, 300, NULL), -ETIMEDOUT));
	close(fd);
}

Test(hvsock, no_vmm_is_refused)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert(eq(int, hvsock_connect(fd, path, 52, 300, NULL), -ECONNREFUSED));
	close(fd);
}

/* The two halves a non-blocking connect uses: start returns before the VMM answers (it
 * answers 300 ms late), the socket is writable meanwhile, answer waits for the line and
 * leaves exactly the bytes after it; a VMM closing or answering garbage fails the answer. */
Test(hvsock, start_then_late_answer)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	uint32_t hp = 0;
	char buf[16] = "";

	start_vmm(VMM_OK_LATE);
	long t0 = hvsock_now_ms();
	cr_assert(eq(int, hvsock_start(fd, path, 52, t0 + 2000), 0));
	cr_assert(lt(long, hvsock_now_ms() - t0, 150L), "start waited for the answer");
	struct pollfd p = { fd, POLLOUT, 0 };
	cr_assert(eq(int, poll(&p, 1, 1000), 1));
	cr_assert(eq(int, hvsock_answer(fd, t0 + 2000, &hp), 0));
	cr_assert(ge(long, hvsock_now_ms() - t0, 250L));
	cr_assert(eq(u32, hp, 1073741827u));
	p.events = POLLIN;
	cr_assert(eq(int, poll(&p, 1, 1000), 1));
	cr_assert(eq(long, (long)recv(fd, buf, sizeof(buf), 0), 4L));
	cr_assert(eq(int, memcmp(buf, "late", 4), 0));
	close(fd);
}

Test(hvsock, start_then_refused_or_garbage)
{
	enum behaviour b[] = { VMM_CLOSE, VMM_GARBAGE };
	int want[] = { -ECONNREFUSED, -EPROTO };

	for (int i = 0; i < 2; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		long t0 = hvsock_now_ms();
		start_vmm(b[i]);
		cr_assert(eq(int, hvsock_start(fd, path, 52, t0 + 2000), 0));
		cr_assert(eq(int, hvsock_answer(fd, t0 + 2000, NULL), want[i]));
		close(fd);
		teardown();
		vmm = -1;
	}
}
