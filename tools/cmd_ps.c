/*
 * cmd_ps — `sockshift ps [--json] [SOCKET...]`: the shimmed processes of this user and their
 * sockets, asked over each process's control socket (SOCKSHIFT_LIST, control.h).
 *
 * Without arguments it looks in every default control directory of this user
 * (control_default_dirs) for PID.sock; a socket whose process is gone is removed. A process
 * started with SOCKSHIFT_CONTROL=PATH is listed when PATH is given.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "util.h"

static void ps_usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift ps [--json] [SOCKET...]\n"
		"\n"
		"Lists the processes of this user running under sockshift and their sockets, by\n"
		"asking each process's control socket (default: $XDG_RUNTIME_DIR/sockshift/PID.sock,\n"
		"/run/user/UID/sockshift/PID.sock or /tmp/sockshift-UID/PID.sock). Control sockets\n"
		"left by processes that are gone are removed. SOCKET names control sockets to ask\n"
		"instead (for processes started with SOCKSHIFT_CONTROL=PATH).\n"
		"Exit status: 0 ok (also when no process is found), 1 a named socket did not answer,\n"
		"2 usage error.\n");
}

static void state_text(unsigned st, char *buf, size_t size)
{
	log_fmt(buf, size, "%s%s%s%s", st & FDT_LISTENING ? "LISTEN" : st & FDT_CONNECTED ?
		"CONNECTED" : st & FDT_BOUND ? "BOUND" : "-", st & FDT_SHUT_RD ? ",SHUT_RD" : "",
		st & FDT_SHUT_WR ? ",SHUT_WR" : "", "");
}

static int nprinted;

static void print_proc(const char *path, const struct rpc_resp *r, int json)
{
	char st[48];

	if (json) {
		printf("%s{\"pid\": %d, \"uid\": %u, \"comm\": ", nprinted ? ", " : "", r->proc_pid,
		       r->proc_uid);
		util_json_str(r->proc_comm);
		printf(", \"stack\": ");
		util_json_str(r->proc_stack);
		printf(", \"version\": ");
		util_json_str(r->proc_version);
		printf(", \"control\": ");
		util_json_str(path);
		printf(", \"sockets\": [");
		for (unsigned i = 0; i < r->nsocks; i++) {
			const struct rpc_sock *s = &r->socks[i];
			state_text(s->state, st, sizeof(st));
			printf("%s{\"fd\": %d, \"family\": \"%s\", \"type\": \"%s\", \"state\": \"%s\", "
			       "\"local\": ", i ? ", " : "", s->fd, addr_family_name(s->domain),
			       addr_type_name(s->type), st);
			util_json_str(s->local);
			printf(", \"peer\": ");
			util_json_str(s->peer);
			printf(", \"stack\": ");
			util_json_str(s->stack);
			printf("}");
		}
		printf("]}");
	} else {
		printf("%-8d %-16s %-10s %-7u %s\n", r->proc_pid, r->proc_comm, r->proc_stack,
		       r->nsocks, path);
		for (unsigned i = 0; i < r->nsocks; i++) {
			const struct rpc_sock *s = &r->socks[i];
			state_text(s->state, st, sizeof(st));
			printf("    fd %-4d %-6s %-7s %-10s %s%s%s\n", s->fd, addr_family_name(s->domain),
			       addr_type_name(s->type), st, s->local[0] ? s->local : "-",
			       s->peer[0] ? " -> " : "", s->peer);
		}
	}
	nprinted++;
}

/* 0 listed, -errno if the socket did not answer. */
static int ask(const char *path, int json, struct rpc_sock *socks)
{
	struct rpc_req req;
	struct rpc_resp resp;
	int r;

	rpc_req_init(&req, RPC_SOCKSHIFT_LIST);
	r = control_call(path, &req, &resp, socks, RPC_LIST_MAX, 3000);
	if (r < 0)
		return r;
	if (!resp.success || !resp.has_process) {
		util_warn("ps: %s: %s", path, resp.errmsg[0] ? resp.errmsg : "no process information");
		return -EPROTO;
	}
	print_proc(path, &resp, json);
	return 0;
}

static void scan_dir(const char *dir, int json, struct rpc_sock *socks)
{
	char path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || strcmp(end, ".sock"))
			continue;
		log_fmt(path, sizeof(path), "%s/%s", dir, e->d_name);
		int r = ask(path, json, socks);
		if ((r == -ECONNREFUSED || r == -ENOENT) && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlink(path);   /* its process is gone */
		else if (r < 0 && r != -EPROTO)
			util_warn("ps: %s: %s", path, strerror(-r));
	}
	closedir(d);
}

int cmd_ps(int argc, char **argv)
{
	char dirs[4][PATH_MAX];
	int json = 0, named = 0, failed = 0, n;
	struct rpc_sock *socks = calloc(RPC_LIST_MAX, sizeof(*socks));

	if (!socks)
		util_die(EXIT_OPFAIL, "ps: out of memory");
	real_use_libc();
	for (int i = 1; i < argc; i++) {
		if (util_is_help(argv[i])) {
			ps_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-') {
			util_warn("ps: unknown option '%s'", argv[i]);
			ps_usage(stderr);
			return EXIT_USAGE;
		} else {
			named++;
		}
	}
	if (json)
		printf("[");
	else
		printf("%-8s %-16s %-10s %-7s %s\n", "PID", "COMMAND", "STACK", "SOCKETS", "CONTROL");
	if (named) {
		for (int i = 1; i < argc; i++) {
			if (argv[i][0] == '-')
				continue;
			int r = ask(argv[i], json, socks);
			if (r < 0) {
				if (r != -EPROTO)
					util_warn("ps: %s: %s", argv[i], strerror(-r));
				failed = 1;
			}
		}
	} else {
		n = control_default_dirs(dirs, 4);
		for (int i = 0; i < n; i++) {
			int dup = 0;
			for (int j = 0; j < i; j++)
				dup |= !strcmp(dirs[i], dirs[j]);
			if (!dup)
				scan_dir(dirs[i], json, socks);
		}
	}
	if (json)
		printf("]\n");
	free(socks);
	return failed ? EXIT_OPFAIL : 0;
}
