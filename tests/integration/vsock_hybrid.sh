#!/bin/sh
# Hybrid vsock, host side (Firecracker / Cloud Hypervisor): unmodified programs under the
# shim with SOCKSHIFT_STACK=vsock:UDS reach "guest" ports through a fake VMM that speaks the
# CONNECT/OK protocol (tests/vm/fake_vmm.py), and a host server listening on AF_INET is
# reached by the VMM on UDS_PORT. Pure AF_UNIX and loopback; no vsock on this machine.
#   curl -> 127.0.0.1:5000 -> CONNECT 5000 -> OK -> relayed to a python http.server
#     (curl connects non-blocking: EINPROGRESS, then SO_ERROR reads the VMM's answer)
#   python3 asyncio (non-blocking) -> 127.0.0.1:5003 -> the VMM answers 0.3 s late with
#     "OK n\nWELCOME\n": connect returns at once, WELCOME reaches the program; the same
#     with a plain non-blocking socket that never asks SO_ERROR (the first recv strips OK)
#   socat -> 127.0.0.1:5001 -> "OK n\nWELCOME\n" in one write: WELCOME reaches socat
#   curl -> 127.0.0.1:5002 -> the VMM closes without answering -> "Connection refused"
#   curl -> 10.1.2.3:80 (no rule) -> Network is unreachable, nothing sent anywhere
#   python3 http.server on 0.0.0.0:8080 -> listens on UDS_8080 -> the VMM connects there
. tests/integration/lib.sh
need curl
need socat
need_built
UDS=$TMP/v.sock
VMM="$PYTHON $ROOT/tests/vm/fake_vmm.py"
mkdir -p "$TMP/www"
head -c 200000 /dev/urandom > "$TMP/www/blob"
WPORT=$(free_port)
bg "$PYTHON" -m http.server "$WPORT" --bind 127.0.0.1 --directory "$TMP/www" >"$TMP/www.log" 2>&1
wait_port "$WPORT"
bg $VMM serve "$UDS" "5000=127.0.0.1:$WPORT" greet=5001 slow=5003 >"$TMP/vmm.out" 2>&1
i=0; while [ ! -S "$UDS" ]; do i=$((i+1)); [ $i -gt 50 ] && fail "fake VMM did not start"; sleep 0.1; done

export SOCKSHIFT_STACK="vsock:$UDS" SOCKSHIFT_VSOCK_CONNECT="127.0.0.1=3" SOCKSHIFT_VSOCK_LISTEN="*:8080"

# host -> guest, byte for byte
shim_run "$TMP/curl.log" curl -sS --max-time 10 -o "$TMP/got" "http://127.0.0.1:5000/blob" ||
	fail "curl through the hybrid vsock failed: $(tail -3 "$TMP/curl.log")"
cmp -s "$TMP/got" "$TMP/www/blob" || fail "curl got different bytes through the VMM"
expect_log "$TMP/curl.log" 'connect fd=[0-9]+ 127\.0\.0\.1:5000 -> hvsock port 5000 stack=vsock -> -1 EINPROGRESS' \
	"curl's non-blocking connect going through the VMM's socket"
expect_log "$TMP/curl.log" 'connect fd=[0-9]+ hvsock answer stack=vsock -> 0' "the VMM's answer read at SO_ERROR"

# a non-blocking client whose guest answers late: connect does not wait for the answer
cat > "$TMP/nb.py" <<'EOF'
import asyncio, time
async def main():
    t = time.monotonic()
    r, w = await asyncio.open_connection("127.0.0.1", 5003)
    took = time.monotonic() - t
    greeting = await r.readline()
    w.write(b"hi\n")
    echo = await r.readline()
    print(greeting.decode().strip(), echo.decode().strip(), "late" if took >= 0.25 else "early")
asyncio.run(main())
EOF
got=$(shim_run "$TMP/nb.log" "$PYTHON" "$TMP/nb.py" 2>&1)
expect_eq "asyncio client through a slow VMM" "$got" "WELCOME hi late"
expect_log "$TMP/nb.log" 'connect fd=[0-9]+ 127\.0\.0\.1:5003 -> hvsock port 5003 stack=vsock -> -1 EINPROGRESS' \
	"the asyncio connect returning EINPROGRESS"

# a non-blocking client that never asks SO_ERROR: its first recv gets what followed OK
cat > "$TMP/raw.py" <<'EOF'
import select, socket
s = socket.socket()
s.setblocking(False)
print(s.connect_ex(("127.0.0.1", 5003)) != 0, end=" ")
data = b""
while not data.endswith(b"\n"):
    select.select([s], [], [], 5)
    try:
        data += s.recv(100)
    except BlockingIOError:
        pass
print(data.decode().strip())
EOF
got=$(shim_run "$TMP/raw.log" "$PYTHON" "$TMP/raw.py" 2>&1)
expect_eq "recv without SO_ERROR through a slow VMM" "$got" "True WELCOME"

# data following the OK line in the same read is the program's
got=$(echo hello | shim_run "$TMP/socat.log" socat -t 2 - TCP:127.0.0.1:5001)
expect_eq "greeting after OK, then echo" "$(echo "$got" | tr '\n' ' ')" "WELCOME hello "

# no guest listener: the VMM closes; a TCP program sees "refused"
shim_run "$TMP/refused.log" curl -sS --max-time 10 http://127.0.0.1:5002/ 2>"$TMP/refused.err"
rc=$?
expect_eq "curl exit status for a port nobody listens on" "$rc" 7
expect_log "$TMP/refused.log" 'connect fd=[0-9]+ hvsock answer stack=vsock -> -1 ECONNREFUSED' "ECONNREFUSED for a closed guest port"

# no rule: unreachable, and no connection attempted
shim_run "$TMP/unreach.log" curl -sS --max-time 5 http://10.1.2.3:80/ 2>"$TMP/unreach.err"
expect_log "$TMP/unreach.log" 'connect fd=[0-9]+ 10\.1\.2\.3:80 .*-> -1 ENETUNREACH' "ENETUNREACH for a destination no rule maps"

# guest -> host: a python server under the shim listening on AF_INET 0.0.0.0:8080
( cd "$TMP/www" && exec "$SOCKSHIFT" run --log debug --log-file "$TMP/srv.log" -- \
	"$PYTHON" -m http.server 8080 --bind 0.0.0.0 ) >"$TMP/srv.out" 2>&1 &
PIDS="$PIDS $!"
i=0; while [ ! -S "${UDS}_8080" ]; do i=$((i+1)); [ $i -gt 100 ] && fail "no listener on ${UDS}_8080: $(tail -5 "$TMP/srv.out")"; sleep 0.1; done
$VMM guest-connect "$UDS" 8080 'GET /blob HTTP/1.0\r\n\r\n' > "$TMP/resp"
head -1 "$TMP/resp" | grep -q "200" || fail "guest-initiated request: $(head -3 "$TMP/resp")"
tail -c 200000 "$TMP/resp" | cmp -s - "$TMP/www/blob" || fail "guest-initiated reply differs"
grep -q '^100\.64\.0\.3 - -' "$TMP/srv.out" || fail "the server did not see an AF_INET guest peer: $(tail -2 "$TMP/srv.out")"
unset SOCKSHIFT_STACK SOCKSHIFT_VSOCK_CONNECT SOCKSHIFT_VSOCK_LISTEN
echo PASS
