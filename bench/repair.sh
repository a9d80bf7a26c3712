#!/bin/sh
# bench/repair.sh — the repair engine benchmark (see bench/repair.c and docs/benchmarks.md):
# save/restore N = 1, 100, 1000, 10000 loopback connections with 16 KiB queued each way, in a
# private network namespace. Needs root (unshare + TCP_REPAIR); exits 77 otherwise.
# SOCCR_LIB=/path/to/libsoccr.so adds libsoccr's save and restore, measured in the same run
# (docs/benchmarks.md says how to build it from CRIU's soccr/; nothing of CRIU is in this tree).
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
out=$B/bench/repair.txt
echo "== repair engine: save/restore, us per connection (5 rounds) =="
{
	echo "# $B/bench/repair -r 5 1 100 1000 10000     (save as core/checkpoint.c does it)"
	"$B/bench/repair" -r 5 1 100 1000 10000 || exit $?
	echo "# $B/bench/repair -a -r 5 1 100 1000 10000  (save: plain repair_pause + repair_save)"
	"$B/bench/repair" -a -r 5 1 100 1000 10000 || exit $?
} | tee "$out"
