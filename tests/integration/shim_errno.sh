# Invisibility: errno. errno_keep presets errno to 12345 before every hooked call (socket,
# socketpair, bind, listen, getsockname, getsockopt, setsockopt, connect, accept, accept4,
# getpeername, send, sendto, sendmsg, sendmmsg, recv, recvfrom, recvmsg, recvmmsg,
# shutdown, dup, dup2, dup3, fcntl (GETFL, SETFL, SETFD, DUPFD, DUPFD_CLOEXEC), close,
# close_range, fork, posix_spawn) and checks it is unchanged after each success, and that
# failures carry the kernel's errno (ECONNREFUSED, EADDRINUSE, EAFNOSUPPORT, EBADF,
# ENOTSOCK, EAGAIN, EINVAL, ENOENT from execve).
# Proves: the same 0 failures natively, under the shim at the default level, and at debug
# level with a log file (the logging path), and the log shows the calls were intercepted.
. tests/integration/lib.sh
need_built errno_keep
H=$HELPERS/errno_keep

"$H" >"$TMP/native" || { cat "$TMP/native" >&2; fail "errno_keep fails even without the shim"; }
want=$(tail -1 "$TMP/native")
case $want in "errno: "*" checks, 0 failed") ;; *) fail "unexpected native result: $want" ;; esac

LD_PRELOAD=$LIB "$H" >"$TMP/quiet" 2>"$TMP/quiet.err" || { cat "$TMP/quiet" >&2; fail "errno changed under the shim (default log level)"; }
expect_eq "result at the default level" "$(tail -1 "$TMP/quiet")" "$want"
[ -s "$TMP/quiet.err" ] && { cat "$TMP/quiet.err" >&2; fail "the shim wrote to stderr at the default level"; }

shim_run "$TMP/log" "$H" >"$TMP/debug" 2>"$TMP/debug.err" || { cat "$TMP/debug" >&2; fail "errno changed under the shim (debug level)"; }
expect_eq "result at debug level" "$(tail -1 "$TMP/debug")" "$want"

L=$TMP/log
for call in socket socketpair bind listen getsockname getsockopt setsockopt connect accept accept4 \
	getpeername send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg shutdown dup dup2 dup3 \
	'fcntl\(F_DUPFD\)' 'fcntl\(F_DUPFD_CLOEXEC\)' close close_range fork posix_spawn posix_spawnp execve; do
	expect_log "$L" "debug: $call " "an intercepted $call"
done
expect_log "$L" 'debug: connect fd=[0-9]+ 127\.0\.0\.1:1 stack=kernel -> -1 ECONNREFUSED$' "the refused connect"
expect_log "$L" 'debug: bind fd=[0-9]+ 127\.0\.0\.1:[0-9]+ stack=kernel -> -1 EADDRINUSE$' "the bind to a port in use"
echo "ok: errno untouched on success and right on failure, natively and under the shim"
