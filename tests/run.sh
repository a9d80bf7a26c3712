#!/bin/sh
# Runs every test: each Criterion binary in build/tests (TAP output), then each
# tests/integration/*.sh (exit 0 = pass, 77 = skip with a reason on stderr, else fail).
# Ends with one summary line: "N passed, N failed, N skipped".
# TESTS=pattern runs only the tests whose name contains pattern.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
export B
pass=0 fail=0 skip=0 failed=""
log_dir=$B/test-logs
mkdir -p "$log_dir"

want() { [ -z "$TESTS" ] || case "$1" in *"$TESTS"*) return 0 ;; *) return 1 ;; esac; }

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	want "$name" || continue
	"$t" --tap=- -j2 >"$log_dir/$name.tap" 2>"$log_dir/$name.err"
	rc=$?
	p=$(grep -c '^ok ' "$log_dir/$name.tap")
	s=$(grep -c '^ok .*# SKIP' "$log_dir/$name.tap")
	f=$(grep -c '^not ok ' "$log_dir/$name.tap")
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" != 0 ]; then
		failed="$failed $name"
		echo "FAIL $name ($p passed, $f failed)"
		grep -A8 '^not ok ' "$log_dir/$name.tap" | head -40
		tail -20 "$log_dir/$name.err"
	else
		echo "ok   $name ($p passed, $s skipped)"
		grep '# SKIP' "$log_dir/$name.tap" | sed 's/^/     /'
	fi
done

for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue   # sourced by the others, not a test
	want "$name" || continue
	start=$(date +%s)
	timeout -k 10 600 sh "$t" >"$log_dir/$name.out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "ok   $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "skip $name: $(grep -h 'SKIP' "$log_dir/$name.out" | tail -1)" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   echo "FAIL $name (exit $rc, ${secs}s)"; tail -30 "$log_dir/$name.out" | sed 's/^/     /' ;;
	esac
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
