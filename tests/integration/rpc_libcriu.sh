# A C client built on Debian's libcriu (tests/helpers/rpc_libcriu: criu_set_service_address,
# criu_get_version, criu_check, criu_dump with a notify callback) against the control socket
# of an unmodified `python3 -m http.server` under the shim, in a private network namespace.
# Proves: libcriu accepts our version (3.17.1 -> 31701) and CHECK; a dump with notify_scripts
# delivers pre-dump, network-lock, post-dump, network-unlock in that order and succeeds with
# images crit decodes; while the client holds post-dump the images are in place and the
# server's connections are frozen (a request on a probe connection gets no answer and is not
# even acknowledged: Send-Q stays full), and the answer comes once the client acknowledges;
# in exit mode, the same hold, then a refused post-dump: the dump fails, and the server goes
# on running with every connection working; a callback that fails at post-dump fails the
# resume-mode dump too; an images_dir_fd the
# client does not have fails it; `sockshift swrk` as libcriu's service binary checkpoints the
# server by pid; through all of it the server keeps its sockets: a connection opened before
# the first dump is served after the last one.
if [ -z "$RPC_NETNS" ]; then
	unshare -n true 2>/dev/null || { echo "SKIP: cannot create a network namespace" >&2; exit 77; }
	RPC_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. tests/integration/lib.sh
need_built
[ -x "$HELPERS/rpc_libcriu" ] || skip "$HELPERS/rpc_libcriu is not built (needs libcriu: pkg-config criu)"
ip link set lo up || fail "cannot bring lo up in the test's network namespace"
SOCK=$TMP/ctl.sock
C=$HELPERS/rpc_libcriu
mkdir -p "$TMP/www" "$TMP/img" "$TMP/img2"
echo hello >"$TMP/www/index.txt"

port=$(free_port)
export SOCKSHIFT_CONTROL="$SOCK"
bg shim_exec "$TMP/server.log" "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port" \
	>"$TMP/server.out" 2>&1
server=$!
unset SOCKSHIFT_CONTROL
wait_port "$port"

# probe connections: connect now, send a request once NAME.go exists, keep the answer
cat >"$TMP/probe.py" <<'PY'
import os, socket, sys, time
port, base = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
open(base + ".port.tmp", "w").write(str(s.getsockname()[1]))
os.rename(base + ".port.tmp", base + ".port")
while not os.path.exists(base + ".go"):
    time.sleep(0.02)
s.sendall(b"GET /index.txt HTTP/1.0\r\n\r\n")
s.settimeout(30)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
open(base + ".out.tmp", "wb").write(got)
os.rename(base + ".out.tmp", base + ".out")
PY
# a connection opened now, used after the dumps
bg "$PYTHON" "$TMP/probe.py" "$port" "$TMP/idle"
# run by the client's notify callback at post-dump: images in place, probe NAME frozen
cat >"$TMP/frozen.sh" <<'SH'
dir=$1 base=$2
[ -s "$dir/files.img" ] || { echo "post-dump: no files.img in $dir yet" >&2; exit 1; }
touch "$base.go"
sleep 1
[ ! -e "$base.out" ] || { echo "post-dump: the probe got an answer while frozen" >&2; exit 1; }
q=$(ss -Htn "sport = :$(cat "$base.port")" | awk '{print $3}')
[ "${q:-0}" -gt 0 ] || { echo "post-dump: probe Send-Q '$q': its request was acknowledged" >&2; exit 1; }
SH
wait_probe() {
	i=0
	while [ ! -e "$1.out" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "$2: the probe got no answer after the dump"
		sleep 0.1
	done
	grep -q '^hello$' "$1.out" || fail "$2: the probe's answer: $(head -1 "$1.out")"
}
for n in p1 p2; do
	bg "$PYTHON" "$TMP/probe.py" "$port" "$TMP/$n"
done
sleep 0.3
for n in p1 p2; do [ -e "$TMP/$n.port" ] || fail "probe $n did not connect"; done

expect_eq "criu_get_version" "$("$C" "$SOCK" version)" "version 31701"
expect_eq "criu_check" "$("$C" "$SOCK" check)" "check 0"
out=$(RPC_AT_POST_DUMP="sh $TMP/frozen.sh $TMP/img $TMP/p1" "$C" "$SOCK" dump "$TMP/img")
expect_eq "criu_dump with notify, frozen at post-dump" "$(echo $out)" \
	"notify pre-dump notify network-lock notify post-dump post-dump check ok notify network-unlock dump 0"
wait_probe "$TMP/p1" "resume mode"
echo "ok: resume mode: frozen while the client held post-dump, served after its acknowledgement"
crit decode --pretty -i "$TMP/img/files.img" >"$TMP/files.json" || fail "crit cannot decode files.img"
grep -q '"state": "ESTABLISHED"' "$TMP/files.json" || fail "files.img has no ESTABLISHED socket"
[ -s "$TMP/img/dump.log" ] || fail "criu_set_log_file: no dump.log in the images directory"
out=$("$C" "$SOCK" dump "$TMP/img2" post-dump)
expect_eq "criu_dump refused at post-dump" "$(echo $out)" \
	"notify pre-dump notify network-lock notify post-dump dump -1"
mkdir -p "$TMP/img4"
out=$(RPC_AT_POST_DUMP="sh $TMP/frozen.sh $TMP/img4 $TMP/p2" "$C" "$SOCK" dumpexit "$TMP/img4" post-dump)
expect_eq "exit-mode criu_dump refused at post-dump" "$(echo $out)" \
	"notify pre-dump notify network-lock notify post-dump post-dump check ok dump -1"
kill -0 "$server" || fail "the server ended after an exit-mode dump refused at post-dump"
wait_probe "$TMP/p2" "exit mode refused"
expect_eq "criu_get_version after the refused hand-over" "$("$C" "$SOCK" version)" "version 31701"
echo "ok: exit mode refused at post-dump: frozen during the hold, then resumed; the server runs on"
expect_eq "criu_dump with an fd the client does not have" "$("$C" "$SOCK" dumpfd 999)" "dump -52"
# the same client with `sockshift swrk` as its criu binary (criu_set_service_binary)
W=swrk:$SOCKSHIFT
mkdir -p "$TMP/img3"
expect_eq "swrk: criu_get_version" "$("$C" "$W" version)" "version 31701"
expect_eq "swrk: criu_check" "$("$C" "$W" check)" "check 0"
out=$("$C" "$W" dumppid "$TMP/img3" "$server")
expect_eq "swrk: criu_dump of the server's pid" "$(echo $out)" \
	"notify pre-dump notify network-lock notify post-dump notify network-unlock dump 0"
crit decode --pretty -i "$TMP/img3/files.img" | grep -q '"state": "ESTABLISHED"' ||
	fail "swrk: the images have no ESTABLISHED socket"
expect_eq "swrk: criu_dump of a pid without sockshift" "$("$C" "$W" dumppid "$TMP/img3" 1 | tail -1)" "dump -52"
echo "ok: sockshift swrk serves libcriu's criu_set_service_binary"
kill -0 "$server" || fail "the server died"
expect_eq "criu_get_version afterwards" "$("$C" "$SOCK" version)" "version 31701"

touch "$TMP/idle.go"
wait_probe "$TMP/idle" "the connection opened before the dumps"
echo "ok: libcriu version/check/dump/notify; the server's connection survived every dump"
kill "$server"
wait "$server" 2>/dev/null
"$SOCKSHIFT" ps >/dev/null 2>&1    # removes the socket link the killed server left
