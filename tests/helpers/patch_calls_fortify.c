/* patch_calls built the way Debian builds packages (-O2 -D_FORTIFY_SOURCE=2). */
#include "patch_calls.c"
