/*
 * patch_cache — the patch plan of a library kept across runs, so that a process start does
 * not decode libc with capstone again (about 100 million instructions, 15-80 ms here).
 *
 * One file per library in a private directory (SOCKSHIFT_PATCH_CACHE, default
 * $XDG_CACHE_HOME/sockshift or ~/.cache/sockshift; 0700, owned by the user, else unused),
 * named NAME-BUILDID.plan. It holds a key and the planned sites (pad, window and refused
 * ones; addresses relative to the library's load base):
 *
 *   key:   format, sockshift's version and build-id, sizeof(struct patch_site); the
 *          library's build-id, device, inode, size and mtime
 *   head:  number of sites, the counts of sites not stored, crc32c of the sites
 *   sites: struct patch_site[n]
 *
 * Written to a temporary file and renamed (readers see an old file or a whole new one).
 * Nothing read is trusted: any key mismatch, bad size or checksum, a site outside the
 * library's code, or bytes at a site that differ from the ones planned (a displaced
 * instruction, the syscall, the padding slot) rejects the whole file, and the caller
 * plans from scratch. All I/O is raw system calls and memory comes from the patch_mem
 * arena: this runs inside the shim's initialisation (maybe inside malloc).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "patch_int.h"
#include "rawsys.h"

#define CACHE_FORMAT   1
#define CACHE_MAX_SITES 8192

struct cache_key {
	uint32_t format, site_size;
	char version[32];
	uint8_t self_id[32], lib_id[32];
	uint32_t self_idlen, lib_idlen;
	uint64_t dev, ino, size, mtime_s, mtime_ns;
};

struct cache_head {
	char magic[8];
	struct cache_key key;
	uint32_t nsites, skipped, constant, crc;
};

static const char magic[8] = "SSPLAN\n";

/* ---- identities ---- */

/* The GNU build-id note of a loaded object; 0 or -ENOENT. */
static int build_id(uintptr_t base, const ElfW(Phdr) *phdr, int phnum, uint8_t id[32], uint32_t *len)
{
	for (int i = 0; i < phnum; i++) {
		if (phdr[i].p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(base + phdr[i].p_vaddr), *end = p + phdr[i].p_memsz;
		while (p + 12 <= end) {
			uint32_t nsz, dsz, type;
			memcpy(&nsz, p, 4);
			memcpy(&dsz, p + 4, 4);
			memcpy(&type, p + 8, 4);
			const uint8_t *name = p + 12, *desc = name + ((nsz + 3) & ~3u);
			if (desc + dsz > end || desc < name)
				break;
			if (type == 3 && nsz == 4 && !memcmp(name, "GNU", 4) && dsz && dsz <= 32) {
				memcpy(id, desc, dsz);
				*len = dsz;
				return 0;
			}
			p = desc + ((dsz + 3) & ~3u);
		}
	}
	return -ENOENT;
}

struct self_find {
	uintptr_t addr;
	uint8_t id[32];
	uint32_t len;
	int found;
};

static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self_find *f = arg;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->addr >= lo && f->addr < lo + ph->p_memsz) {
			f->found = build_id(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, f->id, &f->len) == 0;
			return 1;
		}
	}
	return 0;
}

static int key_make(struct cache_key *k, const struct patch_object *o)
{
	struct self_find self = { .addr = (uintptr_t)&key_make };
	struct stat sb;
	long r;

	memset(k, 0, sizeof(*k));
	k->format = CACHE_FORMAT;
	k->site_size = sizeof(struct patch_site);
	log_fmt(k->version, sizeof(k->version), "%s", SOCKSHIFT_VERSION);
	dl_iterate_phdr(self_cb, &self);
	if (!self.found)
		return -ENOENT;
	memcpy(k->self_id, self.id, self.len);
	k->self_idlen = self.len;
	r = build_id(o->base, o->phdr, o->phnum, k->lib_id, &k->lib_idlen);
	if (r < 0)
		return (int)r;
	r = rawsys2(SYS_stat, o->path, &sb);
	if (r < 0)
		return (int)r;
	k->dev = sb.st_dev;
	k->ino = sb.st_ino;
	k->size = (uint64_t)sb.st_size;
	k->mtime_s = (uint64_t)sb.st_mtim.tv_sec;
	k->mtime_ns = (uint64_t)sb.st_mtim.tv_nsec;
	return 0;
}

static void file_name(char *buf, size_t len, const char *dir, const char *name, const struct cache_key *k)
{
	char hex[65];

	for (uint32_t i = 0; i < k->lib_idlen; i++) {
		hex[2 * i] = "0123456789abcdef"[k->lib_id[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[k->lib_id[i] & 15];
	}
	hex[2 * k->lib_idlen] = '\0';
	log_fmt(buf, len, "%s/%s-%s.plan", dir, name, hex);
}

/* ---- the directory ---- */

static int private_dir(const char *dir)
{
	struct stat sb;

	rawsys2(SYS_mkdir, dir, 0700);
	if (rawsys2(SYS_lstat, dir, &sb) < 0)
		return -ENOENT;
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != (uid_t)rawsys0(SYS_geteuid) || (sb.st_mode & 077))
		return -EPERM;
	return 0;
}

int patch_cache_dir(const char *setting, char *dir, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char parent[512];
	int r;

	dir[0] = '\0';
	if (setting && !strcmp(setting, "off"))
		return -ENOENT;
	if (setting && setting[0]) {
		if (log_fmt(dir, len, "%s", setting) >= len)
			return -ENAMETOOLONG;
		r = private_dir(dir);
		if (r < 0)
			logw("patch: cache %s is not a private directory of this user (0700): not used", dir);
		return r;
	}
	const char *base = xdg && xdg[0] == '/' ? xdg : home && home[0] == '/' && home[1] ? home : NULL;
	struct stat sb;
	if (!base)
		return -ENOENT;
	/* Not in someone else's home (sudo keeps HOME): files of ours would land there. */
	if (rawsys2(SYS_stat, base, &sb) < 0 || sb.st_uid != (uid_t)rawsys0(SYS_geteuid)) {
		logd("patch: %s is not this user's: no plan cache", base);
		return -EPERM;
	}
	log_fmt(parent, sizeof(parent), "%s%s", base, base == xdg ? "" : "/.cache");
	rawsys2(SYS_mkdir, parent, 0700);
	if (log_fmt(dir, len, "%s/sockshift", parent) >= len)
		return -ENAMETOOLONG;
	r = private_dir(dir);
	if (r < 0)
		logd("patch: no usable plan cache under %s (%s)", parent, log_errname(r));
	return r;
}

/* ---- checking a site read from a file ---- */

static int in_code(const struct patch_object *o, uint64_t a, uint64_t b)
{
	for (int i = 0; i < o->phnum; i++) {
		const ElfW(Phdr) *ph = &o->phdr[i];
		uint64_t lo = o->base + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && a >= lo && b <= lo + ph->p_memsz && a < b)
			return 1;
	}
	return 0;
}

/* Moves the displaced instructions to base and checks them against the code: they must
 * tile [from, to) exactly, each with the bytes it had when planned. */
static int insns_match(struct disasm_insn *in, unsigned n, uint64_t base, uint64_t from, uint64_t to)
{
	uint64_t a = from;

	for (unsigned i = 0; i < n; i++) {
		in[i].addr += base;
		in[i].target = 0;
		if (in[i].addr != a || !in[i].len || in[i].len > 15 || a + in[i].len > to)
			return 0;
		if ((in[i].kind & DISASM_RIPREL) && (in[i].disp_off < 1 || in[i].disp_off + 4u > in[i].len))
			return 0;
		if (memcmp((const void *)(uintptr_t)a, in[i].bytes, in[i].len))
			return 0;
		a += in[i].len;
	}
	return a == to;
}

static int site_ok(const struct patch_object *o, struct patch_site *s)
{
	uint64_t b = o->base;

	s->why[sizeof(s->why) - 1] = '\0';
	s->sys += b;
	s->win_start += b;
	s->win_end += b;
	if (s->mode != PATCH_PAD && s->mode != PATCH_WINDOW && s->mode != PATCH_NONE)
		return 0;
	if (!in_code(o, s->sys, s->sys + 2) || memcmp((const void *)(uintptr_t)s->sys, "\x0f\x05", 2))
		return 0;
	if (s->mode == PATCH_NONE)
		return 1;
	if (s->npre > PATCH_MAX_DISPLACED || s->npost > PATCH_MAX_DISPLACED ||
	    !in_code(o, s->win_start, s->win_end) || s->win_start > s->sys || s->win_end < s->sys + 2)
		return 0;
	if (!insns_match(s->pre, s->npre, b, s->win_start, s->sys) ||
	    !insns_match(s->post, s->npost, b, s->sys + 2, s->win_end))
		return 0;
	if (s->mode == PATCH_WINDOW)
		return s->win_end - s->win_start >= 5;
	s->pad += b;
	int64_t rel = (int64_t)(s->pad - (s->sys + 2));
	return s->npre == 0 && s->npost == 0 && rel >= -128 && rel <= 127 && in_code(o, s->pad, s->pad + 5) &&
	       (s->pad + 5 <= s->sys || s->pad >= s->sys + 2) &&
	       !memcmp((const void *)(uintptr_t)s->pad, s->pad_orig, 5);
}

/* ---- load and save ---- */

int patch_cache_load(const char *dir, const struct patch_object *o, struct patch_site **sites, size_t *n,
		     struct patch_stats *counts)
{
	struct cache_head h;
	struct cache_key k;
	char path[1024];
	struct stat sb;
	long fd, r;

	*sites = NULL;
	*n = 0;
	if ((r = key_make(&k, o)) < 0)
		return (int)r;
	file_name(path, sizeof(path), dir, o->name, &k);
	fd = rawsys3(SYS_open, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return (int)fd;
	r = -EINVAL;
	if (rawsys2(SYS_fstat, fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != (uid_t)rawsys0(SYS_geteuid) ||
	    sb.st_size < (off_t)sizeof(h))
		goto out_close;
	if (rawsys3(SYS_read, fd, &h, sizeof(h)) != sizeof(h) || memcmp(h.magic, magic, sizeof(magic)) ||
	    memcmp(&h.key, &k, sizeof(k)) || h.nsites > CACHE_MAX_SITES ||
	    (uint64_t)sb.st_size != sizeof(h) + (uint64_t)h.nsites * sizeof(**sites))
		goto out_close;
	size_t bytes = h.nsites * sizeof(**sites);
	struct patch_site *s = patch_mem_alloc(bytes ? bytes : 1);
	if (!s) {
		r = -ENOMEM;
		goto out_close;
	}
	for (size_t got = 0; got < bytes; ) {
		long m = rawsys3(SYS_read, fd, (uint8_t *)s + got, bytes - got);
		if (m <= 0)
			goto out_free;
		got += (size_t)m;
	}
	if (image_crc32c(0, s, bytes) != h.crc)
		goto out_free;
	for (size_t i = 0; i < h.nsites; i++)
		if (!site_ok(o, &s[i]))
			goto out_free;
	*sites = s;
	*n = h.nsites;
	counts->skipped = h.skipped;
	counts->constant = h.constant;
	rawsys1(SYS_close, fd);
	return 0;

out_free:
	patch_mem_free(s);
out_close:
	rawsys1(SYS_close, fd);
	return (int)r;
}

static int write_all(long fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len; ) {
		long m = rawsys3(SYS_write, fd, (const uint8_t *)buf + done, len - done);
		if (m < 0 && m != -EINTR)
			return (int)m;
		if (m > 0)
			done += (size_t)m;
	}
	return 0;
}

int patch_cache_save(const char *dir, const struct patch_object *o, const struct patch_site *sites, size_t n,
		     const struct patch_stats *counts)
{
	struct cache_head h = { 0 };
	char path[1024], tmp[1100];
	struct patch_site *rel;
	size_t m = 0;
	long fd;
	int r;

	if ((r = key_make(&h.key, o)) < 0)
		return r;
	rel = patch_mem_calloc(n ? n : 1, sizeof(*rel));
	if (!rel)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (sites[i].mode != PATCH_PAD && sites[i].mode != PATCH_WINDOW && sites[i].mode != PATCH_NONE)
			continue;
		struct patch_site *s = &rel[m++];
		*s = sites[i];
		s->sys -= o->base;
		s->win_start -= o->base;
		s->win_end -= o->base;
		s->pad = s->mode == PATCH_PAD ? s->pad - o->base : 0;
		for (unsigned k = 0; k < s->npre; k++)
			s->pre[k].addr -= o->base, s->pre[k].target = 0;
		for (unsigned k = 0; k < s->npost; k++)
			s->post[k].addr -= o->base, s->post[k].target = 0;
	}
	memcpy(h.magic, magic, sizeof(magic));
	h.nsites = (uint32_t)m;
	h.skipped = counts->skipped;
	h.constant = counts->constant;
	h.crc = image_crc32c(0, rel, m * sizeof(*rel));
	file_name(path, sizeof(path), dir, o->name, &h.key);
	log_fmt(tmp, sizeof(tmp), "%s.%ld.tmp", path, rawsys0(SYS_getpid));
	fd = rawsys3(SYS_open, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = (int)fd;
		goto out_rel;
	}
	r = write_all(fd, &h, sizeof(h));
	if (r == 0)
		r = write_all(fd, rel, m * sizeof(*rel));
	rawsys1(SYS_close, fd);
	if (r == 0)
		r = (int)rawsys2(SYS_rename, tmp, path);
	if (r < 0)
		rawsys1(SYS_unlink, tmp);
out_rel:
	patch_mem_free(rel);
	return r;
}
