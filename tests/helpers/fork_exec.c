/*
 * fork_exec — a child started by exec uses a listening socket its parent created.
 *
 *   fork_exec MODE        MODE: fork-exec | fork-exec-emptyenv | vfork | posix_spawn |
 *                               posix_spawnp | spawn-emptyenv | sh
 *   fork_exec child FD    (what the parent starts)
 *
 * The parent makes a listening socket on 127.0.0.1 *without* FD_CLOEXEC, starts this
 * program again as "child FD" in the way MODE says (the -emptyenv modes pass an empty
 * environment, like env -i; "sh" goes through /bin/sh -c 'exec ...'), closes its own copy
 * of the listener, then connects, sends a ping and prints the reply. The child checks the
 * fd is still a listening socket, accepts, answers, and prints its pid.
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "helpers.h"

extern char **environ;

static int child(int fd)
{
	int acc = 0;
	socklen_t l = sizeof(acc);
	char buf[256], reply[400];

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 || !acc)
		die("child: fd %d is not a listening socket", fd);
	int c = accept(fd, NULL, NULL);
	if (c < 0)
		die("child: accept");
	ssize_t n = recv(c, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		die("child: recv");
	buf[n] = 0;
	int len = snprintf(reply, sizeof(reply), "pong from child to '%s'", buf);
	send_all(c, reply, (size_t)len);
	close(c);
	close(fd);
	/* What environment did the child get? Entries other than LD_PRELOAD and SOCKSHIFT_*
	 * are the program's own; the shim may only add those two kinds. */
	int other = 0, preload = 0;
	for (char **e = environ; *e; e++) {
		if (!strncmp(*e, "LD_PRELOAD=", 11))
			preload = 1;
		else if (strncmp(*e, "SOCKSHIFT_", 10))
			other++;
	}
	printf("child env: other=%d preload=%s\n", other, preload ? "yes" : "no");
	printf("child pid=%d accepted on inherited fd %d\n", (int)getpid(), fd);
	return 0;
}

int main(int argc, char **argv)
{
	char self[4096], fdarg[16], sh_cmd[4200];
	char *empty_env[] = { NULL };
	pid_t pid = -1;
	int port;

	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(atoi(argv[2]));
	if (argc != 2)
		return fprintf(stderr, "usage: fork_exec MODE | child FD\n"), 2;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		die("readlink");
	self[sl] = 0;

	const char *mode = argv[1];
	int lfd = listen_lo(&port, 0);
	snprintf(fdarg, sizeof(fdarg), "%d", lfd);
	char *cargv[] = { self, "child", fdarg, NULL };
	fflush(stdout);

	if (!strcmp(mode, "fork-exec") || !strcmp(mode, "fork-exec-emptyenv")) {
		pid = fork();
		if (pid == 0) {
			execve(self, cargv, strchr(mode + 5, '-') ? empty_env : environ);
			_exit(127);
		}
	} else if (!strcmp(mode, "vfork")) {
		pid = vfork();
		if (pid == 0) {
			execve(self, cargv, environ);
			_exit(127);
		}
	} else if (!strcmp(mode, "posix_spawn") || !strcmp(mode, "spawn-emptyenv")) {
		int r = posix_spawn(&pid, self, NULL, NULL, cargv, mode[0] == 's' ? empty_env : environ);
		if (r)
			{ errno = r; die("posix_spawn"); }
	} else if (!strcmp(mode, "posix_spawnp")) {
		int r = posix_spawnp(&pid, self, NULL, NULL, cargv, environ);
		if (r)
			{ errno = r; die("posix_spawnp"); }
	} else if (!strcmp(mode, "sh")) {
		snprintf(sh_cmd, sizeof(sh_cmd), "exec '%s' child %d", self, lfd);
		pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", sh_cmd, (char *)NULL);
			_exit(127);
		}
	} else {
		return fprintf(stderr, "fork_exec: unknown mode %s\n", mode), 2;
	}
	if (pid < 0)
		die("starting the child");
	close(lfd); /* from now on only the child holds the listener */

	char ping[64], reply[512];
	int n = snprintf(ping, sizeof(ping), "ping from parent %d", (int)getpid());
	int c = connect_lo(port);
	send_all(c, ping, (size_t)n);
	size_t got = recv_all(c, reply, sizeof(reply) - 1);
	reply[got] = 0;
	close(c);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	printf("parent pid=%d mode=%s child=%d reply=\"%s\" child-status=%d\n", (int)getpid(), mode,
	       (int)pid, reply, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 && got > 0 ? 0 : 1;
}
