/*
 * test_fdenv — the exec hand-over of socket records: round trip, CLOEXEC filtering,
 * size limits, and strict rejection of malformed values.
 */
#include <errno.h>
#include <netinet/in.h>

#include "fdenv.h"
#include "test_util.h"

static void reset(void)
{
	fdt_clear();
}

TestSuite(fdenv, .init = reset);

struct collect {
	struct fdt_rec recs[8];
	int n;
};

static int collect(const struct fdt_rec *rec, void *arg)
{
	struct collect *c = arg;

	c->recs[c->n++] = *rec;
	return 0;
}

Test(fdenv, round_trip_skips_cloexec)
{
	struct fdt_rec r;
	char buf[4096], err[256];
	int one = 1;

	fdt_rec_init(&r, 3, AF_INET, SOCK_STREAM, 6, 0, FDT_ORIGIN_SOCKET);
	fdt_add(&r);
	fdt_set_backlog(3, 64);
	fdt_set_opt(3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	fdt_set_opt(3, IPPROTO_TCP, 13, "cubic", 6);
	fdt_rec_init(&r, 4, AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 17, 0, FDT_ORIGIN_SOCKET);
	fdt_add(&r);

	long n = fdenv_encode(buf, sizeof(buf));
	cr_assert(gt(long, n, 0));
	cr_assert(eq(int, strncmp(buf, "SOCKSHIFT_FDS=v1;3,", 19), 0), "%s", buf);
	cr_assert(strstr(buf, ";4,") == NULL, "a CLOEXEC socket was carried: %s", buf);

	struct collect c = { .n = 0 };
	cr_assert(eq(int, fdenv_decode(buf + strlen("SOCKSHIFT_FDS="), collect, &c, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(int, c.n, 1));
	cr_assert(eq(int, c.recs[0].fd, 3));
	cr_assert(eq(int, c.recs[0].backlog, 64));
	cr_assert(eq(u32, c.recs[0].state, FDT_LISTENING));
	cr_assert(eq(u32, c.recs[0].nopts, 2));
	cr_assert(eq(str, (char *)c.recs[1 - 1].opts[1].val, "cubic"));
}

Test(fdenv, nothing_to_carry)
{
	char buf[64];

	cr_assert(eq(long, fdenv_encode(buf, sizeof(buf)), 0));
}

Test(fdenv, too_small_buffer)
{
	struct fdt_rec r;
	char buf[20];

	fdt_rec_init(&r, 3, AF_INET, SOCK_STREAM, 6, 0, FDT_ORIGIN_SOCKET);
	fdt_add(&r);
	cr_assert(eq(long, fdenv_encode(buf, sizeof(buf)), -ENOSPC));
	cr_assert(ge(sz, fdenv_size_hint(), 40));
}

static const char *bad_values[] = {
	"v2;3,2,1,6,0,0,0,-1,0",
	"x",
	"v1;3,2,1,6",                       /* too few fields */
	"v1;3,2,1,6,0,0,0,-1,0,",           /* dangling comma */
	"v1;-3,2,1,6,0,0,0,-1,0",           /* negative fd */
	"v1;3,2,1,6,0,0,0,-1,0;abc",        /* garbage record */
	"v1;3,2,1,6,0,9,0,-1,0",            /* origin out of range */
	"v1;99999999999999,2,1,6,0,0,0,-1,0",
	"v1;3,2,1,6,0,0,0,-1,0,o=1:2:zz",   /* bad hex */
	"v1;3,2,1,6,0,0,0,-1,0,o=1:2:" "00000000000000000000000000000000000000000000000000000000000000000000",
	"v1;3,2,1,6,0,0,0,-1,0 ",
};

ParameterizedTestParameters(fdenv, rejects_malformed)
{
	return test_index_params(sizeof(bad_values) / sizeof(bad_values[0]));
}

ParameterizedTest(int *idx, fdenv, rejects_malformed)
{
	char err[256] = "";
	struct collect c = { .n = 0 };

	cr_assert(eq(int, fdenv_decode(bad_values[*idx], collect, &c, err, sizeof(err)), -EINVAL),
		  "accepted '%s'", bad_values[*idx]);
	cr_assert(strstr(err, "SOCKSHIFT_FDS:") == err, "%s", err);
}
