#!/bin/sh
# build-initramfs.sh OUTDIR — the guest for the vsock end-to-end test (tests/integration/vsock_vm.sh).
#
# Makes OUTDIR/vmlinuz (Debian's own kernel, extracted from its .deb, not installed) and
# OUTDIR/initrd.gz: busybox, the kernel's three vsock modules (vsock, the virtio transport
# common code, vsock_loopback), the built shim, curl, socat and python3 with the shared
# libraries they load, tests/vm/init as /init and tests/vm/guest_bench.sh (benchmark mode,
# bench/vsock.sh). Everything is cached in OUTDIR and rebuilt only when an input changes
# (the stamp is a checksum of the inputs).
# Needs: the .deb files of the kernel and busybox-static (downloaded with `apt-get download`
# into OUTDIR/dl when missing). Exit 77 with "SKIP: ..." when they cannot be obtained.
set -u
mkdir -p "$1" && OUT=$(cd "$1" && pwd) || exit 1
B=${B:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT/dl"

skip() { echo "SKIP: $*" >&2; exit 77; }

# --- the kernel and busybox packages ---
K=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$K" ] || skip "apt-cache does not know linux-image-amd64 (no Debian package lists)"
if ! ls "$OUT"/dl/"$K"_*.deb >/dev/null 2>&1 || ! ls "$OUT"/dl/busybox-static_*.deb >/dev/null 2>&1; then
	(cd "$OUT/dl" && apt-get download "$K" busybox-static >/dev/null 2>&1) ||
		skip "cannot download $K and busybox-static with apt-get download"
fi
KDEB=$(ls "$OUT"/dl/"$K"_*.deb | head -1)
BBDEB=$(ls "$OUT"/dl/busybox-static_*.deb | head -1)

SHIM=$B/lib/libsockshift.so
BENCH=$B/tests/helpers/vsock_bench
[ -f "$SHIM" ] || { echo "no $SHIM; build first" >&2; exit 1; }
[ -x "$BENCH" ] || { echo "no $BENCH; run make tests-build" >&2; exit 1; }
PY=/usr/bin/python3
for p in /usr/bin/curl /usr/bin/socat "$PY"; do
	[ -x "$p" ] || skip "$p is not installed"
done

stamp=$( (cat "$HERE"/init "$HERE"/guest_check.py "$HERE"/guest_bench.sh "$0" "$SHIM" "$BENCH"; echo "$KDEB $BBDEB";
	  ls -l /usr/bin/curl /usr/bin/socat "$(readlink -f $PY)") | sha256sum | cut -c1-16)
if [ -f "$OUT/initrd.gz" ] && [ -f "$OUT/vmlinuz" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "initramfs up to date ($OUT/initrd.gz)"
	exit 0
fi

# --- kernel and modules ---
rm -rf "$OUT/kx" "$OUT/root" "$OUT/bb"
mkdir -p "$OUT/kx" "$OUT/bb"
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$OUT/kx" --wildcards './boot/vmlinuz-*' \
	'./lib/modules/*/kernel/net/vmw_vsock/*' || skip "cannot extract $KDEB"
cp "$OUT"/kx/boot/vmlinuz-* "$OUT/vmlinuz.new"
dpkg-deb -x "$BBDEB" "$OUT/bb"

# --- the root file system ---
R=$OUT/root
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/etc" "$R/opt/ss" "$R/mods" "$R/usr/bin" "$R/lib64"
cp "$OUT/bb/bin/busybox" "$R/bin/busybox"
for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
	f=$(find "$OUT/kx/lib/modules" -name "$m.ko*" | head -1)
	[ -n "$f" ] || skip "module $m is not in $KDEB"
	cp "$f" "$R/mods/"
done
cp "$SHIM" "$R/opt/ss/libsockshift.so"
cp "$HERE/guest_check.py" "$HERE/guest_bench.sh" "$R/opt/ss/"
cp "$BENCH" "$R/opt/ss/vsock_bench"
cp "$HERE/init" "$R/init"
chmod 755 "$R/init"
printf '127.0.0.1 localhost\n' > "$R/etc/hosts"
printf 'root:x:0:0:root:/:/bin/sh\n' > "$R/etc/passwd"
printf 'hosts: files\n' > "$R/etc/nsswitch.conf"

copy_lib() {    # copy a file and the shared libraries it loads, at the same paths
	for f in "$@"; do
		ldd "$f" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'
	done | sort -u | while read -r lib; do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
cp -L /usr/bin/curl /usr/bin/socat "$R/usr/bin/"
cp -L "$PY" "$R/usr/bin/python3"
PYLIB=$(ls -d /usr/lib/python3.[0-9]* | head -1)
mkdir -p "$R$PYLIB"
(cd "$PYLIB" && tar -c --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter \
	--exclude=turtledemo --exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data \
	--exclude='config-*' --exclude=site-packages --exclude=dist-packages --exclude=distutils \
	--exclude=unittest --exclude=sqlite3 --exclude='_test*' . ) | (cd "$R$PYLIB" && tar -x)
copy_lib /usr/bin/curl /usr/bin/socat "$PY" "$SHIM" "$PYLIB"/lib-dynload/*.so

(cd "$R" && find . | "$OUT/bb/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$OUT/initrd.gz.new") ||
	{ echo "cpio failed" >&2; exit 1; }
mv "$OUT/initrd.gz.new" "$OUT/initrd.gz"
mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"
rm -rf "$OUT/kx" "$OUT/root" "$OUT/bb"
echo "$stamp" > "$OUT/stamp"
echo "built $OUT/initrd.gz ($(du -k "$OUT/initrd.gz" | cut -f1) KiB)"
