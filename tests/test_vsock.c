/*
 * test_vsock — the vsock stack without any vsock traffic: rule parsing and matching, the
 * documented CID -> address mapping, option emulation and error mapping as pure functions;
 * then the whole socket layer (sock.c -> vsock_sock.c) in hybrid mode, whose sockets are
 * AF_UNIX, so a program's AF_INET bind/listen/accept/connect really run here. Guest mode
 * is only opened and made to bind/listen (never connect or send on AF_VSOCK here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "config.h"
#include "fdtable.h"
#include "hvsock.h"
#include "log.h"
#include "real.h"
#include "sock.h"
#include "stack.h"
#include "test_util.h"
#include "vsock.h"
#include "vsock_sock.h"

static void setup(void)
{
	real_use_libc();
	fdt_clear();
	vsock_sock_reset();
}

TestSuite(vsock, .init = setup);

/* ---- rules ---- */

static const struct {
	const char *text;
	int kind;
	int ok;
	unsigned n;
} parse_cases[] = {
	{ "", VSOCK_RULE_CONNECT, 1, 0 },
	{ "127.0.0.1:5000=2:5000", VSOCK_RULE_CONNECT, 1, 1 },
	{ "127.0.0.1=2", VSOCK_RULE_CONNECT, 1, 1 },
	{ "10.0.0.0/8=host, *=local:80", VSOCK_RULE_CONNECT, 1, 2 },
	{ "[::1]:80=1:8080", VSOCK_RULE_CONNECT, 1, 1 },
	{ "::1=1", VSOCK_RULE_CONNECT, 1, 1 },
	{ "fd00::/8=3", VSOCK_RULE_CONNECT, 1, 1 },
	{ "*:443=16:4430", VSOCK_RULE_CONNECT, 1, 1 },
	{ "127.0.0.1:5000", VSOCK_RULE_CONNECT, 0, 0 },          /* no target */
	{ "127.0.0.1:5000=", VSOCK_RULE_CONNECT, 0, 0 },
	{ "127.0.0.1:5000=x", VSOCK_RULE_CONNECT, 0, 0 },
	{ "127.0.0.1:70000=2", VSOCK_RULE_CONNECT, 0, 0 },
	{ "300.0.0.1=2", VSOCK_RULE_CONNECT, 0, 0 },
	{ "10.0.0.0/33=2", VSOCK_RULE_CONNECT, 0, 0 },
	{ "1.2.3.4=4294967295", VSOCK_RULE_CONNECT, 0, 0 },        /* CID -1 is "any" */
	{ "0.0.0.0:8080=8080", VSOCK_RULE_LISTEN, 1, 1 },
	{ "*:8080", VSOCK_RULE_LISTEN, 1, 1 },
	{ "*:*", VSOCK_RULE_LISTEN, 1, 1 },
	{ "*:*=80", VSOCK_RULE_LISTEN, 0, 0 },                     /* all ports onto one */
	{ "127.0.0.1", VSOCK_RULE_LISTEN, 0, 0 },                  /* listen needs a port */
	{ "[::]:22=2222, 0.0.0.0:80", VSOCK_RULE_LISTEN, 1, 2 },
	{ "10.0.0.0/8:80", VSOCK_RULE_LISTEN, 0, 0 },              /* a listen address, not a prefix */
};

ParameterizedTestParameters(vsock, rules_parse)
{
	return test_index_params(sizeof(parse_cases) / sizeof(parse_cases[0]));
}

ParameterizedTest(int *i, vsock, rules_parse)
{
	struct vsock_rules rules;
	char why[256] = "";
	int r = vsock_rules_parse(parse_cases[*i].text, parse_cases[*i].kind, &rules, why, sizeof(why));

	if (parse_cases[*i].ok) {
		cr_assert(eq(int, r, 0), "'%s': %s", parse_cases[*i].text, why);
		cr_assert(eq(uint, rules.n, parse_cases[*i].n));
	} else {
		cr_assert(eq(int, r, -EINVAL), "'%s' was accepted", parse_cases[*i].text);
		cr_assert(ne(ptr, strstr(why, "expected"), NULL), "%s", why);
	}
}

static struct sockaddr_in in4(const char *a, unsigned port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 in6(const char *a, unsigned port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };

	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

Test(vsock, rules_match_first_wins)
{
	struct vsock_rules r;
	char why[128];

	cr_assert(eq(int, vsock_rules_parse("127.0.0.1:5000=2:6000, 10.1.0.0/16=3, 127.0.0.0/8=1, "
					    "[::1]:80=1", VSOCK_RULE_CONNECT, &r, why, sizeof(why)), 0));
	struct sockaddr_in a = in4("127.0.0.1", 5000), b = in4("127.0.0.1", 5001),
			   c = in4("10.1.200.3", 22), d = in4("10.2.0.1", 22);
	struct sockaddr_in6 e = in6("::1", 80), f = in6("::ffff:127.0.0.1", 5000), g = in6("::2", 80);
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&a, sizeof(a)), 0));
	cr_assert(eq(uint, vsock_rule_vport(&r.r[0], 5000), 6000));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&b, sizeof(b)), 2));
	cr_assert(eq(uint, vsock_rule_vport(&r.r[2], 5001), 5001));    /* port kept */
	cr_assert(eq(uint, r.r[2].cid, 1));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&c, sizeof(c)), 1));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&d, sizeof(d)), -1));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&e, sizeof(e)), 3));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&f, sizeof(f)), 0)); /* v4-mapped */
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&g, sizeof(g)), -1));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&a, 8), -1));        /* short */
}

Test(vsock, rules_listen_wildcards)
{
	struct vsock_rules r;
	char why[128];

	cr_assert(eq(int, vsock_rules_parse("*:8080=9090, 127.0.0.1:*", VSOCK_RULE_LISTEN, &r, why,
					    sizeof(why)), 0));
	struct sockaddr_in any = in4("0.0.0.0", 8080), lo = in4("127.0.0.1", 7), other = in4("0.0.0.0", 7);
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&any, sizeof(any)), 0));
	cr_assert(eq(uint, vsock_rule_vport(&r.r[0], 8080), 9090));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&lo, sizeof(lo)), 1));
	cr_assert(eq(uint, vsock_rule_vport(&r.r[1], 7), 7));
	cr_assert(eq(int, vsock_rules_match(&r, (struct sockaddr *)&other, sizeof(other)), -1));
}

/* ---- addresses ---- */

static const char *ntop(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)n);
	return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)n);
}

static const struct {
	int domain;
	uint32_t cid, port;
	const char *addr;
	unsigned fport;
} fake_cases[] = {
	{ AF_INET, 1, 7000, "127.0.0.1", 7000 },
	{ AF_INET, 2, 80, "100.64.0.2", 80 },
	{ AF_INET, 3, 306717184, "100.64.0.3", 49152 + 306717184u % 16384 },
	{ AF_INET, 16, 65535, "100.64.0.16", 65535 },
	{ AF_INET, 1u << 22, 1, "100.127.255.255", 1 },
	{ AF_INET, VSOCK_CID_ANY, VSOCK_PORT_ANY, "0.0.0.0", 0 },
	{ AF_INET6, 1, 22, "::1", 22 },
	{ AF_INET6, 2, 22, "::ffff:100.64.0.2", 22 },
	{ AF_INET6, VSOCK_CID_ANY, 5, "::", 5 },
};

ParameterizedTestParameters(vsock, addr_fake)
{
	return test_index_params(sizeof(fake_cases) / sizeof(fake_cases[0]));
}

ParameterizedTest(int *i, vsock, addr_fake)
{
	struct sockaddr_storage ss;
	char buf[64];
	socklen_t l = vsock_addr_fake(fake_cases[*i].domain, fake_cases[*i].cid, fake_cases[*i].port,
				      NULL, &ss);

	cr_assert(eq(int, ss.ss_family, fake_cases[*i].domain));
	cr_assert(eq(uint, l, fake_cases[*i].domain == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6)));
	cr_assert(eq(str, (char *)ntop(&ss, buf, sizeof(buf)), (char *)fake_cases[*i].addr));
	cr_assert(eq(uint, ntohs(((struct sockaddr_in *)&ss)->sin_port), fake_cases[*i].fport));
}

Test(vsock, addr_fake_reverse_rule)
{
	struct vsock_rules r;
	struct sockaddr_storage ss;
	char why[128], buf[64];

	cr_assert(eq(int, vsock_rules_parse("10.0.0.0/8=3, 192.168.1.10:5000=2:5000", VSOCK_RULE_CONNECT,
					    &r, why, sizeof(why)), 0));
	vsock_addr_fake(AF_INET, 2, 1234, &r, &ss);     /* the one-host rule for CID 2 */
	cr_assert(eq(str, (char *)ntop(&ss, buf, sizeof(buf)), "192.168.1.10"));
	vsock_addr_fake(AF_INET, 3, 1234, &r, &ss);     /* a /8 says nothing about one peer */
	cr_assert(eq(str, (char *)ntop(&ss, buf, sizeof(buf)), "100.64.0.3"));
	vsock_addr_fake(AF_INET6, 2, 1234, &r, &ss);
	cr_assert(eq(str, (char *)ntop(&ss, buf, sizeof(buf)), "::ffff:192.168.1.10"));
	/* a loopback rule is never used in reverse: the host must not look local */
	cr_assert(eq(int, vsock_rules_parse("127.0.0.1:5000=2", VSOCK_RULE_CONNECT, &r, why, sizeof(why)), 0));
	vsock_addr_fake(AF_INET, 2, 1234, &r, &ss);
	cr_assert(eq(str, (char *)ntop(&ss, buf, sizeof(buf)), "100.64.0.2"));
}

Test(vsock, addr_copy_out_truncates)
{
	struct sockaddr_storage ss;
	unsigned char out[8];
	socklen_t l = sizeof(out);
	socklen_t full = vsock_addr_fake(AF_INET6, 1, 80, NULL, &ss);

	memset(out, 0xee, sizeof(out));
	vsock_addr_copy_out(&ss, full, (struct sockaddr *)out, &l);
	cr_assert(eq(uint, l, sizeof(struct sockaddr_in6)));
	cr_assert(eq(int, memcmp(out, &ss, sizeof(out)), 0));
}

Test(vsock, errors_as_tcp)
{
	cr_assert(eq(int, vsock_err_connect(ECONNRESET), ECONNREFUSED));
	cr_assert(eq(int, vsock_err_connect(ENODEV), ENETUNREACH));
	cr_assert(eq(int, vsock_err_connect(ETIMEDOUT), ETIMEDOUT));
	cr_assert(eq(int, vsock_err_connect(EISCONN), EISCONN));
}

/* ---- options ---- */

Test(vsock, opt_emulated_set)
{
	cr_assert(eq(int, vsock_opt_emulated(IPPROTO_TCP, TCP_NODELAY), 1));
	cr_assert(eq(int, vsock_opt_emulated(IPPROTO_IP, IP_TOS), 1));
	cr_assert(eq(int, vsock_opt_emulated(IPPROTO_IPV6, IPV6_V6ONLY), 1));
	cr_assert(eq(int, vsock_opt_emulated(SOL_SOCKET, SO_DOMAIN), 1));
	cr_assert(eq(int, vsock_opt_emulated(SOL_SOCKET, SO_REUSEPORT), 1));
	cr_assert(eq(int, vsock_opt_emulated(SOL_SOCKET, SO_KEEPALIVE), 0));   /* vsock has it */
	cr_assert(eq(int, vsock_opt_emulated(SOL_SOCKET, SO_RCVBUF), 0));
}

Test(vsock, opt_check_like_tcp)
{
	int one = 1, zero = 0, big = 40000, ttl = 300;

	cr_assert(eq(int, vsock_opt_check(IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0));
	cr_assert(eq(int, vsock_opt_check(IPPROTO_TCP, TCP_NODELAY, &one, 2), -EINVAL));
	cr_assert(eq(int, vsock_opt_check(IPPROTO_TCP, TCP_KEEPIDLE, &zero, sizeof(zero)), -EINVAL));
	cr_assert(eq(int, vsock_opt_check(IPPROTO_TCP, TCP_KEEPIDLE, &big, sizeof(big)), -EINVAL));
	cr_assert(eq(int, vsock_opt_check(IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), -EINVAL));
	cr_assert(eq(int, vsock_opt_check(SOL_SOCKET, SO_DOMAIN, &one, sizeof(one)), -ENOPROTOOPT));
}

Test(vsock, opt_defaults_like_tcp)
{
	int v = -5;
	socklen_t l = sizeof(v);

	cr_assert(eq(int, vsock_opt_default(AF_INET, SOL_SOCKET, SO_DOMAIN, 0, &v, &l), 0));
	cr_assert(eq(int, v, AF_INET));
	cr_assert(eq(int, vsock_opt_default(AF_INET6, SOL_SOCKET, SO_DOMAIN, 0, &v, &l), 0));
	cr_assert(eq(int, v, AF_INET6));
	cr_assert(eq(int, vsock_opt_default(AF_INET, SOL_SOCKET, SO_PROTOCOL, 0, &v, &l), 0));
	cr_assert(eq(int, v, IPPROTO_TCP));
	cr_assert(eq(int, vsock_opt_default(AF_INET, IPPROTO_TCP, TCP_NODELAY, 0, &v, &l), 0));
	cr_assert(eq(int, v, 0));
	cr_assert(eq(int, vsock_opt_default(AF_INET, IPPROTO_TCP, TCP_KEEPIDLE, 0, &v, &l), 0));
	cr_assert(eq(int, v, 7200));
	cr_assert(eq(int, vsock_opt_default(AF_INET, IPPROTO_IP, IP_TTL, 0, &v, &l), 0));
	cr_assert(eq(int, v, 64));
	struct tcp_info ti;
	l = sizeof(ti);
	cr_assert(eq(int, vsock_opt_default(AF_INET, IPPROTO_TCP, TCP_INFO, 1, &ti, &l), 0));
	cr_assert(eq(int, ti.tcpi_state, TCP_ESTABLISHED));
}

Test(vsock, replay_skips_emulated_options)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), one = 1, v = 0;
	socklen_t l = sizeof(v);

	cr_assert(eq(int, vsock_sock_replay_opt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0));
	cr_assert(eq(int, vsock_sock_replay_opt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0));
	cr_assert(eq(int, getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0));
	cr_assert(eq(int, v, 1), "a kernel option was not set again");
	close(fd);
}

/* ---- the socket layer in hybrid mode (AF_UNIX underneath) ---- */

static char uds[108];

/* A fake VMM socket path (only needs to exist as a socket for the stack to open). */
static int open_hybrid(const char *connect_rules, const char *listen_rules)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stack_spec spec;
	struct stack *st;
	char why[512];

	snprintf(uds, sizeof(uds), "/tmp/ss-vsock-%d.sock", getpid());
	unlink(uds);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sun.sun_path, uds, strlen(uds) + 1);
	cr_assert(eq(int, bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0));
	cr_assert(eq(int, listen(l, 8), 0));
	setenv("SOCKSHIFT_VSOCK_CONNECT", connect_rules, 1);
	setenv("SOCKSHIFT_VSOCK_LISTEN", listen_rules, 1);
	char text[160];
	snprintf(text, sizeof(text), "vsock:%s", uds);
	cr_assert(eq(int, stack_spec_parse(text, &spec, why, sizeof(why)), 0), "%s", why);
	cr_assert(eq(int, stack_open(&spec, &st, why, sizeof(why)), 0), "%s", why);
	stack_set_default(st);
	return l;
}

static void cleanup_paths(void)
{
	char p[140];

	unlink(uds);
	for (unsigned port = 9000; port < 9010; port++) {
		snprintf(p, sizeof(p), "%s_%u", uds, port);
		unlink(p);
	}
}

Test(vsock, open_fails_closed)
{
	struct stack_spec spec;
	struct stack *st;
	char why[512];

	setenv("SOCKSHIFT_VSOCK_CONNECT", "127.0.0.1=2", 1);
	cr_assert(eq(int, stack_spec_parse("vsock:/nonexistent/v.sock", &spec, why, sizeof(why)), 0));
	cr_assert(lt(int, stack_open(&spec, &st, why, sizeof(why)), 0));
	cr_assert(ne(ptr, strstr(why, "not a Unix socket"), NULL), "%s", why);
	cr_assert(eq(int, stack_spec_parse("vsock:relative.sock", &spec, why, sizeof(why)), 0));
	cr_assert(lt(int, stack_open(&spec, &st, why, sizeof(why)), 0));
	unsetenv("SOCKSHIFT_VSOCK_CONNECT");
	unsetenv("SOCKSHIFT_VSOCK_LISTEN");
	cr_assert(eq(int, stack_spec_parse("vsock", &spec, why, sizeof(why)), 0));
	cr_assert(lt(int, stack_open(&spec, &st, why, sizeof(why)), 0));
	cr_assert(ne(ptr, strstr(why, "no mapping rules"), NULL), "%s", why);
	setenv("SOCKSHIFT_VSOCK_CONNECT", "127.0.0.1:70000=2", 1);
	cr_assert(lt(int, stack_open(&spec, &st, why, sizeof(why)), 0));
	cr_assert(ne(ptr, strstr(why, "SOCKSHIFT_VSOCK_CONNECT"), NULL), "%s", why);
}

Test(vsock, config_keys_validate)
{
	struct config cfg;
	char err[512];
	char *bad[] = { "SOCKSHIFT_VSOCK_LISTEN=*:*=5", NULL };
	char *good[] = { "SOCKSHIFT_VSOCK_LISTEN=*:8080", "SOCKSHIFT_VSOCK_CONNECT=127.0.0.1=host", NULL };

	cr_assert(eq(int, config_load(&cfg, bad, err, sizeof(err)), -EINVAL));
	cr_assert(ne(ptr, strstr(err, "SOCKSHIFT_VSOCK_LISTEN"), NULL), "%s", err);
	cr_assert(eq(int, config_load(&cfg, good, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(str, cfg.vsock_listen, "*:8080"));
}

Test(vsock, hybrid_socket_looks_like_tcp, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001");
	int fd = sock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), v, one = 1, idle = 30;
	socklen_t l = sizeof(v);

	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l), 0));
	cr_assert(eq(int, v, AF_INET));
	cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l), 0));
	cr_assert(eq(int, v, IPPROTO_TCP));
	cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l), 0));
	cr_assert(eq(int, v, SOCK_STREAM));
	cr_assert(eq(int, sock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0));
	cr_assert(eq(int, sock_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)), 0));
	cr_assert(eq(int, sock_setsockopt(fd, IPPROTO_IP, IP_TOS, &one, sizeof(one)), 0));
	cr_assert(eq(int, sock_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0));
	v = 0;
	cr_assert(eq(int, sock_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0));
	cr_assert(eq(int, v, 1));
	cr_assert(eq(int, sock_getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &l), 0));
	cr_assert(eq(int, v, 30));
	cr_assert(eq(int, sock_getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &l), 0));
	cr_assert(eq(int, v, 75));
	cr_assert(eq(int, sock_setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, 1), -EINVAL));
	/* unbound: 0.0.0.0:0; not connected */
	struct sockaddr_in a;
	l = sizeof(a);
	cr_assert(eq(int, sock_getsockname(fd, (struct sockaddr *)&a, &l), 0));
	cr_assert(eq(int, a.sin_family, AF_INET));
	cr_assert(eq(u32, a.sin_addr.s_addr, 0));
	l = sizeof(a);
	cr_assert(eq(int, sock_getpeername(fd, (struct sockaddr *)&a, &l), -ENOTCONN));
	/* a datagram socket on the vsock stack fails rather than leak to the kernel's */
	cr_assert(eq(int, sock_socket(AF_INET, SOCK_DGRAM, 0), -EPROTONOSUPPORT));
	close(fd);
	close(vmm);
}

Test(vsock, hybrid_bind_listen_accept, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001, 127.0.0.1:9002=9003");
	int fd = sock_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), other;
	struct sockaddr_in a = in4("0.0.0.0", 9001), got;
	socklen_t l = sizeof(got);
	struct stat sb;
	char path[160];

	cr_assert(eq(int, sock_bind(fd, (struct sockaddr *)&a, sizeof(a)), 0));
	cr_assert(eq(int, sock_bind(fd, (struct sockaddr *)&a, sizeof(a)), -EINVAL));
	cr_assert(eq(int, sock_listen(fd, 4), 0));
	snprintf(path, sizeof(path), "%s_9001", uds);
	cr_assert(eq(int, stat(path, &sb), 0), "the VMM-side socket %s is missing", path);
	cr_assert(eq(int, sock_getsockname(fd, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(uint, ntohs(got.sin_port), 9001));
	cr_assert(eq(u32, got.sin_addr.s_addr, 0));

	/* an unmapped port cannot be bound; port 0 is only recorded */
	other = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in b = in4("0.0.0.0", 9005), z = in4("0.0.0.0", 0), c = in4("127.0.0.1", 9002);
	cr_assert(eq(int, sock_bind(other, (struct sockaddr *)&b, sizeof(b)), -EADDRNOTAVAIL));
	cr_assert(eq(int, sock_bind(other, (struct sockaddr *)&c, sizeof(c)), 0));
	snprintf(path, sizeof(path), "%s_9003", uds);
	cr_assert(eq(int, stat(path, &sb), 0), "vport 9003 not used");
	close(other);
	other = sock_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, sock_bind(other, (struct sockaddr *)&z, sizeof(z)), 0));
	close(other);

	/* the VMM connects for a guest: accept gives an AF_INET peer */
	int g = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%.90s_9001", uds);
	cr_assert(eq(int, connect(g, (struct sockaddr *)&sun, sizeof(sun)), 0));
	struct sockaddr_in6 peer6;
	l = sizeof(peer6);
	int c1 = sock_accept4(fd, (struct sockaddr *)&peer6, &l, SOCK_CLOEXEC, 1);
	cr_assert(ge(int, c1, 0));
	cr_assert(eq(uint, l, sizeof(struct sockaddr_in)));
	struct sockaddr_in *peer = (struct sockaddr_in *)&peer6;
	cr_assert(eq(int, peer->sin_family, AF_INET));
	char buf[64];
	cr_assert(eq(str, (char *)inet_ntop(AF_INET, &peer->sin_addr, buf, sizeof(buf)), "100.64.0.3"));
	l = sizeof(got);
	cr_assert(eq(int, sock_getpeername(c1, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(int, memcmp(&got, peer, sizeof(got)), 0));
	l = sizeof(got);
	cr_assert(eq(int, sock_getsockname(c1, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(uint, ntohs(got.sin_port), 9001));
	int v;
	l = sizeof(v);
	cr_assert(eq(int, sock_getsockopt(c1, SOL_SOCKET, SO_DOMAIN, &v, &l), 0));
	cr_assert(eq(int, v, AF_INET));
	/* dup keeps the fake addresses */
	int d = dup(c1);
	sock_duped("dup", c1, d, 0, 0);
	l = sizeof(got);
	cr_assert(eq(int, sock_getpeername(d, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(int, memcmp(&got, peer, sizeof(got)), 0));
	/* half-close from the guest side: EOF here, and we can still send */
	cr_assert(eq(int, shutdown(g, SHUT_WR), 0));
	cr_assert(eq(long, (long)read(c1, buf, sizeof(buf)), 0L));
	cr_assert(eq(long, (long)write(c1, "hi", 2), 2L));
	cr_assert(eq(long, (long)read(g, buf, sizeof(buf)), 2L));
	close(d);
	close(c1);
	close(g);
	close(fd);
	close(vmm);
}

Test(vsock, hybrid_connect_unmapped_is_unreachable, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1:5000=3", "*:9001");
	int fd = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = in4("127.0.0.1", 5001), b = in4("10.0.0.1", 5000);
	struct sockaddr_in6 six = in6("::1", 5000);

	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&a, sizeof(a)), -ENETUNREACH));
	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&b, sizeof(b)), -ENETUNREACH));
	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&six, sizeof(six)), -EAFNOSUPPORT));
	close(fd);
	close(vmm);
}

/* A fake VMM on the listener l: accepts one connection, reads the CONNECT line, waits
 * delay_ms, then writes answer (NULL: closes instead) and echoes what follows. */
static pid_t fake_vmm(int l, int delay_ms, const char *answer)
{
	pid_t pid = fork();

	cr_assert(ge(int, pid, 0));
	if (pid > 0)
		return pid;
	int c = accept(l, NULL, NULL);
	char ch, line[64];
	size_t n = 0;
	while (n < sizeof(line) - 1 && read(c, &ch, 1) == 1 && ch != '\n')
		line[n++] = ch;
	line[n] = '\0';
	if (strcmp(line, "CONNECT 3") != 0)
		_exit(3);
	usleep((useconds_t)delay_ms * 1000);
	if (!answer)
		_exit(0);
	(void)!write(c, answer, strlen(answer));
	char buf[256];
	ssize_t got;
	while ((got = read(c, buf, sizeof(buf))) > 0)
		(void)!write(c, buf, (size_t)got);
	_exit(0);
}

static void stop_vmm(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Non-blocking connect in hybrid mode behaves as on TCP: EINPROGRESS at once (the VMM
 * answers 300 ms later), writable, SO_ERROR 0 once the answer is in, and the first recv
 * gets exactly the bytes that followed the OK line. */
Test(vsock, hybrid_nonblocking_connect, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001");
	pid_t pid = fake_vmm(vmm, 300, "OK 1073741900\nafter-ok");
	int fd = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), e = -1;
	struct sockaddr_in a = in4("127.0.0.1", 3), got;
	socklen_t l = sizeof(e);
	char buf[64] = "";

	long t0 = ms_now();
	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&a, sizeof(a)), -EINPROGRESS));
	cr_assert(lt(long, ms_now() - t0, 150L), "connect waited for the VMM's answer");
	l = sizeof(got);
	cr_assert(eq(int, sock_getpeername(fd, (struct sockaddr *)&got, &l), 0));
	l = sizeof(e);
	struct pollfd p = { fd, POLLOUT, 0 };
	cr_assert(eq(int, poll(&p, 1, 2000), 1));
	cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l), 0));
	cr_assert(eq(int, e, 0));
	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&a, sizeof(a)), -EISCONN));
	p.events = POLLIN;
	cr_assert(eq(int, poll(&p, 1, 2000), 1));
	cr_assert(eq(long, (long)recv(fd, buf, sizeof(buf) - 1, 0), 8L));
	cr_assert(eq(str, buf, "after-ok"));
	cr_assert(eq(long, (long)send(fd, "ping", 4, 0), 4L));
	cr_assert(eq(int, poll(&p, 1, 2000), 1));
	cr_assert(eq(long, (long)recv(fd, buf, sizeof(buf), 0), 4L));
	cr_assert(ne(int, fcntl(fd, F_GETFL) & O_NONBLOCK, 0));
	close(fd);
	stop_vmm(pid);
	close(vmm);
}

/* The getpeername seen above finished the handshake; here SO_ERROR does it alone, and a
 * VMM that closes before answering (no guest listener) or answers garbage fails it as TCP
 * would say: ECONNREFUSED, EPROTO. The socket can connect again afterwards. */
Test(vsock, hybrid_nonblocking_connect_fails, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001");
	const char *answers[] = { NULL, "NOPE\n" };
	int want[] = { ECONNREFUSED, EPROTO };

	for (int i = 0; i < 2; i++) {
		pid_t pid = fake_vmm(vmm, 100, answers[i]);
		int fd = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), e = -1;
		struct sockaddr_in a = in4("127.0.0.1", 3);
		socklen_t l = sizeof(e);
		cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&a, sizeof(a)), -EINPROGRESS));
		struct pollfd p = { fd, POLLOUT, 0 };
		cr_assert(eq(int, poll(&p, 1, 2000), 1));
		cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l), 0));
		cr_assert(eq(int, e, want[i]), "answer %d", i);
		l = sizeof(a);
		cr_assert(eq(int, sock_getpeername(fd, (struct sockaddr *)&a, &l), -ENOTCONN));
		stop_vmm(pid);
		/* a fresh Unix socket took the spent one's place: connect again works */
		pid = fake_vmm(vmm, 0, "OK 1\n");
		a = in4("127.0.0.1", 3);
		int r = sock_connect(fd, (struct sockaddr *)&a, sizeof(a));
		cr_assert(eq(int, r, -EINPROGRESS));
		l = sizeof(e);
		cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l), 0));
		cr_assert(eq(int, e, 0));
		close(fd);
		stop_vmm(pid);
	}
	close(vmm);
}

/* A program that reads without asking SO_ERROR: the read hooks' gate (vsock_read_gate)
 * says EAGAIN while the answer is incomplete, then consumes it: the read gets only the bytes
 * after the OK line. Other fds pass the gate untouched; the pending count returns to 0. */
Test(vsock, hybrid_first_read_strips_answer, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001");
	pid_t pid = fake_vmm(vmm, 200, "OK 9\nafter-ok");
	int fd = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = in4("127.0.0.1", 3);
	char buf[64] = "";

	cr_assert(eq(int, vsock_state.hvshakes, 0));
	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&a, sizeof(a)), -EINPROGRESS));
	cr_assert(eq(int, vsock_state.hvshakes, 1));
	cr_assert(eq(int, vsock_read_gate(0), 0), "stdin is not gated");
	cr_assert(eq(int, vsock_read_gate(fd), -EAGAIN));
	struct pollfd p = { fd, POLLIN, 0 };
	cr_assert(eq(int, poll(&p, 1, 2000), 1));
	usleep(50000);
	cr_assert(eq(int, vsock_read_gate(fd), 0));
	cr_assert(eq(int, vsock_state.hvshakes, 0));
	cr_assert(eq(long, (long)recv(fd, buf, sizeof(buf) - 1, 0), 8L));
	cr_assert(eq(str, buf, "after-ok"));
	cr_assert(eq(int, vsock_read_gate(fd), 0));
	struct sockaddr_in got;
	socklen_t l = sizeof(got);
	cr_assert(eq(int, sock_getpeername(fd, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(uint, ntohs(got.sin_port), 3));
	close(fd);
	stop_vmm(pid);
	close(vmm);
}

/* A blocking socket keeps the synchronous handshake: connect returns 0 with the answer read. */
Test(vsock, hybrid_blocking_connect, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001");
	pid_t pid = fake_vmm(vmm, 100, "OK 5\nX");
	int fd = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = in4("127.0.0.1", 3);
	char c = 0;

	cr_assert(eq(int, sock_connect(fd, (struct sockaddr *)&a, sizeof(a)), 0));
	cr_assert(eq(long, (long)read(fd, &c, 1), 1L));
	cr_assert(eq(chr, c, 'X'));
	close(fd);
	stop_vmm(pid);
	close(vmm);
}

/* A vsock socket that arrives under a fd number the stack did not create it at (rehome's
 * dup3, exec inheritance) gets a fresh record; a closed fd's record is forgotten. */
Test(vsock, record_follows_fd_number, .fini = cleanup_paths)
{
	int vmm = open_hybrid("127.0.0.1=3", "*:9001");
	int a = sock_socket(AF_INET, SOCK_STREAM, 0), b = 40, v;
	struct sockaddr_in any = in4("0.0.0.0", 9001), got;
	socklen_t l = sizeof(got);
	struct fdt_rec rec;

	cr_assert(eq(int, sock_bind(a, (struct sockaddr *)&any, sizeof(any)), 0));
	cr_assert(eq(int, fdt_get(a, &rec), 0));
	/* what rehome does: a new socket of the stack, dup3'd over a known fd */
	int tmp = sock_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, dup3(tmp, b, 0), b));
	close(tmp);
	rec.fd = b;
	cr_assert(eq(int, fdt_add(&rec), 0));
	cr_assert(eq(int, sock_getsockname(b, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(uint, ntohs(got.sin_port), 0), "a fresh socket, not fd %d's bound one", a);
	l = sizeof(v);
	cr_assert(eq(int, sock_getsockopt(b, SOL_SOCKET, SO_DOMAIN, &v, &l), 0));
	cr_assert(eq(int, v, AF_INET));
	/* close: the next socket under a's number starts unbound */
	fdt_del(a);
	close(a);
	sock_closed(a, 0, 0);
	int c = sock_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(eq(int, c, a));
	l = sizeof(got);
	cr_assert(eq(int, sock_getsockname(c, (struct sockaddr *)&got, &l), 0));
	cr_assert(eq(uint, ntohs(got.sin_port), 0));
	close(b);
	close(c);
	close(vmm);
}

/* Guest mode on this machine: open, bind and listen only. */
Test(vsock, guest_bind_listen_only)
{
	struct stack_spec spec;
	struct stack *st;
	char why[512];

	if (access("/dev/vsock", R_OK) != 0)
		cr_skip_test("no /dev/vsock here; guest mode is covered by tests/integration/vsock_vm.sh");
	setenv("SOCKSHIFT_VSOCK_CONNECT", "10.99.99.99:1=1", 1);   /* never used below */
	setenv("SOCKSHIFT_VSOCK_LISTEN", "*:*", 1);
	cr_assert(eq(int, stack_spec_parse("vsock", &spec, why, sizeof(why)), 0));
	if (stack_open(&spec, &st, why, sizeof(why)) < 0)
		cr_skip_test("vsock guest stack cannot open here: %s", why);
	stack_set_default(st);
	int fd = sock_socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), v;
	cr_assert(ge(int, fd, 0));
	socklen_t l = sizeof(v);
	cr_assert(eq(int, real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l), 0));
	cr_assert(eq(int, v, AF_VSOCK), "not really a vsock socket");
	cr_assert(eq(int, sock_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l), 0));
	cr_assert(eq(int, v, AF_INET6));
	cr_assert(eq(int, sock_getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l), 0));
	cr_assert(eq(int, v, 0));
	/* listen without bind: TCP picks a port, so do we */
	cr_assert(eq(int, sock_listen(fd, 4), 0));
	struct sockaddr_in6 me;
	l = sizeof(me);
	cr_assert(eq(int, sock_getsockname(fd, (struct sockaddr *)&me, &l), 0));
	cr_assert(eq(int, me.sin6_family, AF_INET6));
	cr_assert(ne(int, me.sin6_port, 0));
	struct sockaddr_vm svm;
	l = sizeof(svm);
	cr_assert(eq(int, real.getsockname(fd, (struct sockaddr *)&svm, &l), 0));
	cr_assert(eq(uint, ntohs(me.sin6_port), vsock_addr_port(svm.svm_port)));
	close(fd);
}
