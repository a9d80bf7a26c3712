/*
 * hello — proves main() ran: prints "hello from main" and exits 0. The bad-configuration
 * tests check that this line never appears when the shim refuses to start.
 */
#include <stdio.h>

int main(void)
{
	puts("hello from main");
	return 0;
}
