#!/bin/sh
# bench/ckpt.sh — checkpoint pause and hand-over downtime (see bench/ckpt.c and the
# "Checkpoint and hand-over" section of docs/benchmarks.md): N = 1, 100, 1000, 10000 loopback
# connections in a private network namespace, images on tmpfs (/dev/shm) and, for N = 1000,
# on the disk (/tmp) to show what fsync costs a hand-over. Needs root; exits 77 otherwise.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
out=$B/bench/ckpt.txt
[ -x "$B/bench/ckpt" ] || { echo "bench/ckpt.sh: $B/bench/ckpt is missing; run make bench" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/ckpt.sh: needs root (unshare, TCP_REPAIR, nftables)" >&2; exit 77; }
echo "== checkpoint pause and hand-over downtime (median of 3 pauses; targets: pause <= 20 ms at 1000, <= 200 ms at 10000; hand-over <= 100 ms at 1000) =="
{
	echo "# CKPT_DIR=/dev/shm $B/bench/ckpt -r 3 1 100 1000 10000"
	CKPT_DIR=/dev/shm "$B/bench/ckpt" -r 3 1 100 1000 10000 || exit $?
	echo "# CKPT_DIR=/tmp $B/bench/ckpt -r 3 1000     (images on the disk: fsync per file)"
	CKPT_DIR=/tmp "$B/bench/ckpt" -r 3 1000 || exit $?
} | tee "$out"
