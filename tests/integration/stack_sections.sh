# [stack NAME] sections of the config file: a stack described by its spec and its net
# commands, chosen by name as the default stack (stack = NAME) and by routing rules.
# Proves: python3 listens on and connects to an address that exists only inside the
# section's private namespace (the default stack, named), while a rule sends a second
# section's prefix to that second stack; a bad section stops the program at start (exit
# 125) naming FILE:LINE.
. tests/integration/lib.sh
need "$PYTHON"
need_built

cat >"$TMP/s.conf" <<EOT
stack  = iso
routes = to 10.74.0.0/16 other; from 10.74.0.0/16 other

[stack iso]
spec = netns:new
net  = lo addr 10.73.0.1/32

[stack other]
spec = netns:new
net  = lo addr 10.74.0.1/32
EOT
out=$(SOCKSHIFT_CONF=$TMP/s.conf LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$TMP/s.log \
	"$PYTHON" -c '
import socket
for addr in ("10.73.0.1", "10.74.0.1"):
    srv = socket.create_server((addr, 0))
    c = socket.create_connection(srv.getsockname(), 5)
    a, _ = srv.accept()
    c.sendall(addr.encode())
    print(a.recv(16).decode(), end=" ")
') || fail "python3 on the sections' stacks failed: $out ($(tail -5 "$TMP/s.log"))"
expect_eq "replies on both stacks" "$out" "10.73.0.1 10.74.0.1 "
expect_log "$TMP/s.log" "stack iso: iso lo addr 10.73.0.1/32" "the iso section's net command"
expect_log "$TMP/s.log" "stack other: other lo addr 10.74.0.1/32" "the other section's net command"

printf 'log = info\n[stack bad]\nspec = netns:new\nnet = lo sideways\n' >"$TMP/bad.conf"
SOCKSHIFT_CONF=$TMP/bad.conf LD_PRELOAD=$LIB "$PYTHON" -c 'print("ran")' >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
expect_eq "exit status with a bad section" "$rc" 125
grep -q "$TMP/bad.conf:4: \[stack bad\]: net: " "$TMP/bad.err" || fail "message: $(cat "$TMP/bad.err")"
echo "ok: [stack NAME] sections as the default stack by name and through routing rules; FILE:LINE errors"
