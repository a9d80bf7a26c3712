/*
 * fdenv — encoding and strict decoding of SOCKSHIFT_FDS (see fdenv.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "fdenv.h"
#include "log.h"

struct enc {
	char *buf;
	size_t size, len;
	int overflow;
};

static void put(struct enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct enc *e, const char *fmt, ...)
{
	va_list ap;
	char tmp[256];
	size_t n;

	va_start(ap, fmt);
	n = log_vfmt(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (e->len + n >= e->size) {
		e->overflow = 1;
		return;
	}
	memcpy(e->buf + e->len, tmp, n + 1);
	e->len += n;
}

static int enc_one(const struct fdt_rec *r, void *arg)
{
	struct enc *e = arg;

	if (r->fd_flags & FD_CLOEXEC)
		return 0;
	put(e, ";%d,%d,%d,%d,%u,%u,%u,%d,%d", r->fd, r->domain, r->type, r->protocol, r->stack_id,
	    r->origin, r->state, r->backlog, r->status_flags);
	for (unsigned i = 0; i < r->nopts; i++) {
		put(e, ",o=%d:%d:", r->opts[i].level, r->opts[i].name);
		for (unsigned j = 0; j < r->opts[i].len; j++)
			put(e, "%02x", r->opts[i].val[j]);
	}
	return e->overflow ? -ENOSPC : 0;
}

long fdenv_encode(char *buf, size_t size)
{
	struct enc e = { buf, size, 0, 0 };

	put(&e, "%s=v1", FDENV_NAME);
	size_t empty = e.len;
	if (fdt_foreach(enc_one, &e) < 0 || e.overflow)
		return -ENOSPC;
	return e.len == empty ? 0 : (long)e.len;
}

static int count_one(const struct fdt_rec *r, void *arg)
{
	*(size_t *)arg += 100 + r->nopts * (30 + 2 * FDT_OPTVAL_MAX);
	return 0;
}

size_t fdenv_size_hint(void)
{
	size_t n = sizeof(FDENV_NAME) + 8;

	fdt_foreach(count_one, &n);
	return n;
}

/* Parses a decimal int at *p (optionally negative) up to a stop character. */
static int num(const char **p, long min, long max, long *out)
{
	const char *s = *p;
	int neg = 0;
	long v = 0;

	if (*s == '-')
		neg = 1, s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		if (v > 1L << 40)
			return -ERANGE;
	}
	v = neg ? -v : v;
	if (v < min || v > max)
		return -ERANGE;
	*p = s;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_opt(const char **p, struct fdt_rec *rec)
{
	long level, name;
	struct fdt_opt *o;
	const char *s = *p;

	if (rec->nopts >= FDT_OPT_MAX || strncmp(s, "o=", 2))
		return -EINVAL;
	s += 2;
	if (num(&s, -1, 1 << 20, &level) || *s++ != ':' || num(&s, 0, 1 << 20, &name) || *s++ != ':')
		return -EINVAL;
	o = &rec->opts[rec->nopts];
	o->level = (int)level;
	o->name = (int)name;
	o->len = 0;
	while (hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
		if (o->len == FDT_OPTVAL_MAX)
			return -EINVAL;
		o->val[o->len++] = (unsigned char)(hexval(s[0]) << 4 | hexval(s[1]));
		s += 2;
	}
	rec->nopts++;
	*p = s;
	return 0;
}

int fdenv_decode(const char *value, int (*fn)(const struct fdt_rec *rec, void *arg), void *arg,
		 char *err, size_t errlen)
{
	const char *p = value;
	struct fdt_rec rec;

	if (strncmp(p, "v1", 2)) {
		log_fmt(err, errlen, "%s: unknown format (expected it to start with 'v1')", FDENV_NAME);
		return -EINVAL;
	}
	p += 2;
	while (*p) {
		long f[9];
		static const long lim[9][2] = {
			{ 0, FDT_FD_MAX - 1 }, { 0, 255 }, { 0, 15 }, { 0, 65535 }, { 0, 15 },
			{ 0, FDT_ORIGIN_RECEIVED }, { 0, 63 }, { -1, 1 << 30 }, { 0, 1 << 30 },
		};
		const char *start = p;
		if (*p++ != ';')
			goto bad;
		for (int i = 0; i < 9; i++)
			if ((i && *p++ != ',') || num(&p, lim[i][0], lim[i][1], &f[i]))
				goto bad;
		fdt_rec_init(&rec, (int)f[0], (int)f[1], (int)f[2], (int)f[3], (unsigned)f[4],
			     (unsigned)f[5]);
		rec.state = (unsigned)f[6];
		rec.backlog = (int)f[7];
		rec.status_flags = (int)f[8];
		while (*p == ',') {
			p++;
			if (parse_opt(&p, &rec))
				goto bad;
		}
		if (*p && *p != ';')
			goto bad;
		int r = fn(&rec, arg);
		if (r)
			return r;
		continue;
bad:
		log_fmt(err, errlen, "%s: malformed record at offset %ld: '%.40s'", FDENV_NAME,
			(long)(start - value), start);
		return -EINVAL;
	}
	return 0;
}
