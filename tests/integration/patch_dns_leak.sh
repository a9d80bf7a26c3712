# The DNS leak is closed: under a netns stack, glibc's resolver asks the DNS responder that
# exists only inside that stack, never the one in the host namespace.
# Setup (all made and removed by this test): a named network namespace with lo up, a
# fake DNS responder inside it on 127.0.7.53 answering 10.7.7.7, an HTTP server inside on
# 10.7.7.7; a second responder on the host's loopback (127.0.7.53) answering 10.6.6.6;
# /etc/resolv.conf bind-mounted (private mount namespace) to "nameserver 127.0.7.53".
# Proves: without sockshift the lookup reaches the host responder; under
# SOCKSHIFT_STACK=netns:NS `getent hosts`, `curl http://name:port/` and a getaddrinfo
# program resolve through the stack (10.7.7.7; curl fetches the page inside), and the
# host responder sees no query from them; with SOCKSHIFT_PATCH=off the lookup leaks to the
# host responder again — which is what the patching fixes.
. tests/integration/lib.sh
need unshare
need getent
need curl
need ip
need "$PYTHON"
need_built patch_calls

if [ "$1" != inner ]; then
	unshare -m true 2>/dev/null || skip "cannot create a mount namespace (unshare -m)"
	NS=sockshift-dns$$
	ip netns add "$NS" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
	trap 'ip netns del "$NS" 2>/dev/null; cleanup' EXIT INT TERM
	unshare -m sh "$0" inner "$TMP" "$NS"
	exit $?
fi
rm -rf "$TMP"; TMP=$2; NS=$3
trap 'cleanup' EXIT INT TERM
NAME=leak.sockshift.test
DNS=127.0.7.53

ip netns exec "$NS" ip link set lo up || fail "cannot bring lo up in $NS"
ip netns exec "$NS" ip addr add 10.7.7.7/32 dev lo || fail "cannot add 10.7.7.7 in $NS"
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS" >"$TMP/resolv.conf"
mount --make-rprivate / 2>/dev/null
mount --bind "$TMP/resolv.conf" /etc/resolv.conf || skip "cannot bind-mount /etc/resolv.conf"

bg ip netns exec "$NS" "$PYTHON" "$ROOT/tests/helpers/patch_fakedns.py" "$DNS" 10.7.7.7 "$TMP/inside.q"
bg "$PYTHON" "$ROOT/tests/helpers/patch_fakedns.py" "$DNS" 10.6.6.6 "$TMP/host.q"
mkdir -p "$TMP/www"
echo "page from inside $NS" >"$TMP/www/index.txt"
port=$(free_port)
bg ip netns exec "$NS" "$PYTHON" -m http.server --bind 10.7.7.7 --directory "$TMP/www" "$port" >/dev/null 2>&1
i=0
until [ -f "$TMP/inside.q.ready" ] && [ -f "$TMP/host.q.ready" ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the fake DNS responders did not start"
	sleep 0.1
done
hostq() { [ -f "$TMP/host.q" ] && wc -l <"$TMP/host.q" || echo 0; }

# 0. Without sockshift, the lookup goes to the host's responder.
got=$(getent hosts "$NAME" | awk '{print $1}')
expect_eq "native lookup (host responder)" "$got" 10.6.6.6
before=$(hostq)

sx() { _l=$1; shift; env LD_PRELOAD="$LIB" SOCKSHIFT_STACK="netns:$NS" SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE="$_l" "$@"; }

# 1. getent, a getaddrinfo program, curl by name: all through the stack.
got=$(sx "$TMP/getent.log" getent hosts "$NAME" | awk '{print $1}')
expect_eq "getent under netns:$NS" "$got" 10.7.7.7
expect_log "$TMP/getent.log" "connect fd=[0-9]+ 127\\.0\\.7\\.53:53 stack=netns:$NS -> 0" "the resolver's connect inside the stack"
got=$(sx "$TMP/gai.log" "$HELPERS/patch_calls" gai "$NAME") || fail "getaddrinfo under netns:$NS failed"
expect_eq "getaddrinfo under netns:$NS" "$got" 10.7.7.7
i=0
until ip netns exec "$NS" curl -s -o /dev/null "http://10.7.7.7:$port/" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the HTTP server in $NS did not come up"
	sleep 0.1
done
body=$(sx "$TMP/curl.log" curl -sS --max-time 10 "http://$NAME:$port/index.txt") || fail "curl by name under netns:$NS failed"
expect_eq "curl by name through the stack" "$body" "page from inside $NS"
expect_eq "queries that reached the host responder" "$(hostq)" "$before"
grep -q "^$NAME 1" "$TMP/inside.q" || fail "the responder inside $NS saw no query"

# 2. SOCKSHIFT_PATCH=off: the resolver's socket stays on the kernel stack and leaks.
got=$(SOCKSHIFT_PATCH=off sx "$TMP/off.log" getent hosts "$NAME" | awk '{print $1}')
expect_eq "getent with patching off (the leak)" "$got" 10.6.6.6
[ "$(hostq)" -gt "$before" ] || fail "with patching off the host responder should have been asked"
echo "ok: getent, getaddrinfo and curl resolve inside netns:$NS; nothing reaches the host responder; PATCH=off leaks"
