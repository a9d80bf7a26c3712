# line_sink.py PORTFILE [ADDR]: a plain TCP server for hand-over tests. Listens on ADDR
# (127.0.0.1) at a free port written to PORTFILE, takes one connection of numbered lines
# "a N" (the old instance) then "b N" (the new one) until EOF, and prints
# "ok|FAIL conns=N lines=N a=N b=N err=E torn=T": ok when there was one connection, no
# error, no torn line, and every "a" line came before every "b" line.
import os, re, socket, sys
ls = socket.socket(); ls.bind((sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1", 0)); ls.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(ls.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = ls.accept(); ls.settimeout(0.1); data = b""; err = ""
try:
    while True:
        d = c.recv(65536)
        if not d: break
        data += d
except OSError as e: err = str(e)
extra = 0
try:
    while True: ls.accept(); extra += 1
except OSError: pass
lines = data.decode().split("\n"); tail = lines.pop()
tags = [l.split()[0] for l in lines]
ok = (not err and not tail and all(re.fullmatch(r"[ab] \d+", l) for l in lines)
      and "a" in tags and "b" in tags and tags == sorted(tags) and extra == 0)
print("%s conns=%d lines=%d a=%d b=%d err=%s torn=%r" % ("ok" if ok else "FAIL", 1 + extra,
      len(lines), tags.count("a"), tags.count("b"), err, tail))
