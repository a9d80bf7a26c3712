#!/bin/sh
# make demo: an unmodified web server and client, both run under `sockshift run`, and
# (part 2, tools/demo_migrate.sh) checkpoints and a live hand-over of a streaming server;
# what the shim's own log says it intercepted and where it routed each socket.
#
#   sh tools/demo.sh        (make demo builds first, then runs this)
#
# Starts `python3 -m http.server` on a free 127.0.0.1 port and fetches a page from it
# with `curl`, each under `build/bin/sockshift run --log debug --log-file FILE`; prints
# the page and the relevant log lines. Stops the server by its pid; removes its files.
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
SOCKSHIFT=$PWD/$B/bin/sockshift
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

for need in "$SOCKSHIFT" "$PWD/$B/lib/libsockshift.so"; do
	[ -e "$need" ] || { echo "demo: $need is missing; run make demo" >&2; exit 1; }
done
for cmd in "$PYTHON" curl; do
	command -v "$cmd" >/dev/null 2>&1 || { echo "demo: $cmd is not installed (make deps installs it)" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/sockshift-demo.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$DIR/www"
echo "Hello from a server that does not know it runs under sockshift." >"$DIR/www/hello.txt"
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] || step() { printf '\n== %s\n' "$*"; }
# the log lines worth showing: no start-up noise, one line per kind of call and fd
show() {
	grep -E 'debug: (socket|bind|listen|accept4?|connect|send|sendto|sendmsg|recv|recvfrom|recvmsg|shutdown|close) ' "$1" |
		grep -v -e ' -> -1 EAGAIN' | sed 's/^/    /' | head -"${2:-20}"
}

step "1. start the server:  sockshift run --log debug --log-file server.log -- python3 -m http.server $port"
"$SOCKSHIFT" run --log debug --log-file "$DIR/server.log" -- \
	"$PYTHON" -m http.server --bind 127.0.0.1 --directory "$DIR/www" "$port" >"$DIR/server.out" 2>&1 &
SERVER_PID=$!
i=0
until grep -Eq 'debug: listen fd=[0-9]+ .* -> 0' "$DIR/server.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "demo: the server did not start; its output:" >&2
		cat "$DIR/server.out" "$DIR/server.log" >&2 2>/dev/null
		exit 1
	fi
	sleep 0.1
done
echo "   python3 is listening on 127.0.0.1:$port (pid $SERVER_PID), unmodified; its socket calls go through libsockshift.so"

step "2. fetch a page:  sockshift run --log debug --log-file client.log -- curl http://127.0.0.1:$port/hello.txt"
body=$(timeout -k 5 60 "$SOCKSHIFT" run --log debug --log-file "$DIR/client.log" -- curl -sS --max-time 10 "http://127.0.0.1:$port/hello.txt")
rc=$?
echo "   curl exited with status $rc and printed:"
echo "$body" | sed 's/^/    | /'
[ $rc = 0 ] || { echo "demo: curl failed" >&2; exit 1; }

step "3. what the shim saw in curl (client.log)"
echo "   Each line: the intercepted call, its fd and address, the stack the socket lives on,"
echo "   and the result. stack=kernel: the default stack, the host's own network stack."
show "$DIR/client.log" 12

step "4. what the shim saw in the server (server.log)"
show "$DIR/server.log" 14

step "5. summary"
n_srv=$(grep -Ec 'debug: ' "$DIR/server.log")
n_cli=$(grep -Ec 'debug: ' "$DIR/client.log")
stacks=$(cat "$DIR/server.log" "$DIR/client.log" | sed -n 's/.* stack=\([^ ]*\) .*/\1/p' | sort | uniq -c | awk '{printf "%s%s on %s", sep, $1, $2; sep=", "}')
echo "   The shim intercepted $n_cli calls in curl and $n_srv in the server (socket calls, and the"
echo "   exec/fork calls that keep it in children); socket calls by stack: $stacks."
echo "   Neither program was changed or rebuilt, and the page arrived intact."
echo "   Try other stacks and settings with: $B/bin/sockshift run --help"

# Part 2: checkpoints and a live hand-over (needs root; says so and skips otherwise).
sh tools/demo_migrate.sh
