# Fail closed: a bad configuration stops the program before main() with exit status 125
# and a message naming the variable (or FILE:LINE) and the bad value.
# Proves, for each bad input: status 125, the message on stderr names the culprit,
# and main never ran (hello prints "hello from main" as its first act; stdout is empty).
# Also proves a good config file is read and applied (it once deadlocked the shim at
# start: the file reader's close() re-entered the shim's own initialisation), and that
# the launcher refuses the same bad values before the program runs.
. tests/integration/lib.sh
need_built hello
H=$HELPERS/hello

# bad VAR=VALUE  expected-text...: run hello with that setting, expect refusal
bad() {
	setting=$1
	shift
	timeout 10 env LD_PRELOAD="$LIB" "$setting" "$H" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc = 124 ] && fail "$setting: the program hung at start"
	[ $rc = 125 ] || { cat "$TMP/out" "$TMP/err" >&2; fail "$setting: exit status $rc, expected 125"; }
	[ -s "$TMP/out" ] && { cat "$TMP/out" >&2; fail "$setting: main() ran (stdout not empty)"; }
	for want in "$@"; do
		grep -qF -- "$want" "$TMP/err" || { cat "$TMP/err" >&2; fail "$setting: the message does not mention '$want'"; }
	done
	grep -q '^sockshift: ' "$TMP/err" || fail "$setting: the message is not marked as sockshift's"
}

bad SOCKSHIFT_LOG=loud SOCKSHIFT_LOG loud
bad SOCKSHIFT_LOG= SOCKSHIFT_LOG
bad SOCKSHIFT_STACK=bogus SOCKSHIFT_STACK bogus
bad SOCKSHIFT_STAK=kernel SOCKSHIFT_STAK
bad SOCKSHIFT_CONF=/nonexistent/sockshift.conf SOCKSHIFT_CONF /nonexistent/sockshift.conf
bad SOCKSHIFT_CONF=/ SOCKSHIFT_CONF
bad SOCKSHIFT_LOG_FILE=/nonexistent/dir/log SOCKSHIFT_LOG_FILE /nonexistent/dir/log

printf '# a comment\nstack = kernel\nbogus_key = 1\n' >"$TMP/unknown.conf"
bad SOCKSHIFT_CONF="$TMP/unknown.conf" "$TMP/unknown.conf:3" bogus_key
printf 'stack = kernel\nlog = loud\n' >"$TMP/badvalue.conf"
bad SOCKSHIFT_CONF="$TMP/badvalue.conf" "$TMP/badvalue.conf:2" loud
printf 'stack = bogus\n' >"$TMP/badstack.conf"
bad SOCKSHIFT_CONF="$TMP/badstack.conf" "$TMP/badstack.conf:1" bogus
printf 'stack = kernel\nthis line has no equals sign\n' >"$TMP/syntax.conf"
bad SOCKSHIFT_CONF="$TMP/syntax.conf" "$TMP/syntax.conf:2"

# A good file is applied: hello runs, and the log (level and file from the conf) says so.
printf '# good\nstack = kernel\nlog = debug\nlog_file = %s\n' "$TMP/good.log" >"$TMP/good.conf"
out=$(timeout 10 env LD_PRELOAD="$LIB" SOCKSHIFT_CONF="$TMP/good.conf" "$H" 2>"$TMP/err")
rc=$?
[ $rc = 124 ] && fail "a good config file made the program hang at start"
expect_eq "hello with a good config file (status $rc)" "$out" "hello from main"
expect_log "$TMP/good.log" "info: started: stack=kernel log=debug conf=$TMP/good.conf" "the config file applied"
# the environment overrides the file
out=$(timeout 10 env LD_PRELOAD="$LIB" SOCKSHIFT_CONF="$TMP/good.conf" SOCKSHIFT_LOG=error "$H" 2>&1)
expect_eq "hello with the env overriding the file" "$out" "hello from main"
[ "$(grep -c started "$TMP/good.log")" = 1 ] || fail "SOCKSHIFT_LOG=error did not override log = debug"

# The launcher: bad settings stop it before the program runs (its own status, not 0).
if have_launcher; then
	for args in "--log loud" "--stack bogus" "--conf /nonexistent/sockshift.conf" "--conf $TMP/unknown.conf"; do
		# shellcheck disable=SC2086
		timeout 10 "$SOCKSHIFT" run $args -- "$H" >"$TMP/out" 2>"$TMP/err"
		rc=$?
		[ $rc != 0 ] && [ $rc != 124 ] || fail "sockshift run $args: status $rc"
		[ -s "$TMP/out" ] && fail "sockshift run $args: the program ran"
		[ -s "$TMP/err" ] || fail "sockshift run $args: no message"
	done
	timeout 10 env SOCKSHIFT_STAK=kernel "$SOCKSHIFT" run -- "$H" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc != 0 ] && [ ! -s "$TMP/out" ] && grep -q SOCKSHIFT_STAK "$TMP/err" ||
		fail "sockshift run with SOCKSHIFT_STAK set: status $rc, the program must not run and the message must name it"
fi
echo "ok: bad configurations stop the program before main, naming the problem"
