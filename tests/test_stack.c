/*
 * test_stack — stack specs, and netns stacks made and used without the shim: a socket of
 * a netns:new stack lives in another namespace than the test's own, and the test thread
 * is back home afterwards.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "real.h"
#include "stack.h"
#include "test_util.h"

TestSuite(stack, .init = real_use_libc);

struct spec_case {
	const char *text;
	int ok;
	enum stack_kind kind;
	const char *arg_or_msg;
};

static struct spec_case spec_cases[] = {
	{ "kernel", 1, STACK_KERNEL, "" },
	{ "netns:blue", 1, STACK_NETNS, "blue" },
	{ "netns:/proc/1/ns/net", 1, STACK_NETNS, "/proc/1/ns/net" },
	{ "netns:new", 1, STACK_NETNS, "new" },
	{ "vdestack:vde:///tmp/sw", 1, STACK_VDESTACK, "vde:///tmp/sw" },
	{ "plugin:vdestack,iface=v1 vde:///tmp/sw", 1, STACK_PLUGIN, "vdestack,iface=v1 vde:///tmp/sw" },
	{ "netns:", 0, 0, "lacks its argument" },
	{ "netns:a/b", 0, 0, "a namespace name has no '/'" },
	{ "plugin:", 0, 0, "lacks its argument" },
	{ "quantum", 0, 0, "unknown stack 'quantum'" },
	{ "", 0, 0, "the value is empty" },
};

ParameterizedTestParameters(stack, spec)
{
	return test_index_params(sizeof(spec_cases) / sizeof(spec_cases[0]));
}

ParameterizedTest(int *idx, stack, spec)
{
	struct spec_case *c = &spec_cases[*idx];
	struct stack_spec spec;
	char why[512] = "";
	int r = stack_spec_parse(c->text, &spec, why, sizeof(why));

	if (c->ok) {
		cr_assert(eq(int, r, 0), "%s: %s", c->text, why);
		cr_assert(eq(int, (int)spec.kind, (int)c->kind));
		cr_assert(eq(str, spec.arg, (char *)c->arg_or_msg));
	} else {
		cr_assert(lt(int, r, 0));
		cr_assert(strstr(why, c->arg_or_msg) != NULL, "'%s' lacks '%s'", why, c->arg_or_msg);
	}
}

static ino_t netns_of_thread(void)
{
	struct stat sb;

	cr_assert(eq(int, stat("/proc/thread-self/ns/net", &sb), 0));
	return sb.st_ino;
}

Test(stack, netns_new_sockets_live_elsewhere)
{
	struct stack_spec spec;
	struct stack *a, *b;
	char why[512] = "";
	ino_t home = netns_of_thread();

	cr_assert(eq(int, stack_spec_parse("netns:new", &spec, why, sizeof(why)), 0));
	int r = stack_open_named("a", &spec, &a, why, sizeof(why));
	if (r == -EPERM)
		cr_skip_test("cannot make network namespaces: %s", why);
	cr_assert(eq(int, r, 0), "%s", why);
	cr_assert(eq(int, stack_open_named("b", &spec, &b, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, stack_open_named("b", &spec, &b, why, sizeof(why)), -EEXIST));

	int fa = a->ops->socket(a, AF_INET, SOCK_STREAM, 0);
	int fb = b->ops->socket(b, AF_INET, SOCK_DGRAM, 0);
	cr_assert(ge(int, fa, 0));
	cr_assert(ge(int, fb, 0));
	cr_assert(eq(u64, (uint64_t)netns_of_thread(), (uint64_t)home));
	cr_assert(ne(u64, (uint64_t)test_netns_of_socket(fa), (uint64_t)home));
	cr_assert(ne(u64, (uint64_t)test_netns_of_socket(fb), (uint64_t)home));
	cr_assert(ne(u64, (uint64_t)test_netns_of_socket(fa), (uint64_t)test_netns_of_socket(fb)));
	cr_assert(eq(ptr, stack_by_name("a"), a));
	cr_assert(eq(ptr, stack_by_id(a->id), a));
	cr_assert(eq(ptr, stack_by_name("kernel"), stack_by_id(0)));

	/* Loopback is up in a new namespace: a listener there takes connections. */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sa);
	cr_assert(eq(int, bind(fa, (struct sockaddr *)&sa, sizeof(sa)), 0));
	cr_assert(eq(int, listen(fa, 1), 0));
	getsockname(fa, (struct sockaddr *)&sa, &l);
	int c = a->ops->socket(a, AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0), "%s", strerror(errno));
	close(c);
	close(fa);
	close(fb);
}

Test(stack, missing_namespace_fails_naming_it)
{
	struct stack_spec spec;
	struct stack *st;
	char why[512] = "";

	cr_assert(eq(int, stack_spec_parse("netns:sockshift-no-such-ns", &spec, why, sizeof(why)), 0));
	cr_assert(eq(int, stack_open(&spec, &st, why, sizeof(why)), -ENOENT));
	cr_assert(strstr(why, "/run/netns/sockshift-no-such-ns") != NULL, "%s", why);
	cr_assert(eq(int, stack_spec_parse("netns:/etc/hostname", &spec, why, sizeof(why)), 0));
	cr_assert(eq(int, stack_open(&spec, &st, why, sizeof(why)), -EINVAL));
	cr_assert(strstr(why, "is not a network namespace") != NULL, "%s", why);
}

Test(stack, missing_plugin_names_search_dirs)
{
	struct stack_spec spec;
	struct stack *st;
	char why[1024] = "";

	setenv("HOME", "/nonexistent-home", 1);
	cr_assert(eq(int, stack_spec_parse("plugin:nosuchstack,x=1 vde:///tmp/x", &spec, why, sizeof(why)), 0));
	cr_assert(eq(int, stack_open(&spec, &st, why, sizeof(why)), -ENOENT));
	cr_assert(strstr(why, "no plug-in ioth_nosuchstack[-r].so in /nonexistent-home/.ioth") != NULL,
		  "%s", why);
	cr_assert(eq(int, stack_spec_parse("plugin:bad/name", &spec, why, sizeof(why)), 0));
	cr_assert(eq(int, stack_open(&spec, &st, why, sizeof(why)), -EINVAL));
}
