# The patch plan cache (SOCKSHIFT_PATCH_CACHE): a program runs correctly, and libc's
# internal socket calls are routed, from a cold cache (the plan is made and stored), from a
# warm one (the plan is read back, no capstone), from a corrupted one (rejected, planned
# again and rewritten), and when the directory is not private (not used, with a warning).
# if_nametoindex("lo") makes an internal socket() that only a patched libc shows.
. tests/integration/lib.sh
need_built patch_calls

C=$TMP/cache
run() { _l=$1; shift; env LD_PRELOAD="$LIB" SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE="$_l" SOCKSHIFT_PATCH_CACHE="$C" "$@"; }
check() {   # check NAME: ran correctly and the internal socket call was routed
	expect_eq "$1: if_nametoindex(lo)" "$(cat "$TMP/$1.out")" 1
	expect_log "$TMP/$1.log" "socket (unix|inet|inet6)/dgram" "$1: if_nametoindex's internal socket"
}

# 1. Cold: no directory yet; it is created 0700 and the plan stored.
run "$TMP/cold.log" "$HELPERS/patch_calls" ifindex >"$TMP/cold.out" || fail "cold cache: the program failed"
check cold
expect_no_log "$TMP/cold.log" "plan from the cache" "cold cache"
[ "$(stat -c %a "$C")" = 700 ] || fail "the cache directory is not 0700: $(stat -c %a "$C")"
plan=$(ls "$C"/libc.so.6-*.plan 2>/dev/null) || fail "no plan for libc stored in $C"
[ "$(stat -c %a "$plan")" = 600 ] || fail "the plan file is not 0600"

# 2. Warm: the plan is read back.
run "$TMP/warm.log" "$HELPERS/patch_calls" ifindex >"$TMP/warm.out" || fail "warm cache: the program failed"
check warm
expect_log "$TMP/warm.log" "patch: libc.so.6: .*plan from the cache" "warm cache"
expect_eq "same sites cold and warm" \
	"$(grep -o 'syscall sites: [^(]*' "$TMP/warm.log")" "$(grep -o 'syscall sites: [^(]*' "$TMP/cold.log")"

# 3. Corrupted: 64 bytes of the site table overwritten; rejected, planned again, rewritten.
dd if=/dev/urandom of="$plan" bs=1 seek=4000 count=64 conv=notrunc 2>/dev/null
run "$TMP/bad.log" "$HELPERS/patch_calls" ifindex >"$TMP/bad.out" || fail "corrupted cache: the program failed"
check bad
expect_no_log "$TMP/bad.log" "plan from the cache" "corrupted cache"
run "$TMP/fixed.log" "$HELPERS/patch_calls" ifindex >"$TMP/fixed.out" || fail "rewritten cache: the program failed"
check fixed
expect_log "$TMP/fixed.log" "plan from the cache" "the cache rewritten after corruption"

# 4. Truncated to its header.
truncate -s 300 "$plan"
run "$TMP/short.log" "$HELPERS/patch_calls" ifindex >"$TMP/short.out" || fail "truncated cache: the program failed"
check short
expect_no_log "$TMP/short.log" "plan from the cache" "truncated cache"

# 5. A directory others can write to is not used (warning), the program still works.
chmod 777 "$C"
run "$TMP/open.log" "$HELPERS/patch_calls" ifindex >"$TMP/open.out" || fail "open directory: the program failed"
check open
expect_log "$TMP/open.log" "cache .* is not a private directory" "the warning for a shared directory"
expect_no_log "$TMP/open.log" "plan from the cache" "a shared directory"
chmod 700 "$C"

# 6. off: no cache at all.
rm -rf "$C"
SOCKSHIFT_PATCH_CACHE=off LD_PRELOAD="$LIB" SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE="$TMP/off.log" \
	"$HELPERS/patch_calls" ifindex >"$TMP/off.out" || fail "SOCKSHIFT_PATCH_CACHE=off: the program failed"
check off
[ ! -e "$C" ] || fail "SOCKSHIFT_PATCH_CACHE=off created a cache"
echo "ok: cold, warm, corrupted, truncated, shared-directory and off plan caches all run correctly"
