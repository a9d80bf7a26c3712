/*
 * test_netconf — the command syntax, and the netlink wrapper at work inside a private
 * network namespace (the test process unshares its own; skipped without CAP_SYS_ADMIN).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netconf.h"
#include "real.h"
#include "test_util.h"

TestSuite(netconf, .init = real_use_libc);

struct parse_case {
	const char *text;
	int ok;
	const char *msg;
};

static struct parse_case parse_cases[] = {
	{ "a lo up", 1, "" },
	{ "a eth0 down; a eth0 addr 10.0.0.1/24; a eth0 addr fd00::1/64", 1, "" },
	{ "a route default via 10.0.0.254; a route 10.2.0.0/16 dev eth0; a route default6 via fd00::fe", 1, "" },
	{ "a lo", 0, "expected 'STACK IFACE up|down|addr A/P'" },
	{ "a lo sideways", 0, "expected 'up', 'down' or 'addr ADDRESS/PREFIX'" },
	{ "a lo addr 10.0.0.1", 0, "address '10.0.0.1' is not ADDRESS/PREFIX" },
	{ "a lo addr 10.0.0.1/40", 0, "is not ADDRESS/PREFIX" },
	{ "a averyveryverylongname up", 0, "is too long" },
	{ "a route 10.0.0.0/8", 0, "needs 'via GATEWAY' or 'dev IFACE'" },
	{ "a route default via fd00::1", 0, "gateway 'fd00::1' is not an IPv4 address" },
	{ "a route default through x", 0, "unknown route word 'through'" },
};

ParameterizedTestParameters(netconf, parse)
{
	return test_index_params(sizeof(parse_cases) / sizeof(parse_cases[0]));
}

ParameterizedTest(int *idx, netconf, parse)
{
	struct parse_case *c = &parse_cases[*idx];
	struct netconf_cmd cmds[NETCONF_CMDS_MAX];
	char why[256] = "";
	int n, r = netconf_parse(c->text, cmds, NETCONF_CMDS_MAX, &n, why, sizeof(why));

	if (c->ok)
		cr_assert(eq(int, r, 0), "%s: %s", c->text, why);
	else {
		cr_assert(lt(int, r, 0));
		cr_assert(strstr(why, c->msg) != NULL, "'%s' lacks '%s'", why, c->msg);
	}
}

static void private_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		cr_skip_test("cannot unshare a network namespace: %s", strerror(errno));
}

/* Runs one command text on a fresh netlink socket; returns netconf_apply's result. */
static int run(const char *text, char *why, size_t whylen)
{
	struct netconf_cmd cmd;
	int n, fd;

	cr_assert(eq(int, netconf_parse(text, &cmd, 1, &n, why, whylen), 0), "%s", why);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	cr_assert(ge(int, fd, 0));
	return netconf_apply(fd, &cmd, why, whylen);
}

Test(netconf, apply_in_private_namespace)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char why[512] = "";
	int s;

	private_netns();
	cr_assert(eq(int, run("t lo up", why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, run("t lo addr 10.77.0.1/8", why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, run("t route 10.88.0.0/16 via 10.77.0.2", why, sizeof(why)), 0), "%s", why);
	/* The address is really there: binding to it works. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
	cr_assert(eq(int, bind(s, (struct sockaddr *)&a, sizeof(a)), 0), "%s", strerror(errno));
	close(s);
}

Test(netconf, errors_name_stack_interface_and_netlink)
{
	char why[512] = "";

	private_netns();
	cr_assert(eq(int, run("blue eth9 up", why, sizeof(why)), -ENODEV));
	cr_assert(strstr(why, "stack blue, interface eth9: looking up the interface failed") != NULL,
		  "%s", why);
	cr_assert(strstr(why, "(netlink: ") != NULL, "%s", why);
	cr_assert(eq(int, run("blue lo up", why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, run("blue lo addr 10.5.0.1/8", why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, run("blue lo addr 10.5.0.1/8", why, sizeof(why)), -EEXIST));
	cr_assert(strstr(why, "stack blue, interface lo: adding the address failed") != NULL, "%s", why);
	/* A gateway that is not reachable from any interface. */
	cr_assert(lt(int, run("blue route default via 192.0.2.1", why, sizeof(why)), 0));
	cr_assert(strstr(why, "adding the route failed") != NULL, "%s", why);
}

/* ---- moving an address between namespaces ------------------------------------------ */

struct move_case {
	const char *text;
	int ok, family, prefix;
	const char *to_if, *msg;
};

static struct move_case move_cases[] = {
	{ "10.1.2.3/24", 1, AF_INET, 24, "", "" },
	{ "10.1.2.3", 1, AF_INET, -1, "", "" },
	{ "10.1.2.3/32,dev=eth1", 1, AF_INET, 32, "eth1", "" },
	{ "fd00::7/64,dev=veth0", 1, AF_INET6, 64, "veth0", "" },
	{ "10.1.2.3/33", 0, 0, 0, "", "is not an IPv4 or IPv6 ADDRESS[/PREFIX]" },
	{ "nothing", 0, 0, 0, "", "is not an IPv4 or IPv6 ADDRESS[/PREFIX]" },
	{ "10.1.2.3/24,iface=eth1", 0, 0, 0, "", "expected ADDRESS[/PREFIX][,dev=IFACE]" },
	{ "10.1.2.3/24,dev=", 0, 0, 0, "", "expected ADDRESS[/PREFIX][,dev=IFACE]" },
	{ "10.1.2.3/24,dev=averyveryverylongname", 0, 0, 0, "", "is too long" },
};

ParameterizedTestParameters(netconf, move_parse)
{
	return test_index_params(sizeof(move_cases) / sizeof(move_cases[0]));
}

ParameterizedTest(int *idx, netconf, move_parse)
{
	struct move_case *c = &move_cases[*idx];
	struct netconf_move m;
	char why[256] = "";
	int r = netconf_move_parse(c->text, &m, why, sizeof(why));

	if (!c->ok) {
		cr_assert(lt(int, r, 0));
		cr_assert(strstr(why, c->msg) != NULL, "'%s' lacks '%s'", why, c->msg);
		return;
	}
	cr_assert(eq(int, r, 0), "%s: %s", c->text, why);
	cr_assert(eq(int, m.family, c->family));
	cr_assert(eq(int, m.prefix, c->prefix));
	cr_assert(eq(str, m.to_if, (char *)c->to_if));
}

/* Two private namespaces "one" and "two" (fds in *one, *two; we stay in two), lo up in both. */
static void two_namespaces(int *one, int *two, int *nl_one, int *nl_two)
{
	char why[256];

	private_netns();
	*one = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	cr_assert(ge(int, *one, 0));
	cr_assert(eq(int, run("t lo up", why, sizeof(why)), 0), "%s", why);
	*nl_one = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	private_netns();
	cr_assert(eq(int, run("t lo up", why, sizeof(why)), 0), "%s", why);
	*nl_two = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	*two = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	cr_assert(ge(int, *two, 0));
	cr_assert(ge(int, *nl_one, 0));
	cr_assert(ge(int, *nl_two, 0));
}

/* Whether 10.66.0.1 can be bound in the namespace nsfd (-1: the current one). */
static int bindable(int nsfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), s, ok;

	cr_assert(ge(int, here, 0));
	if (nsfd >= 0)
		cr_assert(eq(int, setns(nsfd, CLONE_NEWNET), 0));
	s = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "10.66.0.1", &a.sin_addr);
	ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	cr_assert(eq(int, setns(here, CLONE_NEWNET), 0));
	close(here);
	return ok;
}

static void move_named(struct netconf_move *m, const char *text)
{
	char why[256];

	cr_assert(eq(int, netconf_move_parse(text, m, why, sizeof(why)), 0), "%s", why);
	strcpy(m->from_ns, "one");
	strcpy(m->to_ns, "two");
}

Test(netconf, move_between_namespaces)
{
	struct netconf_move m;
	char why[512] = "";
	int one, two, nl1, nl2;

	two_namespaces(&one, &two, &nl1, &nl2);
	/* nothing to move yet */
	move_named(&m, "10.66.0.1/16");
	cr_assert(eq(int, netconf_move_check(nl1, nl2, &m, why, sizeof(why)), -EADDRNOTAVAIL));
	cr_assert(strstr(why, "namespace one: no interface has the address 10.66.0.1/16") != NULL, "%s", why);
	cr_assert(eq(int, setns(one, CLONE_NEWNET), 0));
	cr_assert(eq(int, run("t lo addr 10.66.0.1/8", why, sizeof(why)), 0), "%s", why);
	/* prefix from the source (8) kept in m.from_prefix; the target gets 16 as asked */
	cr_assert(eq(int, netconf_move_check(nl1, nl2, &m, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(str, m.from_if, "lo"));
	cr_assert(eq(str, m.to_if, "lo"));
	cr_assert(eq(int, m.from_prefix, 8));
	cr_assert(eq(int, m.prefix, 16));
	cr_assert(eq(int, netconf_move(nl1, nl2, &m, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, bindable(-1), 0), "the address is still in namespace one");
	cr_assert(ne(int, bindable(two), 0), "the address is not in namespace two");
	/* now in two: a check from one fails, from two to one passes */
	cr_assert(eq(int, netconf_move_check(nl1, nl2, &m, why, sizeof(why)), -EADDRNOTAVAIL));
	move_named(&m, "10.66.0.1");
	strcpy(m.from_ns, "two");
	strcpy(m.to_ns, "one");
	cr_assert(eq(int, netconf_move_check(nl2, nl1, &m, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, m.from_prefix, 16));
	cr_assert(eq(int, m.prefix, 16));
}

Test(netconf, move_check_errors)
{
	struct netconf_move m;
	char why[512] = "";
	int one, two, nl1, nl2;

	two_namespaces(&one, &two, &nl1, &nl2);
	cr_assert(eq(int, setns(one, CLONE_NEWNET), 0));
	cr_assert(eq(int, run("t lo addr 10.66.0.1/8", why, sizeof(why)), 0), "%s", why);
	move_named(&m, "10.66.0.1/8,dev=eth9");
	cr_assert(eq(int, netconf_move_check(nl1, nl2, &m, why, sizeof(why)), -ENODEV));
	cr_assert(strstr(why, "namespace two, interface eth9: looking up the interface to receive "
			      "10.66.0.1/8,dev=eth9 failed (netlink: ") != NULL, "%s", why);
	/* the target has it already */
	move_named(&m, "10.66.0.1/8");
	strcpy(m.to_ns, "one");
	cr_assert(eq(int, netconf_move_check(nl1, nl1, &m, why, sizeof(why)), -EEXIST));
	cr_assert(strstr(why, "namespace one: the address 10.66.0.1/8 is there already") != NULL, "%s", why);
}

Test(netconf, move_puts_the_address_back_when_adding_fails)
{
	struct netconf_move m;
	char why[512] = "";
	int one, two, nl1, nl2;

	two_namespaces(&one, &two, &nl1, &nl2);
	cr_assert(eq(int, setns(one, CLONE_NEWNET), 0));
	cr_assert(eq(int, run("t lo addr 10.66.0.1/8", why, sizeof(why)), 0), "%s", why);
	move_named(&m, "10.66.0.1/8");
	cr_assert(eq(int, netconf_move_check(nl1, nl2, &m, why, sizeof(why)), 0), "%s", why);
	/* between the check and the move, the target gets the address: adding fails */
	struct netconf_cmd add;
	int n;
	cr_assert(eq(int, netconf_parse("t lo addr 10.66.0.1/8", &add, 1, &n, why, sizeof(why)), 0));
	cr_assert(eq(int, netconf_apply(fcntl(nl2, F_DUPFD_CLOEXEC, 0), &add, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, netconf_move(nl1, nl2, &m, why, sizeof(why)), -EEXIST));
	cr_assert(strstr(why, "namespace two, interface lo: adding the address 10.66.0.1/8 failed "
			      "(netlink: ") != NULL, "%s", why);
	cr_assert(strstr(why, "; it is back on lo in one") != NULL, "%s", why);
	cr_assert(ne(int, bindable(-1), 0), "the address did not come back to namespace one");
}
