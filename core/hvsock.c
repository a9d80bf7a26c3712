/*
 * hvsock — the CONNECT/OK handshake of hybrid vsock and the guest-initiated socket names
 * (see hvsock.h). Socket calls go through the real table; poll is not interposed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "hvsock.h"
#include "log.h"
#include "real.h"

size_t hvsock_format_connect(uint32_t port, char *buf, size_t size)
{
	return log_fmt(buf, size, "CONNECT %u\n", port);
}

int hvsock_parse_ok(const char *line, size_t len, uint32_t *host_port)
{
	uint64_t v = 0;
	size_t i = 3;

	if (len < 4 || (line[0] != 'O' && line[0] != 'o') || (line[1] != 'K' && line[1] != 'k') ||
	    line[2] != ' ')
		return -EPROTO;
	if (len - i > 10)
		return -EPROTO;
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EPROTO;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > 0xffffffffu)
		return -EPROTO;
	if (host_port)
		*host_port = (uint32_t)v;
	return 0;
}

int hvsock_listen_path(const char *uds, uint32_t port, char *out, size_t size)
{
	struct sockaddr_un sun;
	size_t max = size < sizeof(sun.sun_path) ? size : sizeof(sun.sun_path);
	char digits[16];
	size_t n = strlen(uds) + 1 + log_fmt(digits, sizeof(digits), "%u", port);

	if (n + 1 > max)
		return -ENAMETOOLONG;
	log_fmt(out, size, "%s_%s", uds, digits);
	return 0;
}

long hvsock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for events on fd until the deadline: 1 ready, -ETIMEDOUT, -errno. */
static int wait_for(int fd, short events, long deadline)
{
	for (;;) {
		long left = deadline - hvsock_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { fd, events, 0 };
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int do_connect(int fd, const char *uds, long deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t l = sizeof(int);
	int r, soerr = 0;

	if (strlen(uds) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, uds, strlen(uds) + 1);
	r = real.connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (r == 0)
		return 0;
	r = -errno;
	if (r == -ENOENT)
		return -ECONNREFUSED;   /* no VMM there: what TCP says for nobody listening */
	if (r != -EINPROGRESS && r != -EAGAIN)
		return r;
	/* Non-blocking and the VMM's backlog was full: wait until it accepts. */
	r = wait_for(fd, POLLOUT, deadline);
	if (r < 0)
		return r;
	if (real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0)
		return -errno;
	return soerr ? -soerr : 0;
}

static int send_line(int fd, const char *line, size_t len, long deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = real.send(fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return errno == EPIPE || errno == ECONNRESET ? -ECONNREFUSED : -errno;
		int r = wait_for(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads the answer line one byte at a time, so guest data after it stays queued. */
int hvsock_answer(int fd, long deadline, uint32_t *host_port)
{
	char line[HVSOCK_LINE_MAX];
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t got = real.recv(fd, &c, 1, MSG_DONTWAIT);
		if (got == 1) {
			if (c == '\n')
				return hvsock_parse_ok(line, n, host_port);
			if (n == sizeof(line))
				return -EPROTO;
			line[n++] = c;
			continue;
		}
		if (got == 0)
			return -ECONNREFUSED;   /* the VMM closed: no guest listener on that port */
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET || errno == EPIPE)
			return -ECONNREFUSED;
		if (errno != EAGAIN)
			return -errno;
		int r = wait_for(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
}

int hvsock_start(int fd, const char *uds, uint32_t port, long deadline)
{
	char line[32];
	size_t len = hvsock_format_connect(port, line, sizeof(line));
	int r;

	r = do_connect(fd, uds, deadline);
	if (r < 0)
		return r;
	return send_line(fd, line, len, deadline);
}

int hvsock_connect(int fd, const char *uds, uint32_t port, int timeout_ms, uint32_t *host_port)
{
	long deadline = hvsock_now_ms() + (timeout_ms > 0 ? timeout_ms : HVSOCK_TIMEOUT_MS);
	int r;

	r = hvsock_start(fd, uds, port, deadline);
	if (r < 0)
		return r;
	return hvsock_answer(fd, deadline, host_port);
}
