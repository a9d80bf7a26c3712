/*
 * real — the table itself, and its libc-backed filling for tools and tests.
 * The shim never calls real_use_libc(): inside the preload library a plain &socket would
 * name the shim's own hook.
 */
#include <stdlib.h>

#include "real.h"

void closefrom(int lowfd);
pid_t _Fork(void);

struct real_fns real;

void real_use_libc(void)
{
#define REAL_LIBC(name, mandatory) real.name = name;
	REAL_FUNCS(REAL_LIBC)
#undef REAL_LIBC
}
