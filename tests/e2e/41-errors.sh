#!/bin/sh
# 41-errors: every error a client can read.  Requests curl will not send go
# through raw_http.py (raw sockets, and urllib for an upload without
# "Expect: 100-continue").  Each answer is checked for its status, the JSON
# error body, X-Request-Id and a single head, those libmicrohttpd itself
# refuses (a Content-Length that is no number, a head past its buffer) too.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
RAW=$E2E_DIR/raw_http.py
T=${TOK[c1]}

# raw NAME BYTES: send printf-escaped BYTES; the answer as JSON in $BODY, status in $STATUS.
raw() {
	printf "$2" >"$DIR/req"
	python3 "$RAW" raw "$PORT" "$DIR/req" >"$DIR/raw.json" 2>&1 || true
	STATUS=$(jq -r .status "$DIR/raw.json" 2>/dev/null)
	jq -j .body "$DIR/raw.json" >"$BODY" 2>/dev/null
	case $STATUS in 2*) ;; *) { cat "$BODY"; echo; } >>"$DIR/error_bodies" ;; esac
}
# hdr NAME: the answer's header NAME (case-insensitive), or nothing.
hdr() {
	jq -r --arg h "$1" '.headers[] | select(.[0] | ascii_downcase == ($h | ascii_downcase)) | .[1]' \
		"$DIR/raw.json" 2>/dev/null | head -n 1
}
# raw_error NAME STATUS CODE BYTES: the answer is STATUS, a JSON error CODE, with X-Request-Id.
raw_error() {
	local name=$1 st=$2 code=$3
	raw "$name" "$4"
	expect_error "$name" "$st" "$code" ""
	local id
	id=$(hdr X-Request-Id)
	if [ -n "$id" ] && [ "$id" = "$(jb .error.request_id)" ]; then
		ok "$name: X-Request-Id $id, the body's request_id"
	else
		fail "$name: X-Request-Id" "header '$id', body $(snip "$BODY")"
	fi
	if [ "$(jq -r .status_lines "$DIR/raw.json")" = 1 ]; then
		ok "$name: one status line"
	else
		fail "$name: one status line" "$(head -c 300 "$DIR/raw.json")"
	fi
}
still_serving() {
	local s
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz")
	[ "$s" = 200 ] || { daemon_check; fail "$1: still serving" "/healthz $s"; }
}

H="Host: 127.0.0.1\r\n"
A="Authorization: Bearer $T\r\n"
J="Content-Type: application/json\r\n"

# ---- a body over the limit, sent without waiting for 100 Continue ---------------------

# urllib sends the whole body at once: before the fix the daemon answered 413
# while the body was still arriving and closed; the unread bytes turned the
# close into a reset, and 18-19 of 20 clients read a broken pipe, not the 413.
got=$(python3 "$RAW" upload "$PORT" /v1/labels "${TOK[dep1]}" $((1 << 20)) 20)
echo "# 1 MiB to /v1/labels (64 KiB limit) without Expect, 20 times: answered, statuses: $got"
if [ "$got" = "20 413:20" ]; then
	ok "1 MiB without Expect: 20/20 read the 413"
else
	fail "1 MiB without Expect: 20/20 read the 413" "$got"
fi
# A 100,000-label batch is about 2.3 MB: answered too.
got=$(python3 "$RAW" upload "$PORT" /v1/labels "${TOK[dep1]}" 2300000 3)
[ "$got" = "3 413:3" ] && ok "2.3 MB batch without Expect: 3/3 read the 413" ||
	fail "2.3 MB batch without Expect: 3/3 read the 413" "$got"
# Over the discard bound (8 MiB) the connection is closed: not read forever.
s=$(head -c $((9 << 20)) /dev/zero | curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
	-H "Authorization: Bearer ${TOK[dep1]}" -H 'Content-Type: application/json' \
	-H 'Transfer-Encoding: chunked' --data-binary @- "$URL/v1/labels")
case $s in 000 | 100 | 413) ok "9 MiB chunked: dropped, not read to the end (curl saw $s)" ;;
*) fail "9 MiB chunked: dropped" "status $s" ;; esac
still_serving "after the uploads"
# With Expect: 100-continue the 413 comes first and the body is never sent.
api -H 'Expect: 100-continue' POST /v1/labels "${TOK[dep1]}" -d "$(head -c 70000 /dev/zero | tr '\0' ' ')"
expect_error "70 KB with Expect: 100-continue: 413" 413 "" ""

# ---- the request line and headers ---------------------------------------------------

raw_error "two Content-Length headers" 400 bad_content_length \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 2\r\nContent-Length: 30\r\n\r\n{}"
raw_error "two equal Content-Length headers" 400 bad_content_length \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
raw_error "Content-Length with Transfer-Encoding" 400 bad_content_length \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
raw_error "%%00 in the path" 400 bad_path "GET /v1/orders/WB%%00 HTTP/1.1\r\n$H$A\r\n"
raw_error "NUL byte in the path" 400 bad_path "GET /v1/orders/WB\000x HTTP/1.1\r\n$H$A\r\n"
raw_error "%%00 in the query" 400 bad_path "GET /v1/orders?limit=1%%00 HTTP/1.1\r\n$H$A\r\n"
raw_error "%%2F in a path segment" 400 bad_path "GET /v1/orders%%2FWB1 HTTP/1.1\r\n$H$A\r\n"
raw_error "%%2f in a path segment" 400 bad_path "GET /v1/orders/x%%2flabel.pdf HTTP/1.1\r\n$H$A\r\n"
raw_error "NUL byte in the token (last header)" 400 bad_header \
	"GET /v1/orders HTTP/1.1\r\n${H}Authorization: Bearer $T\000x\r\n\r\n"
raw_error "NUL byte in the token (a header follows)" 400 bad_header \
	"GET /v1/orders HTTP/1.1\r\n${H}Authorization: Bearer $T\000x\r\nAccept: */*\r\n\r\n"
raw_error "NUL byte in another header" 400 bad_header \
	"GET /v1/orders HTTP/1.1\r\n${H}User-Agent: a\000b\r\n$A\r\n"
raw_error "a folded header line (obs-fold)" 400 bad_header \
	"GET /v1/orders HTTP/1.1\r\n$H${A}X-Folded: a\r\n b\r\nAccept: */*\r\n\r\n"
raw_error "%%00 in the token" 401 unauthorized \
	"GET /v1/orders HTTP/1.1\r\n${H}Authorization: Bearer $T%%00\r\n\r\n"
still_serving "after the bad request lines"

# The same requests, well-formed, still answer (no false alarms).
raw ok "GET /v1/orders HTTP/1.1\r\n${H}Authorization: Bearer $T  \r\nAccept: */*\r\n\r\n"
expect_status "a token with trailing spaces, then a header: 200" 200 "$STATUS"
raw ok "GET /v1/orders HTTP/1.1\n${H%\\r\\n}\nAuthorization: Bearer $T\n\n"
expect_status "bare LF line ends: 200" 200 "$STATUS"
raw ok "GET /v1/orders?limit=5 HTTP/1.1\r\n$H$A\r\n"
expect_status "a query without %%00: 200" 200 "$STATUS"

# ---- what libmicrohttpd refuses before any handler --------------------------------

# libmicrohttpd 0.9.75 answers these itself, with an HTML page and no request
# id; after a bad Content-Length it sent its head twice (the client read the
# second as the body).  The daemon answers them with its own error body
# (lib_answer in server/http.c), once, and closes.
J40K=$(head -c 40000 /dev/zero | tr '\0' a)
raw_error "malformed Content-Length" 400 bad_request \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 12abc\r\n\r\n{}"
raw_error "negative Content-Length" 400 bad_request \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: -2\r\n\r\n{}"
raw_error "Content-Length past 2^64" 413 too_large \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 99999999999999999999999\r\n\r\n{}"
raw_error "request line past the buffer (40 KB)" 414 uri_too_long \
	"GET /v1/orders?x=$J40K HTTP/1.1\r\n$H$A\r\n"
raw_error "a header past the buffer (40 KB)" 431 headers_too_large \
	"GET /v1/orders HTTP/1.1\r\n$H${A}X-Junk: $J40K\r\n\r\n"
raw_error "HTTP/2.0 in the request line" 505 http_version_not_supported \
	"GET /v1/orders HTTP/2.0\r\n$H$A\r\n"
raw_error "HTTP/0.9 in the request line" 505 http_version_not_supported \
	"GET /v1/orders HTTP/0.9\r\n$H$A\r\n"
raw_error "a malformed version" 400 bad_request "GET /v1/orders HTTP/1.x\r\n$H$A\r\n"
raw_error "a header line without a colon" 400 bad_request \
	"GET /v1/orders HTTP/1.1\r\n$H${A}no colon here\r\n\r\n"
raw_error "malformed chunked framing" 400 bad_request \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
# The same on a keep-alive connection, after an answer: the refusal follows it.
printf "GET /healthz HTTP/1.1\r\n$H\r\nPOST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 1x\r\n\r\n{}" >"$DIR/req"
python3 "$RAW" all "$PORT" "$DIR/req" >"$DIR/all.json" 2>&1 || true
got=$(jq -c .statuses "$DIR/all.json" 2>/dev/null)
n=$(jq -r .text "$DIR/all.json" 2>/dev/null | grep -c '"code":"bad_request"')
[ "$got" = "[200,400]" ] && [ "$n" = 1 ] &&
	ok "keep-alive: the 200, then the bad Content-Length's 400, one head each" ||
	fail "keep-alive: 200 then 400" "statuses $got; $(head -c 400 "$DIR/all.json")"
still_serving "after what libmicrohttpd refuses"
# Each is in the access log like any other answer, with its request id and
# code, and no HTML or line of libmicrohttpd's own.
raw_error "malformed Content-Length, for the log" 400 bad_request \
	"POST /v1/orders HTTP/1.1\r\n$H$A${J}Content-Length: 7zz\r\n\r\n{}"
id=$(jb .error.request_id)
sleep 0.2
line=$(grep -a "req=$id " "$DIR/log")
case $line in
*"status=400"*"code=bad_request"*) ok "the refusal's log line: $line" ;;
*) fail "the refusal's log line" "none for $id: $(tail -n 3 "$DIR/log" | tr '\n' '|')" ;;
esac
if grep -aq -e '<html' -e 'Error processing request' -e 'failed to queue' "$DIR/log"; then
	fail "no line of libmicrohttpd's own about them" "$(grep -a -e '<html' -e 'Error processing' -e 'failed to queue' "$DIR/log" | head -n 2)"
else
	ok "no line of libmicrohttpd's own about them"
fi

# ---- Retry-After on every 429 and 503 --------------------------------------------------

# A 429 whose limit sets no window of its own: the reprint limit.
fixture 2 | jq -c 'del(.client_order_id)' >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
TN=$(jb .tracking_no)
for i in $(seq 10); do
	raw print "GET /v1/orders/$TN/label.pdf HTTP/1.1\r\n$H$A\r\n"
	[ "$STATUS" = 429 ] && break
done
expect_status "label printed past reprint_limit: 429" 429 "$STATUS"
ra=$(hdr Retry-After)
[ -n "$ra" ] && [ "$ra" -gt 0 ] 2>/dev/null && ok "reprint_limit 429: Retry-After $ra" ||
	fail "reprint_limit 429: Retry-After" "none; headers $(jq -c .headers "$DIR/raw.json")"
# A 429 of a limiter keeps that limiter's own window.
for i in $(seq 40); do
	raw miss "GET /v1/orders/$(tn_make $((1111222233330000 + i))) HTTP/1.1\r\n${H}Authorization: Bearer ${TOK[c2]}\r\n\r\n"
	[ "$STATUS" = 429 ] && break
done
expect_status "past miss_limit: 429" 429 "$STATUS"
ra=$(hdr Retry-After)
[ -n "$ra" ] && [ "$ra" -gt 0 ] 2>/dev/null && ok "miss_limit 429: Retry-After $ra" ||
	fail "miss_limit 429: Retry-After" "none"

# ---- HEAD wherever GET works ----------------------------------------------------------

# head_like NAME PATH TOKEN: HEAD answers GET's status and headers, no body.
head_like() {
	local name=$1 path=$2 tok=$3 auth=""
	[ -n "$tok" ] && auth="Authorization: Bearer $tok\r\n"
	raw get "GET $path HTTP/1.1\r\n$H$auth\r\n"
	local gs=$STATUS gct gcl
	gct=$(hdr Content-Type)
	gcl=$(hdr Content-Length)
	raw head "HEAD $path HTTP/1.1\r\n$H$auth\r\n"
	if [ "$STATUS" = "$gs" ] && [ "$(hdr Content-Type)" = "$gct" ] &&
		{ [ "$(hdr Content-Length)" = "$gcl" ] || [ "$path" = /metrics ]; } && [ ! -s "$BODY" ] && [ -n "$(hdr X-Request-Id)" ]; then
		ok "$name: HEAD is GET's $gs ($gct, $gcl bytes) without the body"
	else
		fail "$name: HEAD like GET" "GET $gs $gct $gcl; HEAD $(head -c 400 "$DIR/raw.json")"
	fi
}
head_like "/healthz" /healthz ""
head_like "/metrics" /metrics ""
head_like "order list" "/v1/orders?limit=5" "$T"
head_like "one order" "/v1/orders/$TN" "$T"
head_like "one order, not yours" "/v1/orders/$TN" "${TOK[c3]}"
head_like "audit verify" /v1/audit/verify "${TOK[aud1]}"
head_like "no token" /v1/orders ""

# HEAD spends nothing: not a print, not a reveal from the quota.
fixture 3 | jq -c 'del(.client_order_id)' >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
TN2=$(jb .tracking_no)
a=$(audit_all "$DIR/a1.json" >/dev/null; jq length "$DIR/a1.json")
raw head "HEAD /v1/orders/$TN2/label.pdf HTTP/1.1\r\n$H$A\r\n"
expect_status "HEAD of a label: 405, nothing printed" 405 "$STATUS"
[ "$(hdr Allow)" = GET ] && ok "HEAD of a label: Allow: GET" || fail "HEAD of a label: Allow: GET" "$(hdr Allow)"
raw head "HEAD /v1/admin/orders/$TN2?reason=check HTTP/1.1\r\n${H}Authorization: Bearer ${TOK[adm1]}\r\n\r\n"
expect_status "HEAD of an admin reveal: 405, nothing revealed" 405 "$STATUS"
b=$(audit_all "$DIR/a2.json" >/dev/null; jq length "$DIR/a2.json")
check "HEAD of a label or a reveal: no audit entry of a print or reveal" \
	jq -e --arg tn "$TN2" '[.[] | select(.tracking_no == $tn and (.action == "label.print" or .action == "admin.reveal"))] == []' "$DIR/a2.json"
api GET "/v1/orders/$TN2/label.pdf" "${TOK[c1]}"
expect_status "the label still prints after the HEADs" 200 "$STATUS"
raw opt "POST /v1/orders/$TN2/label.pdf HTTP/1.1\r\n$H$A${J}Content-Length: 2\r\n\r\n{}"
expect_status "POST to a label: 405" 405 "$STATUS"
[ "$(hdr Allow)" = GET ] && ok "POST to a label: Allow: GET (no HEAD)" || fail "POST to a label: Allow" "$(hdr Allow)"
raw opt "DELETE /v1/orders HTTP/1.1\r\n$H$A\r\n"
case $(hdr Allow) in *HEAD*) ok "405 on the order list: Allow names HEAD ($(hdr Allow))" ;;
*) fail "405 on the order list: Allow names HEAD" "$(hdr Allow)" ;; esac

# A 503: the audit entry cannot be written (a trigger refuses it, as a full disk would).
stop_daemon "SIGTERM before the audit fault: exit 0"
audit_fault on
daemon_up || die restart "waybilld did not come back"
raw 503 "GET /v1/orders/$TN HTTP/1.1\r\n$H$A\r\n"
expect_error "a read that cannot be audited: 503" 503 unavailable ""
ra=$(hdr Retry-After)
[ -n "$ra" ] && [ "$ra" -gt 0 ] 2>/dev/null && ok "503: Retry-After $ra" || fail "503: Retry-After" "none"
raw 503 "HEAD /v1/orders/$TN HTTP/1.1\r\n$H$A\r\n"
expect_status "a HEAD that cannot be audited: 503 too" 503 "$STATUS"
[ -n "$(hdr Retry-After)" ] && ok "HEAD 503: Retry-After" || fail "HEAD 503: Retry-After" "none"

# ---- the error bodies ------------------------------------------------------------------

grep -a '^{' "$DIR/error_bodies" >"$DIR/eb.jsonl"
bad_shape=$(jq -c "select(($ERROR_SHAPE) | not)" "$DIR/eb.jsonl" 2>&1)
check "every JSON error body has the error shape" test -z "$bad_shape"
fixtures_pii "$DIR/pii"
no_pii "error bodies hold no personal data" "$DIR/error_bodies"
stop_daemon "SIGTERM after the bad requests: exit 0"
no_pii "log holds no personal data" "$DIR/log"
finish
