#!/bin/sh
# Stack benchmark: a socket on a netns: and on a vdestack: stack under the shim, against
# the same program using that stack natively, same machine, same run.
#
#   sh bench/stack.sh          (make bench builds first; bench/run.sh calls this)
#   ROUNDS=5 PP_SECS=1 BULK_MIB=256 sh bench/stack.sh   (the defaults)
#
# Program: build/bench/netbench (ping-pong 64 B round trips/s, bulk MB/s in 64 KiB sends;
# client and server are two processes talking over the stack's loopback).
#   netns     native: `ip netns exec NS netbench`   shim: SOCKSHIFT_STACK=netns:NS
#   vdestack  native: build/bench/stack_vdenative (netbench linked with libvdestack, its
#             sockets made in a libvdestack stack)   shim: SOCKSHIFT_STACK=vdestack:VNL
# Rounds alternate which side runs first; reported: medians and the median of per-round
# ratios. Target: the shim costs at most 2% on these kernel-backed stacks.
# Writes the table to build/bench/stack.md. Needs root (ip netns) and vde_plug; a part
# whose tools are missing is reported as skipped.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
ROUNDS=${ROUNDS:-5}
PP_SECS=${PP_SECS:-1}
BULK_MIB=${BULK_MIB:-256}
NB=$B/bench/netbench
VN=$B/bench/stack_vdenative
LIB=$PWD/$B/lib/libsockshift.so
OUT=$B/bench/stack.md  # the temporary switch lives next to it, not in /tmp (others clean /tmp)
NS=sockshift-bench$$
mkdir -p "$B/bench"
SW=$(mktemp -d "$PWD/$B/bench/stack-tmp.XXXXXX")/sw
SWPID=

for f in "$NB" "$LIB"; do
	[ -e "$f" ] || { echo "bench: $f is missing; run make bench" >&2; exit 1; }
done
cleanup() {
	ip netns del "$NS" 2>/dev/null
	[ -n "$SWPID" ] && kill "$SWPID" 2>/dev/null && wait "$SWPID" 2>/dev/null
	rm -rf "$(dirname "$SW")"
}
trap cleanup EXIT INT TERM
PIN=
command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null && PIN="taskset -c 0"

# value of one run; output through a file, not a pipe a stray helper task could hold open
one() {
	"$@" >"$SW.out" 2>/dev/null || { echo "bench: '$*' failed" >&2; exit 1; }
	r=$(cat "$SW.out")
	echo "${r##* }"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
paired() { awk -v a="$1" -v b="$2" 'BEGIN {n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) printf "%.4f ", x[i] / y[i]}' | median; }

# compare NAME NATIVE-FN SHIM-FN: prints two table rows; each FN runs netbench with its args.
rows=""
compare() {
	name=$1 nat=$2 shm=$3
	ppn="" pps="" bkn="" bks=""
	i=1
	while [ $i -le "$ROUNDS" ]; do
		if [ $((i % 2)) = 1 ]; then
			ppn="$ppn $(one $nat pingpong "$PP_SECS" 64)"; pps="$pps $(one $shm pingpong "$PP_SECS" 64)"
			bks="$bks $(one $shm bulk "$BULK_MIB" 65536)"; bkn="$bkn $(one $nat bulk "$BULK_MIB" 65536)"
		else
			pps="$pps $(one $shm pingpong "$PP_SECS" 64)"; ppn="$ppn $(one $nat pingpong "$PP_SECS" 64)"
			bkn="$bkn $(one $nat bulk "$BULK_MIB" 65536)"; bks="$bks $(one $shm bulk "$BULK_MIB" 65536)"
		fi
		i=$((i + 1))
	done
	rows="$rows
| $name ping-pong (round trips/s) | $(echo "$ppn" | median) | $(echo "$pps" | median) | $(paired "$pps" "$ppn") |
| $name bulk (MB/s) | $(echo "$bkn" | median) | $(echo "$bks" | median) | $(paired "$bks" "$bkn") |"
}
nat_netns() { $PIN ip netns exec "$NS" "$NB" "$@"; }
shim_netns() { $PIN env LD_PRELOAD="$LIB" SOCKSHIFT_STACK="netns:$NS" "$NB" "$@"; }
nat_vde() { $PIN env VDENATIVE_VNL="vde://$SW" "$VN" "$@"; }
shim_vde() { $PIN env LD_PRELOAD="$LIB" SOCKSHIFT_STACK="vdestack:vde://$SW" SOCKSHIFT_NET="default lo up" "$NB" "$@"; }

skipped=""
if ip netns add "$NS" 2>/dev/null; then
	ip netns exec "$NS" ip link set lo up
	compare netns nat_netns shim_netns
else
	skipped="$skipped netns (ip netns add failed)"
fi
if command -v vde_plug >/dev/null 2>&1 && [ -x "$VN" ]; then
	vde_plug null:// switch://"$SW" >/dev/null 2>&1 &
	SWPID=$!
	i=0; until [ -e "$SW/ctl" ] || [ $i -gt 50 ]; do i=$((i + 1)); sleep 0.1; done
	compare vdestack nat_vde shim_vde
else
	skipped="$skipped vdestack (vde_plug or $VN missing)"
fi

mkdir -p "$(dirname "$OUT")"
{
	echo "## Stacks: shim vs native use of the same stack"
	echo
	echo "Command: \`sh bench/stack.sh\` (ROUNDS=$ROUNDS PP_SECS=$PP_SECS BULK_MIB=$BULK_MIB${PIN:+, pinned: $PIN})."
	echo
	echo "| benchmark | native | shim | shim/native (median of per-round ratios) |"
	echo "|---|---|---|---|$rows"
	[ -n "$skipped" ] && echo && echo "Skipped:$skipped"
} | tee "$OUT"
