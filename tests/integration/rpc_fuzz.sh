#!/bin/sh
# rpc_fuzz: a bounded libFuzzer run (20 s) of the control socket's request path (decoder and a
# full server session), seeded with requests that Debian's pycriu encodes. Fails on any crash,
# leak, timeout or allocation over 64 MiB.
. tests/integration/fuzz_common.inc
fuzz_setup fuzz_rpc
if /usr/bin/python3 -c 'import pycriu' 2>/dev/null; then
	/usr/bin/python3 - "$tmp/corpus" <<'PY' || { echo "pycriu could not encode the seeds" >&2; exit 1; }
import sys, pycriu
rpc, d = pycriu.rpc, sys.argv[1]
def put(name, req):
    open(d + "/" + name, "wb").write(req.SerializeToString())
put("version", rpc.criu_req(type=rpc.VERSION, keep_open=True))
put("check", rpc.criu_req(type=rpc.CHECK))
put("feature", rpc.criu_req(type=rpc.FEATURE_CHECK, features=rpc.criu_features(mem_track=True)))
r = rpc.criu_req(type=rpc.DUMP)
r.opts.images_dir_fd = 987
r.opts.leave_running = True
r.opts.tcp_established = True
r.opts.notify_scripts = True
r.opts.log_file = "dump.log"
put("dump", r)
r = rpc.criu_req(type=rpc.PRE_DUMP)
r.opts.images_dir_fd = -1
r.opts.track_mem = True
put("predump", r)
put("notify", rpc.criu_req(type=rpc.NOTIFY, notify_success=True))
PY
fi
printf '\010\144' >"$tmp/corpus/list"    # type 100: sockshift's own list request
fuzz_run 20
