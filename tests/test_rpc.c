/*
 * test_rpc — the CRIU RPC message codec: round trips, the fields real clients require,
 * and hostile input (garbage, truncation, oversize strings, unknown types).
 */
#include <errno.h>

#include "rpc.h"
#include "test_util.h"

TestSuite(rpc);

Test(rpc, request_round_trip)
{
	struct rpc_req req, back;
	char buf[1024], err[RPC_ERRMSG_MAX];
	ssize_t n;

	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	req.opts.images_dir_fd = 7;
	req.opts.leave_running = 1;
	req.opts.tcp_established = 1;
	req.opts.notify_scripts = 1;
	req.opts.network_lock = 2;
	memcpy(req.opts.log_file, "dump.log", 9);
	n = rpc_req_encode(&req, buf, sizeof(buf));
	cr_assert(gt(sz, (size_t)n, 0));
	cr_assert(eq(int, rpc_req_decode(buf, (size_t)n, &back, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(int, back.type, RPC_DUMP));
	cr_assert(eq(int, back.has_opts, 1));
	cr_assert(eq(int, back.opts.has_images_dir_fd, 1));
	cr_assert(eq(int, back.opts.images_dir_fd, 7));
	cr_assert(eq(int, back.opts.leave_running, 1));
	cr_assert(eq(int, back.opts.tcp_established, 1));
	cr_assert(eq(int, back.opts.notify_scripts, 1));
	cr_assert(eq(int, back.opts.network_lock, 2));
	cr_assert(eq(int, back.opts.log_level, 2));
	cr_assert(eq(str, back.opts.log_file, "dump.log"));
	cr_assert(eq(str, back.opts.unsupported, ""));
}

Test(rpc, response_carries_what_clients_require)
{
	struct rpc_resp resp, back;
	char buf[1024];
	ssize_t n;

	/* A failed DUMP still has type, success and dump{restored}. */
	rpc_resp_init(&resp, RPC_DUMP);
	rpc_resp_fail(&resp, ENOENT, "no such %s", "dir");
	n = rpc_resp_encode(&resp, buf, sizeof(buf));
	cr_assert(gt(sz, (size_t)n, 0));
	cr_assert(eq(int, rpc_resp_decode(buf, (size_t)n, &back, NULL, 0), 0));
	cr_assert(eq(int, back.type, RPC_DUMP));
	cr_assert(eq(int, back.success, 0));
	cr_assert(eq(int, back.has_dump, 1));
	cr_assert(eq(int, back.restored, 0));
	cr_assert(eq(int, back.cr_errno, ENOENT));
	cr_assert(eq(str, back.errmsg, "no such dir"));

	rpc_resp_init(&resp, RPC_VERSION);
	resp.success = 1;
	resp.has_version = 1;
	resp.ver_major = 3;
	resp.ver_minor = 17;
	resp.ver_sublevel = 1;
	n = rpc_resp_encode(&resp, buf, sizeof(buf));
	cr_assert(eq(int, rpc_resp_decode(buf, (size_t)n, &back, NULL, 0), 0));
	cr_assert(eq(int, back.has_version, 1));
	cr_assert(eq(int, back.ver_major * 10000 + back.ver_minor * 100 + back.ver_sublevel, 31701));
	cr_assert(eq(int, back.success, 1));
	cr_assert(lt(sz, (size_t)n, 1024), "replies stay under 1024 bytes (p.haul's read size)");
}

Test(rpc, response_too_big_for_buffer)
{
	struct rpc_resp resp;
	char buf[4];

	rpc_resp_init(&resp, RPC_CHECK);
	rpc_resp_fail(&resp, EINVAL, "a message longer than four bytes");
	cr_assert(eq(int, (int)rpc_resp_encode(&resp, buf, sizeof(buf)), -EMSGSIZE));
}

Test(rpc, unsupported_options_are_recorded)
{
	/* criu_req{type=DUMP, opts{images_dir_fd=3, track_mem=true}} by hand:
	 * 08 01 | 12 04 | 08 03 78 01 */
	static const unsigned char msg[] = { 0x08, 0x01, 0x12, 0x04, 0x08, 0x03, 0x78, 0x01 };
	struct rpc_req req;
	char err[RPC_ERRMSG_MAX];

	cr_assert(eq(int, rpc_req_decode(msg, sizeof(msg), &req, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(int, req.type, RPC_DUMP));
	cr_assert(eq(int, req.opts.images_dir_fd, 3));
	cr_assert(eq(str, req.opts.unsupported, "track_mem"));
}

Test(rpc, unknown_type_decodes)
{
	static const unsigned char msg[] = { 0x08, 0x4d };   /* type = 77 */
	struct rpc_req req;
	char err[RPC_ERRMSG_MAX];

	cr_assert(eq(int, rpc_req_decode(msg, sizeof(msg), &req, err, sizeof(err)), 0));
	cr_assert(eq(int, req.type, 77));
	cr_assert(eq(str, (char *)rpc_type_name(77), "unknown"));
}

/* Each of these must be refused with -EBADMSG and a reason, never crash. */
static const struct { const char *what; unsigned char bytes[16]; size_t len; } bad[] = {
	{ "empty (no required type)", { 0 }, 0 },
	{ "garbage", { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 6 },
	{ "truncated varint", { 0x08 }, 1 },
	{ "truncated opts", { 0x08, 0x01, 0x12, 0x10, 0x08 }, 5 },
	{ "length beyond the buffer", { 0x08, 0x01, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f }, 8 },
	{ "wrong wire type for type", { 0x0a, 0x01, 0x00 }, 3 },
	{ "negative pid", { 0x08, 0x01, 0x12, 0x0d, 0x08, 0x03, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
			    0xff, 0xff, 0xff, 0x01 }, 16 },
};

ParameterizedTestParameters(rpc, hostile_requests)
{
	return test_index_params(sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(int *i, rpc, hostile_requests)
{
	struct rpc_req req;
	char err[RPC_ERRMSG_MAX] = "";

	cr_assert(eq(int, rpc_req_decode(bad[*i].bytes, bad[*i].len, &req, err, sizeof(err)), -EBADMSG),
		  "%s", bad[*i].what);
	cr_assert(ne(int, (int)strlen(err), 0), "%s: no reason given", bad[*i].what);
}

Test(rpc, oversize_strings_refused)
{
	struct rpc_req req, back;
	static char buf[8192];
	char err[RPC_ERRMSG_MAX];
	ssize_t n;

	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	memset(req.opts.images_dir, 'a', sizeof(req.opts.images_dir) - 1);
	req.opts.images_dir[0] = '/';
	n = rpc_req_encode(&req, buf, sizeof(buf));
	cr_assert(gt(sz, (size_t)n, 0));
	/* Just fits: accepted. */
	cr_assert(eq(int, rpc_req_decode(buf, (size_t)n, &back, err, sizeof(err)), 0), "%s", err);
	/* One byte longer than PATH_MAX-1, spliced by hand: opts{images_dir (68) = PATH_MAX x 'a'}. */
	size_t len = PATH_MAX, k = 0;
	static unsigned char raw[PATH_MAX + 32];
	raw[k++] = 0x08; raw[k++] = 0x01;               /* type DUMP */
	raw[k++] = 0x12;                                 /* opts, length below */
	size_t inner = 2 + 2 + len;                      /* tag(2) + len varint(2) + bytes */
	raw[k++] = (unsigned char)(0x80 | (inner & 0x7f)); raw[k++] = (unsigned char)(inner >> 7);
	raw[k++] = 0xa2; raw[k++] = 0x04;                /* field 68, wire type 2 */
	raw[k++] = (unsigned char)(0x80 | (len & 0x7f)); raw[k++] = (unsigned char)(len >> 7);
	memset(raw + k, 'a', len);
	k += len;
	cr_assert(eq(int, rpc_req_decode(raw, k, &back, err, sizeof(err)), -EBADMSG));
	cr_assert(not(eq(ptr, strstr(err, "images_dir"), NULL)), "%s", err);
}

Test(rpc, request_over_the_cap)
{
	static char buf[RPC_MSG_MAX + 1];
	struct rpc_req req;
	char err[RPC_ERRMSG_MAX];

	cr_assert(eq(int, rpc_req_decode(buf, sizeof(buf), &req, err, sizeof(err)), -EBADMSG));
}
