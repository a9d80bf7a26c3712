/*
 * test_route — routing rules: parsing errors, longest-prefix lookup, defaults, "none",
 * v4-mapped addresses, and binding names to open stacks.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "real.h"
#include "route.h"
#include "test_util.h"

TestSuite(route, .init = real_use_libc);

struct parse_case {
	const char *text;
	int ok;
	const char *msg;
};

static struct parse_case parse_cases[] = {
	{ "", 1, "" },
	{ "to 10.0.0.0/8 a", 1, "" },
	{ " to 10.0.0.0/8 a ;; from ::1 b; default none ", 1, "" },
	{ "to 10.0.0.0/8", 0, "expected 'to PREFIX STACK'" },
	{ "via 10.0.0.0/8 a", 0, "expected 'to PREFIX STACK'" },
	{ "to 10.0.0.300/8 a", 0, "'10.0.0.300/8' is not ADDRESS[/LEN]" },
	{ "to 10.0.0.0/x a", 0, "is not ADDRESS[/LEN]" },
	{ "to fe80::/129 a", 0, "is not ADDRESS[/LEN]" },
	{ "default a; default b", 0, "a second default rule" },
	{ "to 10.0.0.0/8 a b", 0, "expected" },
};

ParameterizedTestParameters(route, parse)
{
	return test_index_params(sizeof(parse_cases) / sizeof(parse_cases[0]));
}

ParameterizedTest(int *idx, route, parse)
{
	struct parse_case *c = &parse_cases[*idx];
	static struct route_table t;
	char why[256] = "";
	int r = route_parse(c->text, &t, why, sizeof(why));

	if (c->ok)
		cr_assert(eq(int, r, 0), "%s: %s", c->text, why);
	else {
		cr_assert(lt(int, r, 0));
		cr_assert(strstr(why, c->msg) != NULL, "'%s' lacks '%s'", why, c->msg);
	}
}

static struct sockaddr_in6 v6(const char *a)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

/* Lookup index (or -1) for an IPv4 destination. */
static int lookup4(const struct route_table *t, enum route_dir dir, const char *a)
{
	struct sockaddr_in s = v4(a);
	struct stack *st;
	int i = -2;

	route_lookup_in(t, dir, (struct sockaddr *)&s, sizeof(s), &st, &i);
	return i;
}

Test(route, longest_prefix_and_default)
{
	static struct route_table t;
	char why[256];

	cr_assert(eq(int, route_parse("to 10.0.0.0/8 a; to 10.1.0.0/16 b; from 10.1.0.0/16 c;"
				      "to 10.1.2.3 d; default kernel", &t, why, sizeof(why)), 0));
	cr_assert(eq(int, lookup4(&t, ROUTE_TO, "10.9.9.9"), 0));
	cr_assert(eq(int, lookup4(&t, ROUTE_TO, "10.1.9.9"), 1));
	cr_assert(eq(int, lookup4(&t, ROUTE_TO, "10.1.2.3"), 3));
	cr_assert(eq(int, lookup4(&t, ROUTE_FROM, "10.1.2.3"), 2));
	cr_assert(eq(int, lookup4(&t, ROUTE_TO, "192.168.0.1"), 4));
	cr_assert(eq(int, lookup4(&t, ROUTE_FROM, "192.168.0.1"), 4));
}

Test(route, no_default_means_no_match)
{
	static struct route_table t;
	struct sockaddr_in s = v4("192.168.0.1");
	struct stack *st = (struct stack *)1;
	char why[256];

	cr_assert(eq(int, route_parse("to 10.0.0.0/8 a", &t, why, sizeof(why)), 0));
	cr_assert(eq(int, route_lookup_in(&t, ROUTE_TO, (struct sockaddr *)&s, sizeof(s), &st, NULL), 0));
}

Test(route, v6_and_mapped)
{
	static struct route_table t;
	struct sockaddr_in6 m = v6("::ffff:10.1.2.3"), a = v6("fd00::5"), o = v6("fe80::1");
	struct stack *st;
	char why[256];
	int i;

	cr_assert(eq(int, route_parse("to 10.0.0.0/8 a; to fd00::/8 b", &t, why, sizeof(why)), 0));
	route_lookup_in(&t, ROUTE_TO, (struct sockaddr *)&m, sizeof(m), &st, &i);
	cr_assert(eq(int, i, 0));
	route_lookup_in(&t, ROUTE_TO, (struct sockaddr *)&a, sizeof(a), &st, &i);
	cr_assert(eq(int, i, 1));
	cr_assert(eq(int, route_lookup_in(&t, ROUTE_TO, (struct sockaddr *)&o, sizeof(o), &st, &i), 0));
}

Test(route, resolve_names)
{
	static struct route_table t;
	struct sockaddr_in s = v4("10.0.0.1");
	struct stack *st = (struct stack *)1;
	char why[256] = "";

	cr_assert(eq(int, route_parse("to 10.0.0.0/8 none; default kernel", &t, why, sizeof(why)), 0));
	cr_assert(eq(int, route_resolve(&t, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, route_lookup_in(&t, ROUTE_TO, (struct sockaddr *)&s, sizeof(s), &st, NULL), 1));
	cr_assert(eq(ptr, st, NULL)); /* none */
	cr_assert(eq(int, route_parse("to 10.0.0.0/8 nosuch", &t, why, sizeof(why)), 0));
	cr_assert(eq(int, route_resolve(&t, why, sizeof(why)), -ENOENT));
	cr_assert(strstr(why, "names stack 'nosuch', which is not configured") != NULL, "%s", why);
}

Test(route, stack_for_installed_table)
{
	static struct route_table t;
	struct sockaddr_in in = v4("10.1.2.3"), out = v4("192.0.2.9");
	char why[256] = "";

	cr_assert(eq(ptr, route_stack_for(ROUTE_FROM, (struct sockaddr *)&in, sizeof(in)), stack_default()));
	cr_assert(eq(int, route_parse("from 10.0.0.0/8 none; to 192.0.2.0/24 kernel", &t, why, sizeof(why)), 0));
	cr_assert(eq(int, route_resolve(&t, why, sizeof(why)), 0), "%s", why);
	route_install(&t);
	cr_assert(eq(int, route_active(), 1));
	cr_assert(eq(ptr, route_stack_for(ROUTE_FROM, (struct sockaddr *)&in, sizeof(in)), NULL));
	cr_assert(eq(ptr, route_stack_for(ROUTE_TO, (struct sockaddr *)&out, sizeof(out)), stack_by_id(0)));
	cr_assert(eq(ptr, route_stack_for(ROUTE_TO, (struct sockaddr *)&in, sizeof(in)), stack_default()));
}
