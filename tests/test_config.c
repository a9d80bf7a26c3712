/*
 * test_config — the configuration: defaults, env, files, precedence, and every class of
 * bad input (unknown keys and variables, bad values, overlong lines, missing, unreadable
 * and non-regular files), each checked for the message that names the problem.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "log.h"
#include "test_util.h"

TestSuite(config);

struct env_case {
	const char *env[4];
	int ok;
	const char *msg;       /* substring of the error, or of nothing when ok */
};

static struct env_case env_cases[] = {
	{ { NULL }, 1, "" },
	{ { "SOCKSHIFT_STACK=kernel" }, 1, "" },
	{ { "SOCKSHIFT_LOG=debug" }, 1, "" },
	{ { "SOCKSHIFT_LOG=error", "SOCKSHIFT_LOG_FILE=/tmp/x.log" }, 1, "" },
	{ { "PATH=/bin", "HOME=/root" }, 1, "" },
	{ { "SOCKSHIFT_STACK=" }, 0, "[VNL...]; the value is empty" },
	{ { "SOCKSHIFT_STACK=bogus" }, 0, "[VNL...], or a stack name; unknown stack 'bogus' (this build offers: kernel, netns:" },
	{ { "SOCKSHIFT_STACK=bogus" }, 0, "and no stack in stacks = or a [stack NAME] section is named so" },
	{ { "SOCKSHIFT_STACK=lab", "SOCKSHIFT_STACKS=lab=netns:x" }, 1, "" },   /* by name */
	{ { "SOCKSHIFT_STACK=lab", "SOCKSHIFT_STACKS=la=netns:x" }, 0, "SOCKSHIFT_STACK: expected" },
	{ { "SOCKSHIFT_STACK=a:b" }, 0, "unknown stack 'a:b'" },
	{ { "SOCKSHIFT_STACK=netns:a/b" }, 0, "'netns:a/b': a namespace name has no '/'" },
	{ { "SOCKSHIFT_STACKS=a=netns:x; a=netns:y" }, 0, "SOCKSHIFT_STACKS: expected named stacks: NAME=SPEC; NAME=SPEC ...; stack 'a' is defined twice" },
	{ { "SOCKSHIFT_STACKS=kernel=netns:x" }, 0, "'kernel' is not a stack name" },
	{ { "SOCKSHIFT_STACKS=a=netns:x; b=vdestack:vde:///tmp/sw" }, 1, "" },
	{ { "SOCKSHIFT_NET=a eth0 sideways" }, 0, "SOCKSHIFT_NET: expected netlink commands" },
	{ { "SOCKSHIFT_NET=a eth0 up; a eth0 addr 10.0.0.1/24; a route default via 10.0.0.254" }, 1, "" },
	{ { "SOCKSHIFT_ROUTES=to 10.0.0.0/33 a" }, 0, "rule 'to 10.0.0.0/33 a': '10.0.0.0/33' is not ADDRESS[/LEN]" },
	{ { "SOCKSHIFT_ROUTES=to 10.0.0.0/8 a; from ::1 b; default none" }, 1, "" },
	{ { "SOCKSHIFT_LOG=loud" }, 0, "SOCKSHIFT_LOG: expected one of error|warn|info|debug; got 'loud'" },
	{ { "SOCKSHIFT_LOG=" }, 0, "SOCKSHIFT_LOG: expected one of error|warn|info|debug" },
	{ { "SOCKSHIFT_LOG_FILE=" }, 0, "SOCKSHIFT_LOG_FILE: expected a file path" },
	{ { "SOCKSHIFT_STAK=kernel" }, 0, "SOCKSHIFT_STAK: unknown variable" },
	{ { "SOCKSHIFT_=1" }, 0, "SOCKSHIFT_: unknown variable" },
	{ { "SOCKSHIFT_CONF=" }, 0, "SOCKSHIFT_CONF: expected a config file path; the value is empty" },
	{ { "SOCKSHIFT_CONF=/nonexistent/sockshift.conf" }, 0,
	  "SOCKSHIFT_CONF: cannot open '/nonexistent/sockshift.conf': No such file or directory (ENOENT)" },
	{ { "SOCKSHIFT_CONF=/tmp" }, 0, "SOCKSHIFT_CONF: '/tmp' is not a regular file" },
	{ { "SOCKSHIFT_FDS=v1" }, 1, "" },   /* internal, accepted */
};

ParameterizedTestParameters(config, env)
{
	return test_index_params(sizeof(env_cases) / sizeof(env_cases[0]));
}

ParameterizedTest(int *idx, config, env)
{
	struct env_case *c = &env_cases[*idx];
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	char *envp[5] = { 0 };

	for (int i = 0; i < 4 && c->env[i]; i++)
		envp[i] = (char *)c->env[i];
	int r = config_load(&cfg, envp, err, sizeof(err));
	if (c->ok) {
		cr_assert(eq(int, r, 0), "unexpected error: %s", err);
	} else {
		cr_assert(lt(int, r, 0));
		cr_assert(strstr(err, c->msg) != NULL, "message '%s' lacks '%s'", err, c->msg);
	}
}

struct file_case {
	const char *text;
	int ok;
	const char *msg;   /* after "PATH:" */
};

static struct file_case file_cases[] = {
	{ "", 1, "" },
	{ "# only a comment\n\n   \n; another\n", 1, "" },
	{ "stack = kernel\nlog = info\n", 1, "" },
	{ "stack=kernel\r\nlog=debug\r\n", 1, "" },
	{ "log_file = \" /tmp/with spaces.log \"\n", 1, "" },
	{ "log = info", 1, "" },                                      /* no final newline */
	{ "color = blue\n", 0, ":1: unknown key 'color' (known keys: stack, log, log_file, " },
	{ "\n\nlog = shout\n", 0, ":3: log: expected one of error|warn|info|debug; got 'shout'" },
	{ "stack = netns\n", 0, ":1: stack: expected a stack: kernel, netns:NAME|/PATH|new, " },
	{ "stack = :x\n", 0, ":1: stack: expected a stack: kernel, netns:NAME|/PATH|new, " },
	{ "routes = sideways\n", 0, ":1: routes: expected routing rules: to|from PREFIX STACK; default STACK; rule 'sideways': " },
	{ "just words\n", 0, ":1: expected 'key = value', got 'just words'" },
	{ "= value\n", 0, ":1: missing key before '='" },
	{ "log = info\nlog = debug\n", 0, ":2: key 'log' given twice (first at line 1)" },
	/* [stack NAME] sections */
	{ "[stack a]\nspec = netns:blue\n", 1, "" },
	{ "stack = lab\n[stack lab]\nspec = vdestack:vde:///tmp/sw\nnet = vde0 up; vde0 addr 10.0.0.2/24\n"
	  "net = route default via 10.0.0.254\n", 1, "" },
	{ "stacks = a=netns:x\nnet = a lo up\n[stack b]\nspec = netns:new\nnet = lo up\n", 1, "" },
	{ "[stack a]\n", 0, ":1: [stack a] (line 1) has no 'spec = SPEC' line" },
	{ "[stack a]\nnet = lo up\n\n[stack b]\nspec = netns:x\n", 0,
	  ":4: [stack a] (line 1) has no 'spec = SPEC' line" },
	{ "[stack a]\nspec = netns:x\nspec = netns:y\n", 0, ":3: [stack a]: spec given twice" },
	{ "[stack a]\nspec = bogus\n", 0, ":2: [stack a]: spec: stack 'a': unknown stack 'bogus'" },
	{ "[stack a]\nspec = netns:x\nnet = eth0 sideways\n", 0, ":3: [stack a]: net: " },
	{ "[stack a]\nspec = netns:x\nnet = ;\n", 0, ":3: [stack a]: net: the value is empty" },
	{ "[stack a]\nspec = netns:x\nlog = info\n", 0, ":3: [stack a]: unknown key 'log' (a section has spec and net)" },
	{ "stacks = a=netns:x\n[stack a]\nspec = netns:y\n", 0, ":3: [stack a]: spec: stack 'a' is defined twice" },
	{ "[stack a]\nspec = netns:x\n[stack a]\nspec = netns:y\n", 0, ":4: [stack a]: spec: stack 'a' is defined twice" },
	{ "[stack kernel]\n", 0, ":1: [stack kernel]: not a stack name" },
	{ "[stack a b]\n", 0, ":1: [stack a b]: not a stack name" },
	{ "[stacks]\n", 0, ":1: unknown section [stacks] (sections are [stack NAME])" },
	{ "[stack a\n", 0, ":1: unknown section [stack a (sections are [stack NAME])" },
	{ "stack = lab\n[stack la]\nspec = netns:x\n", 0, ":1: stack: expected a stack: " },
	{ "log_file = \"unterminated\n", 0, ":1: log_file: unterminated quoted value" },
	{ "log_file =\n", 0, ":1: log_file: expected a file path to append the log to; the path is empty" },
	{ "SOCKSHIFT_LOG = debug\n", 0, ":1: unknown key 'SOCKSHIFT_LOG'" },
};

ParameterizedTestParameters(config, file)
{
	return test_index_params(sizeof(file_cases) / sizeof(file_cases[0]));
}

ParameterizedTest(int *idx, config, file)
{
	struct file_case *c = &file_cases[*idx];
	char path[64], err[CONFIG_ERR_MAX] = "", expect[CONFIG_ERR_MAX];
	struct config cfg;

	test_write_tmp(path, sizeof(path), c->text, strlen(c->text));
	config_defaults(&cfg);
	int r = config_load_file(&cfg, path, err, sizeof(err));
	unlink(path);
	if (c->ok) {
		cr_assert(eq(int, r, 0), "unexpected error: %s", err);
		cr_assert(eq(str, cfg.conf_path, path));
	} else {
		snprintf(expect, sizeof(expect), "%s%s", path, c->msg);
		cr_assert(lt(int, r, 0));
		cr_assert(strstr(err, expect) == err, "message '%s' does not start with '%s'", err, expect);
	}
}

Test(config, defaults)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	char *envp[] = { NULL };

	cr_assert(eq(int, config_load(&cfg, envp, err, sizeof(err)), 0));
	cr_assert(eq(str, cfg.stack, "kernel"));
	cr_assert(eq(int, cfg.log_level, LOGL_WARN));
	cr_assert(eq(str, cfg.log_file, ""));
	cr_assert(eq(str, cfg.conf_path, ""));
}

/* config_load with SOCKSHIFT_CONF naming a file holding text, plus one variable. */
static int load_with_file(const char *text, char *var, struct config *cfg, char *path, char *err)
{
	char conf[96];

	test_write_tmp(path, 64, text, strlen(text));
	snprintf(conf, sizeof(conf), "SOCKSHIFT_CONF=%s", path);
	char *envp[] = { conf, var, NULL };
	int r = config_load(cfg, envp, err, CONFIG_ERR_MAX);
	unlink(path);
	return r;
}

Test(config, env_overrides_file)
{
	char path[64], err[CONFIG_ERR_MAX];
	struct config cfg;

	int r = load_with_file("log = info\nlog_file = /tmp/from-file.log\n", "SOCKSHIFT_LOG=debug", &cfg,
			       path, err);
	cr_assert(eq(int, r, 0), "%s", err);
	cr_assert(eq(int, cfg.log_level, LOGL_DEBUG));              /* env wins */
	cr_assert(eq(str, cfg.log_file, "/tmp/from-file.log"));     /* file value kept */
	cr_assert(eq(str, cfg.conf_path, path));
	cr_assert(eq(str, cfg.log_file, "/tmp/from-file.log"));
}

Test(config, quoted_value_keeps_spaces)
{
	char path[64], err[CONFIG_ERR_MAX];
	const char *text = "log_file = \" /tmp/a b \"\n";
	struct config cfg;

	test_write_tmp(path, sizeof(path), text, strlen(text));
	config_defaults(&cfg);
	cr_assert(eq(int, config_load_file(&cfg, path, err, sizeof(err)), 0), "%s", err);
	unlink(path);
	cr_assert(eq(str, cfg.log_file, " /tmp/a b "));
}

Test(config, overlong_line)
{
	char path[64], err[CONFIG_ERR_MAX];
	size_t n = CONFIG_LINE_MAX + 10;
	char *text = malloc(n + 1);
	struct config cfg;

	memset(text, 'x', n);
	memcpy(text, "log_file = /", 12);
	text[n] = '\0';
	test_write_tmp(path, sizeof(path), text, n);
	free(text);
	config_defaults(&cfg);
	cr_assert(eq(int, config_load_file(&cfg, path, err, sizeof(err)), -E2BIG));
	unlink(path);
	cr_assert(strstr(err, ":1: line longer than 4096 bytes") != NULL, "%s", err);
}

Test(config, value_too_long_for_field)
{
	char path[64], err[CONFIG_ERR_MAX];
	char text[CONFIG_LINE_MAX];
	struct config cfg;

	/* A stack spec longer than the field holds is refused, not truncated. */
	snprintf(text, sizeof(text), "stack = kernel%0300d\n", 0);
	test_write_tmp(path, sizeof(path), text, strlen(text));
	config_defaults(&cfg);
	cr_assert(lt(int, config_load_file(&cfg, path, err, sizeof(err)), 0));
	unlink(path);
	cr_assert(strstr(err, "stack:") != NULL, "%s", err);
}

Test(config, nul_byte_rejected)
{
	char path[64], err[CONFIG_ERR_MAX];
	struct config cfg;

	test_write_tmp(path, sizeof(path), "log = info\n\0\n", 13);
	config_defaults(&cfg);
	cr_assert(eq(int, config_load_file(&cfg, path, err, sizeof(err)), -EINVAL));
	unlink(path);
	cr_assert(strstr(err, "contains a NUL byte") != NULL, "%s", err);
}

Test(config, unreadable_file)
{
	char path[64], err[CONFIG_ERR_MAX] = "";
	struct config cfg;
	int p[2], st, r = 0;

	test_write_tmp(path, sizeof(path), "log = info\n", 11);
	chmod(path, 0);
	cr_assert(eq(int, pipe(p), 0));
	/* Root reads anything: the load runs in a child that drops to an unprivileged user. */
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		config_defaults(&cfg);
		r = config_load_file(&cfg, path, err, sizeof(err));
		if (write(p[1], &r, sizeof(r)) < 0 || write(p[1], err, sizeof(err)) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], &r, sizeof(r));
	n += read(p[0], err, sizeof(err));
	waitpid(pid, &st, 0);
	unlink(path);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		cr_skip_test("cannot drop root privileges to test an unreadable file");
	cr_assert(eq(int, r, -EACCES), "%s", err);
	cr_assert(strstr(err, "Permission denied (EACCES)") != NULL, "%s", err);
}

Test(config, directory_is_refused)
{
	char err[CONFIG_ERR_MAX];
	struct config cfg;

	/* A directory opens but is not a regular file. */
	config_defaults(&cfg);
	int r = config_load_file(&cfg, "/", err, sizeof(err));
	cr_assert(lt(int, r, 0));
	cr_assert(strstr(err, "'/' is not a regular file") != NULL, "%s", err);
}

/* A section lands in stacks and net exactly as the one-line keys would have put it. */
Test(config, section_adds_to_stacks_and_net)
{
	static const char text[] = "stacks = a=netns:x\nnet = a lo up\n"
				   "[stack lab]\nnet = vde0 up ; vde0 addr 10.0.0.2/24\n"
				   "spec = \"vdestack:vde:///tmp/sw\"\nnet = route default via 10.0.0.254\n";
	char path[64], err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	test_write_tmp(path, sizeof(path), text, strlen(text));
	config_defaults(&cfg);
	int r = config_load_file(&cfg, path, err, sizeof(err));
	unlink(path);
	cr_assert(eq(int, r, 0), "%s", err);
	cr_assert(eq(str, cfg.stacks, "a=netns:x; lab=vdestack:vde:///tmp/sw"));
	cr_assert(eq(str, cfg.net, "a lo up; lab vde0 up; lab vde0 addr 10.0.0.2/24; "
				   "lab route default via 10.0.0.254"));
}

/* stack = NAME from the environment may name a stack of a file section. */
Test(config, env_stack_names_a_file_section)
{
	char path[64], err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	int r = load_with_file("[stack lab]\nspec = netns:new\n", "SOCKSHIFT_STACK=lab", &cfg, path, err);
	cr_assert(eq(int, r, 0), "%s", err);
	cr_assert(eq(str, cfg.stack, "lab"));
}

/* The shipped examples parse (run from the tree's root, as tests/run.sh does). */
Test(config, shipped_examples_parse)
{
	static const char *const files[] = { "conf/sockshift.conf", "conf/stacks.conf" };
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (access(files[i], R_OK) != 0)
			cr_skip_test("%s not found: not run from the tree's root", files[i]);
		config_defaults(&cfg);
		cr_assert(eq(int, config_load_file(&cfg, files[i], err, sizeof(err)), 0), "%s", err);
	}
	cr_assert(strstr(cfg.stacks, "lab=vdestack:vde:///tmp/sw") != NULL, "%s", cfg.stacks);
	cr_assert(strstr(cfg.net, "lab route default via 10.0.0.254") != NULL, "%s", cfg.net);
}

Test(config, failure_leaves_config_unchanged)
{
	char path[64], err[CONFIG_ERR_MAX];
	const char *text = "log = debug\nlog_file = /tmp/y\nbogus = 1\n";
	struct config cfg, before;

	test_write_tmp(path, sizeof(path), text, strlen(text));
	config_defaults(&cfg);
	before = cfg;
	cr_assert(lt(int, config_load_file(&cfg, path, err, sizeof(err)), 0));
	unlink(path);
	cr_assert(eq(int, memcmp(&cfg, &before, sizeof(cfg)), 0), "a failed load changed the config");
}
