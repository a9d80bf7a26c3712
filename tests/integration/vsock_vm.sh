#!/bin/sh
# vsock end to end in an emulated VM: QEMU with software emulation (TCG) boots Debian's own
# kernel with only the vsock_loopback transport and an initramfs holding the built shim,
# curl, socat and python3 (tests/vm/). Inside, unmodified programs under the shim talk
# AF_INET TCP that really travels over AF_VSOCK: curl -> socat VSOCK-LISTEN, socat
# VSOCK-CONNECT -> python3 http.server, and a Python program checking the TCP API, errors,
# half-close and 1 MiB byte for byte both ways (tests/vm/guest_check.py), and a short sanity
# run of the benchmark client (the measurement itself is bench/vsock.sh). The guest has no
# network, so nothing leaks; no vsock traffic ever happens on this machine.
# The initramfs is cached in $B/vm and rebuilt only when an input changes.
. tests/integration/lib.sh
need qemu-system-x86_64
need_built vsock_bench
OUT=$ROOT/$B/vm
sh tests/vm/build-initramfs.sh "$OUT"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "building the guest failed"
LOG=$TMP/serial.log
start=$(date +%s)
timeout -k 5 240 qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 768 -smp 1 -nic none \
	-display none -monitor none -serial file:"$LOG" -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init ${VSOCK_VM_APPEND:-}" </dev/null
qrc=$?
echo "guest ran $(( $(date +%s) - start )) s, qemu exit $qrc"
grep -E '^(CHECK|BENCH|VSOCK-VM)' "$LOG" | tr -d '\r'
mkdir -p "$ROOT/$B/test-logs" && cp "$LOG" "$ROOT/$B/test-logs/vsock_vm.serial.log"
grep -q 'VSOCK-VM RESULT' "$LOG" || { tail -40 "$LOG"; fail "the guest did not finish (qemu exit $qrc)"; }
grep -q 'VSOCK-VM RESULT pass=[0-9]* fail=0' "$LOG" || fail "checks failed in the guest"
[ $qrc = 1 ] || fail "guest reported failure through isa-debug-exit (qemu exit $qrc)"
echo "PASS"
