/*
 * log — the one logger of sockshift.
 *
 * Everything in core logs through these macros; nothing in core prints on its own.
 * The sink is a file descriptor chosen by the embedder: the tool points it at stderr,
 * the shim at stderr or at SOCKSHIFT_LOG_FILE. Until a sink is set, nothing is written.
 *
 * Guarantees, because the shim logs from inside a host program:
 *  - async-signal-safe: formatting is done here into a stack buffer (no malloc, no stdio,
 *    no locale), and the line goes out in one raw write(2) system call;
 *  - errno is preserved across every call;
 *  - no interposed function is ever called, so logging never re-enters the shim.
 *
 * The formatter understands %s %c %d %i %u %x %o %p %% with the l, ll, z and h length
 * modifiers, a field width and '-' / '0' flags, and '.*' precision for %s.
 */
#ifndef SOCKSHIFT_LOG_H
#define SOCKSHIFT_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN  = 1,
	LOGL_INFO  = 2,
	LOGL_DEBUG = 3,
};

/* Current level; read directly by the LOG macros so a disabled level costs one load. */
extern int log_cur_level;

void log_set_level(int level);
/* Parses "error|warn|info|debug"; returns the level or -EINVAL. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/* Sink: an fd owned by the caller (-1 = discard). */
void log_set_fd(int fd);
int log_get_fd(void);
/* Prefix printed before every line, e.g. "sockshift[1234]"; copied. */
void log_set_prefix(const char *prefix);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap);

/* Async-signal-safe vsnprintf subset; always NUL-terminates, returns the length written. */
size_t log_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
size_t log_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* strerror without locale or allocation: "ECONNREFUSED (Connection refused)" style. */
const char *log_errname(int err);

#define LOG_ON(lvl) (__builtin_expect(log_cur_level >= (lvl), 0))
#define loge(...) do { if (LOG_ON(LOGL_ERROR)) log_msg(LOGL_ERROR, __VA_ARGS__); } while (0)
#define logw(...) do { if (LOG_ON(LOGL_WARN))  log_msg(LOGL_WARN,  __VA_ARGS__); } while (0)
#define logi(...) do { if (LOG_ON(LOGL_INFO))  log_msg(LOGL_INFO,  __VA_ARGS__); } while (0)
#define logd(...) do { if (LOG_ON(LOGL_DEBUG)) log_msg(LOGL_DEBUG, __VA_ARGS__); } while (0)

#endif
