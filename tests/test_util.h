/*
 * test_util — shared helpers for the Criterion unit tests.
 */
#ifndef SOCKSHIFT_TEST_UTIL_H
#define SOCKSHIFT_TEST_UTIL_H

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* Writes text to a fresh temporary file and returns its path (static buffer per call site). */
static inline char *test_write_tmp(char *path, size_t size, const void *data, size_t len)
{
	snprintf(path, size, "/tmp/sockshift-test-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp failed");
	cr_assert(write(fd, data, len) == (ssize_t)len);
	close(fd);
	return path;
}

/* Parameterized tests get indices into a static table: Criterion runs each test in a
 * fresh process image, where pointers taken in the parent's parameter array are invalid. */
static inline void test_free_params(struct criterion_test_params *p)
{
	cr_free(p->params);
}

static inline struct criterion_test_params test_index_params(size_t n)
{
	int *idx = cr_malloc(n * sizeof(int));
	for (size_t i = 0; i < n; i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, n, test_free_params);
}

/* The inode of the network namespace socket fd lives in (SIOCGSKNS gives an fd of it). */
static inline ino_t test_netns_of_socket(int fd)
{
	struct stat sb;
	int ns = ioctl(fd, SIOCGSKNS);

	cr_assert(ns >= 0, "SIOCGSKNS: %s", strerror(errno));
	fstat(ns, &sb);
	close(ns);
	return sb.st_ino;
}

#endif
