#!/bin/sh
# image_fuzz: a bounded libFuzzer run (30 s) of the image reader, seeded with images that
# Debian's crit encodes. Fails on any crash, leak, timeout or allocation over 64 MiB.
. tests/integration/fuzz_common.inc
fuzz_setup fuzz_image
if command -v crit >/dev/null 2>&1; then
	cat >"$tmp/ts.json" <<'JSON'
{"magic": "TCP_STREAM", "entries": [{"inq_len": 3, "inq_seq": 1000, "outq_len": 5,
 "outq_seq": 2000, "opt_mask": "0x7", "snd_wscale": 7, "mss_clamp": 1460, "rcv_wscale": 9,
 "timestamp": 5, "unsq_len": 2, "snd_wl1": 1, "snd_wnd": 2, "max_window": 3, "rcv_wnd": 4,
 "rcv_wup": 5, "extra": {"inq": "YWJj", "outq": "aGVsbG8="}}]}
JSON
	cat >"$tmp/files.json" <<'JSON'
{"magic": "FILES", "entries": [{"type": "INETSK", "id": 7, "isk": {"id": 7, "ino": 7,
 "family": "INET6", "type": "STREAM", "proto": "TCP", "state": "ESTABLISHED", "src_port": 80,
 "dst_port": 4000, "flags": "0x2", "backlog": 0, "src_addr": ["::1"], "dst_addr": ["::1"],
 "fown": {"uid": 0, "euid": 0, "signum": 0, "pid_type": 0, "pid": 0},
 "opts": {"so_sndbuf": 1, "so_rcvbuf": 2, "so_snd_tmo_sec": 0, "so_snd_tmo_usec": 0,
 "so_rcv_tmo_sec": 0, "so_rcv_tmo_usec": 0, "reuseaddr": true}}}]}
JSON
	crit encode -i "$tmp/ts.json" -o "$tmp/corpus/ts" &&
		crit encode -i "$tmp/files.json" -o "$tmp/corpus/files" || {
		echo "crit encode failed" >&2; exit 1; }
fi
# the manifest magic, so the fuzzer starts inside that decoder too
printf '\031CVTMHSS\000\000\000\000\000\000\000\000' >"$tmp/corpus/manifest"
fuzz_run 30
