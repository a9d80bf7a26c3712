#!/bin/sh
# Syscall-site patching benchmark: what the patched sites add per system call, native vs the
# shim with SOCKSHIFT_PATCH=off vs the shim with patching on (the default), same binary,
# same run; and what patching costs a process at start, with and without the plan cache.
#
#   sh bench/patch.sh                 (make bench builds first; bench/run.sh calls it)
#   ROUNDS=15 CALLS=2000000 sh bench/patch.sh
#   ICOUNT=0 sh bench/patch.sh        (skip the valgrind instruction counts)
#   STARTS=0 sh bench/patch.sh        (skip the start-up measurements)
#
# Rows (build/bench/patch: see bench/patch.c):
#   getppid  a non-socket syscall from libc's getppid(): its site loads a constant number
#            (mov $110,%eax; syscall), so the patcher leaves it as it is;
#   sysraw   the same call through libc's own syscall(SYS_getppid): a patched site whose
#            number is known at run time only (jmp to padding, jmp to the stub, 5 compares,
#            syscall, jmp back);
#   sockraw  a socket syscall (getsockopt) from libc's own syscall(): the stub's slow path
#            (xsave, core's sock_getsockopt, the real call);
#   sockopt  getsockopt() through the libc symbol: the shim's hook; with patching on, the
#            real call inside it passes a patched site through the busy-flag fast path.
#
# Time (ns per call, the calling thread's CPU time, so time spent preempted by other work
# does not count): each round runs native, off and on back to back, the order rotating from
# round to round, pinned to CPU 0. Reported: the medians over ROUNDS, and the median over
# rounds of (on - off) within a round, the robust figure on a busy machine.
#
# Instructions (ICOUNT=1, needs valgrind): callgrind counts the instructions each run
# executes, whatever else the machine does. Each configuration runs with ICALLS1 and
# ICALLS2 calls (plan cache off, so both runs start alike); (Ir2 - Ir1) / (ICALLS2 - ICALLS1)
# is the per-call count, start-up and exit cancelled out. The kernel's side of a syscall is not counted: these are user-space
# instructions per call.
#
# Start-up (STARTS runs of /bin/true each): wall ms per process and, with valgrind, the
# instructions of the whole run: native, shim with patching off, patching on with the
# plan cache off, with a cold cache (emptied before each run), with a warm cache.
# Writes the tables to build/bench/patch.md.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
ROUNDS=${ROUNDS:-11}
CALLS=${CALLS:-2000000}
ICOUNT=${ICOUNT:-1}
ICALLS1=${ICALLS1:-1000}
ICALLS2=${ICALLS2:-21000}
STARTS=${STARTS:-50}
PB=$B/bench/patch
LIB=$PWD/$B/lib/libsockshift.so
OUT=$B/bench/patch.md
for f in "$PB" "$LIB"; do
	[ -e "$f" ] || { echo "bench: $f is missing; run make bench" >&2; exit 1; }
done
PIN=
command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null && PIN="taskset -c 0"
command -v valgrind >/dev/null 2>&1 || { [ "$ICOUNT" = 1 ] && echo "bench: no valgrind: instruction counts skipped" >&2; ICOUNT=0; }
CACHE=$(mktemp -d /tmp/sockshift-patchbench.XXXXXX) || exit 1
trap 'rm -rf "$CACHE"' EXIT
trap 'exit 1' INT TERM

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f", a - b}'; }

# cfg native|off|on [cache]: the environment of one configuration (as env(1) arguments).
cfg() {
	case $1 in
	native) echo "PATCHBENCH=native" ;;
	off) echo "LD_PRELOAD=$LIB SOCKSHIFT_PATCH=off" ;;
	on) echo "LD_PRELOAD=$LIB SOCKSHIFT_PATCH=on SOCKSHIFT_PATCH_CACHE=${2:-off}" ;;
	esac
}
ns() {
	# shellcheck disable=SC2046
	r=$(env $(cfg "$1") $PIN "$PB" "$2" "$CALLS") || { echo "bench: $PB $2 ($1) failed" >&2; exit 1; }
	echo "${r##* }"
}
# ir CFG MODE N: instructions of one whole run under callgrind.
ir() {
	# shellcheck disable=SC2046
	env $(cfg "$1") valgrind --tool=callgrind --smc-check=all --callgrind-out-file=/dev/null \
		"$PB" "$2" "$3" 2>&1 >/dev/null | awk '/Collected :/ {v = $NF} END {print v}'
}

{
	echo "# syscall-site patching ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo "ns of CPU time per call, $CALLS calls, median of $ROUNDS rounds (order rotating per round):"
	echo
	echo "| call | native | shim, PATCH=off | shim, PATCH=on | patching adds (on - off, median per round) | on - native |"
	echo "|---|---|---|---|---|---|"
} >"$OUT"
for mode in getppid sysraw sockraw sockopt; do
	n="" off="" on="" d=""
	for r in $(seq "$ROUNDS"); do
		case $((r % 3)) in
		0) a=$(ns native $mode) b=$(ns off $mode) c=$(ns on $mode) ;;
		1) c=$(ns on $mode) a=$(ns native $mode) b=$(ns off $mode) ;;
		2) b=$(ns off $mode) c=$(ns on $mode) a=$(ns native $mode) ;;
		esac
		n="$n $a" off="$off $b" on="$on $c" d="$d $(sub "$c" "$b")"
	done
	mn=$(echo "$n" | median) moff=$(echo "$off" | median) mon=$(echo "$on" | median)
	md=$(echo "$d" | median)
	echo "| $mode | $mn | $moff | $mon | $(sub "$md" 0) | $(sub "$mon" "$mn") |" >>"$OUT"
done

if [ "$ICOUNT" = 1 ]; then
	{
		echo
		echo "user-space instructions per call (callgrind, ($ICALLS2 - $ICALLS1) calls):"
		echo
		echo "| call | native | shim, PATCH=off | shim, PATCH=on | patching adds (on - off) | on - native |"
		echo "|---|---|---|---|---|---|"
	} >>"$OUT"
	for mode in getppid sysraw sockraw sockopt; do
		row=""
		for c in native off on; do
			i1=$(ir $c $mode "$ICALLS1") i2=$(ir $c $mode "$ICALLS2")
			v=$(awk -v a="$i2" -v b="$i1" -v n=$((ICALLS2 - ICALLS1)) 'BEGIN {printf "%.1f", (a - b) / n}')
			eval "i_$c=\$v"
			row="$row | $v"
		done
		echo "| $mode$row | $(sub "$i_on" "$i_off") | $(sub "$i_on" "$i_native") |" >>"$OUT"
	done
fi

# Start-up: ms per process (STARTS runs of /bin/true in a loop), instructions per process.
# STARTS=0 skips it.
[ "$STARTS" -gt 0 ] || { cat "$OUT"; exit 0; }
# startms CFG [off|cold|warm]
startms() {
	d=$CACHE/st
	[ "$2" = off ] && d=off
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$STARTS" ]; do
		[ "$2" = cold ] && rm -rf "$CACHE/st"
		# shellcheck disable=SC2046
		env $(cfg "$1" "$d") /bin/true || { echo "bench: /bin/true ($1) failed" >&2; exit 1; }
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" -v n="$STARTS" 'BEGIN {printf "%.2f", (b - a) / n / 1e6}'
}
# A cold cache cannot be counted: valgrind's launcher runs natively with the same
# environment (so with the shim) and fills the cache before the counted run starts. Its
# count is the cache-off count plus one file write.
startir() {
	[ "$ICOUNT" = 1 ] && [ "$2" != cold ] || { echo "-"; return; }
	d=$CACHE/st
	[ "$2" = off ] && d=off
	# shellcheck disable=SC2046
	env $(cfg "$1" "$d") valgrind --tool=callgrind --smc-check=all --callgrind-out-file=/dev/null \
		/bin/true 2>&1 | awk '/Collected :/ {v = $NF} END {printf "%.2f", v / 1e6}'
}
{
	echo
	echo "start-up of /bin/true: ms per process (loop of $STARTS, median of $ROUNDS rounds) and millions of instructions (callgrind):"
	echo
	echo "| configuration | ms per process | M instructions |"
	echo "|---|---|---|"
} >>"$OUT"
for c in native off "on off" "on cold" "on warm"; do
	rm -rf "$CACHE/st"
	# shellcheck disable=SC2086
	[ "$c" = "on warm" ] && env $(cfg on "$CACHE/st") /bin/true
	v=""
	for r in $(seq "$ROUNDS"); do
		# shellcheck disable=SC2086
		v="$v $(startms $c)"
	done
	# shellcheck disable=SC2086
	echo "| $c | $(echo "$v" | median) | $(startir $c) |" >>"$OUT"
done
sed -i 's/^| native |/| no shim |/; s/^| off |/| shim, PATCH=off |/; s/^| on off |/| patching on, cache off |/; s/^| on cold |/| patching on, cold cache |/; s/^| on warm |/| patching on, warm cache |/' "$OUT"
cat "$OUT"
