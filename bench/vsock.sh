#!/bin/sh
# VM sockets benchmark: an AF_INET program under the shim over vsock vs the same program
# written natively for AF_VSOCK, inside an emulated guest, same run.
#
#   sh bench/vsock.sh          (make bench runs it through bench/run.sh)
#   VSOCK_ROUNDS=15 VSOCK_MIB=8 VSOCK_RTTS=500 VSOCK_CPU=1 VSOCK_ICOUNT=shift=3,sleep=off \
#   sh bench/vsock.sh          (the defaults)
#   VSOCK_ICOUNT= VSOCK_MIB=64 VSOCK_RTTS=3000 sh bench/vsock.sh   (wall-clock time instead)
#
# Boots the guest of tests/vm/ once (kernel and initramfs cached in $B/vm by
# tests/vm/build-initramfs.sh; no network, vsock_loopback only, so no vsock traffic ever
# happens on this machine) with ss_bench=ROUNDS:MIB:RTTS on its command line; the guest then
# runs tests/vm/guest_bench.sh only: tests/helpers/vsock_bench, one C client, over AF_INET
# under the shim and natively over AF_VSOCK against one native vsock server, a warm-up run
# of each, then ROUNDS rounds of both alternating which goes first. A run sends VSOCK_MIB
# MiB in 64 KiB writes (MiB/s) then does VSOCK_RTTS one-byte round trips (µs each).
# Reported: medians, the ratio of the medians and the median of the per-round ratios (each
# shim run against the native run next to it), written with the raw values to
# $B/bench/vsock.md.
#
# Time: QEMU emulates (TCG, one vCPU; this machine has no usable KVM). By default the guest
# clock counts executed guest instructions (QEMU -icount shift=3: 8 ns each, idle time
# skipped), so the numbers measure the work the guest's CPU does, user and kernel, and the
# other load of a shared host does not move them: runs repeat to within about 1%. The cost model
# treats every instruction alike. VSOCK_ICOUNT= (empty) measures host wall-clock time
# instead, which on a shared 2-core host varies by 10-40% between runs; use more MiB and
# round trips then. Either way QEMU is pinned to host CPU VSOCK_CPU with taskset so its
# threads do not wander between cores. Exit 77 with a message when QEMU or the guest kernel
# cannot be had.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
ROUNDS=${VSOCK_ROUNDS:-15}
MIB=${VSOCK_MIB:-8}
RTTS=${VSOCK_RTTS:-500}
CPU=${VSOCK_CPU:-1}
VSOCK_ICOUNT=${VSOCK_ICOUNT-shift=3,sleep=off}
ICOUNT=${VSOCK_ICOUNT:+-icount $VSOCK_ICOUNT}
OUT=$B/bench/vsock.md
VM=$B/vm

skip() { echo "vsock bench: SKIP: $*" >&2; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 is not installed"
[ -f "$B/lib/libsockshift.so" ] || { echo "vsock bench: $B/lib/libsockshift.so is missing; run make" >&2; exit 1; }
if [ ! -x "$B/tests/helpers/vsock_bench" ]; then
	${MAKE:-make} --no-print-directory B="$B" "$B/tests/helpers/vsock_bench" >&2 ||
		{ echo "vsock bench: cannot build $B/tests/helpers/vsock_bench" >&2; exit 1; }
fi
B=$B sh tests/vm/build-initramfs.sh "$VM" >&2
rc=$?
[ $rc = 77 ] && skip "no guest kernel (tests/vm/build-initramfs.sh skipped, message above)"
[ $rc = 0 ] || { echo "vsock bench: building the guest failed" >&2; exit 1; }

PIN=
command -v taskset >/dev/null 2>&1 && taskset -c "$CPU" true 2>/dev/null && PIN="taskset -c $CPU"
LOG=$(mktemp /tmp/sockshift-vsock-bench.XXXXXX) || exit 1
trap 'rm -f "$LOG"' EXIT
echo "vsock bench: booting the guest (TCG${ICOUNT:+ $ICOUNT}${PIN:+, $PIN}); $ROUNDS rounds of $MIB MiB + $RTTS round trips, shim and native alternating"
start=$(date +%s)
$PIN timeout -k 5 "${VSOCK_TIMEOUT:-1200}" qemu-system-x86_64 -machine q35 -accel tcg -cpu max $ICOUNT \
	-m 768 -smp 1 -nic none -display none -monitor none -serial file:"$LOG" -no-reboot \
	-kernel "$VM/vmlinuz" -initrd "$VM/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init ss_bench=$ROUNDS:$MIB:$RTTS" </dev/null
qrc=$?
secs=$(( $(date +%s) - start ))
tr -d '\r' <"$LOG" | grep '^BENCH' >"$LOG.b"
mv "$LOG.b" "$LOG"
if ! grep -q '^BENCH done' "$LOG"; then
	grep 'FAIL' "$LOG" >&2
	echo "vsock bench: the guest did not finish the benchmark (qemu exit $qrc, ${secs}s)" >&2
	exit 1
fi

# "BENCH run <round> <mode> tput_MiB_s=X rtt_us=Y" -> medians, ratios, ranges, raw values
stats=$(awk '
function med(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function copy(src, dst, n,   i) { for (i = 1; i <= n; i++) dst[i] = src[i] }
$1 == "BENCH" && $2 == "run" {
	r = $3; m = $4; sub(/.*=/, "", $5); sub(/.*=/, "", $6)
	tp[m, r] = $5; rt[m, r] = $6; if (r > nr) nr = r
	raw_t[m] = raw_t[m] " " $5; raw_r[m] = raw_r[m] " " $6
}
END {
	for (i = 1; i <= nr; i++) {
		tn[i] = tp["vsock", i]; ts[i] = tp["inet", i]; rn[i] = rt["vsock", i]; rs[i] = rt["inet", i]
		pt[i] = ts[i] / tn[i]; pr[i] = rn[i] / rs[i]
	}
	copy(tn, a, nr); mtn = med(a, nr); lo_tn = a[1]; hi_tn = a[nr]
	copy(ts, a, nr); mts = med(a, nr); lo_ts = a[1]; hi_ts = a[nr]
	copy(rn, a, nr); mrn = med(a, nr); lo_rn = a[1]; hi_rn = a[nr]
	copy(rs, a, nr); mrs = med(a, nr); lo_rs = a[1]; hi_rs = a[nr]
	copy(pt, a, nr); mpt = med(a, nr); lo_pt = a[1]; hi_pt = a[nr]
	copy(pr, a, nr); mpr = med(a, nr); lo_pr = a[1]; hi_pr = a[nr]
	printf "| throughput, MiB/s (%s MiB in 64 KiB writes) | %.2f | %.2f | %.3f | %.3f | %.3f..%.3f | %.2f..%.2f | %.2f..%.2f |\n",
		MIB, mtn, mts, mts / mtn, mpt, lo_pt, hi_pt, lo_tn, hi_tn, lo_ts, hi_ts
	printf "| round trip, µs (1 byte, %s per run; ratio native/shim) | %.1f | %.1f | %.3f | %.3f | %.3f..%.3f | %.1f..%.1f | %.1f..%.1f |\n",
		RTTS, mrn, mrs, mrn / mrs, mpr, lo_pr, hi_pr, lo_rn, hi_rn, lo_rs, hi_rs
	printf "RATIOS %.3f %.3f %d\n", mpt, mpr, nr
	printf "RAW - throughput native (MiB/s):%s\nRAW - throughput shim (MiB/s):%s\n", raw_t["vsock"], raw_t["inet"]
	printf "RAW - round trip native (µs):%s\nRAW - round trip shim (µs):%s\n", raw_r["vsock"], raw_r["inet"]
}' MIB="$MIB" RTTS="$RTTS" "$LOG")
set -- $(echo "$stats" | sed -n 's/^RATIOS //p')
p_tp=$1 p_rt=$2 n=$3
[ "$n" = "$ROUNDS" ] || { echo "vsock bench: expected $ROUNDS rounds, got $n" >&2; exit 1; }
clock="wall-clock time"
[ -n "$ICOUNT" ] && clock="\`$ICOUNT\` (guest time counts executed instructions)"
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)

mkdir -p "$(dirname "$OUT")"
{
	echo "## VM sockets: results of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Host: $(nproc) CPU(s), ${cpu:-unknown CPU}, kernel $(uname -r); guest: QEMU TCG, $clock, 1 vCPU${PIN:+, pinned with \`$PIN\`}, Debian kernel, vsock_loopback."
	echo "Command: \`sh bench/vsock.sh\` (VSOCK_ROUNDS=$ROUNDS VSOCK_MIB=$MIB VSOCK_RTTS=$RTTS VSOCK_CPU=$CPU VSOCK_ICOUNT=$VSOCK_ICOUNT); guest ran ${secs}s."
	echo "Native: \`vsock_bench vsock\` (AF_VSOCK CID 1); shim: \`LD_PRELOAD=libsockshift.so SOCKSHIFT_STACK=vsock SOCKSHIFT_VSOCK_CONNECT=127.0.0.1=local vsock_bench inet\` (AF_INET 127.0.0.1); both against one native AF_VSOCK server."
	echo
	echo "| benchmark | native (median) | shim (median) | shim / native (of medians) | shim / native (median per round) | per-round ratio range | native range | shim range |"
	echo "|---|---:|---:|---:|---:|---|---|---|"
	echo "$stats" | grep '^| '
	echo
	echo "Target (issue 6): shim / native >= 0.95. Raw values, in round order:"
	echo
	echo "$stats" | sed -n 's/^RAW //p'
} >"$OUT"
sed -n '/^| /p' "$OUT"
echo "(written to $OUT; guest ran ${secs}s)"
awk -v a="$p_tp" -v b="$p_rt" 'BEGIN {exit !(a >= 0.95 && b >= 0.95)}' ||
	echo "note: a per-round ratio median is below the 0.95 target"
exit 0
