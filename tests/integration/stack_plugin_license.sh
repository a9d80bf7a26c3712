# The libioth license tag of a plug-in (ioth_NAME_license) is checked as libioth does.
# Test plug-ins are built here from one source (the kernel stack, like ioth_kernel) with
# different tags, into $HOME/.ioth. Proves: a GPL-2.0-or-later plug-in stops a program that
# declares no license at start (exit 125, a message naming plug-in, tag and the setting);
# the same plug-in runs the program once SOCKSHIFT_LICENSE states a compatible license; an
# LGPL-tagged one loads without; an unknown tag is refused even with a license stated.
. tests/integration/lib.sh
need "$PYTHON"
need_built
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || skip "no C compiler ($CC) to build the test plug-ins"

mkdir -p "$TMP/home/.ioth"
# plug NAME TAG: ioth_NAME-r.so, the kernel stack, licensed TAG.
plug() {
	cat >"$TMP/$1.c" <<EOC
#include <sys/socket.h>
struct ioth_functions;
__attribute__((visibility("default"))) const char *ioth_$1_license = "SPDX-License-Identifier: $2";
static int data;
__attribute__((visibility("default"))) void *ioth_$1_newstack(const char *v[], const char *o, struct ioth_functions *f)
{ (void)v; (void)o; (void)f; return &data; }
__attribute__((visibility("default"))) int ioth_$1_socket(int d, int t, int p) { return socket(d, t, p); }
EOC
	"$CC" -shared -fPIC -o "$TMP/home/.ioth/ioth_$1-r.so" "$TMP/$1.c" || fail "cannot build test plug-in $1"
}
plug gpltest GPL-2.0-or-later
plug lgpltest LGPL-2.1-or-later
plug proptest LicenseRef-Proprietary

PROG='import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print("ran")'
run() { _s=$1; shift; env HOME="$TMP/home" SOCKSHIFT_STACK="plugin:$_s" LD_PRELOAD="$LIB" "$@" "$PYTHON" -c "$PROG"; }

out=$(run gpltest 2>"$TMP/gpl.err")
rc=$?
expect_eq "exit status: GPL plug-in, no program license" "$rc" 125
grep -q "plug-in gpltest is licensed GPL-2.0-or-later (ioth_gpltest_license), which a program that declares no license may not load" "$TMP/gpl.err" ||
	fail "message: $(cat "$TMP/gpl.err")"
grep -q "SOCKSHIFT_LICENSE" "$TMP/gpl.err" || fail "the message does not name the setting: $(cat "$TMP/gpl.err")"
[ -z "$out" ] || fail "the program ran although its plug-in was refused: $out"

out=$(run gpltest SOCKSHIFT_LICENSE=GPL-3.0-or-later 2>"$TMP/gpl3.err") ||
	fail "GPL plug-in with a compatible program license: $(cat "$TMP/gpl3.err")"
expect_eq "GPL plug-in, program GPL-3.0-or-later" "$out" "ran"

out=$(run gpltest SOCKSHIFT_LICENSE=MIT 2>"$TMP/mit.err")
expect_eq "exit status: GPL plug-in, program MIT" "$?" 125
grep -q "which a program licensed MIT may not load" "$TMP/mit.err" || fail "message: $(cat "$TMP/mit.err")"

out=$(run lgpltest 2>"$TMP/lgpl.err") || fail "LGPL plug-in without a program license: $(cat "$TMP/lgpl.err")"
expect_eq "LGPL plug-in" "$out" "ran"

run proptest SOCKSHIFT_LICENSE=GPL-2.0-or-later >/dev/null 2>"$TMP/prop.err"
expect_eq "exit status: unknown tag" "$?" 125
grep -q "plug-in proptest is licensed LicenseRef-Proprietary" "$TMP/prop.err" || fail "message: $(cat "$TMP/prop.err")"
echo "ok: plug-in license tags checked as libioth does; refused plug-ins stop the program at start"
