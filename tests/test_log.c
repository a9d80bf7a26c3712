/*
 * test_log — the async-signal-safe formatter against libc's snprintf, the level parser,
 * line framing, truncation, and errno preservation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "log.h"
#include "test_util.h"

TestSuite(log);

#define SAME(fmt, ...)                                                                    \
	do {                                                                              \
		char a_[256], b_[256];                                                    \
		log_fmt(a_, sizeof(a_), fmt, __VA_ARGS__);                                \
		snprintf(b_, sizeof(b_), fmt, __VA_ARGS__);                               \
		cr_assert(eq(str, a_, b_), "format '%s'", fmt);                           \
	} while (0)

Test(log, formatter_matches_snprintf)
{
	SAME("%d|%i|%u", -42, 7, 4000000000u);
	SAME("%ld|%lu|%lld|%llu", -1L, 18446744073709551615UL, (long long)INT64_MIN, 0ULL);
	SAME("%zu|%zd", (size_t)12345, (ssize_t)-9);
	SAME("%x|%08x|%-6d|%6d|%05d", 0xbeefu, 0x1fu, 3, 3, -12);
	SAME("%s|%.3s|%-5s|%5s", "abc", "abcdef", "ab", "ab");
	SAME("%c%c|%%|%o", 'h', 'i', 8u);
	SAME("%.*s", 2, "xyz");
	SAME("%s", "");
}

Test(log, formatter_truncates_and_terminates)
{
	char buf[8];

	size_t n = log_fmt(buf, sizeof(buf), "%s", "0123456789");
	cr_assert(eq(sz, n, 7));
	cr_assert(eq(str, buf, "0123456"));
	n = log_fmt(buf, 1, "abc");
	cr_assert(eq(str, buf, ""));
}

Test(log, null_string)
{
	char buf[16];

	const char *volatile nul = NULL;

	log_fmt(buf, sizeof(buf), "%s", nul);
	cr_assert(eq(str, buf, "(null)"));
}

Test(log, level_names)
{
	cr_assert(eq(int, log_level_parse("error"), LOGL_ERROR));
	cr_assert(eq(int, log_level_parse("warn"), LOGL_WARN));
	cr_assert(eq(int, log_level_parse("info"), LOGL_INFO));
	cr_assert(eq(int, log_level_parse("debug"), LOGL_DEBUG));
	cr_assert(eq(int, log_level_parse("DEBUG"), -EINVAL));
	cr_assert(eq(int, log_level_parse(""), -EINVAL));
	cr_assert(eq(int, log_level_parse(NULL), -EINVAL));
	cr_assert(eq(str, (char *)log_level_name(LOGL_INFO), "info"));
}

static size_t read_all(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

Test(log, writes_one_framed_line_and_keeps_errno)
{
	int p[2];
	char buf[2048];

	cr_assert(eq(int, pipe(p), 0));
	log_set_fd(p[1]);
	log_set_prefix("sockshift[1]");
	log_set_level(LOGL_INFO);
	errno = 4242;
	logi("hello %d", 5);
	logd("not shown at info");
	cr_assert(eq(int, errno, 4242));
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	cr_assert(eq(str, buf, "sockshift[1] info: hello 5\n"));
	close(p[0]);
	log_set_fd(-1);
}

Test(log, long_lines_are_cut)
{
	int p[2];
	char big[3000], buf[4096];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert(eq(int, pipe(p), 0));
	log_set_fd(p[1]);
	log_set_level(LOGL_DEBUG);
	logw("%s", big);
	close(p[1]);
	size_t n = read_all(p[0], buf, sizeof(buf));
	cr_assert(le(sz, n, 1024));
	cr_assert(eq(chr, buf[n - 1], '\n'));
	cr_assert(strstr(buf, "...\n") != NULL);
	close(p[0]);
	log_set_fd(-1);
}

Test(log, errnames)
{
	cr_assert(eq(str, (char *)log_errname(-ECONNREFUSED), "ECONNREFUSED"));
	cr_assert(eq(str, (char *)log_errname(EINPROGRESS), "EINPROGRESS"));
	cr_assert(eq(str, (char *)log_errname(99999), "E?"));
}
