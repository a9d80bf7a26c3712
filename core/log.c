/*
 * log — formatting and writing log lines, safe inside signal handlers and hooks.
 *
 * A line is "<prefix> <level>: <message>\n", built in a stack buffer and written with one
 * raw write(2), so concurrent threads never interleave inside a line and errno is never
 * touched. Lines longer than LOG_LINE_MAX are cut and end in "...".
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "progfd.h"
#include "rawsys.h"

#define LOG_LINE_MAX 1024

int log_cur_level = LOGL_WARN;
static int log_fd = -1;
static char log_prefix[64] = "sockshift";

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level)
{
	if (level < LOGL_ERROR)
		level = LOGL_ERROR;
	if (level > LOGL_DEBUG)
		level = LOGL_DEBUG;
	log_cur_level = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i <= LOGL_DEBUG; i++)
		if (name && strcmp(name, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *log_level_name(int level)
{
	if (level < LOGL_ERROR || level > LOGL_DEBUG)
		return "?";
	return level_names[level];
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

int log_get_fd(void)
{
	return log_fd;
}

void log_set_prefix(const char *prefix)
{
	size_t n = strlen(prefix);

	if (n >= sizeof(log_prefix))
		n = sizeof(log_prefix) - 1;
	memcpy(log_prefix, prefix, n);
	log_prefix[n] = '\0';
}

/* ---- the formatter ---------------------------------------------------------------- */

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put_char(o, c);
}

static void put_str(struct out *o, const char *s, int prec, int width, int left)
{
	size_t n = 0;

	if (!s)
		s = "(null)";
	while (s[n] && (prec < 0 || n < (size_t)prec))
		n++;
	if (!left)
		put_pad(o, ' ', width - (int)n);
	for (size_t i = 0; i < n; i++)
		put_char(o, s[i]);
	if (left)
		put_pad(o, ' ', width - (int)n);
}

static void put_num(struct out *o, uint64_t v, int neg, unsigned base, int width, char pad, int left)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	int total = n + neg;
	if (!left && pad == '0' && neg)
		put_char(o, '-');
	if (!left)
		put_pad(o, pad, width - total);
	if (neg && (left || pad != '0'))
		put_char(o, '-');
	while (n)
		put_char(o, tmp[--n]);
	if (left)
		put_pad(o, ' ', width - total);
}

size_t log_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put_char(&o, *p);
			continue;
		}
		p++;
		int left = 0, width = 0, prec = -1, lng = 0;
		char pad = ' ';
		for (;; p++) {
			if (*p == '-')
				left = 1;
			else if (*p == '0')
				pad = '0';
			else
				break;
		}
		if (*p == '*') {
			width = va_arg(ap, int);
			p++;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		if (*p == '.') {
			p++;
			prec = 0;
			if (*p == '*') {
				prec = va_arg(ap, int);
				p++;
			}
			while (*p >= '0' && *p <= '9')
				prec = prec * 10 + (*p++ - '0');
		}
		for (;; p++) {
			if (*p == 'l')
				lng++;
			else if (*p == 'z')
				lng = 2;
			else if (*p != 'h')
				break;
		}
		switch (*p) {
		case 's':
			put_str(&o, va_arg(ap, const char *), prec, width, left);
			break;
		case 'c':
			put_char(&o, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i': {
			long long v = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			int neg = v < 0;
			put_num(&o, neg ? -(uint64_t)v : (uint64_t)v, neg, 10, width, pad, left);
			break;
		}
		case 'u':
		case 'x':
		case 'o': {
			uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
				   : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			put_num(&o, v, 0, *p == 'u' ? 10 : *p == 'x' ? 16 : 8, width, pad, left);
			break;
		}
		case 'p':
			put_str(&o, "0x", -1, 0, 0);
			put_num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, ' ', 0);
			break;
		case '%':
			put_char(&o, '%');
			break;
		case '\0':
			p--;
			break;
		default:
			put_char(&o, '%');
			put_char(&o, *p);
		}
	}
	if (size) {
		size_t end = o.len < size ? o.len : size - 1;
		buf[end] = '\0';
		return end;
	}
	return 0;
}

size_t log_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	size_t n = log_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;

	if (log_fd < 0 || level > log_cur_level)
		return;
	n = log_fmt(line, sizeof(line), "%s %s: ", log_prefix, log_level_name(level));
	n += log_vfmt(line + n, sizeof(line) - n, fmt, ap);
	if (n >= sizeof(line) - 1)
		memcpy(line + sizeof(line) - 5, "...", 3), n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line; a short write or an error is ignored: logging must not fail the call.
	 * log_fd is the program's number: a thread on a private fd table writes to a copy. */
	int fd = progfd_get(log_fd);
	if (fd >= 0)
		rawsys3(SYS_write, fd, line, n);
	progfd_put(log_fd, fd);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

const char *log_errname(int err)
{
	switch (err < 0 ? -err : err) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG); E(ENOEXEC);
	E(EBADF); E(ECHILD); E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST);
	E(ENODEV); E(ENOTDIR); E(EISDIR); E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY); E(EFBIG);
	E(ENOSPC); E(ESPIPE); E(EROFS); E(EPIPE); E(ERANGE); E(ENAMETOOLONG); E(ENOSYS);
	E(ENOTEMPTY); E(ELOOP); E(ENOPROTOOPT); E(EPROTONOSUPPORT); E(ESOCKTNOSUPPORT);
	E(EOPNOTSUPP); E(EPFNOSUPPORT); E(EAFNOSUPPORT); E(EADDRINUSE); E(EADDRNOTAVAIL);
	E(ENETDOWN); E(ENETUNREACH); E(ECONNABORTED); E(ECONNRESET); E(ENOBUFS); E(EISCONN);
	E(ENOTCONN); E(ETIMEDOUT); E(ECONNREFUSED); E(EHOSTUNREACH); E(EALREADY);
	E(EINPROGRESS); E(ENOTSOCK); E(EDESTADDRREQ); E(EMSGSIZE); E(EPROTOTYPE); E(EPROTO);
	E(EBADMSG); E(EOVERFLOW); E(ENODATA);
#undef E
	case 0:
		return "0";
	default:
		return "E?";
	}
}
