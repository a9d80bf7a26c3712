# libioth plug-in stacks loaded by name (plugin:NAME), with curl.
# Proves: plugin:kernel is found as ioth_kernel-r.so next to libsockshift.so and loaded in
# the program's link-map namespace; a copy named ioth_kernel.so in $HOME/.ioth wins the
# search and is loaded with dlmopen in a new namespace (non-reentrant plug-in); both make
# curl's socket through the plug-in's ioth_kernel_socket, which checks getstackdata();
# an unknown plug-in stops the program (exit 125) naming every directory searched.
# (plugin:vdestack with options and a VNL is in stack_vde.sh.)
. tests/integration/lib.sh
need curl
need "$PYTHON"
need_built
[ -f "$ROOT/$B/lib/ioth/ioth_kernel-r.so" ] || fail "$B/lib/ioth/ioth_kernel-r.so is not built"

echo "via plug-in" >"$TMP/p.txt"
port=$(free_port)
bg "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP" "$port" >/dev/null 2>&1
wait_port "$port"
sx() { _l=$1; shift; LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l "$@"; }

mkdir -p "$TMP/emptyhome"
body=$(HOME=$TMP/emptyhome SOCKSHIFT_STACK=plugin:kernel sx "$TMP/r.log" curl -sS --max-time 10 \
	"http://127.0.0.1:$port/p.txt") || fail "curl on plugin:kernel failed"
expect_eq "body" "$body" "via plug-in"
expect_log "$TMP/r.log" "plug-in kernel loaded from $ROOT/$B/lib/ioth/ioth_kernel-r\\.so" "the reentrant plug-in next to the library"
expect_log "$TMP/r.log" "socket inet6?/stream/[0-9]+ stack=plugin:kernel -> [0-9]+" "curl's socket made by the plug-in"

mkdir -p "$TMP/home/.ioth"
cp "$ROOT/$B/lib/ioth/ioth_kernel-r.so" "$TMP/home/.ioth/ioth_kernel.so"
body=$(HOME=$TMP/home SOCKSHIFT_STACK=plugin:kernel sx "$TMP/n.log" curl -sS --max-time 10 \
	"http://127.0.0.1:$port/p.txt") || fail "curl on the \$HOME/.ioth plug-in failed"
expect_eq "body" "$body" "via plug-in"
expect_log "$TMP/n.log" "plug-in kernel loaded from $TMP/home/\\.ioth/ioth_kernel\\.so" "the \$HOME/.ioth plug-in (new link-map namespace)"

HOME=$TMP/emptyhome SOCKSHIFT_STACK=plugin:nosuch LD_PRELOAD=$LIB curl -s "http://127.0.0.1:$port/" >/dev/null 2>"$TMP/err"
rc=$?
expect_eq "exit status for an unknown plug-in" "$rc" 125
grep -q "no plug-in ioth_nosuch\\[-r\\]\\.so in $TMP/emptyhome/\\.ioth, $ROOT/$B/lib/ioth" "$TMP/err" ||
	fail "message: $(cat "$TMP/err")"
echo "ok: plug-ins by name, both link-map modes, search order, fail closed"
