/*
 * fd_list — what fds does a program really have? For the "no shim fd leaks" test.
 *
 *   fd_list                 prints "fd N TARGET" for each open fd (TARGET: the path, or
 *                           "socket"/"pipe"/"anon_inode" without the varying inode number);
 *                           fds at 900 and above (where sockshift keeps its own) get
 *                           " cloexec" or " inheritable" appended
 *   fd_list exec LOGFILE    opens a socket with and one without FD_CLOEXEC, then execs
 *   fd_list spawn LOGFILE   (or posix_spawns and waits for) "fd_list" with
 *                           SOCKSHIFT_LOG_FILE=LOGFILE in its environment, so that a shim
 *                           in the child logs to its own file, not the parent's.
 */
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "helpers.h"

extern char **environ;

static int list(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[4096], n = 0;

	if (!d)
		die("opendir");
	while ((e = readdir(d)) && n < 4096) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	/* readdir order is already numeric for /proc/self/fd, but do not rely on it */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1], fds[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		char path[64], target[4096];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		ssize_t l = readlink(path, target, sizeof(target) - 1);
		if (l < 0)
			continue;
		target[l] = 0;
		char *colon = strchr(target, ':');
		if (target[0] != '/' && colon)
			*colon = 0; /* "socket:[123]" -> "socket" */
		int fdflags = fcntl(fds[i], F_GETFD);
		printf("fd %d %s%s\n", fds[i], target,
		       fds[i] < 900 ? "" : (fdflags & FD_CLOEXEC) ? " cloexec" : " inheritable");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return list();
	if (argc != 3)
		return fprintf(stderr, "usage: fd_list [exec|spawn LOGFILE]\n"), 2;

	char self[4096], logvar[4200];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		die("readlink");
	self[sl] = 0;
	if (socket(AF_INET, SOCK_STREAM, 0) < 0 || socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
		die("socket");

	/* environ without SOCKSHIFT_LOG_FILE, plus ours */
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SOCKSHIFT_LOG_FILE=", 19))
			env[k++] = environ[i];
	snprintf(logvar, sizeof(logvar), "SOCKSHIFT_LOG_FILE=%s", argv[2]);
	env[k++] = logvar;
	env[k] = NULL;

	/* The parent's own view first, to a file the test names: its shim's fds must all be
	 * close-on-exec, so that none of them can reach the child. */
	const char *pl = getenv("FD_LIST_PARENT");
	if (pl) {
		fflush(stdout);
		int saved = dup(1), f = open(pl, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (saved < 0 || f < 0 || dup2(f, 1) < 0)
			die("FD_LIST_PARENT");
		list();
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		close(f);
	}
	char *cargv[] = { "fd_list", NULL };
	fflush(stdout);
	if (!strcmp(argv[1], "exec")) {
		execve(self, cargv, env);
		die("execve");
	}
	pid_t pid;
	int r = posix_spawn(&pid, self, NULL, NULL, cargv, env), st;
	if (r) {
		errno = r;
		die("posix_spawn");
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
