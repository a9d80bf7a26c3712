/*
 * control_io — one CRIU RPC message per SOCK_SEQPACKET message, both directions, and the
 * client round trip the tools and tests use (control_call).
 *
 * Receiving sizes the message first with recv(MSG_PEEK|MSG_TRUNC), which returns the full
 * length of the next message without taking it, then refuses anything over the caller's
 * buffer (the message is consumed and dropped, so the connection stays in step). Every wait
 * is bounded by poll(). Sends use MSG_NOSIGNAL: a client that went away must not raise
 * SIGPIPE inside the host program. Socket calls go through the real table (real.h).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "real.h"

ssize_t control_recv(int fd, void *buf, size_t size, int timeout_ms, size_t *declared)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char drop;
	ssize_t n;
	int r;

	if (declared)
		*declared = 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	do
		n = real.recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0) {
		/* EOF, or an empty message: CRIU takes both as "client exited"; so do we, after
		 * taking the message (if any) off the queue. */
		real.recv(fd, &drop, 0, MSG_DONTWAIT);
		return -EPIPE;
	}
	if (declared)
		*declared = (size_t)n;
	if ((size_t)n > size) {
		real.recv(fd, &drop, 1, MSG_TRUNC | MSG_DONTWAIT);   /* drops the whole message */
		return -EMSGSIZE;
	}
	do
		n = real.recv(fd, buf, size, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n;
}

int control_send(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = real.send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int control_send_resp(int fd, const struct rpc_resp *resp)
{
	char buf[4096];
	ssize_t n = rpc_resp_encode(resp, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return control_send(fd, buf, (size_t)n);
}

int control_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (real.connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		real.close(fd);
		return r;
	}
	return fd;
}

int control_call(const char *path, const struct rpc_req *req, struct rpc_resp *resp,
		 struct rpc_sock *socks, unsigned max_socks, int timeout_ms)
{
	static char buf[RPC_MSG_MAX];
	struct rpc_req ack;
	ssize_t n;
	int fd, r;

	fd = control_connect(path);
	if (fd < 0)
		return fd;
	n = rpc_req_encode(req, buf, sizeof(buf));
	if (n < 0) {
		r = (int)n;
		goto out_close;
	}
	r = control_send(fd, buf, (size_t)n);
	if (r < 0)
		goto out_close;
	for (;;) {
		n = control_recv(fd, buf, sizeof(buf), timeout_ms, NULL);
		if (n < 0) {
			r = (int)n;
			goto out_close;
		}
		r = rpc_resp_decode(buf, (size_t)n, resp, socks, max_socks);
		if (r < 0 || resp->type != RPC_NOTIFY || req->type == RPC_NOTIFY)
			goto out_close;
		rpc_req_init(&ack, RPC_NOTIFY);
		ack.has_notify_success = ack.notify_success = 1;
		n = rpc_req_encode(&ack, buf, sizeof(buf));
		r = n < 0 ? (int)n : control_send(fd, buf, (size_t)n);
		if (r < 0)
			goto out_close;
	}
out_close:
	real.close(fd);
	return r;
}
