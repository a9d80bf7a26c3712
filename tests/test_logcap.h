/*
 * test_logcap — captures core's log in a pipe so a test can check the lines a call wrote.
 * Used as a suite's .init/.fini: logcap_start() points the logger at a fresh pipe at debug
 * level with prefix "t" (and the real table at libc); logcap_read() returns what was logged
 * since the last read.
 */
#ifndef SOCKSHIFT_TEST_LOGCAP_H
#define SOCKSHIFT_TEST_LOGCAP_H

#include <fcntl.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "test_util.h"

static int logcap_pipe[2];
static char logcap_buf[65536];

static inline void logcap_start(void)
{
	real_use_libc();
	fdt_clear();
	cr_assert(eq(int, pipe2(logcap_pipe, O_NONBLOCK), 0));
	log_set_fd(logcap_pipe[1]);
	log_set_prefix("t");
	log_set_level(LOGL_DEBUG);
}

static inline void logcap_stop(void)
{
	log_set_fd(-1);
	close(logcap_pipe[0]);
	close(logcap_pipe[1]);
}

static inline const char *logcap_read(void)
{
	ssize_t n = read(logcap_pipe[0], logcap_buf, sizeof(logcap_buf) - 1);

	logcap_buf[n > 0 ? n : 0] = '\0';
	return logcap_buf;
}

#endif
