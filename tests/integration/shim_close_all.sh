# Invisibility: a program that closes every fd above 2 at start (close(3..1023) one by
# one, close_range(3, ~0U, 0), closefrom(3)) and dup2s stdout onto high "free" numbers
# (900..907, where the shim keeps its log fd), then uses sockets.
# Proves: the program works; its stdout holds only its own output (the shim's log fd was
# moved out of the way, not overwritten); and the shim still logs to its log file after
# all that: the socket calls made afterwards are in the file.
. tests/integration/lib.sh
need_built close_all

shim_run "$TMP/log" "$HELPERS/close_all" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "close_all failed under the shim"; }
expect_eq "program output" "$(cat "$TMP/out")" "closed everything above 2
round trip: still working"
[ -s "$TMP/err" ] && { cat "$TMP/err" >&2; fail "unexpected output on stderr"; }
L=$TMP/log
expect_log "$L" 'debug: close_range 3\.\.4294967295 flags=0 -> 0$' "the program's close_range()"
sed -n '/close_range 3\.\.4294967295/,$p' "$L" >"$TMP/after"
expect_log "$TMP/after" 'debug: listen fd=[0-9]+ backlog=128 stack=kernel -> 0$' "listen() after the closing spree"
expect_log "$TMP/after" 'debug: connect fd=[0-9]+ 127\.0\.0\.1:[0-9]+ stack=kernel -> 0$' "connect() after the closing spree"
expect_log "$TMP/after" 'debug: recv fd=[0-9]+ stack=kernel -> 13$' "recv() after the closing spree"
# the same through LD_PRELOAD directly
preload_run "$TMP/log2" "$HELPERS/close_all" >"$TMP/out2" 2>&1 || fail "close_all failed with LD_PRELOAD"
expect_eq "program output (LD_PRELOAD)" "$(cat "$TMP/out2")" "$(cat "$TMP/out")"
expect_log "$TMP/log2" 'debug: recv fd=[0-9]+ stack=kernel -> 13$' "recv() after the closing spree (LD_PRELOAD)"
echo "ok: closing every fd does not disturb the shim"
