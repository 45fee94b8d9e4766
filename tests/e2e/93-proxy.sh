#!/bin/sh
# 93-proxy: the client address in the access log comes from X-Forwarded-For
# only when the TCP peer is trusted_proxy, and only the address the proxy
# wrote (the last one); deploy/nginx-waybill.conf passes `nginx -t` and, run
# in front of a test daemon (127.0.0.1 only), replaces a client's own
# X-Forwarded-For, keeps query strings out of its access log, never writes a
# body or an answer to a temporary file, publishes neither /metrics nor
# /healthz, and limits each client address with limit_req.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

# addr_of RID: the ip= of that request's log line (written as it completes).
addr_of() {
	local a
	for _ in $(seq 40); do
		a=$(sed -n "s/.* req=$1 .* ip=\([^ ]*\).*/\1/p" "$DIR/log" | tail -n 1)
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

# Over IPv6: the proxy at ::1 is believed, written any way inet_pton reads.
stop_daemon "sigterm exits 0 (before listening on [::1])"
for tp in ::1 0:0:0:0:0:0:0:1; do
	P6=$(pick_port)
	"$WBD" --db "$DIR/db" --key-file "$DIR/key" --listen "[::1]:$P6" --trusted-proxy "$tp" 2>>"$DIR/log" &
	DPID=$!
	wait_until 10 curl -gfs -o /dev/null "http://[::1]:$P6/healthz"
	RID=$(curl -gs -o /dev/null -D - -H "X-Forwarded-For: 198.51.100.8" -H "Authorization: Bearer ${TOK[dep1]}" \
		"http://[::1]:$P6/v1/orders?limit=1" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
	got=$(addr_of "$RID")
	if [ "$got" = 198.51.100.8 ]; then ok "IPv6: trusted_proxy $tp is believed"; else fail "IPv6: trusted_proxy $tp" "want addr=198.51.100.8, got addr=$got"; fi
	stop_daemon "sigterm exits 0 (IPv6, trusted_proxy $tp)"
done
P6=$(pick_port)
"$WBD" --db "$DIR/db" --key-file "$DIR/key" --listen "[::1]:$P6" --trusted-proxy 127.0.0.1 2>>"$DIR/log" &
DPID=$!
wait_until 10 curl -gfs -o /dev/null "http://[::1]:$P6/healthz"
RID=$(curl -gs -o /dev/null -D - -H "X-Forwarded-For: 198.51.100.9" -H "Authorization: Bearer ${TOK[dep1]}" \
	"http://[::1]:$P6/v1/orders?limit=1" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
got=$(addr_of "$RID")
if [ "$got" = ::1 ]; then ok "IPv6: a peer ::1 is not trusted_proxy 127.0.0.1"; else fail "IPv6: peer ::1, trusted_proxy 127.0.0.1" "want addr=::1, got addr=$got"; fi
stop_daemon "sigterm exits 0 (IPv6, trusted_proxy 127.0.0.1)"

# auth_failures_per_minute counts per client: behind the proxy, per the
# address it forwarded (else every client shares the proxy's count, and its
# audit entries name the proxy); from any other peer, per that peer, however
# its X-Forwarded-For changes.
# nobearer XFF: GET /v1/orders without a token, that header; prints the status.
nobearer() {
	curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $1" "$URL/v1/orders"
}
daemon_up --trusted-proxy 127.0.0.1 --auth-failures-per-minute 3 || die restart "waybilld did not start"
codes=$(for x in 1 2 3 4; do nobearer 198.51.100.20; echo; done | tr '\n' ' ')
check "behind trusted_proxy: a client's 4th request without a token is 429 ($codes)" test "$codes" = "401 401 401 429 "
code=$(nobearer 198.51.100.21)
check "behind trusted_proxy: another client behind the same proxy still gets 401 ($code)" test "$code" = 401
stop_daemon "sigterm exits 0 (auth failures behind trusted_proxy)"
wait_until 10 sh -c "'$WBCTL' --db '$DIR/db' --key-file '$DIR/key' audit export | grep -q '198.51.100.20'"
ctl audit export | grep '"auth.fail"' >"$DIR/authfail.jsonl"
check "behind trusted_proxy: the auth.fail audit entry names the client, not the proxy" \
	grep -q '198\.51\.100\.20' "$DIR/authfail.jsonl"
daemon_up --auth-failures-per-minute 3 || die restart "waybilld did not start"
codes=$(for x in 1 2 3 4; do nobearer "198.51.100.3$x"; echo; done | tr '\n' ' ')
check "no trusted_proxy: a new X-Forwarded-For each time does not escape the count ($codes)" test "$codes" = "401 401 401 429 "
stop_daemon "sigterm exits 0 (auth failures, no trusted_proxy)"
daemon_up --trusted-proxy 127.0.0.1 || die restart "waybilld did not come back on 127.0.0.1"

for bad in 10.0.0.0/8 "[::1]" 127.0.0.1:8080 proxy.example; do
	out=$("$WBD" --db "$DIR/db" --key-file "$DIR/key" --listen 127.0.0.1:1 --trusted-proxy "$bad" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q '^waybilld: trusted_proxy: '; then
		ok "trusted_proxy \"$bad\" refuses the start with one line"
	else
		fail "trusted_proxy \"$bad\"" "exit $rc: $out"
	fi
done

# ---- nginx in front -----------------------------------------------------------

command -v nginx >/dev/null || die nginx "nginx is not installed (Makefile DEB_TEST)"
NG=$DIR/nginx
mkdir -p "$NG/ssl" "$NG/log"
chmod 711 "$DIR" "$NG"
NGINX_CONF=${NGINX_CONF:-$ROOT/deploy/nginx-waybill.conf} # NGINX_CONF=FILE tests another file

# The deploy file as it is, but for its site-specific paths and ports.  Each
# one must be where the file had it, so the copy tested is the file shipped.
NPORT=$(pick_port)
for pat in 'listen 443 ssl http2;:1' '/etc/ssl/waybill/:2' '/var/log/nginx/:1' 'server 127.0.0.1:8080;:1'; do
	n=$(grep -cF "${pat%:*}" "$NGINX_CONF")
	check "nginx-waybill.conf has \"${pat%:*}\" ${pat##*:} time(s) (found $n)" test "$n" = "${pat##*:}"
done
# (sndbuf: a small socket buffer, so that a slow client shows in nginx, not in the kernel)
sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NPORT ssl http2 sndbuf=16k;|" \
	-e "s|/etc/ssl/waybill/|$NG/ssl/|g" -e "s|/var/log/nginx/|$NG/log/|g" \
	-e "s|server 127.0.0.1:8080;|server 127.0.0.1:$PORT;|" "$NGINX_CONF" >"$NG/waybill.conf"
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
events { worker_connections 128; }
http {
	client_body_temp_path $NG/body;
	proxy_temp_path $NG/proxy;
	fastcgi_temp_path $NG/fastcgi;
	uwsgi_temp_path $NG/uwsgi;
	scgi_temp_path $NG/scgi;
	include $NG/waybill.conf;
}
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=waybill.example.internal -addext subjectAltName=DNS:waybill.example.internal \
	-keyout "$NG/ssl/privkey.pem" -out "$NG/ssl/fullchain.pem" 2>/dev/null
check "a test certificate for waybill.example.internal" test -s "$NG/ssl/fullchain.pem"

NGX=(nginx -p "$NG/" -c "$NG/nginx.conf")
if out=$("${NGX[@]}" -g "pid $NG/nginx.pid; error_log stderr;" -t 2>&1); then
	ok "nginx -t accepts deploy/nginx-waybill.conf"
else
	die "nginx -t" "$(printf '%s' "$out" | tr '\n' '|')"
fi

"${NGX[@]}" -g "pid $NG/nginx.pid; error_log $NG/error.log warn; daemon off;" &
NPID=$!
nginx_stop() {
	[ -n "$NPID" ] || return 0
	kill -QUIT "$NPID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	NPID=
}
trap 'rc=$?; nginx_stop; (exit $rc); cleanup' EXIT
NURL=https://waybill.example.internal:$NPORT
# via FROM CURL_ARGS...: a request to nginx from the address FROM.
via() {
	local from=$1
	shift
	curl -s --no-progress-meter --max-time 30 --cacert "$NG/ssl/fullchain.pem" \
		--resolve "waybill.example.internal:$NPORT:127.0.0.1" --interface "$from" "$@"
}
up=0
for _ in $(seq 100); do
	code=$(via 127.0.0.1 -o /dev/null -w '%{http_code}' "$NURL/v1/orders") && [ "$code" != 000 ] && { up=1; break; }
	kill -0 "$NPID" 2>/dev/null || break
	sleep 0.05
done
[ "$up" = 1 ] || die "nginx started" "$(tail -n 5 "$NG/error.log" 2>/dev/null | tr '\n' '|')"
ok "nginx serves the deploy file on 127.0.0.1:$NPORT"

# The station's pages pass through with the daemon's own policy; they take no body.
via 127.0.0.1 -o "$DIR/st.html" -D "$DIR/st.h" "$NURL/station/"
check "through nginx: /station/ is the station page" grep -q 'src="station.js"' "$DIR/st.html"
check "through nginx: /station/ keeps its Content-Security-Policy" \
	grep -qi "^content-security-policy: default-src 'self'.*frame-ancestors 'none'" "$DIR/st.h"
check "through nginx: a POST to /station/ is refused" \
	test "$(via 127.0.0.1 -o /dev/null -w '%{http_code}' -d x "$NURL/station/")" = 403

# Orders of depot d1, created straight at the daemon.
post_fixtures "${TOK[c1]}" "$DIR/map" $(seq 0 199)
TN=$(tn_of "$DIR/map" 0)
check "200 orders created" test "$(awk '$3 == 201' "$DIR/map" | wc -l)" = 200

# A client from 127.0.0.2 forging its address: the daemon logs 127.0.0.2.
hdr=$(via 127.0.0.2 -o "$BODY" -D - -w '%{http_code}' -H "X-Forwarded-For: 203.0.113.7" \
	-H "X-Real-IP: 203.0.113.8" -H "Authorization: Bearer ${TOK[dep1]}" "$NURL/v1/orders/$TN" | tr -d '\r')
STATUS=$(printf '%s\n' "$hdr" | tail -n 1)
expect_status "through nginx: an order view" 200 "$STATUS"
check "through nginx: the masked view came back" test "$(jb .tracking_no)" = "$TN"
RID=$(printf '%s\n' "$hdr" | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
got=$(addr_of "$RID")
if [ "$got" = 127.0.0.2 ]; then ok "through nginx: the daemon logs the client nginx saw (127.0.0.2)"; else fail "through nginx: client address" "want addr=127.0.0.2, got addr=$got"; fi
check "through nginx: the forged X-Forwarded-For reached no log" \
	test "$(cat "$DIR/log" "$NG/log/waybill.log" | grep -c '203\.0\.113\.[78]')" = 0

# An admin's reason travels in the query string: not into nginx's log.
code=$(via 127.0.0.2 -o "$BODY" -w '%{http_code}' -H "Authorization: Bearer ${TOK[adm1]}" \
	"$NURL/v1/admin/orders/$TN?reason=ticket%20CS-2291%20zebracrossing")
expect_status "through nginx: an admin reveal" 200 "$code"
for _ in $(seq 20); do grep -q "/v1/admin/orders/$TN" "$NG/log/waybill.log" 2>/dev/null && break; sleep 0.1; done
check "through nginx: the access log has the reveal's path" grep -q "\"GET /v1/admin/orders/$TN\" 200" "$NG/log/waybill.log"
check "through nginx: ... and no query string (reason)" test "$(grep -c 'zebracrossing\|reason=\|CS-2291' "$NG/log/waybill.log")" = 0
check "through nginx: the access log carries the daemon's request id" \
	grep -q " [0-9a-f]\{16\}$" "$NG/log/waybill.log"

# /metrics and /healthz stay private.
for p in /metrics /healthz /v1/../metrics; do
	code=$(via 127.0.0.2 -o /dev/null -w '%{http_code}' --path-as-is "$NURL$p")
	expect_status "through nginx: $p is not published" 404 "$code"
done

# An order body of 40 KiB (padded with spaces) stays in nginx's memory.
order_with '.client_order_id = "proxy-big"' 1 | awk '{ printf "%s", $0; for (i = 0; i < 40000; i++) printf " "; print "" }' >"$DIR/big.json"
code=$(via 127.0.0.2 -o "$BODY" -w '%{http_code}' -H "Authorization: Bearer ${TOK[c1]}" \
	-H 'Content-Type: application/json' --data-binary "@$DIR/big.json" "$NURL/v1/orders")
expect_status "through nginx: a 40 KiB order" 201 "$code"
# A batch of 60 labels (hundreds of KiB) is passed on from memory as well.
tns=$(awk '$3 == 201 { printf "%s\"%s\"", (n++ ? "," : ""), $2 }' "$DIR/map")
printf '{"tracking_nos":[%s],"size":"100x150"}' "$tns" >"$DIR/batch.json"
# (a slow client: read at 200 KB/s, so that nginx cannot hand it on as it comes)
code=$(via 127.0.0.2 --http1.1 --limit-rate 200k -o "$DIR/batch.pdf" -w '%{http_code}' -H "Authorization: Bearer ${TOK[dep1]}" \
	-H 'Content-Type: application/json' --data-binary "@$DIR/batch.json" "$NURL/v1/labels")
expect_status "through nginx: a batch of 200 labels" 200 "$code"
size=$(stat -c %s "$DIR/batch.pdf")
check "through nginx: the batch PDF is whole ($size bytes, 200 pages)" \
	test "$(pdfinfo "$DIR/batch.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')" = 200
check "through nginx: ... larger than nginx's buffers and the sockets' (${size} > 262144)" test "$size" -gt 262144
check "through nginx: no body or answer was buffered to a temporary file" \
	test "$(grep -c 'buffered to a temporary file' "$NG/error.log")" = 0

# limit_req: 120 requests at once from one address; nginx answers most of
# them 429 itself, while another address is still served.
for i in $(seq 120); do
	printf 'url = "%s/v1/orders"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$NURL"
done >"$DIR/burst.curl"
t0=$(date +%s%N)
via 127.0.0.3 --parallel --parallel-max 60 -K "$DIR/burst.curl" >"$DIR/burst.codes"
ms=$((($(date +%s%N) - t0) / 1000000))
n429=$(grep -c '^429$' "$DIR/burst.codes")
n401=$(grep -c '^401$' "$DIR/burst.codes")
# The burst (40), one more, and 20 a second for as long as the burst took.
most=$((41 + 20 * ms / 1000 + 2))
check "limit_req: 120 requests at once got some 429 ($n429), the rest the daemon's 401 ($n401)" \
	test "$n429" -ge 1 -a $((n429 + n401)) = 120
check "limit_req: ... at most the burst and 20/s reached the daemon ($n401 <= $most in $ms ms)" \
	test "$n401" -le "$most"
code=$(via 127.0.0.4 -o /dev/null -w '%{http_code}' "$NURL/v1/orders")
expect_status "limit_req: another client address is still served" 401 "$code"

# What nginx hands upstream: a stand-in upstream that answers with the
# request's headers, swapped in by a reload of the same configuration.
EPORT=$(pick_port)
python3 -c '
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = json.dumps([[k.lower(), v] for k, v in self.headers.items()]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$EPORT" &
EPID=$!
trap 'rc=$?; kill "$EPID" 2>/dev/null; nginx_stop; (exit $rc); cleanup' EXIT
sed -i "s|server 127.0.0.1:$PORT;|server 127.0.0.1:$EPORT;|" "$NG/waybill.conf"
kill -HUP "$NPID"
echoed=0
for _ in $(seq 100); do
	via 127.0.0.5 -o "$BODY" -H "X-Forwarded-For: 203.0.113.7" -H "X-Real-IP: 203.0.113.8" \
		"$NURL/v1/echo" && jq -e 'type == "array"' "$BODY" >/dev/null 2>&1 && { echoed=1; break; }
	sleep 0.1
done
check "the stand-in upstream answered through nginx" test "$echoed" = 1
check "nginx forwards X-Forwarded-For as the address it saw, and only that" \
	test "$(jq -c '[.[] | select(.[0] == "x-forwarded-for") | .[1]]' "$BODY")" = '["127.0.0.5"]'
check "nginx forwards X-Real-IP as the address it saw, and only that" \
	test "$(jq -c '[.[] | select(.[0] == "x-real-ip") | .[1]]' "$BODY")" = '["127.0.0.5"]'
kill "$EPID" 2>/dev/null
wait "$EPID" 2>/dev/null

nginx_stop
stop_daemon
finish
