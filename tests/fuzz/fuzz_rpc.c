/*
 * fuzz_rpc — libFuzzer target for the control socket's request path: every input is decoded
 * as a criu_req, answered (encoded and decoded back), and also sent as one SOCK_SEQPACKET
 * message to a full server session (control_serve_peer) over a socketpair. The session has
 * no dump handler, so no input can make it write files; it must answer or close, never crash,
 * hang or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "real.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct control_ops no_dump_ops = { .stack_name = "kernel" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_peer peer = { .pid = getpid(), .uid = geteuid(), .gid = getegid() };
	static char out[RPC_MSG_MAX];
	char err[RPC_ERRMSG_MAX];
	struct rpc_resp resp, back;
	struct rpc_req req;
	int sv[2];

	real_use_libc();
	if (rpc_req_decode(data, size, &req, err, sizeof(err)) == 0) {
		rpc_resp_init(&resp, req.type);
		rpc_resp_fail(&resp, 1, "%s", rpc_type_name(req.type));
		ssize_t n = rpc_resp_encode(&resp, out, sizeof(out));
		if (n < 0 || rpc_resp_decode(out, (size_t)n, &back, NULL, 0) < 0)
			__builtin_trap();
		n = rpc_req_encode(&req, out, sizeof(out));
		if (n < 0)
			__builtin_trap();
	}
	if (size == 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (send(sv[0], data, size, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)size) {
		shutdown(sv[0], SHUT_WR);
		control_serve_peer(sv[1], &peer, &no_dump_ops);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
