# Invisibility: nothing from the shim on the program's stdout, even at debug level with no
# log file (the log then goes to stderr).
# Proves: stdout under the shim is byte-for-byte what the program prints without it (for
# a helper making 60 connections in threads, and for curl fetching a page), while stderr
# does carry the shim's debug lines, so the log was on and went elsewhere.
. tests/integration/lib.sh
need curl
need "$PYTHON"
need_built threads

# threads prints "port N" first, which differs per run: compare the rest.
"$HELPERS/threads" 3 20 2 | sed 1d >"$TMP/native.out" || fail "threads failed natively"
LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug "$HELPERS/threads" 3 20 2 >"$TMP/shim.raw" 2>"$TMP/shim.err" ||
	fail "threads failed under the shim"
grep -q '^port [0-9]*$' "$TMP/shim.raw" || fail "the program's first line is not 'port N'"
sed 1d "$TMP/shim.raw" >"$TMP/shim.out"
cmp -s "$TMP/native.out" "$TMP/shim.out" || { diff "$TMP/native.out" "$TMP/shim.out" | head >&2; fail "stdout differs under the shim"; }
grep -q 'sockshift' "$TMP/shim.raw" && fail "the shim wrote to stdout"
[ "$(grep -c '^sockshift\[[0-9]*\] debug: connect ' "$TMP/shim.err")" -ge 60 ] ||
	fail "stderr does not carry the shim's debug log"

# the same through the launcher (sockshift run --log debug, no log file)
if have_launcher; then
	"$SOCKSHIFT" run --log debug -- "$HELPERS/threads" 3 20 2 >"$TMP/run.raw" 2>"$TMP/run.err" ||
		fail "threads failed under sockshift run"
	sed 1d "$TMP/run.raw" | cmp -s "$TMP/native.out" - || fail "stdout differs under sockshift run"
	grep -q '^sockshift\[[0-9]*\] debug: connect ' "$TMP/run.err" || fail "sockshift run --log debug: no log on stderr"
fi

# a real client: curl's output (the body) is exactly the same
mkdir -p "$TMP/www"
printf 'line one\nline two\n' >"$TMP/www/page.txt"
port=$(free_port)
bg "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port" >"$TMP/srv.out" 2>&1
wait_port "$port"
curl -sS "http://127.0.0.1:$port/page.txt" >"$TMP/curl.native" || fail "curl failed natively"
LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug curl -sS "http://127.0.0.1:$port/page.txt" >"$TMP/curl.shim" 2>"$TMP/curl.err" ||
	fail "curl failed under the shim"
cmp -s "$TMP/curl.native" "$TMP/curl.shim" || fail "curl's stdout differs under the shim"
grep -q 'debug: connect ' "$TMP/curl.err" || fail "curl's stderr does not carry the shim's log"
echo "ok: the shim never writes to stdout"
