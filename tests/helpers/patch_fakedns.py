#!/usr/bin/python3
# A loopback-only fake DNS responder for the patching tests: answers every A query with
# one address, every other query with an empty NOERROR answer, and appends each query name
# to a log file so a test can tell which responder a lookup reached.
# usage: patch_fakedns.py BIND_ADDR ANSWER_ADDR LOGFILE
import socket
import struct
import sys

bind_addr, answer, log = sys.argv[1], socket.inet_aton(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((bind_addr, 53))
open(log + ".ready", "w").close()
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
        i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    with open(log, "a") as f:
        f.write("%s %d\n" % (".".join(labels), qtype))
    an = b""
    if qtype == 1:
        an = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + answer
    hdr = struct.pack(">HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, 1 if an else 0, 0, 0)
    s.sendto(hdr + question + an, peer)
