# A program built like a distribution package (-O2 -D_FORTIFY_SOURCE=2), whose recv() and
# recvfrom() compile to glibc's __recv_chk and __recvfrom_chk.
# Proves: the binary really imports only the checking variants (nm -D), the shim
# intercepts them (its log shows the recv/recvfrom calls with their sizes and the UDP
# sender), the program reads the right bytes, and glibc's own overflow check still fires
# under the shim (the shim calls the real checking function, not plain recv).
. tests/integration/lib.sh
need nm
need_built recv_fortify
H=$HELPERS/recv_fortify

syms=$(nm -D "$H")
echo "$syms" | grep -Eq ' U __recv_chk(@|$)' || fail "recv_fortify does not import __recv_chk"
echo "$syms" | grep -Eq ' U __recvfrom_chk(@|$)' || fail "recv_fortify does not import __recvfrom_chk"
echo "$syms" | grep -Eq ' U (recv|recvfrom)(@|$)' && fail "recv_fortify imports plain recv/recvfrom; the test would prove nothing"

shim_run "$TMP/log" "$H" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "recv_fortify failed under the shim"; }
expect_eq "program output" "$(cat "$TMP/out")" "tcp: hello over tcp
udp: hello over udp (from a port set)"
expect_log "$TMP/log" 'debug: recv fd=[0-9]+ stack=kernel -> 14$' "the __recv_chk call"
expect_log "$TMP/log" 'debug: recvfrom fd=[0-9]+ 127\.0\.0\.1:[0-9]+ stack=kernel -> 14$' "the __recvfrom_chk call with its sender"
expect_log "$TMP/log" 'debug: socket inet/dgram/0 stack=kernel' "the UDP socket()"

# Asking for 100 bytes into a 64-byte buffer: glibc must still abort ("buffer overflow
# detected") under the shim.
shim_run "$TMP/log2" "$H" 100 >"$TMP/out2" 2>"$TMP/err2"
rc=$?
[ $rc -ne 0 ] || fail "recv_fortify 100 should have been stopped by glibc's check"
grep -q 'buffer overflow detected' "$TMP/err2" || { cat "$TMP/err2" >&2; fail "no glibc overflow message (exit $rc)"; }
echo "ok: _FORTIFY_SOURCE=2 receive calls go through the shim"
