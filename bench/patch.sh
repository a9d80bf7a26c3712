#!/bin/sh
# Syscall-site patching benchmark: ns per call, native vs the shim with SOCKSHIFT_PATCH=off
# vs the shim with patching on (the default), same binary, same run.
#
#   sh bench/patch.sh                 (make bench builds first; bench/run.sh calls it)
#   ROUNDS=9 CALLS=2000000 sh bench/patch.sh
#
# Rows (build/bench/patch: see bench/patch.c):
#   getppid  a non-socket syscall from libc: with patching on it passes a patched site
#            (jmp to padding, jmp to the stub, 5 compares, syscall, jmp back);
#   sockraw  a socket syscall (getsockopt) from libc's own syscall(): with patching on it
#            takes the slow path (xsave, core's sock_getsockopt, the real call);
#   sockopt  getsockopt() through the libc symbol: the shim's hook; with patching on the
#            real call inside it passes a patched site through the busy-flag fast path.
# Medians over ROUNDS rounds. "patching adds" = median(on) - median(off): the same shim
# with and without the patched sites, which isolates this layer from the shim's hooks.
# Writes the table to build/bench/patch.md.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
ROUNDS=${ROUNDS:-9}
CALLS=${CALLS:-2000000}
PB=$B/bench/patch
LIB=$PWD/$B/lib/libsockshift.so
OUT=$B/bench/patch.md
for f in "$PB" "$LIB"; do
	[ -e "$f" ] || { echo "bench: $f is missing; run make bench" >&2; exit 1; }
done
PIN=
command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null && PIN="taskset -c 0"

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
one() { r=$("$@") || { echo "bench: '$*' failed" >&2; exit 1; }; echo "${r##* }"; }

{
	echo "# syscall-site patching: ns per call ($CALLS calls, median of $ROUNDS rounds, $(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "| call | native | shim, PATCH=off | shim, PATCH=on | patching adds (on - off) | on - native |"
	echo "|---|---|---|---|---|---|"
} >"$OUT"
for mode in getppid sockraw sockopt; do
	n="" off="" on=""
	for r in $(seq "$ROUNDS"); do
		n="$n $(one $PIN "$PB" "$mode" "$CALLS")"
		off="$off $(SOCKSHIFT_PATCH=off LD_PRELOAD=$LIB one $PIN "$PB" "$mode" "$CALLS")"
		on="$on $(SOCKSHIFT_PATCH=on LD_PRELOAD=$LIB one $PIN "$PB" "$mode" "$CALLS")"
	done
	mn=$(echo "$n" | median) moff=$(echo "$off" | median) mon=$(echo "$on" | median)
	add=$(awk -v a="$mon" -v b="$moff" 'BEGIN {printf "%+.1f", a - b}')
	addn=$(awk -v a="$mon" -v b="$mn" 'BEGIN {printf "%+.1f", a - b}')
	echo "| $mode | $mn | $moff | $mon | $add | $addn |" >>"$OUT"
done
cat "$OUT"
