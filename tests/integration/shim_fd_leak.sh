# Invisibility: no shim fd leaks into an exec'd child.
# The parent runs under the shim with a log file (so the shim holds an fd for it), opens
# a socket with and one without FD_CLOEXEC, and execs (or posix_spawns) fd_list, which
# prints the fds it has. The child is told to log to a different file. Proves: the child
# sees exactly the fds it sees without the shim — apart from its own shim's fds, which live
# at 900 and above and are new in the child (its own log file, its own control socket) —
# that every fd the parent's shim holds there is close-on-exec, and that nothing in the
# child points at the parent's log file.
. tests/integration/lib.sh
need_built fd_list
H=$HELPERS/fd_list

for how in exec spawn; do
	# stdout through a pipe, so that fd 1 looks the same in both runs
	"$H" $how "$TMP/unused-$how.log" | cat >"$TMP/native.$how"
	FD_LIST_PARENT="$TMP/parent-fds.$how" LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug \
		SOCKSHIFT_LOG_FILE="$TMP/parent-$how.log" \
		"$H" $how "$TMP/child-$how.log" | cat >"$TMP/shim.$how"
	grep -q '^fd 0 ' "$TMP/native.$how" || fail "fd_list $how failed natively"
	grep -q '^fd 0 ' "$TMP/shim.$how" || fail "fd_list $how failed under the shim"
	grep -q "$TMP/parent-$how.log" "$TMP/shim.$how" && { cat "$TMP/shim.$how" >&2; fail "$how: the parent's log fd leaked into the child"; }
	grep -q "^fd [0-9]* $TMP/child-$how.log cloexec\$" "$TMP/shim.$how" ||
		{ cat "$TMP/shim.$how" >&2; fail "$how: the child has no log fd of its own (was it under the shim?)"; }
	grep -q "^fd [0-9]* $TMP/parent-$how.log cloexec\$" "$TMP/parent-fds.$how" ||
		{ cat "$TMP/parent-fds.$how" >&2; fail "$how: the parent's shim holds no log fd at 900+"; }
	grep -q ' inheritable$' "$TMP/parent-fds.$how" &&
		{ cat "$TMP/parent-fds.$how" >&2; fail "$how: a shim fd of the parent is not close-on-exec"; }
	grep -q ' inheritable$' "$TMP/shim.$how" &&
		{ cat "$TMP/shim.$how" >&2; fail "$how: a shim fd of the child is not close-on-exec"; }
	grep -v '^fd 9[0-9][0-9][0-9]* ' "$TMP/shim.$how" >"$TMP/shim.$how.own"
	cmp -s "$TMP/native.$how" "$TMP/shim.$how.own" ||
		{ diff "$TMP/native.$how" "$TMP/shim.$how.own" >&2; fail "$how: the child's fds differ from a run without the shim"; }
	grep -q '^fd [0-9]* socket$' "$TMP/native.$how" || fail "$how: the inherited socket is missing from the listing"
	expect_log "$TMP/parent-$how.log" 'debug: socket inet/stream/0 stack=kernel' "($how) the parent's socket()"
	expect_log "$TMP/child-$how.log" 'debug: took over 1 socket\(s\) inherited through exec' "($how) the child taking over the one inherited socket"
done
echo "ok: exec'd children see only their own fds"
