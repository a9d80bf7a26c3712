#!/bin/sh
# Shim data-path benchmark: native vs under the shim, same binary, same machine, same run.
#
#   sh bench/run.sh            (make bench builds first, then runs this)
#   ROUNDS=15 PP_SECS=1.5 BULK_MIB=1024 CALLS=2000000 sh bench/run.sh   (the defaults)
#   SHIM_ONLY=1 sh bench/run.sh   (only this data-path benchmark, not the other bench/*.sh)
#   CLOCK=cpu sh bench/run.sh     (per CPU second of both processes instead of per second, for
#                                  a shared machine: bench/netbench.c, NETBENCH_CLOCK)
#
# Two loopback TCP benchmarks from build/bench/netbench (client and server are two
# processes; under the shim both are preloaded, at the default log level):
#   1. ping-pong: 64-byte request, 64-byte response, round trips per second;
#   2. bulk: BULK_MIB MiB in 64 KiB send() calls, MB/s (10^6 bytes) until the receiver
#      has acknowledged every byte;
#   3. call cost: CALLS non-blocking recv() calls on an empty socket (EAGAIN), ns per call
#      (also natively with one idle thread: what a second thread alone costs the kernel; and
#      with one idle thread on its own fd table, as the shim's threads run: core/progfd.h):
#      one trip through the hook and the kernel, with no data to hide the hook's cost.
# Each round runs native and shim back to back, alternating which goes first, so drifts
# of a shared VM hit both equally. Reported: the medians over ROUNDS rounds and their
# ratio, and the median of the per-round ratios (each shim run against the native run
# next to it), which is the more robust number when other work shares the machine.
# Both processes are pinned to one CPU (taskset -c 0) when taskset exists: on a small VM
# the scheduler's choice of cores otherwise moves results by more than the shim could.
# Prints a table and writes it, with the raw numbers, to build/bench/results.md.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
ROUNDS=${ROUNDS:-15}
PP_SECS=${PP_SECS:-1.5}
PP_SIZE=${PP_SIZE:-64}
BULK_MIB=${BULK_MIB:-1024}
BULK_CHUNK=${BULK_CHUNK:-65536}
CALLS=${CALLS:-2000000}
CLOCK=${CLOCK:-wall}
case $CLOCK in
wall) ;;
cpu) NETBENCH_CLOCK=cpu; export NETBENCH_CLOCK ;;
*) echo "bench: CLOCK must be wall or cpu" >&2; exit 2 ;;
esac
NB=$B/bench/netbench
LIB=$B/lib/libsockshift.so
SOCKSHIFT=$B/bin/sockshift
OUT=$B/bench/results.md

for f in "$NB" "$LIB"; do
	[ -e "$f" ] || { echo "bench: $f is missing; run make bench" >&2; exit 1; }
done
PIN=
command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null && PIN="taskset -c 0"

native() { $PIN "$NB" "$@"; }
if [ -x "$SOCKSHIFT" ] && "$SOCKSHIFT" run --help >/dev/null 2>&1; then
	shim() { $PIN "$SOCKSHIFT" run -- "$NB" "$@"; }
	how="$SOCKSHIFT run -- $NB"
else
	shim() { LD_PRELOAD=$PWD/$LIB $PIN "$NB" "$@"; }
	how="LD_PRELOAD=$LIB $NB"
fi

# value of one run (last field of the program's single line), or exit on failure
one() {
	r=$("$@") || { echo "bench: '$*' failed" >&2; exit 1; }
	echo "${r##* }"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# paired "A B": median over rounds of A_i / B_i
paired() { awk -v a="$1" -v b="$2" 'BEGIN {n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) printf "%.4f ", x[i] / y[i]}' | median; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s..%s", lo, hi}'; }

pp_n="" pp_s="" bk_n="" bk_s="" ca_n="" ca_s="" ct_n="" cu_n=""
start=$(date +%s)
echo "sockshift shim benchmark: $ROUNDS rounds, native and shim alternating${PIN:+, pinned with '$PIN'}, $CLOCK clock"
i=1
while [ $i -le "$ROUNDS" ]; do
	if [ $((i % 2)) = 1 ]; then
		pp_n="$pp_n $(one native pingpong "$PP_SECS" "$PP_SIZE")"
		pp_s="$pp_s $(one shim pingpong "$PP_SECS" "$PP_SIZE")"
		bk_s="$bk_s $(one shim bulk "$BULK_MIB" "$BULK_CHUNK")"
		bk_n="$bk_n $(one native bulk "$BULK_MIB" "$BULK_CHUNK")"
		ca_n="$ca_n $(one native calls "$CALLS")"
		ca_s="$ca_s $(one shim calls "$CALLS")"
		ct_n="$ct_n $(one native calls-thread "$CALLS")"
		cu_n="$cu_n $(one native calls-unshared "$CALLS")"
	else
		pp_s="$pp_s $(one shim pingpong "$PP_SECS" "$PP_SIZE")"
		pp_n="$pp_n $(one native pingpong "$PP_SECS" "$PP_SIZE")"
		bk_n="$bk_n $(one native bulk "$BULK_MIB" "$BULK_CHUNK")"
		bk_s="$bk_s $(one shim bulk "$BULK_MIB" "$BULK_CHUNK")"
		cu_n="$cu_n $(one native calls-unshared "$CALLS")"
		ct_n="$ct_n $(one native calls-thread "$CALLS")"
		ca_s="$ca_s $(one shim calls "$CALLS")"
		ca_n="$ca_n $(one native calls "$CALLS")"
	fi
	[ -t 1 ] && printf '  round %d/%d done\r' "$i" "$ROUNDS"
	i=$((i + 1))
done
secs=$(( $(date +%s) - start ))

m_ppn=$(echo "$pp_n" | median) m_pps=$(echo "$pp_s" | median)
m_bkn=$(echo "$bk_n" | median) m_bks=$(echo "$bk_s" | median)
r_pp=$(awk -v a="$m_pps" -v b="$m_ppn" 'BEGIN {printf "%.3f", a / b}')
r_bk=$(awk -v a="$m_bks" -v b="$m_bkn" 'BEGIN {printf "%.3f", a / b}')
p_pp=$(printf '%.3f' "$(paired "$pp_s" "$pp_n")")
p_bk=$(printf '%.3f' "$(paired "$bk_s" "$bk_n")")
p_ca=$(printf '%.3f' "$(paired "$ca_n" "$ca_s")")
m_can=$(echo "$ca_n" | median) m_cas=$(echo "$ca_s" | median)
# a cost: the ratio is inverted so that, like the others, 1.0 = no cost and higher = faster
r_ca=$(awk -v a="$m_cas" -v b="$m_can" 'BEGIN {printf "%.3f", b / a}')
d_ca=$(awk -v a="$m_cas" -v b="$m_can" 'BEGIN {printf "%+.1f", a - b}')
m_ctn=$(echo "$ct_n" | median)
d_ct=$(awk -v a="$m_ctn" -v b="$m_can" 'BEGIN {printf "%+.1f", a - b}')
m_cun=$(echo "$cu_n" | median)
d_cu=$(awk -v a="$m_cun" -v b="$m_can" 'BEGIN {printf "%+.1f", a - b}')
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)

mkdir -p "$(dirname "$OUT")"
{
	echo "## Shim data path: results of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(nproc) CPU(s), ${cpu:-unknown CPU}, kernel $(uname -r)."
	echo "Command: \`sh bench/run.sh\` (ROUNDS=$ROUNDS PP_SECS=$PP_SECS PP_SIZE=$PP_SIZE BULK_MIB=$BULK_MIB BULK_CHUNK=$BULK_CHUNK CALLS=$CALLS CLOCK=$CLOCK${PIN:+, pinned: $PIN}); shim runs: \`$how ...\`; ${secs}s."
	echo
	echo "| benchmark | native (median) | shim (median) | shim / native (of medians) | shim / native (median per round) | native range | shim range |"
	echo "|---|---:|---:|---:|---:|---|---|"
	echo "| ping-pong ${PP_SIZE} B, round trips/s | $m_ppn | $m_pps | $r_pp | $p_pp | $(echo "$pp_n" | spread) | $(echo "$pp_s" | spread) |"
	echo "| bulk $BULK_MIB MiB in $((BULK_CHUNK / 1024)) KiB sends, MB/s | $m_bkn | $m_bks | $r_bk | $p_bk | $(echo "$bk_n" | spread) | $(echo "$bk_s" | spread) |"
	echo "| recv() on an empty socket, ns/call (lower is better; ratio native/shim) | $m_can | $m_cas | $r_ca ($d_ca ns) | $p_ca | $(echo "$ca_n" | spread) | $(echo "$ca_s" | spread) |"
	echo "| the same natively with one idle thread (no shim), ns/call | $m_can | $m_ctn (native + thread) | ($d_ct ns) | | | $(echo "$ct_n" | spread) |"
	echo "| the same natively with one idle thread on its own fd table, ns/call | $m_can | $m_cun (native + unshared thread) | ($d_cu ns) | | | $(echo "$cu_n" | spread) |"
	echo
	echo "Target: shim / native >= 0.98 on ping-pong and bulk (the issue's target); the call"
	echo "cost row shows what one hooked call adds, without data to hide it."
	echo
	echo "Raw values, in run order:"
	echo
	echo "- ping-pong native:$pp_n"
	echo "- ping-pong shim:$pp_s"
	echo "- bulk native:$bk_n"
	echo "- bulk shim:$bk_s"
	echo "- calls native:$ca_n"
	echo "- calls shim:$ca_s"
	echo "- calls native with an idle thread:$ct_n"
	echo "- calls native with an idle thread on its own fd table:$cu_n"
} >"$OUT"
echo
sed -n '/^| /p' "$OUT"
echo "(written to $OUT)"
awk -v a="$p_pp" -v b="$p_bk" 'BEGIN {exit !(a >= 0.98 && b >= 0.98)}' ||
	echo "note: a ratio is below the 0.98 target; on a shared VM rerun with more ROUNDS before concluding"

# The other benchmarks (repair engine, checkpoints, stacks, patching) have a script each;
# SHIM_ONLY=1 stops after the data-path benchmark above.
[ -n "${SHIM_ONLY:-}" ] && exit 0
for other in bench/*.sh; do
	[ "$other" = bench/run.sh ] && continue
	echo
	echo "== $other"
	B=$B sh "$other"
	rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || echo "bench: $other failed (exit $rc)"
done
exit 0
