#!/bin/sh
# image_show: `sockshift show` decodes images that Debian's crit wrote (the other direction of
# CRIU compatibility), as text and as --json, and rejects a truncated image with exit 1.
B=${B:-build}
bin=$B/bin/sockshift
if ! [ -x "$bin" ] || ! "$bin" show --help >/dev/null 2>&1; then
	echo "SKIP: $bin has no show subcommand" >&2; exit 77
fi
command -v crit >/dev/null 2>&1 || { echo "SKIP: crit not installed (Debian package criu)" >&2; exit 77; }
tmp=$(mktemp -d /tmp/sockshift-show-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/ts.json" <<'JSON'
{"magic": "TCP_STREAM", "entries": [{"inq_len": 3, "inq_seq": 1000, "outq_len": 5,
 "outq_seq": 2000, "opt_mask": "0x7", "snd_wscale": 7, "mss_clamp": 1460, "rcv_wscale": 9,
 "timestamp": 5, "unsq_len": 2, "snd_wl1": 1, "snd_wnd": 2, "max_window": 3, "rcv_wnd": 4,
 "rcv_wup": 5, "extra": {"inq": "YWJj", "outq": "aGVsbG8="}}]}
JSON
crit encode -i "$tmp/ts.json" -o "$tmp/tcp-stream-1.img" || { echo "crit encode failed" >&2; exit 1; }
"$bin" show "$tmp/tcp-stream-1.img" >"$tmp/out.txt" || { echo "show failed" >&2; exit 1; }
grep -q "recv 3 B, send 5 B (3 sent-unacked, 2 unsent)" "$tmp/out.txt" || {
	echo "unexpected text output:" >&2; cat "$tmp/out.txt" >&2; exit 1; }
"$bin" show --json "$tmp/tcp-stream-1.img" | python3 -c '
import json, sys
s = json.load(sys.stdin)["sockets"][0]
want = dict(inq_len=3, inq_seq=1000, outq_len=5, outq_seq=2000, unsq_len=2, opt_mask=7,
            mss_clamp=1460, snd_wscale=7, rcv_wscale=9, timestamp=5, snd_wnd=2, rcv_wnd=4)
bad = {k: (s.get(k), v) for k, v in want.items() if s.get(k) != v}
assert not bad, bad
' || { echo "unexpected --json output" >&2; exit 1; }
head -c 30 "$tmp/tcp-stream-1.img" >"$tmp/tcp-stream-2.img"
"$bin" show "$tmp/tcp-stream-2.img" >/dev/null 2>"$tmp/err.txt"
rc=$?
[ "$rc" = 1 ] || { echo "truncated image: exit $rc, want 1" >&2; exit 1; }
grep -q "invalid image" "$tmp/err.txt" || { cat "$tmp/err.txt" >&2; exit 1; }
"$bin" show >/dev/null 2>&1
[ $? = 2 ] || { echo "no argument: want exit 2" >&2; exit 1; }
exit 0
