/*
 * ctlthread_req — the other side of the control thread: a tool process asks a shimmed
 * process for a checkpoint (request file + signal) and reads the status file it writes.
 * See ctlthread.h for the files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ctlthread.h"
#include "log.h"

int ctl_status_read(int pid, struct ctl_status *st)
{
	char path[256], line[4200];
	FILE *f;

	ctl_status_path(path, sizeof(path), pid);
	memset(st, 0, sizeof(*st));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		v[strcspn(v, "\n")] = 0;
#define NUM(k, field) else if (!strcmp(line, k)) st->field = strtoull(v, NULL, 10);
#define STR(k, field) else if (!strcmp(line, k)) snprintf(st->field, sizeof(st->field), "%s", v);
		if (!strcmp(line, "seq"))
			st->seq = strtoul(v, NULL, 10);
		else if (!strcmp(line, "err"))
			st->err = atoi(v);
		STR("error", error) STR("dir", dir) STR("mode", mode) STR("netlock", netlock)
		NUM("conns", conns) NUM("listeners", listeners) NUM("skipped", skipped)
		NUM("bytes", bytes) NUM("lock_us", lock_us) NUM("pause_us", pause_us)
		NUM("signal_to_resumed_us", signal_to_resumed_us) NUM("write_us", write_us)
		NUM("total_us", total_us) NUM("queued", queued) NUM("late", late)
#undef NUM
#undef STR
	}
	fclose(f);
	return 0;
}

/* 1 if the maps file at path lists libsockshift.so, 0 if not, -errno. */
static int maps_shimmed(const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "re");
	int found = 0;

	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "/libsockshift.so") != NULL;
	fclose(f);
	return found;
}

int ctl_pid_shimmed(int pid)
{
	char path[300];
	struct dirent *e;
	DIR *d;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	r = maps_shimmed(path);
	if (r != 0)
		return r;
	/* empty: the main thread has exited (pthread_exit in main); another thread shows the maps */
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (r <= 0 && (e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && atoi(e->d_name) != pid) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/maps", pid, e->d_name);
			r = maps_shimmed(path);
		}
	closedir(d);
	return r > 0;
}

/* The checkpoint signal pid was started with (its SOCKSHIFT_SIGNAL), default SIGPWR. */
static int pid_signal(int pid)
{
	char path[64], buf[65536];
	int fd, sig = SIGPWR;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sig;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return sig;
	buf[n] = 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strncmp(p, "SOCKSHIFT_SIGNAL=", 17) && ctl_signal_parse(p + 17) > 0)
			sig = ctl_signal_parse(p + 17);
	return sig;
}

static int write_request(int pid, const char *images, int exit_mode)
{
	char dir[128], path[256], tmp[300], buf[4200];
	int fd, n;

	ctl_run_dir(dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	ctl_req_path(path, sizeof(path), pid);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(buf, sizeof(buf), "%s%s%s%s", images ? "images=" : "", images ? images : "",
		     images ? "\n" : "", exit_mode < 0 ? "" : exit_mode ? "mode=exit\n" : "mode=resume\n");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}

int ctl_dump_request(int pid, const char *images, int exit_mode, unsigned timeout_ms,
		     struct ctl_status *st)
{
	struct ctl_status before;
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int r = ctl_pid_shimmed(pid);

	if (r < 0)
		return r;
	if (!r)
		return -ENOTSUP;
	if (ctl_status_read(pid, &before) < 0)
		before.seq = 0;
	if (images || exit_mode >= 0) {
		r = write_request(pid, images, exit_mode);
		if (r)
			return r;
	}
	if (kill(pid, pid_signal(pid)) < 0)
		return -errno;
	for (unsigned waited = 0; waited < timeout_ms / 2 + 1; waited++) {   /* 2 ms steps */
		if (ctl_status_read(pid, st) == 0 && st->seq != before.seq)
			return st->err;
		if (kill(pid, 0) < 0 && errno == ESRCH && ctl_status_read(pid, st) == 0 &&
		    st->seq != before.seq)
			return st->err;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
