# Sourced by integration tests: paths, skip/fail helpers, cleanup of what a test started.
# Every process a test starts is recorded and stopped by pid on exit, also on failure.
ROOT=$(pwd)
B=${B:-build}
LIB=$ROOT/$B/lib/libsockshift.so
SOCKSHIFT=$ROOT/$B/bin/sockshift
HELPERS=$ROOT/$B/tests/helpers
TMP=$(mktemp -d /tmp/sockshift-it.XXXXXX)
PIDS=""
# The system python, not a pyenv/virtualenv shim script that would wrap it in shells.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }
bg() { "$@" & PIDS="$PIDS $!"; }

# A free loopback TCP port.
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1 (5 s at most).
wait_port() {
	i=0
	while ! "$PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && fail "nothing listens on port $1"
		sleep 0.1
	done
}

# vde_switch DIR: starts a VDE switch (vde_plug null:// switch://DIR) stopped by cleanup,
# and waits until it takes connections.
vde_switch() {
	bg vde_plug null:// switch://"$1"
	_i=0
	until [ -e "$1/ctl" ]; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && fail "the VDE switch did not come up"
		sleep 0.1
	done
}

# ---- running programs under the shim --------------------------------------------------

need_built() {
	[ -f "$LIB" ] || fail "$LIB is not built (run make tests-build)"
	have_launcher || fail "$SOCKSHIFT is not built or does not know 'run' (run make tests-build)"
	for h in "$@"; do
		[ -x "$HELPERS/$h" ] || fail "helper $HELPERS/$h is not built (run make tests-build)"
	done
}

# True when the sockshift command exists and knows "run".
have_launcher() {
	[ -x "$SOCKSHIFT" ] && "$SOCKSHIFT" run --help >/dev/null 2>&1
}

# shim_run LOGFILE CMD ARGS...: CMD under the shim at debug level, logging to LOGFILE,
# through the real launcher (sockshift run), as users run programs. A program that hangs
# (a shim deadlocked at start) is stopped after RUN_TIMEOUT seconds (status 124).
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
shim_run() {
	_log=$1
	shift
	timeout -k 5 "$RUN_TIMEOUT" "$SOCKSHIFT" run --log debug --log-file "$_log" -- "$@"
}

# shim_exec LOGFILE CMD ARGS...: like shim_run but replaces the shell; for background
# servers (`bg shim_exec LOG server ...`), so the pid bg records is the program's own and
# cleanup stops the program, not just a subshell.
shim_exec() {
	_log=$1
	shift
	exec "$SOCKSHIFT" run --log debug --log-file "$_log" -- "$@"
}

# preload_run LOGFILE CMD ARGS...: the same with LD_PRELOAD set by hand (what users of the
# library without the launcher do).
preload_run() {
	_log=$1
	shift
	timeout -k 5 "$RUN_TIMEOUT" env LD_PRELOAD="$LIB" SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE="$_log" "$@"
}

# ---- checking shim logs -----------------------------------------------------------------
# expect_log FILE ERE WHAT: FILE has a line matching ERE, else fail naming WHAT.
expect_log() {
	grep -Eq -- "$2" "$1" || {
		echo "--- $1 (last 40 lines) ---" >&2
		tail -40 "$1" >&2
		fail "the shim's log does not show $3 (no line matching: $2)"
	}
}

# expect_no_log FILE ERE WHAT: no line of FILE matches ERE.
expect_no_log() {
	if grep -Eq -- "$2" "$1"; then
		grep -E -- "$2" "$1" | head -5 >&2
		fail "the shim's log shows $3"
	fi
}

# count_log FILE ERE: number of matching lines.
count_log() {
	grep -Ec -- "$2" "$1"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}
