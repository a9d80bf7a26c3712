/*
 * test_envp — the exec'd child's environment keeps the shim, the settings and the fd
 * hand-over, whatever the program did to its own environment.
 */
#include "envp.h"
#include "test_util.h"

TestSuite(envp);

static char **build(char *const *envp, const struct envp_spec *spec, char *arena, size_t size)
{
	size_t need = envp_arena_size(envp, spec);

	cr_assert(le(sz, need, size));
	return envp_build(arena, size, envp, spec);
}

static const char *find(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int count(char **env)
{
	int n = 0;

	while (env[n])
		n++;
	return n;
}

Test(envp, empty_environment_gets_everything)
{
	char arena[4096];
	char *keep[] = { "SOCKSHIFT_LOG=debug", "SOCKSHIFT_STACK=kernel", NULL };
	struct envp_spec spec = { "/opt/lib/libsockshift.so", keep, "SOCKSHIFT_FDS=v1;3,2,1,6,0,0,0,-1,0" };
	char *envp[] = { NULL };
	char **out = build(envp, &spec, arena, sizeof(arena));

	cr_assert(eq(str, (char *)find(out, "LD_PRELOAD"), "/opt/lib/libsockshift.so"));
	cr_assert(eq(str, (char *)find(out, "SOCKSHIFT_LOG"), "debug"));
	cr_assert(eq(str, (char *)find(out, "SOCKSHIFT_STACK"), "kernel"));
	cr_assert(eq(str, (char *)find(out, "SOCKSHIFT_FDS"), "v1;3,2,1,6,0,0,0,-1,0"));
	cr_assert(eq(int, count(out), 4));
}

Test(envp, program_values_are_respected_and_preload_prepended)
{
	char arena[4096];
	char *keep[] = { "SOCKSHIFT_LOG=debug", NULL };
	struct envp_spec spec = { "/l/libsockshift.so", keep, NULL };
	char *envp[] = { "PATH=/bin", "LD_PRELOAD=/other.so", "SOCKSHIFT_LOG=error",
			 "SOCKSHIFT_FDS=stale", NULL };
	char **out = build(envp, &spec, arena, sizeof(arena));

	cr_assert(eq(str, (char *)find(out, "LD_PRELOAD"), "/l/libsockshift.so:/other.so"));
	cr_assert(eq(str, (char *)find(out, "SOCKSHIFT_LOG"), "error"), "the program's own value wins");
	cr_assert(eq(ptr, (void *)find(out, "SOCKSHIFT_FDS"), NULL), "stale hand-over dropped");
	cr_assert(eq(str, (char *)find(out, "PATH"), "/bin"));
	cr_assert(eq(int, count(out), 3));
}

Test(envp, preload_already_present_is_untouched)
{
	char arena[4096];
	struct envp_spec spec = { "/l/libsockshift.so", NULL, NULL };
	char *envp[] = { "LD_PRELOAD=/a.so /l/libsockshift.so", NULL };
	char **out = build(envp, &spec, arena, sizeof(arena));

	cr_assert(eq(str, out[0], envp[0]));
	cr_assert(eq(int, count(out), 1));
}

Test(envp, similar_names_are_not_confused)
{
	char arena[4096];
	char *keep[] = { "SOCKSHIFT_LOG=debug", NULL };
	struct envp_spec spec = { NULL, keep, NULL };
	char *envp[] = { "SOCKSHIFT_LOG_FILE=/x", NULL };
	char **out = build(envp, &spec, arena, sizeof(arena));

	cr_assert(eq(str, (char *)find(out, "SOCKSHIFT_LOG"), "debug"));
	cr_assert(eq(int, count(out), 2));
}

Test(envp, small_arena_fails_cleanly)
{
	char arena[16];
	struct envp_spec spec = { "/l/libsockshift.so", NULL, NULL };
	char *envp[] = { "A=1", "B=2", NULL };

	cr_assert(eq(ptr, envp_build(arena, sizeof(arena), envp, &spec), NULL));
}
