#!/bin/sh
# guest_bench.sh ROUNDS MIB RTTS — the vsock benchmark, run by tests/vm/init inside the guest
# when the kernel command line has ss_bench=ROUNDS:MIB:RTTS (bench/vsock.sh boots it so).
#
# One native AF_VSOCK server (vsock_bench serve); against it, alternately, the same C client
# over AF_INET under the shim (a rule maps 127.0.0.1 to CID 1) and written natively for
# AF_VSOCK. Each run sends MIB MiB in 64 KiB writes, then does RTTS one-byte round trips.
# One unreported warm-up run of each first; then ROUNDS rounds of both, alternating which
# goes first, so slow drifts of the emulator hit both equally. Prints one line per run:
#   BENCH run <round> <vsock|inet> tput_MiB_s=X rtt_us=Y
# and "BENCH done" (or "BENCH FAIL <why>"). The host side computes the medians.
ROUNDS=$1 MIB=$2 RTTS=$3
B=/opt/ss/vsock_bench
SHIM=/opt/ss/libsockshift.so
native() { $B vsock 7100 "$MIB" "$RTTS"; }
shim() { env LD_PRELOAD=$SHIM SOCKSHIFT_STACK=vsock SOCKSHIFT_VSOCK_CONNECT=127.0.0.1=local \
	$B inet 7100 "$MIB" "$RTTS"; }
run() {  # run ROUND native|shim
	r=$($2) || { echo "BENCH FAIL round $1 $2: $r"; return 1; }
	echo "BENCH run $1 $r"
}

$B serve 7100 &
i=0
until socat -T1 /dev/null VSOCK-CONNECT:1:7100 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 150 ] || { echo "BENCH FAIL server did not start"; exit 1; }
	sleep 0.2
done
run 0 native >/dev/null && run 0 shim >/dev/null || { echo "BENCH FAIL warm-up"; exit 1; }
i=1
while [ $i -le "$ROUNDS" ]; do
	if [ $((i % 2)) = 1 ]; then
		run $i native && run $i shim
	else
		run $i shim && run $i native
	fi || exit 1
	i=$((i + 1))
done
echo "BENCH done"
