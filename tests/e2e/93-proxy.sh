#!/bin/sh
# 93-proxy: the client address in the access log comes from X-Forwarded-For
# only when the TCP peer is trusted_proxy, and only the address the proxy
# wrote (the last one).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

# addr_of RID: the addr= of that request's log line (written as it completes).
addr_of() {
	local a
	for _ in $(seq 40); do
		a=$(sed -n "s/.* $1 .* addr=\([^ ]*\).*/\1/p" "$DIR/log" | tail -n 1)
		[ -n "$a" ] && break
		sleep 0.05
	done
	echo "${a:--}"
}

# direct XFF: one GET /v1/orders as dep1 straight to the daemon with that
# X-Forwarded-For header ("" sends none); prints the address it logged.
direct() {
	local h=()
	[ -n "$1" ] && h=(-H "X-Forwarded-For: $1")
	RID=$(curl -s -o /dev/null -D - "${h[@]}" -H "Authorization: Bearer ${TOK[dep1]}" \
		"$URL/v1/orders?limit=1" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
	[ -n "$RID" ] || { echo "(no answer)"; return; }
	addr_of "$RID"
}

# expect_addr NAME XFF WANT
expect_addr() {
	local got
	got=$(direct "$2")
	if [ "$got" = "$3" ]; then ok "$1: addr=$got"; else fail "$1" "want addr=$3, got addr=$got"; fi
}

# ---- the daemon alone ---------------------------------------------------------

start_daemon
expect_addr "no trusted_proxy, no header: the peer" "" 127.0.0.1
expect_addr "no trusted_proxy: a client's X-Forwarded-For is ignored" 198.51.100.4 127.0.0.1
check "no trusted_proxy: the forged address is nowhere in the log" \
	test "$(grep -c '198\.51\.100\.4' "$DIR/log")" = 0

stop_daemon "sigterm exits 0 (before trusted_proxy = 127.0.0.2)"
daemon_up --trusted-proxy 127.0.0.2 || die restart "waybilld did not start with trusted_proxy"
expect_addr "trusted_proxy is another host: the peer's header is ignored" 198.51.100.4 127.0.0.1

stop_daemon "sigterm exits 0 (before trusted_proxy = 127.0.0.1)"
daemon_up --trusted-proxy 127.0.0.1 || die restart "waybilld did not start with trusted_proxy"
expect_addr "from trusted_proxy: its X-Forwarded-For is believed" 198.51.100.4 198.51.100.4
expect_addr "from trusted_proxy: the last address, the one the proxy wrote" \
	"203.0.113.9, 198.51.100.5" 198.51.100.5
expect_addr "from trusted_proxy: an IPv6 address" "2001:db8::7" 2001:db8::7
expect_addr "from trusted_proxy: no header, the peer" "" 127.0.0.1
expect_addr "from trusted_proxy: a value that is no address, the peer" "not-an-address" 127.0.0.1
expect_addr "from trusted_proxy: an address with more text after it, the peer" \
	"198.51.100.6 actor=adm1" 127.0.0.1
expect_addr "from trusted_proxy: an over-long value, the peer" "$(printf '1%.0s' $(seq 200))" 127.0.0.1
check "text after a forwarded address never reaches the log" \
	test "$(grep -c '198\.51\.100\.6' "$DIR/log")" = 0

for bad in 10.0.0.0/8 "[::1]" 127.0.0.1:8080 proxy.example; do
	out=$("$WBD" --db "$DIR/db" --key-file "$DIR/key" --listen 127.0.0.1:1 --trusted-proxy "$bad" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q '^waybilld: trusted_proxy: '; then
		ok "trusted_proxy \"$bad\" refuses the start with one line"
	else
		fail "trusted_proxy \"$bad\"" "exit $rc: $out"
	fi
done

stop_daemon
finish
