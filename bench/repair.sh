#!/bin/sh
# bench/repair.sh — the repair engine benchmark (see bench/repair.c and docs/benchmarks.md):
# save/restore N = 1, 100, 1000, 10000 loopback connections with 16 KiB queued each way, in a
# private network namespace. Needs root (unshare + TCP_REPAIR); exits 77 otherwise.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
out=$B/bench/repair.txt
echo "== repair engine: save/restore, us per connection (median of 3) =="
{
	echo "# $B/bench/repair -l -r 3 1 100 1000 10000   (save without socket-option capture)"
	"$B/bench/repair" -l -r 3 1 100 1000 10000 || exit $?
	echo "# $B/bench/repair -r 3 1 100 1000 10000      (save with socket-option capture)"
	"$B/bench/repair" -r 3 1 100 1000 10000 || exit $?
} | tee "$out"
