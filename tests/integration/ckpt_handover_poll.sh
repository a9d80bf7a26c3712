#!/bin/sh
# The hand-over test with a poll()-based server (python3 selectors.PollSelector), 50 clients.
KIND=poll NCONN=50 exec sh tests/integration/ckpt_handover.sh
