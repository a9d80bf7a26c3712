/*
 * stack_vsock — the vsock stack: "vsock" (or "vsock:guest") inside a VM or enclave, where
 * the program's TCP goes over AF_VSOCK; "vsock:/PATH" on the host of a Firecracker or Cloud
 * Hypervisor VM, where it goes through the VMM's Unix socket PATH (hybrid vsock, hvsock.h).
 *
 * Opening it reads the mapping rules (config keys vsock_connect / vsock_listen, variables
 * SOCKSHIFT_VSOCK_CONNECT / SOCKSHIFT_VSOCK_LISTEN; syntax in vsock.h) and checks the
 * transport is there: in a guest /dev/vsock answers IOCTL_VM_SOCKETS_GET_LOCAL_CID and an
 * AF_VSOCK socket can be made (nothing is connected or sent); in hybrid mode PATH is a Unix
 * socket. Otherwise the program stops at start (fail closed). One vsock stack per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "config.h"
#include "hvsock.h"
#include "log.h"
#include "rawsys.h"
#include "real.h"
#include "stack.h"
#include "vsock_sock.h"

extern char **environ;

static int vsock_socket(struct stack *st, int domain, int type, int protocol)
{
	return vsock_sock_socket(domain, type, protocol);
}

static const struct stack_ops vsock_ops = { .socket = vsock_socket };

static int open_guest(struct vsock_state *vs, char *why, size_t whylen)
{
	unsigned int cid = VMADDR_CID_ANY;
	long fd = rawsys4(SYS_openat, AT_FDCWD, (long)"/dev/vsock", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0) {
		log_fmt(why, whylen, "/dev/vsock: %s (no vsock transport: load vsock_loopback, "
			"virtio_vsock or vmw_vsock)", log_errname((int)fd));
		return (int)fd;
	}
	long r = rawsys3(SYS_ioctl, fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, (long)&cid);
	rawsys1(SYS_close, fd);
	if (r < 0) {
		log_fmt(why, whylen, "/dev/vsock: cannot read the local CID: %s", log_errname((int)r));
		return (int)r;
	}
	int s = real.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		int e = errno;
		log_fmt(why, whylen, "cannot create an AF_VSOCK stream socket: %s", log_errname(e));
		return -e;
	}
	rawsys1(SYS_close, s);
	vs->local_cid = cid;
	return 0;
}

static int open_hybrid(struct vsock_state *vs, const char *path, char *why, size_t whylen)
{
	char probe[108];
	struct stat sb;

	if (path[0] != '/') {
		log_fmt(why, whylen, "'%.100s' is not an absolute path to the VMM's vsock socket", path);
		return -EINVAL;
	}
	if (hvsock_listen_path(path, 0xffffffffu, probe, sizeof(probe)) < 0) {
		log_fmt(why, whylen, "'%.100s' is too long for a Unix socket name with a _PORT suffix",
			path);
		return -ENAMETOOLONG;
	}
	if (stat(path, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		log_fmt(why, whylen, "'%.100s' is not a Unix socket (is the VMM running with its "
			"vsock device on that uds_path?)", path);
		return -ENOENT;
	}
	memcpy(vs->uds, path, strlen(path) + 1);
	vs->hybrid = 1;
	vs->local_cid = VSOCK_CID_HOST;
	return 0;
}

int stack_vsock_open(struct stack *st, const char *arg, char *why, size_t whylen)
{
	static struct config cfg;       /* large; opened once at start */
	struct vsock_state vs;
	char err[CONFIG_ERR_MAX];
	int r;

	if (vsock_state.open) {
		log_fmt(why, whylen, "only one vsock stack per process");
		return -EEXIST;
	}
	memset(&vs, 0, sizeof(vs));
	/* The rules are configuration; stacks are opened from the same environment. */
	r = config_load(&cfg, environ, err, sizeof(err));
	if (r < 0) {
		log_fmt(why, whylen, "%s", err);
		return r;
	}
	r = vsock_rules_parse(cfg.vsock_connect, VSOCK_RULE_CONNECT, &vs.out, err, sizeof(err));
	if (r == 0)
		r = vsock_rules_parse(cfg.vsock_listen, VSOCK_RULE_LISTEN, &vs.in, err, sizeof(err));
	if (r < 0) {
		log_fmt(why, whylen, "%s", err);
		return r;
	}
	if (vs.out.n == 0 && vs.in.n == 0) {
		log_fmt(why, whylen, "no mapping rules: set vsock_connect and/or vsock_listen "
			"(SOCKSHIFT_VSOCK_CONNECT, SOCKSHIFT_VSOCK_LISTEN)");
		return -EINVAL;
	}
	if (!arg[0] || strcmp(arg, "guest") == 0)
		r = open_guest(&vs, why, whylen);
	else
		r = open_hybrid(&vs, arg, why, whylen);
	if (r < 0)
		return r;
	vs.stack_id = st->id;
	vs.open = 1;
	vsock_state = vs;
	st->ops = &vsock_ops;
	logi("vsock stack: %s, local CID %u, %u connect rule(s), %u listen rule(s)",
	     vs.hybrid ? vs.uds : "AF_VSOCK", vs.local_cid, vs.out.n, vs.in.n);
	return 0;
}
