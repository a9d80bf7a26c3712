/*
 * image — the CRIU image framing (a bounded reader, a growable writer), loading a file, and the
 * tcp-stream image: tcp_stream_entry followed by the receive then the send queue bytes.
 * files.img and the manifest are in image_files.c, the directory in image_dir.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "image_int.h"
#include "tcp_stream.pb-c.h"

int image_bad(const struct image_rd *r, const char *why)
{
	loge("image: %s: %s (at byte %zu of %zu)", r->what, why, r->off, r->len);
	return -EBADMSG;
}

static int rd_u32(struct image_rd *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return -EBADMSG;
	memcpy(v, r->p + r->off, 4);
	r->off += 4;
	return 0;
}

int image_rd_magic(struct image_rd *r, uint32_t type)
{
	uint32_t common, t;

	if (rd_u32(r, &common) || rd_u32(r, &t))
		return image_bad(r, "truncated before the magic");
	if (common != IMAGE_MAGIC_COMMON || t != type)
		return image_bad(r, "bad magic");
	return 0;
}

int image_rd_entry(struct image_rd *r, const uint8_t **pb, size_t *n)
{
	uint32_t size;

	if (r->off == r->len)
		return -ENODATA;
	if (rd_u32(r, &size))
		return image_bad(r, "truncated entry size");
	if (size > IMAGE_MAX_ENTRY)
		return image_bad(r, "entry size over the limit");
	if (size > r->len - r->off)
		return image_bad(r, "entry truncated");
	*pb = r->p + r->off;
	*n = size;
	r->off += size;
	return 0;
}

/* Make room for n more bytes; sticky error. */
static int wr_reserve(struct image_wr *w, size_t n)
{
	if (w->err)
		return w->err;
	if (n > IMAGE_MAX_FILE || w->len + n > IMAGE_MAX_FILE)
		return w->err = -EFBIG;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *np;

		while (cap < w->len + n)
			cap *= 2;
		np = realloc(w->p, cap);
		if (!np)
			return w->err = -ENOMEM;
		w->p = np;
		w->cap = cap;
	}
	return 0;
}

void image_wr_bytes(struct image_wr *w, const void *p, size_t n)
{
	if (wr_reserve(w, n))
		return;
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void image_wr_u32(struct image_wr *w, uint32_t v)
{
	image_wr_bytes(w, &v, 4);
}

void image_wr_magic(struct image_wr *w, uint32_t type)
{
	image_wr_u32(w, IMAGE_MAGIC_COMMON);
	image_wr_u32(w, type);
}

uint8_t *image_wr_entry(struct image_wr *w, size_t n)
{
	if (n > IMAGE_MAX_ENTRY) {
		w->err = -EFBIG;
		return NULL;
	}
	image_wr_u32(w, (uint32_t)n);
	if (wr_reserve(w, n))
		return NULL;
	w->len += n;
	return w->p + w->len - n;
}

int image_load(const char *path, void **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t off = 0;
	char *b = NULL;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto close_fd;
	}
	if (st.st_size > (off_t)IMAGE_MAX_FILE) {
		loge("image: %s: %lld bytes is over the limit", path, (long long)st.st_size);
		err = -EFBIG;
		goto close_fd;
	}
	b = malloc(st.st_size ? st.st_size : 1);
	if (!b) {
		err = -ENOMEM;
		goto close_fd;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, b + off, st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto free_buf;
		}
		off += n;
	}
	*buf = b;
	*len = off;
	close(fd);
	return 0;

free_buf:
	free(b);
close_fd:
	close(fd);
	return err;
}

enum image_kind image_kind(const void *buf, size_t len)
{
	uint32_t m[2];

	if (len < 8)
		return IMAGE_KIND_UNKNOWN;
	memcpy(m, buf, 8);
	if (m[0] != IMAGE_MAGIC_COMMON)
		return IMAGE_KIND_UNKNOWN;
	switch (m[1]) {
	case IMAGE_MAGIC_TCP_STREAM: return IMAGE_KIND_TCP_STREAM;
	case IMAGE_MAGIC_FILES:      return IMAGE_KIND_FILES;
	case IMAGE_MAGIC_MANIFEST:   return IMAGE_KIND_MANIFEST;
	}
	return IMAGE_KIND_UNKNOWN;
}

void image_conn_clear(struct image_conn *c)
{
	free(c->inq);
	free(c->outq);
	c->inq = c->outq = NULL;
}

int image_tcp_stream_encode(const struct image_conn *c, void **buf, size_t *len)
{
	const struct repair_data *d = &c->data;
	TcpStreamEntry e = TCP_STREAM_ENTRY__INIT;
	struct image_wr w = { 0 };
	uint8_t *pb;
	size_t n;

	if (d->inq_len > IMAGE_MAX_QUEUE || d->outq_len > IMAGE_MAX_QUEUE ||
	    (d->inq_len && !c->inq) || (d->outq_len && !c->outq))
		return -EINVAL;
	e.inq_len = d->inq_len;
	e.inq_seq = d->inq_seq;
	e.outq_len = d->outq_len;
	e.outq_seq = d->outq_seq;
	e.opt_mask = d->opt_mask;
	e.snd_wscale = d->snd_wscale;
	e.mss_clamp = d->mss_clamp;
	e.has_rcv_wscale = 1;
	e.rcv_wscale = d->rcv_wscale;
	e.has_timestamp = 1;
	e.timestamp = d->timestamp;
	e.has_unsq_len = 1;
	e.unsq_len = d->unsq_len;
	/* CRIU 3.17 writes these two only when set */
	e.has_cork = e.cork = !!d->opts.cork;
	e.has_nodelay = e.nodelay = !!d->opts.nodelay;
	if (d->flags & REPAIR_FLAG_WINDOW) {
		e.has_snd_wl1 = e.has_snd_wnd = e.has_max_window = e.has_rcv_wnd = e.has_rcv_wup = 1;
		e.snd_wl1 = d->snd_wl1;
		e.snd_wnd = d->snd_wnd;
		e.max_window = d->max_window;
		e.rcv_wnd = d->rcv_wnd;
		e.rcv_wup = d->rcv_wup;
	}
	n = tcp_stream_entry__get_packed_size(&e);
	image_wr_magic(&w, IMAGE_MAGIC_TCP_STREAM);
	pb = image_wr_entry(&w, n);
	if (pb)
		tcp_stream_entry__pack(&e, pb);
	image_wr_bytes(&w, c->inq, d->inq_len);
	image_wr_bytes(&w, c->outq, d->outq_len);
	if (w.err) {
		free(w.p);
		return w.err;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

static void *dup_bytes(const uint8_t *p, size_t n)
{
	void *b;

	if (!n)
		return NULL;
	b = malloc(n);
	if (b)
		memcpy(b, p, n);
	return b;
}

int image_tcp_stream_decode(const void *buf, size_t len, struct image_conn *c)
{
	struct image_rd r = { .p = buf, .len = len, .what = "tcp-stream" };
	TcpStreamEntry *e;
	const uint8_t *pb;
	size_t n;
	int err, nwin;
	struct repair_data *d = &c->data;

	if ((err = image_rd_magic(&r, IMAGE_MAGIC_TCP_STREAM)))
		return err;
	err = image_rd_entry(&r, &pb, &n);
	if (err == -ENODATA)
		return image_bad(&r, "no tcp_stream_entry");
	if (err)
		return err;
	e = tcp_stream_entry__unpack(NULL, n, pb);
	if (!e)
		return image_bad(&r, "tcp_stream_entry malformed or missing a required field");
	err = -EBADMSG;
	if (e->snd_wscale > 14 || (e->has_rcv_wscale && e->rcv_wscale > 14)) {
		image_bad(&r, "window scale over 14");
		goto free_entry;
	}
	if (e->mss_clamp > 65535) {
		image_bad(&r, "mss_clamp out of range");
		goto free_entry;
	}
	if (e->inq_len > IMAGE_MAX_QUEUE || e->outq_len > IMAGE_MAX_QUEUE) {
		image_bad(&r, "queue length over the limit");
		goto free_entry;
	}
	if (!e->has_unsq_len || e->unsq_len > e->outq_len) {
		image_bad(&r, "unsq_len missing or larger than outq_len");
		goto free_entry;
	}
	if ((uint64_t)e->inq_len + e->outq_len != len - r.off) {
		image_bad(&r, (uint64_t)e->inq_len + e->outq_len > len - r.off ?
			      "queue payload truncated" : "trailing bytes after the queues");
		goto free_entry;
	}
	nwin = e->has_snd_wl1 + e->has_snd_wnd + e->has_max_window + e->has_rcv_wnd + e->has_rcv_wup;
	if (nwin != 0 && nwin != 5) {
		image_bad(&r, "window fields incomplete");
		goto free_entry;
	}
	if (nwin && e->snd_wnd > e->max_window) {
		image_bad(&r, "snd_wnd larger than max_window");
		goto free_entry;
	}
	memset(d, 0, offsetof(struct repair_data, opts));
	d->inq_len = e->inq_len;
	d->inq_seq = e->inq_seq;
	d->outq_len = e->outq_len;
	d->outq_seq = e->outq_seq;
	d->unsq_len = e->unsq_len;
	d->opt_mask = e->opt_mask;
	d->mss_clamp = e->mss_clamp;
	d->snd_wscale = e->snd_wscale;
	d->rcv_wscale = e->rcv_wscale;
	d->timestamp = e->timestamp;
	if (nwin) {
		d->flags |= REPAIR_FLAG_WINDOW;
		d->snd_wl1 = e->snd_wl1;
		d->snd_wnd = e->snd_wnd;
		d->max_window = e->max_window;
		d->rcv_wnd = e->rcv_wnd;
		d->rcv_wup = e->rcv_wup;
	}
	d->opts.cork = e->has_cork && e->cork;
	d->opts.nodelay = e->has_nodelay && e->nodelay;
	c->inq = dup_bytes(r.p + r.off, e->inq_len);
	c->outq = dup_bytes(r.p + r.off + e->inq_len, e->outq_len);
	if ((e->inq_len && !c->inq) || (e->outq_len && !c->outq)) {
		image_conn_clear(c);
		err = -ENOMEM;
		goto free_entry;
	}
	err = 0;
free_entry:
	tcp_stream_entry__free_unpacked(e, NULL);
	return err;
}
