/*
 * test_addr — address rendering for logs, checked against inet_ntop for IPv6.
 */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "addr.h"
#include "test_util.h"

TestSuite(addr);

static const char *v6_cases[] = {
	"::", "::1", "fe80::1", "2001:db8::ff00:42:8329", "2001:db8:0:0:1:0:0:1", "1:2:3:4:5:6:7:8",
	"::ffff:127.0.0.1", "2001:0:0:1::1", "1::", "1:0:1:0:1:0:1:0",
};

ParameterizedTestParameters(addr, v6_like_inet_ntop)
{
	return test_index_params(sizeof(v6_cases) / sizeof(v6_cases[0]));
}

ParameterizedTest(int *idx, addr, v6_like_inet_ntop)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	char ours[ADDR_STRLEN], ref[INET6_ADDRSTRLEN + 16], ntop[INET6_ADDRSTRLEN];

	cr_assert(eq(int, inet_pton(AF_INET6, v6_cases[*idx], &a.sin6_addr), 1));
	inet_ntop(AF_INET6, &a.sin6_addr, ntop, sizeof(ntop));
	snprintf(ref, sizeof(ref), "[%s]:443", ntop);
	addr_format(ours, sizeof(ours), (void *)&a, sizeof(a));
	cr_assert(eq(str, ours, ref));
}

Test(addr, families)
{
	char buf[ADDR_STRLEN];
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/run/x.sock" };
	struct sockaddr_un abs = { .sun_family = AF_UNIX, .sun_path = "\0name" };
	struct sockaddr_vm vm = { .svm_family = AF_VSOCK, .svm_cid = 3, .svm_port = 5000 };

	inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
	cr_assert(eq(str, addr_format(buf, sizeof(buf), (void *)&in, sizeof(in)), "10.1.2.3:8080"));
	cr_assert(eq(str, addr_format(buf, sizeof(buf), (void *)&un,
				       offsetof(struct sockaddr_un, sun_path) + 12), "unix:/run/x.sock"));
	cr_assert(eq(str, addr_format(buf, sizeof(buf), (void *)&abs,
				       offsetof(struct sockaddr_un, sun_path) + 5), "unix:@name"));
	cr_assert(eq(str, addr_format(buf, sizeof(buf), (void *)&un, sizeof(sa_family_t)), "unix:(unnamed)"));
	cr_assert(eq(str, addr_format(buf, sizeof(buf), (void *)&vm, sizeof(vm)), "vsock:3:5000"));
	cr_assert(eq(str, addr_format(buf, sizeof(buf), NULL, 0), "-"));
	cr_assert(eq(str, addr_format(buf, sizeof(buf), (void *)&in, 4), "family=2(len=4)"),
		  "a short address is not read past its length");
}

Test(addr, small_buffer)
{
	char buf[6];
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(8080) };

	addr_format(buf, sizeof(buf), (void *)&in, sizeof(in));
	cr_assert(eq(str, buf, "0.0.0"));
}
