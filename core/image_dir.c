/*
 * image_dir — a checkpoint directory as a whole. Writing is atomic: every image is encoded in
 * memory, written into a fresh 0700 temporary directory next to the target with 0600 files,
 * each fsync'd, the directory fsync'd, then renamed to the target name and the parent fsync'd;
 * so the directory is complete or absent. Reading loads the manifest first, checks size and
 * CRC32C of every file it lists before decoding it, and accepts no connection the manifest and
 * files.img do not agree on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <netinet/tcp.h>

#include "image_int.h"

struct pending {
	struct image_manifest_file meta;
	void *buf;
	size_t len;
};

static int write_file(int dfd, const char *name, const void *buf, size_t len)
{
	size_t off = 0;
	int fd, err = 0;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, (const char *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += n;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static void remove_tmp(const char *tmp, const struct pending *p, size_t n)
{
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		for (size_t i = 0; i < n; i++)
			unlinkat(dfd, p[i].meta.name, 0);
		unlinkat(dfd, IMAGE_MANIFEST, 0);
		close(dfd);
	}
	rmdir(tmp);
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int add_pending(struct pending *p, const char *name, void *buf, size_t len)
{
	snprintf(p->meta.name, sizeof(p->meta.name), "%s", name);
	p->buf = buf;
	p->len = len;
	p->meta.size = len;
	p->meta.crc32c = image_crc32c(0, buf, len);
	return 0;
}

int image_write_dir(const char *dir, const struct image_set *set)
{
	char tmp[PATH_MAX], parent[PATH_MAX], name[64], *slash;
	struct pending *p;
	struct image_manifest_file *meta = NULL;
	size_t np = 0;
	void *mbuf = NULL;
	size_t mlen;
	int dfd = -1, err;

	if (set->nconns > IMAGE_MAX_CONNS || !set->stack[0] ||
	    !memchr(set->stack, 0, sizeof(set->stack)))
		return -EINVAL;
	for (size_t i = 0; i < set->nconns; i++) {
		if (!memchr(set->conns[i].stack, 0, sizeof(set->conns[i].stack)))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (set->conns[i].id == set->conns[j].id)
				return -EINVAL;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash == parent)
		parent[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(parent, ".");
	p = calloc(set->nconns + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;

	/* encode everything first: nothing touches the disk if an image can't be built */
	{
		void *b;
		size_t l;

		err = image_files_encode(set, &b, &l);
		if (err)
			goto free_pending;
		add_pending(&p[np++], IMAGE_FILES, b, l);
	}
	for (size_t i = 0; i < set->nconns; i++) {
		const struct image_conn *c = &set->conns[i];
		void *b;
		size_t l;

		if (c->listening)
			continue;
		err = image_tcp_stream_encode(c, &b, &l);
		if (err)
			goto free_pending;
		snprintf(name, sizeof(name), "tcp-stream-%x.img", c->id);
		add_pending(&p[np++], name, b, l);
	}
	meta = calloc(np, sizeof(*meta));
	if (!meta) {
		err = -ENOMEM;
		goto free_pending;
	}
	for (size_t i = 0; i < np; i++)
		meta[i] = p[i].meta;
	err = image_manifest_encode(set, meta, np, &mbuf, &mlen);
	if (err)
		goto free_pending;

	if (!mkdtemp(tmp)) {
		err = -errno;
		goto free_pending;
	}
	if (chmod(tmp, 0700) < 0 || (dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = -errno;
		goto remove_dir;
	}
	for (size_t i = 0; i < np; i++)
		if ((err = write_file(dfd, p[i].meta.name, p[i].buf, p[i].len)))
			goto remove_dir;
	if ((err = write_file(dfd, IMAGE_MANIFEST, mbuf, mlen)))
		goto remove_dir;
	if (fsync(dfd) < 0) {
		err = -errno;
		goto remove_dir;
	}
	if (rename(tmp, dir) < 0) {
		err = -errno;
		loge("image: can't put the checkpoint at %s: %s", dir, log_errname(-err));
		goto remove_dir;
	}
	fsync_path(parent);
	err = 0;
	goto close_dir;

remove_dir:
	remove_tmp(tmp, p, np);
close_dir:
	if (dfd >= 0)
		close(dfd);
free_pending:
	for (size_t i = 0; i < np; i++)
		free(p[i].buf);
	free(p);
	free(meta);
	free(mbuf);
	return err;
}

void image_set_free(struct image_set *set)
{
	for (size_t i = 0; i < set->nconns; i++)
		image_conn_clear(&set->conns[i]);
	free(set->conns);
	set->conns = NULL;
	set->nconns = 0;
	free(set->skipped);
	set->skipped = NULL;
	set->nskipped = 0;
}

/* Load one file the manifest lists and check its size and checksum. */
static int load_checked(int dfd, const struct image_manifest *m, const char *name, void **buf,
			size_t *len)
{
	const struct image_manifest_file *f = NULL;
	char path[128];
	int err;

	for (size_t i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i].name, name))
			f = &m->files[i];
	if (!f) {
		loge("image: %s is not in the manifest", name);
		return -EBADMSG;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	err = image_load(path, buf, len);
	if (err) {
		loge("image: %s: %s", name, log_errname(-err));
		return err;
	}
	if (*len != f->size || image_crc32c(0, *buf, *len) != f->crc32c) {
		loge("image: %s: %s", name, *len != f->size ? "size differs from the manifest"
							  : "checksum mismatch");
		free(*buf);
		return *len != f->size ? -EBADMSG : -EILSEQ;
	}
	return 0;
}

/* Manifest extras (fd, options CRIU has no field for) into the files.img connection. */
static int merge_manifest(struct image_conn *c, const struct image_manifest *m)
{
	for (size_t i = 0; i < m->nconns; i++) {
		const struct image_conn *mc = &m->conns[i];
		struct repair_opts *o = &c->data.opts;

		if (mc->id != c->id)
			continue;
		if (mc->listening != c->listening || (!c->listening && mc->data.state != c->data.state))
			return -EBADMSG;
		c->fd = mc->fd;
		memcpy(c->stack, mc->stack, sizeof(c->stack));
		o->user_timeout = mc->data.opts.user_timeout;
		memcpy(o->congestion, mc->data.opts.congestion, sizeof(o->congestion));
		o->tclass = mc->data.opts.tclass;
		o->cork = mc->data.opts.cork;
		o->nodelay = mc->data.opts.nodelay;
		o->set |= mc->data.opts.set;
		return 0;
	}
	return -ENOENT;
}

int image_read_dir(const char *dir, struct image_set *out)
{
	struct image_manifest m;
	void *buf = NULL;
	size_t len;
	char path[PATH_MAX], name[64];
	int dfd, err;

	memset(out, 0, sizeof(*out));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/" IMAGE_MANIFEST, dfd);
	err = image_load(path, &buf, &len);
	if (err) {
		loge("image: %s/%s: %s", dir, IMAGE_MANIFEST, log_errname(-err));
		goto close_dir;
	}
	err = image_manifest_decode(buf, len, &m);
	free(buf);
	if (err)
		goto close_dir;
	err = load_checked(dfd, &m, IMAGE_FILES, &buf, &len);
	if (err)
		goto free_manifest;
	err = image_files_decode(buf, len, out);
	free(buf);
	if (err)
		goto free_manifest;
	if (out->nconns != m.nconns) {
		loge("image: %s: manifest and files.img list different sockets", dir);
		err = -EBADMSG;
		goto free_set;
	}
	for (size_t i = 0; i < out->nconns; i++) {
		struct image_conn *c = &out->conns[i];
		struct image_conn s;
		uint32_t state;
		struct repair_opts keep;

		if (merge_manifest(c, &m)) {
			loge("image: socket %x: manifest and files.img disagree", c->id);
			err = -EBADMSG;
			goto free_set;
		}
		if (c->listening)
			continue;
		snprintf(name, sizeof(name), "tcp-stream-%x.img", c->id);
		err = load_checked(dfd, &m, name, &buf, &len);
		if (err)
			goto free_set;
		memset(&s, 0, sizeof(s));
		err = image_tcp_stream_decode(buf, len, &s);
		free(buf);
		if (err)
			goto free_set;
		state = c->data.state;
		keep = c->data.opts;
		c->data = s.data;
		c->data.state = state;
		c->data.opts = keep;
		c->inq = s.inq;
		c->outq = s.outq;
		if (state == TCP_SYN_SENT && (c->data.inq_len || c->data.outq_len)) {
			loge("image: socket %x: SYN_SENT with queued data", c->id);
			err = -EBADMSG;
			goto free_set;
		}
	}
	out->format_version = m.format_version;
	memcpy(out->stack, m.stack, sizeof(out->stack));
	memcpy(out->netlock, m.netlock, sizeof(out->netlock));
	out->pid = m.pid;
	out->skipped = m.skipped;      /* moved: the manifest no longer owns it */
	out->nskipped = m.nskipped;
	m.skipped = NULL;
	m.nskipped = 0;
	err = 0;
	goto free_manifest;

free_set:
	image_set_free(out);
free_manifest:
	image_manifest_free(&m);
close_dir:
	close(dfd);
	return err;
}
