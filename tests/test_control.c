/*
 * test_control — the control socket server with a stand-in checkpoint (fake ops), driven
 * over a real SOCK_SEQPACKET socket: every request type, keep_open, the DUMP notification
 * sequence and its refusal, and hostile clients (garbage, truncation, oversize messages,
 * another user, fds that do not exist). After each hostile exchange the server must still
 * answer. With the real checkpoint (control_ckpt.c, in a private network namespace): at
 * post-dump the connection is in repair mode, the lock held and the images in place, and
 * stays so until the acknowledgement; a refused post-dump in exit mode resumes everything and
 * does not end the process. Also runs Debian's libcriu (tests/helpers/rpc_libcriu) against it when built.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/sockios.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include "control.h"
#include "fdtable.h"
#include "log.h"
#include "netlock.h"
#include "real.h"
#include "repair_fixture.h"
#include "test_util.h"

static char dir[64], sock[128];
static struct control_server *srv;
static int dumps, fail_dump;
static char seen[256];           /* notifications the fake dump saw answered */

static int fake_dump(void *ctx, struct control_dump *d, char *err, size_t errlen)
{
	static const char *const stages[] = { "network-lock", "post-dump", "network-unlock" };

	dumps++;
	int fd = openat(d->dir_fd, "fake.img", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	for (int i = 0; i < 3; i++) {
		int r = d->notify(d, stages[i]);
		strcat(seen, stages[i]);
		strcat(seen, r ? "! " : " ");
		if (r < 0) {
			snprintf(err, errlen, "stopped at %s", stages[i]);
			return r;
		}
	}
	if (fail_dump) {
		snprintf(err, errlen, "the fake dump fails");
		return -EIO;
	}
	return 0;
}

static int fake_check(void *ctx, char *err, size_t errlen)
{
	return 0;
}

static const struct control_ops fake_ops = {
	.dump = fake_dump, .check = fake_check, .stack_name = "kernel",
};

static void setup(void)
{
	char err[256];

	real_use_libc();
	snprintf(dir, sizeof(dir), "/tmp/sockshift-ctl-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
	snprintf(sock, sizeof(sock), "%s/c.sock", dir);
	cr_assert(eq(int, control_server_start(sock, &fake_ops, 0, &srv, err, sizeof(err)), 0),
		  "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	control_server_stop(srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert(eq(int, system(cmd), 0));
}

TestSuite(control, .init = setup, .fini = teardown);

static int connect_sock(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	strcpy(sun.sun_path, sock);
	cr_assert(eq(int, connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0));
	return fd;
}

static void send_req(int fd, const struct rpc_req *req)
{
	char buf[4096];
	ssize_t n = rpc_req_encode(req, buf, sizeof(buf));

	cr_assert(gt(sz, (size_t)n, 0));
	cr_assert(eq(int, control_send(fd, buf, (size_t)n), 0));
}

/* The next response, or -errno (-EPIPE: the server closed without answering). */
static int recv_resp(int fd, struct rpc_resp *resp)
{
	static char buf[RPC_MSG_MAX];
	ssize_t n = control_recv(fd, buf, sizeof(buf), 5000, NULL);

	if (n < 0)
		return (int)n;
	cr_assert(eq(int, rpc_resp_decode(buf, (size_t)n, resp, NULL, 0), 0), "undecodable response");
	return 0;
}

/* The server still works: a VERSION round trip. */
static void assert_alive(void)
{
	struct rpc_req req;
	struct rpc_resp resp;

	rpc_req_init(&req, RPC_VERSION);
	cr_assert(eq(int, control_call(sock, &req, &resp, NULL, 0, 5000), 0));
	cr_assert(eq(int, resp.success, 1));
}

static void call(int type, struct rpc_resp *resp)
{
	struct rpc_req req;

	rpc_req_init(&req, type);
	cr_assert(eq(int, control_call(sock, &req, resp, NULL, 0, 5000), 0));
}

Test(control, socket_mode_0600)
{
	struct stat st;

	cr_assert(eq(int, stat(sock, &st), 0));
	cr_assert(eq(int, (int)(st.st_mode & 0777), 0600));
	cr_assert(ne(int, S_ISSOCK(st.st_mode) ? 1 : 0, 0));
}

Test(control, version)
{
	struct rpc_resp r;

	call(RPC_VERSION, &r);
	cr_assert(eq(int, r.type, RPC_VERSION));
	cr_assert(eq(int, r.success, 1));
	cr_assert(eq(int, r.has_version, 1));
	cr_assert(ge(int, r.ver_major * 10000 + r.ver_minor * 100, 31500), "crun needs >= 3.15");
}

Test(control, feature_check_without_features)
{
	struct rpc_resp r;

	call(RPC_FEATURE_CHECK, &r);   /* CRIU itself would crash here: features is absent */
	cr_assert(eq(int, r.success, 1));
	cr_assert(eq(int, r.has_features, 1));
	cr_assert(eq(int, r.feat_mem_track + r.feat_lazy_pages + r.feat_pidfd_store, 0));
}

Test(control, check_uses_ops)
{
	struct rpc_resp r;

	call(RPC_CHECK, &r);
	cr_assert(eq(int, r.type, RPC_CHECK));
	cr_assert(eq(int, r.success, 1));
}

Test(control, pre_dump_refused)
{
	struct rpc_resp r;

	call(RPC_PRE_DUMP, &r);
	cr_assert(eq(int, r.type, RPC_PRE_DUMP));
	cr_assert(eq(int, r.success, 0));
	cr_assert(eq(int, r.cr_errno, EOPNOTSUPP));
	cr_assert(eq(int, r.has_dump, 1));
	cr_assert(ne(int, (int)strlen(r.errmsg), 0));
}

Test(control, unknown_and_unserved_types)
{
	struct rpc_resp r;

	call(77, &r);
	cr_assert(eq(int, r.type, RPC_EMPTY));
	cr_assert(eq(int, r.success, 0));
	cr_assert(eq(int, r.cr_errno, 56));
	call(RPC_RESTORE, &r);
	cr_assert(eq(int, r.type, RPC_RESTORE));
	cr_assert(eq(int, r.success, 0));
	call(RPC_NOTIFY, &r);
	cr_assert(eq(int, r.success, 0));
	assert_alive();
}

Test(control, keep_open_version_then_feature_check_then_dump_on_one_connection)
{
	struct rpc_req req;
	struct rpc_resp r;
	int fd = connect_sock();

	rpc_req_init(&req, RPC_VERSION);
	req.keep_open = 1;
	send_req(fd, &req);
	cr_assert(eq(int, recv_resp(fd, &r), 0));
	cr_assert(eq(int, r.success, 1));
	rpc_req_init(&req, RPC_FEATURE_CHECK);
	req.keep_open = 1;
	send_req(fd, &req);
	cr_assert(eq(int, recv_resp(fd, &r), 0));
	cr_assert(eq(int, r.type, RPC_FEATURE_CHECK));
	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	snprintf(req.opts.images_dir, sizeof(req.opts.images_dir), "%s", dir);
	send_req(fd, &req);
	cr_assert(eq(int, recv_resp(fd, &r), 0));
	cr_assert(eq(int, r.type, RPC_DUMP));
	cr_assert(eq(int, r.success, 1), "%s", r.errmsg);
	cr_assert(eq(int, r.has_dump, 1));
	cr_assert(eq(int, recv_resp(fd, &r), -EPIPE), "closed after a request without keep_open");
	close(fd);
}

Test(control, keep_open_not_allowed_on_dump)
{
	struct rpc_req req;
	struct rpc_resp r;

	rpc_req_init(&req, RPC_DUMP);
	req.keep_open = 1;
	req.has_opts = 1;
	snprintf(req.opts.images_dir, sizeof(req.opts.images_dir), "%s", dir);
	cr_assert(eq(int, control_call(sock, &req, &r, NULL, 0, 5000), 0));
	cr_assert(eq(int, r.success, 0));
	cr_assert(eq(int, r.cr_errno, 56));
	cr_assert(eq(int, dumps, 0));
}

/* DUMP with notify_scripts, answering each notification by hand. */
static void dump_with_notify(const char *refuse, char *order, size_t size, struct rpc_resp *last)
{
	struct rpc_req req, ack;
	struct rpc_resp r;
	int fd = connect_sock();
	char imgdir[96];

	snprintf(imgdir, sizeof(imgdir), "%s/img", dir);
	mkdir(imgdir, 0700);
	int dfd = open(imgdir, O_RDONLY | O_DIRECTORY);
	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	req.opts.images_dir_fd = dfd;      /* resolved through /proc/<our pid>/fd/<dfd> */
	req.opts.notify_scripts = 1;
	req.opts.leave_running = 1;
	snprintf(req.opts.log_file, sizeof(req.opts.log_file), "dump.log");
	send_req(fd, &req);
	order[0] = '\0';
	for (;;) {
		cr_assert(eq(int, recv_resp(fd, &r), 0));
		if (r.type != RPC_NOTIFY)
			break;
		cr_assert(eq(int, r.success, 1));
		strncat(order, r.notify_script, size - strlen(order) - 2);
		strcat(order, " ");
		rpc_req_init(&ack, RPC_NOTIFY);
		ack.has_notify_success = 1;
		ack.notify_success = strcmp(r.notify_script, refuse) != 0;
		send_req(fd, &ack);
	}
	*last = r;
	close(dfd);
	close(fd);
}

Test(control, dump_notifications_in_order)
{
	char order[256], path[128];
	struct rpc_resp r;

	dump_with_notify("", order, sizeof(order), &r);
	cr_assert(eq(str, order, "pre-dump network-lock post-dump network-unlock "));
	cr_assert(eq(int, r.type, RPC_DUMP));
	cr_assert(eq(int, r.success, 1), "%s", r.errmsg);
	cr_assert(eq(int, r.has_dump, 1));
	cr_assert(eq(int, r.restored, 0));
	snprintf(path, sizeof(path), "%s/img/fake.img", dir);
	cr_assert(eq(int, access(path, F_OK), 0), "the dump wrote into the client's directory");
	snprintf(path, sizeof(path), "%s/img/dump.log", dir);
	cr_assert(eq(int, access(path, F_OK), 0), "log_file created in the images directory");
}

Test(control, dump_refused_at_post_dump)
{
	char order[256];
	struct rpc_resp r;

	dump_with_notify("post-dump", order, sizeof(order), &r);
	/* After a failure that followed network-lock, network-unlock is still sent (as CRIU). */
	cr_assert(eq(str, order, "pre-dump network-lock post-dump network-unlock "));
	cr_assert(eq(str, seen, "network-lock post-dump! "));
	cr_assert(eq(int, r.type, RPC_DUMP));
	cr_assert(eq(int, r.success, 0));
	cr_assert(eq(int, r.cr_errno, ECANCELED));
	assert_alive();
}

static void dump_expect(struct rpc_req *req, int err, const char *what)
{
	struct rpc_resp r;

	cr_assert(eq(int, control_call(sock, req, &r, NULL, 0, 5000), 0), "%s", what);
	cr_assert(eq(int, r.type, RPC_DUMP), "%s", what);
	cr_assert(eq(int, r.success, 0), "%s", what);
	cr_assert(eq(int, r.cr_errno, err), "%s: %s", what, r.errmsg);
	cr_assert(ne(int, (int)strlen(r.errmsg), 0), "%s", what);
	cr_assert(eq(int, dumps, 0), "%s: the dump ran", what);
}

Test(control, dump_refusals)
{
	struct rpc_req req;

	rpc_req_init(&req, RPC_DUMP);
	dump_expect(&req, 56, "no opts");
	req.has_opts = 1;
	dump_expect(&req, 56, "neither images_dir_fd nor images_dir");
	req.opts.images_dir_fd = 987;
	dump_expect(&req, ENOENT, "an fd the client does not have");
	req.opts.images_dir_fd = 0;     /* old libcriu's "unset": stdin, not a directory here */
	int fd = open("/dev/null", O_RDONLY);
	dup2(fd, 0);
	dump_expect(&req, ENOTDIR, "images_dir_fd 0 that is not a directory");
	req.opts.images_dir_fd = -1;
	snprintf(req.opts.images_dir, sizeof(req.opts.images_dir), "relative/dir");
	dump_expect(&req, 56, "a relative images_dir");
	snprintf(req.opts.images_dir, sizeof(req.opts.images_dir), "%s/missing", dir);
	dump_expect(&req, ENOENT, "a missing images_dir");
	snprintf(req.opts.images_dir, sizeof(req.opts.images_dir), "%s", dir);
	req.opts.has_pid = 1;
	req.opts.pid = getpid() + 100000;
	dump_expect(&req, ESRCH, "another pid");
	req.opts.has_pid = 0;
	snprintf(req.opts.log_file, sizeof(req.opts.log_file), "../x.log");
	dump_expect(&req, 56, "a log_file with a '/'");
	assert_alive();
}

Test(control, dump_failure_reported)
{
	struct rpc_req req;
	struct rpc_resp r;

	fail_dump = 1;
	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	snprintf(req.opts.images_dir, sizeof(req.opts.images_dir), "%s", dir);
	cr_assert(eq(int, control_call(sock, &req, &r, NULL, 0, 5000), 0));
	cr_assert(eq(int, r.success, 0));
	cr_assert(eq(int, r.cr_errno, EIO));
	cr_assert(eq(str, r.errmsg, "the fake dump fails"));
	cr_assert(eq(int, r.has_dump, 1));
}

/* Raw bytes in one message; returns the reply's cr_errno, or -EPIPE if none came. */
static int raw_exchange(const void *buf, size_t len, struct rpc_resp *r)
{
	int fd = connect_sock(), ret;

	if (len)
		cr_assert(eq(int, control_send(fd, buf, len), 0));
	else
		cr_assert(eq(int, (int)send(fd, "", 0, 0), 0));
	ret = recv_resp(fd, r);
	close(fd);
	return ret < 0 ? ret : r->cr_errno;
}

Test(control, hostile_messages)
{
	static char big[RPC_MSG_MAX + 100];
	static const unsigned char trunc[] = { 0x08, 0x01, 0x12, 0x10, 0x08 };
	struct rpc_resp r;

	cr_assert(eq(int, raw_exchange("\xff\xfe\xfd garbage", 12, &r), EBADMSG));
	cr_assert(eq(int, r.type, RPC_EMPTY));
	cr_assert(eq(int, r.success, 0));
	assert_alive();
	cr_assert(eq(int, raw_exchange(trunc, sizeof(trunc), &r), EBADMSG));
	assert_alive();
	memset(big, 0x08, sizeof(big));
	cr_assert(eq(int, raw_exchange(big, sizeof(big), &r), EMSGSIZE));
	cr_assert(not(eq(ptr, strstr(r.errmsg, "65636"), NULL)), "%s", r.errmsg);
	assert_alive();
	cr_assert(eq(int, raw_exchange("", 0, &r), -EPIPE), "an empty message closes quietly");
	assert_alive();
}

Test(control, silent_client_does_not_block_others_forever)
{
	/* A client that connects and says nothing holds the server only until it goes. */
	int fd = connect_sock();
	close(fd);
	assert_alive();
}

Test(control, another_user_refused)
{
	pid_t pid;
	int status;

	cr_assert(eq(int, chmod(sock, 0666), 0));    /* let the other user reach the socket */
	cr_assert(eq(int, chmod(dir, 0755), 0));
	pid = fork();
	if (pid == 0) {
		struct rpc_req req;
		struct rpc_resp r;
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		rpc_req_init(&req, RPC_VERSION);
		if (control_call(sock, &req, &r, NULL, 0, 5000) < 0)
			_exit(4);
		_exit(r.success == 0 && r.cr_errno == EPERM && r.type == RPC_VERSION ? 0 : 5);
	}
	cr_assert(eq(int, waitpid(pid, &status, 0), pid));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		cr_skip_test("cannot drop privileges to uid 65534 here");
	cr_assert(eq(int, WEXITSTATUS(status), 0), "child status %d", WEXITSTATUS(status));
	assert_alive();
}

Test(control, list_reports_process)
{
	struct rpc_sock socks[8];
	struct rpc_req req;
	struct rpc_resp r;

	rpc_req_init(&req, RPC_SOCKSHIFT_LIST);
	cr_assert(eq(int, control_call(sock, &req, &r, socks, 8, 5000), 0));
	cr_assert(eq(int, r.success, 1));
	cr_assert(eq(int, r.has_process, 1));
	cr_assert(eq(int, r.proc_pid, (int)getpid()));
	cr_assert(eq(str, r.proc_stack, "kernel"));
}

Test(control, path_in_use_not_taken_over)
{
	char err[256];
	int fd = control_listen(sock, err, sizeof(err));

	cr_assert(eq(int, fd, -EADDRINUSE), "%s", err);
}

Test(control, stale_socket_replaced)
{
	char path[128], err[256];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0), fd;

	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	strcpy(sun.sun_path, path);
	cr_assert(eq(int, bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0));
	close(s);     /* the file stays, nobody listens */
	fd = control_listen(path, err, sizeof(err));
	cr_assert(ge(int, fd, 0), "%s", err);
	close(fd);
}

Test(control, default_path_named_by_pid)
{
	char path[PATH_MAX], want[32];

	cr_assert(eq(int, control_default_path(1234, path, sizeof(path)), 0));
	snprintf(want, sizeof(want), "/1234.sock");
	cr_assert(eq(str, path + strlen(path) - strlen(want), want));
}

/* ---- the real checkpoint behind the socket (control_ckpt.c): notifications at their moments ---- */
static int done_calls;

static void count_done(void *ctx, struct control_dump *d)
{
	done_calls++;          /* control_ckpt_done would end this process in exit mode */
}

static int repair_on(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert(eq(int, getsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &v, &len), 0));
	return v;
}

static int lock_held(void)
{
	char *out = NULL;
	int held;

	cr_assert(eq(int, netlock_cmd("list tables inet\n", &out), 0));
	held = out && strstr(out, "sockshift_") != NULL;
	free(out);
	return held;
}

static void recv_one(int fd, char want)
{
	char b = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	cr_assert(eq(int, poll(&p, 1, 10000), 1), "no data within 10 s after the dump");
	cr_assert(eq(int, (int)recv(fd, &b, 1, 0), 1));
	cr_assert(eq(chr, b, want));
}

/*
 * A tracked connection a (its peer c untracked), a DUMP with notify_scripts answered by hand:
 * at post-dump a must be in repair mode, the lock held and the images in the directory; c
 * sends a byte then, which a must get after the dump. refuse_post: answer post-dump with
 * notify_success=false.
 */
static void real_dump(int leave_running, int refuse_post, char *order, size_t size,
		      struct rpc_resp *last)
{
	static const struct control_ops real_ops = {
		.dump = control_ckpt_dump, .dump_done = count_done, .check = control_ckpt_check,
		.stack_name = "kernel",
	};
	struct control_server *rs;
	union repair_addr la = fx_addr(FAM4, 0);
	socklen_t len = sizeof(la);
	char err[256], rsock[128], imgdir[96], path[160];
	struct rpc_req req, ack;
	struct rpc_resp r;
	struct fdt_rec rec;
	int l, c, a, fd, dfd, err_ns = fx_netns();
	struct netlock *nl;

	if (err_ns == -EPERM || err_ns == -EACCES)
		cr_skip_test("cannot unshare a network namespace");
	cr_assert(eq(int, err_ns, 0));
	if (netlock_create(&nl) < 0)
		cr_skip_test("nftables is not usable here");
	netlock_destroy(nl);
	fdt_clear();
	l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, bind(l, &la.sa, sizeof(la.v4)), 0));
	cr_assert(eq(int, listen(l, 4), 0));
	getsockname(l, &la.sa, &len);
	c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(c, &la.sa, sizeof(la.v4)), 0));
	a = accept(l, NULL, NULL);
	cr_assert(ge(int, a, 0));
	fdt_rec_init(&rec, a, AF_INET, SOCK_STREAM, 0, 0, FDT_ORIGIN_SOCKET);
	cr_assert(eq(int, fdt_add(&rec), 0));

	snprintf(rsock, sizeof(rsock), "%s/real.sock", dir);
	cr_assert(eq(int, control_server_start(rsock, &real_ops, 0, &rs, err, sizeof(err)), 0),
		  "%s", err);
	snprintf(imgdir, sizeof(imgdir), "%s/img", dir);
	mkdir(imgdir, 0700);
	dfd = open(imgdir, O_RDONLY | O_DIRECTORY);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	strcpy(sun.sun_path, rsock);
	cr_assert(eq(int, connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0));
	rpc_req_init(&req, RPC_DUMP);
	req.has_opts = 1;
	req.opts.images_dir_fd = dfd;
	req.opts.notify_scripts = 1;
	req.opts.leave_running = leave_running;
	req.opts.tcp_established = 1;
	send_req(fd, &req);
	order[0] = '\0';
	for (;;) {
		cr_assert(eq(int, recv_resp(fd, &r), 0));
		if (r.type != RPC_NOTIFY)
			break;
		strncat(order, r.notify_script, size - strlen(order) - 2);
		strcat(order, " ");
		if (!strcmp(r.notify_script, "network-lock")) {
			cr_assert(eq(int, lock_held(), 1), "network-lock before the lock");
			cr_assert(eq(int, repair_on(a), 0));
		} else if (!strcmp(r.notify_script, "post-dump")) {
			cr_assert(eq(int, repair_on(a), 1), "post-dump: the connection is not frozen");
			cr_assert(eq(int, lock_held(), 1), "post-dump: the network lock is not held");
			snprintf(path, sizeof(path), "%s/files.img", imgdir);
			cr_assert(eq(int, access(path, F_OK), 0), "post-dump before the images are in place");
			cr_assert(eq(int, (int)send(c, "z", 1, 0), 1));
			usleep(200000);
			cr_assert(eq(int, repair_on(a), 1), "the connection thawed before the acknowledgement");
			int outq = -1;
			cr_assert(eq(int, ioctl(c, SIOCOUTQ, &outq), 0));
			cr_assert(eq(int, outq, 1), "the byte sent while frozen was acknowledged");
		} else if (!strcmp(r.notify_script, "network-unlock")) {
			cr_assert(eq(int, repair_on(a), 0), "network-unlock: still frozen");
			cr_assert(eq(int, lock_held(), 0), "network-unlock: the lock is still there");
		}
		rpc_req_init(&ack, RPC_NOTIFY);
		ack.has_notify_success = 1;
		ack.notify_success = !(refuse_post && !strcmp(r.notify_script, "post-dump"));
		send_req(fd, &ack);
	}
	*last = r;
	cr_assert(eq(int, repair_on(a), 0), "the connection is still frozen after the reply");
	cr_assert(eq(int, lock_held(), 0));
	recv_one(a, 'z');          /* sent during post-dump, delivered after */
	cr_assert(eq(int, (int)send(a, "y", 1, 0), 1));
	recv_one(c, 'y');
	close(fd);
	close(dfd);
	control_server_stop(rs);
}

Test(control, real_dump_resume_frozen_at_post_dump)
{
	char order[256];
	struct rpc_resp r;

	real_dump(1, 0, order, sizeof(order), &r);
	cr_assert(eq(str, order, "pre-dump network-lock post-dump network-unlock "));
	cr_assert(eq(int, r.type, RPC_DUMP));
	cr_assert(eq(int, r.success, 1), "%s", r.errmsg);
	cr_assert(eq(int, done_calls, 1));
}

Test(control, real_dump_exit_mode_refused_post_dump_keeps_running)
{
	char order[256];
	struct rpc_resp r;

	real_dump(0, 1, order, sizeof(order), &r);
	cr_assert(eq(str, order, "pre-dump network-lock post-dump network-unlock "));
	cr_assert(eq(int, r.type, RPC_DUMP));
	cr_assert(eq(int, r.success, 0));
	cr_assert(eq(int, r.cr_errno, ECANCELED));
	cr_assert(ne(ptr, strstr(r.errmsg, "post-dump"), NULL), "%s", r.errmsg);
	cr_assert(eq(int, done_calls, 0), "dump_done (the exit) ran after a refused post-dump");
	assert_alive();
}

static int run_libcriu(const char *args, char *out, size_t size)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s/tests/helpers/rpc_libcriu", b);
	if (access(cmd, X_OK) != 0)
		return -ENOENT;
	snprintf(cmd, sizeof(cmd), "%s/tests/helpers/rpc_libcriu %s %s", b, sock, args);
	p = popen(cmd, "r");
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	pclose(p);
	return 0;
}

Test(control, libcriu_client)
{
	char out[512], args[128];

	if (run_libcriu("version", out, sizeof(out)) < 0)
		cr_skip_test("tests/helpers/rpc_libcriu is not built (needs libcriu: pkg-config criu)");
	cr_assert(eq(str, out, "version 31701\n"));
	run_libcriu("check", out, sizeof(out));
	cr_assert(eq(str, out, "check 0\n"));
	snprintf(args, sizeof(args), "dump %s", dir);
	run_libcriu(args, out, sizeof(out));
	cr_assert(eq(str, out, "notify pre-dump\nnotify network-lock\nnotify post-dump\n"
			       "notify network-unlock\ndump 0\n"));
	cr_assert(eq(int, dumps, 1));
	snprintf(args, sizeof(args), "dump %s post-dump", dir);
	run_libcriu(args, out, sizeof(out));
	cr_assert(eq(str, out, "notify pre-dump\nnotify network-lock\nnotify post-dump\ndump -1\n"),
		  "libcriu returns -1 when its notify callback fails");
	run_libcriu("dumpfd 999", out, sizeof(out));
	cr_assert(eq(str, out, "dump -52\n"));
	assert_alive();
}
