# dup, dup2, dup3, fcntl(F_DUPFD), fcntl(F_DUPFD_CLOEXEC), close and close_range keep the
# shim's fd table right, and the table survives exec.
# Proves (from the log): each duplicate is recorded as a copy of the socket (stack=kernel);
# after the original is closed its copies are still known sockets; close_range forgets
# the range (a later send on fd 20 is "untracked"); exec carries exactly the sockets
# without FD_CLOEXEC (4: the listener, the dup, the F_DUPFD copy and the dup2 of the
# accepted socket), and the exec'd program's calls on them are on known sockets.
# The program's own output shows every byte went through every copy, in order.
. tests/integration/lib.sh
need_built dup_exec

shim_run "$TMP/log" "$HELPERS/dup_exec" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/out" "$TMP/err" >&2; fail "dup_exec failed"; }
expect_log "$TMP/out" '^parent read: via-dup;via-dup2;via-dup3;via-dupfd-cloexec;via-dupfd;$' "(program output) the parent's bytes"
expect_log "$TMP/out" '^child read: child-via-dup;child-via-40;$' "(program output) the exec'd child's bytes"
set -- $(sed -n 's/^dups of \([0-9]*\): \([0-9]*\) .*/\1 \2/p' "$TMP/out")
c=$1 d1=$2
[ -n "$d1" ] || fail "no 'dups of' line"
L=$TMP/log
expect_log "$L" "debug: dup fd=$c -> $d1 stack=kernel\$" "dup()"
expect_log "$L" "debug: dup2 fd=$c -> 20 stack=kernel\$" "dup2()"
expect_log "$L" "debug: dup3 fd=$c -> 21 stack=kernel\$" "dup3()"
expect_log "$L" "debug: fcntl\\(F_DUPFD_CLOEXEC\\) fd=$c -> 30 stack=kernel\$" "fcntl(F_DUPFD_CLOEXEC)"
expect_log "$L" "debug: fcntl\\(F_DUPFD\\) fd=$c -> 40 stack=kernel\$" "fcntl(F_DUPFD)"
expect_log "$L" "debug: close fd=$c -> 0\$" "close() of the original"
for fd in $d1 20 21 30 40; do
	expect_log "$L" "debug: send fd=$fd stack=kernel -> [0-9]+\$" "a send on copy $fd as a known socket"
done
expect_log "$L" 'debug: close_range 20\.\.21 flags=0 -> 0$' "close_range(20, 21)"
expect_log "$L" 'debug: close_range 30\.\.30 flags=4 -> 0$' "close_range(30, 30, CLOSE_RANGE_CLOEXEC)"
expect_log "$L" 'debug: send fd=20 stack=kernel\(untracked\) -> -1 EBADF$' "fd 20 forgotten after close_range"
expect_log "$L" 'debug: dup2 fd=[0-9]+ -> 22 stack=kernel$' "dup2() of the accepted socket"
expect_log "$L" 'debug: took over 4 socket\(s\) inherited through exec$' "exec carrying the 4 sockets without FD_CLOEXEC"
# after the take-over line: the child's calls on the inherited fds are on known sockets
sed -n '/took over 4 socket/,$p' "$L" >"$TMP/after"
expect_log "$TMP/after" "debug: send fd=$d1 stack=kernel -> 14\$" "the child's send on the inherited dup"
expect_log "$TMP/after" 'debug: send fd=40 stack=kernel -> 13$' "the child's send on inherited fd 40"
expect_log "$TMP/after" 'debug: recv fd=22 stack=kernel -> 27$' "the child's recv on inherited fd 22"
expect_no_log "$TMP/after" 'untracked' "an inherited socket the child did not know"
echo "ok: duplicated and closed fds tracked, also across exec"
