/*
 * test_patch_cache — the patch plan cache on this process's own libc: a miss, a save and a
 * hit that gives back the same plan; and every way a file may be wrong — another
 * library's key, a flipped byte, a truncated file, a site moved with a valid checksum (the
 * bytes at the site no longer match) — rejected so that the caller plans again; and the
 * private-directory rule and the SOCKSHIFT_PATCH_CACHE setting.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "image.h"
#include "log.h"
#include "patch_int.h"
#include "test_util.h"

static struct patch_object libc;
static char dir[64];

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (!strstr(info->dlpi_name, "/libc.so"))
		return 0;
	snprintf(libc.name, sizeof(libc.name), "libc.so.6");
	snprintf(libc.path, sizeof(libc.path), "%s", info->dlpi_name);
	libc.base = info->dlpi_addr;
	libc.phdr = info->dlpi_phdr;
	libc.phnum = info->dlpi_phnum;
	return 1;
}

static void setup(void)
{
	dl_iterate_phdr(find_libc, NULL);
	cr_assert(libc.base != 0);
	snprintf(dir, sizeof(dir), "/tmp/sockshift-pc.XXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
	log_set_fd(2);
	log_set_level(LOGL_WARN);
	patch_mem_begin();
}

static void teardown(void)
{
	patch_mem_end();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert(eq(int, system(cmd), 0));
}

TestSuite(patch_cache, .init = setup, .fini = teardown);

static size_t stored(const struct patch_site *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i].mode == PATCH_PAD || s[i].mode == PATCH_WINDOW || s[i].mode == PATCH_NONE;
	return k;
}

/* Plans libc and stores it; returns the plan. */
static struct patch_site *plan_and_save(size_t *n)
{
	struct patch_site *sites;
	struct patch_stats c = { .skipped = 2, .constant = 3 };

	cr_assert(eq(int, patch_plan_object(&libc, 0, &sites, n), 0));
	cr_assert(gt(sz, stored(sites, *n), 10));
	cr_assert(eq(int, patch_cache_save(dir, &libc, sites, *n, &c), 0));
	return sites;
}

static char *plan_file(void)
{
	static char path[256];
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "ls %s/libc.so.6-*.plan", dir);
	FILE *f = popen(cmd, "r");
	cr_assert(f != NULL);
	cr_assert(fgets(path, sizeof(path), f) != NULL);
	pclose(f);
	path[strcspn(path, "\n")] = '\0';
	return path;
}

static void read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);
	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, fstat(fd, &sb), 0));
	*len = (size_t)sb.st_size;
	*buf = malloc(*len);
	cr_assert(eq(long, read(fd, *buf, *len), (long)*len));
	close(fd);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert(ge(int, fd, 0));
	cr_assert(eq(long, write(fd, buf, len), (long)len));
	close(fd);
}

static int load(size_t *n)
{
	struct patch_site *s;
	struct patch_stats c = { 0 };
	return patch_cache_load(dir, &libc, &s, n, &c);
}

Test(patch_cache, miss_then_hit_gives_the_same_plan)
{
	struct patch_site *got;
	struct patch_stats c = { 0 };
	size_t n, m;

	cr_assert(eq(int, patch_cache_load(dir, &libc, &got, &m, &c), -ENOENT));
	struct patch_site *plan = plan_and_save(&n);
	struct stat sb;
	cr_assert(eq(int, stat(plan_file(), &sb), 0));
	cr_assert(eq(int, sb.st_mode & 0777, 0600));
	cr_assert(eq(int, patch_cache_load(dir, &libc, &got, &m, &c), 0));
	cr_assert(eq(sz, m, stored(plan, n)));
	cr_assert(eq(u32, c.skipped, 2));
	cr_assert(eq(u32, c.constant, 3));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct patch_site *p = &plan[i];
		if (p->mode != PATCH_PAD && p->mode != PATCH_WINDOW && p->mode != PATCH_NONE)
			continue;
		const struct patch_site *g = &got[k++];
		cr_assert(eq(int, g->mode, p->mode));
		cr_assert(eq(u64, g->sys, p->sys));
		cr_assert(eq(str, (char *)g->why, (char *)p->why));
		if (p->mode == PATCH_NONE)
			continue;
		cr_assert(eq(u64, g->win_start, p->win_start));
		cr_assert(eq(u64, g->win_end, p->win_end));
		cr_assert(eq(u32, g->npre, p->npre));
		cr_assert(eq(u32, g->npost, p->npost));
		for (unsigned j = 0; j < p->npre; j++)
			cr_assert(eq(u64, g->pre[j].addr, p->pre[j].addr));
		if (p->mode == PATCH_PAD)
			cr_assert(eq(u64, g->pad, p->pad));
	}
	/* No temporary file is left behind. */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	cr_assert(eq(int, system(cmd), 0));
}

Test(patch_cache, another_file_is_a_miss)
{
	size_t n;
	plan_and_save(&n);
	struct patch_object other = libc;
	/* Same build-id (same object in memory), but another file: inode and size differ. */
	snprintf(other.path, sizeof(other.path), "/bin/sh");
	struct patch_site *s;
	struct patch_stats c = { 0 };
	cr_assert(eq(int, patch_cache_load(dir, &other, &s, &n, &c), -EINVAL));
	cr_assert(eq(int, load(&n), 0), "the right file still hits");
}

Test(patch_cache, flipped_byte_is_rejected)
{
	size_t n, len;
	uint8_t *buf;
	plan_and_save(&n);
	read_file(plan_file(), &buf, &len);
	buf[len / 2] ^= 0x40;
	write_file(plan_file(), buf, len);
	cr_assert(eq(int, load(&n), -EINVAL));
	free(buf);
}

Test(patch_cache, truncated_file_is_rejected)
{
	size_t n, len;
	uint8_t *buf;
	plan_and_save(&n);
	read_file(plan_file(), &buf, &len);
	write_file(plan_file(), buf, len - sizeof(struct patch_site));
	cr_assert(eq(int, load(&n), -EINVAL));
	write_file(plan_file(), buf, 20);
	cr_assert(eq(int, load(&n), -EINVAL));
	write_file(plan_file(), buf, 0);
	cr_assert(eq(int, load(&n), -EINVAL));
	free(buf);
}

/* A site moved by one byte, with a checksum that matches the change: the bytes at the site
 * are not a syscall any more, so the plan is refused instead of patching the wrong place. */
Test(patch_cache, a_site_that_does_not_match_the_code_is_rejected)
{
	size_t n, len;
	uint8_t *buf;
	plan_and_save(&n);
	read_file(plan_file(), &buf, &len);
	/* The sites are the tail of the file; the header holds their crc32c. */
	size_t nsites = 0;
	for (size_t k = 1; k * sizeof(struct patch_site) < len; k++) {
		size_t head = len - k * sizeof(struct patch_site);
		uint32_t crc = image_crc32c(0, buf + head, len - head);
		if (memmem(buf, head, &crc, 4)) {
			nsites = k;
			break;
		}
	}
	cr_assert(gt(sz, nsites, 0), "the checksum of the sites is in the header");
	size_t head = len - nsites * sizeof(struct patch_site);
	uint32_t old = image_crc32c(0, buf + head, len - head);
	uint8_t *crcp = memmem(buf, head, &old, 4);
	struct patch_site s;
	memcpy(&s, buf + head, sizeof(s));
	s.sys += 1;
	memcpy(buf + head, &s, sizeof(s));
	uint32_t crc = image_crc32c(0, buf + head, len - head);
	memcpy(crcp, &crc, 4);
	write_file(plan_file(), buf, len);
	cr_assert(eq(int, load(&n), -EINVAL));
	free(buf);
}

Test(patch_cache, only_a_private_directory_is_used)
{
	char d[600], sub[128];

	cr_assert(eq(int, patch_cache_dir("off", d, sizeof(d)), -ENOENT));
	snprintf(sub, sizeof(sub), "%s/new", dir);
	cr_assert(eq(int, patch_cache_dir(sub, d, sizeof(d)), 0), "created when missing");
	struct stat sb;
	cr_assert(eq(int, stat(sub, &sb), 0));
	cr_assert(eq(int, sb.st_mode & 0777, 0700));
	cr_assert(eq(int, chmod(sub, 0755), 0));
	cr_assert(eq(int, patch_cache_dir(sub, d, sizeof(d)), -EPERM), "readable by others");
	snprintf(sub, sizeof(sub), "%s/file", dir);
	cr_assert(eq(int, close(open(sub, O_CREAT | O_WRONLY, 0600)), 0));
	cr_assert(eq(int, patch_cache_dir(sub, d, sizeof(d)), -EPERM), "not a directory");
	/* The default: under $HOME/.cache. */
	setenv("HOME", dir, 1);
	unsetenv("XDG_CACHE_HOME");
	cr_assert(eq(int, patch_cache_dir("", d, sizeof(d)), 0));
	snprintf(sub, sizeof(sub), "%s/.cache/sockshift", dir);
	cr_assert(eq(str, d, sub));
	/* Not in a home that belongs to someone else (sudo keeps HOME). */
	snprintf(sub, sizeof(sub), "%s/other", dir);
	cr_assert(eq(int, mkdir(sub, 0755), 0));
	cr_assert(eq(int, chown(sub, 12345, 12345), 0));
	setenv("HOME", sub, 1);
	cr_assert(eq(int, patch_cache_dir("", d, sizeof(d)), -EPERM));
}

Test(patch_cache, setting)
{
	char err[CONFIG_ERR_MAX];
	static struct config cfg;
	char *none[] = { NULL };
	char *dirs[] = { "SOCKSHIFT_PATCH_CACHE=/var/cache/x", NULL };
	char *off[] = { "SOCKSHIFT_PATCH_CACHE=off", NULL };
	char *rel[] = { "SOCKSHIFT_PATCH_CACHE=cache", NULL };

	cr_assert(eq(int, config_load(&cfg, none, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(str, cfg.patch_cache, ""), "the default directory");
	cr_assert(eq(int, config_load(&cfg, dirs, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(str, cfg.patch_cache, "/var/cache/x"));
	cr_assert(eq(int, config_load(&cfg, off, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(str, cfg.patch_cache, "off"));
	cr_assert(lt(int, config_load(&cfg, rel, err, sizeof(err)), 0));
	cr_assert(ne(ptr, strstr(err, "SOCKSHIFT_PATCH_CACHE"), NULL), "%s", err);
}
