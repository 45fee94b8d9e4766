#!/bin/sh
# 40-bad-request: malformed and invalid requests, each answered with its
# status and error code, nothing stored, and the daemon still serving.
# Error bodies are {"error":{"code","message","field"?}} and carry no
# personal data.  Tracking numbers with bad check digits are 404 and not
# audited; a well-formed unknown one is audited.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon

# A valid order without client_order_id, the base of every bad one.
fixture 2 | jq -c 'del(.client_order_id)' >"$DIR/base.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/base.json"
[ "$STATUS" = 201 ] || die setup "the base order is refused: $STATUS $(cat "$BODY")"
TN=$(jb .tracking_no)

order_count() {
	api GET "/v1/orders?limit=200" "${TOK[dep1]}"
	grep -o '"tracking_no":' "$BODY" | wc -l
}
COUNT=$(order_count)
[ "$COUNT" = 1 ] || die setup "want 1 order, got $COUNT"

# still_serving NAME: /healthz answers and nothing was stored.
still_serving() {
	local s n
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz" \
		-o "$DIR/list.json" -H "Authorization: Bearer ${TOK[dep1]}" "$URL/v1/orders?limit=200")
	if [ "$s" != 200200 ]; then
		daemon_check
		fail "$1: daemon still serving" "/healthz and list: $s"
	fi
	n=$(grep -o '"tracking_no":' "$DIR/list.json" | wc -l)
	[ "$n" = "$COUNT" ] || fail "$1: nothing stored" "orders: $COUNT before, $n after"
}

# mk FILTER: the base order through a jq filter, into $DIR/b.json.
mk() {
	jq -c "$@" "$DIR/base.json" >"$DIR/b.json"
}

# bad NAME STATUS CODE FIELD [-H HDR]...: POST $DIR/b.json to /v1/orders.
bad() {
	local name=$1 st=$2 code=$3 field=$4
	shift 4
	api "$@" POST /v1/orders "${TOK[c1]}" "$DIR/b.json"
	expect_error "$name" "$st" "$code" "$field"
	still_serving "$name"
}

# raw PRE BYTES POST: PRE, then printf-escaped BYTES, then POST into $DIR/b.json.
raw() {
	{ printf '%s' "$1"; printf "$2"; printf '%s' "$3"; } >"$DIR/b.json"
}

# The base JSON split around one string value, for raw bytes inside it.
split_at() { # JQ-PATH
	local s
	s=$(jq -c "$1 = \"@@HERE@@\"" "$DIR/base.json")
	PRE=${s%%@@HERE@@*}
	POST=${s#*@@HERE@@}
}

# ---- size and media type ------------------------------------------------------------

mk --arg n "$(head -c 70000 /dev/zero | tr '\0' a)" '.note = $n'
bad "body over 64 KiB" 413 "" ""
bad "body over 64 KiB, chunked (no Content-Length)" 413 "" "" -H "Transfer-Encoding: chunked"
mk .
bad "Content-Type text/plain" 415 "" "" -H "Content-Type: text/plain"
bad "Content-Type application/jsonp" 415 "" "" -H "Content-Type: application/jsonp"
bad "no Content-Type" 415 "" "" -H "Content-Type:"
bad "Content-Type form" 415 "" "" -H "Content-Type: application/x-www-form-urlencoded"

# ---- not JSON -------------------------------------------------------------------------

printf 'hello' >"$DIR/b.json"
bad "not JSON" 400 malformed_json ""
: >"$DIR/b.json"
bad "empty body" 400 "" ""
printf '{"sender":' >"$DIR/b.json"
bad "truncated JSON" 400 malformed_json ""
printf '[]' >"$DIR/b.json"
bad "an array, not an object" "400|422" "" ""
printf '{"a":[[[[[[[["x"]]]]]]]]}' >"$DIR/b.json" # 9 deep
bad "nesting 9 deep" 400 too_deep ""
mk '.note = [[[[[[[["x"]]]]]]]]' # 9 deep inside an order
bad "nesting 9 deep inside an order" 400 too_deep ""
mk '.note = [[[[[[["x"]]]]]]]' # 8 deep: grammar fine, note is no string
bad "nesting 8 deep: fine for the grammar, note must be a string" 422 "" note
raw "$(jq -c . "$DIR/base.json")" ' x' ''
bad "trailing bytes after the object" 400 trailing_data ""
raw "$(jq -c . "$DIR/base.json")" '{}' ''
bad "a second object after the first" 400 trailing_data ""
raw '' '\357\273\277' "$(jq -c . "$DIR/base.json")"
bad "byte-order mark before the object" 400 "" ""

# ---- strings: UTF-8, NUL, control characters -------------------------------------------------

split_at .recipient.name
raw "$PRE" '\344\270\201\377' "$POST"
bad "invalid UTF-8 (\\xff) in a name" "400|422" invalid_utf8 ""
raw "$PRE" '\300\257' "$POST"
bad "overlong UTF-8 in a name" "400|422" invalid_utf8 ""
raw "$PRE" '\355\240\200' "$POST"
bad "encoded surrogate in a name" "400|422" invalid_utf8 ""
raw "$PRE" '\344\270' "$POST"
bad "truncated UTF-8 sequence in a name" "400|422" invalid_utf8 ""
raw "$PRE" '\\ud800x' "$POST"
bad "lone surrogate escape in a name" "400|422" invalid_utf8 ""
raw "$PRE" '\344\270\201\\u0000\344\270\201' "$POST"
bad "\\u0000 in a name" 422 "" ""
raw "$PRE" '\344\270\201\000\344\270\201' "$POST"
bad "raw NUL byte in a name" "400|422" "" ""
raw "$PRE" '\344\270\201\\n\344\270\201' "$POST"
bad "escaped newline in a name" 422 control_character ""
raw "$PRE" '\344\270\201\342\200\256\344\270\201' "$POST"
bad "bidi override U+202E in a name" 422 control_character ""

# ---- structure: duplicates, unknown and missing fields ------------------------------------------

split_at .recipient.name
raw "${PRE%\"}" '"x","name":"' "$(jq -r .recipient.name "$DIR/base.json")\"${POST#\"}"
bad "duplicate key recipient.name" 422 "" recipient.name
raw '{"client_order_id":"a","client_order_id":"b",' '' "$(jq -c . "$DIR/base.json" | cut -c2-)"
bad "duplicate key client_order_id" 422 "" client_order_id
mk '.color = "red"'
bad "unknown field, top level" 422 unknown_field ""
if jq -e '.error | has("field") | not' "$BODY" >/dev/null; then ok "unknown top-level key: no field"; else fail "unknown top-level key: no field" "$(snip "$BODY")"; fi
mk '.parcel.color = "red"'
bad "unknown field, nested" 422 "" parcel
mk '.recipient.mobile = "13800000000"'
bad "unknown field recipient.mobile" 422 "" recipient
mk '.recipient.wangxiaoming = "x"'
bad "unknown key that reads like a name: only its parent is named" 422 unknown_field recipient
for party in sender recipient; do
	for f in name phone province city district address; do
		mk "del(.$party.$f)"
		bad "missing $party.$f" 422 "" "$party.$f"
	done
done
mk 'del(.parcel.weight_g)'
bad "missing parcel.weight_g" 422 "" parcel.weight_g
for f in sender recipient parcel; do
	mk "del(.$f)"
	bad "missing $f" 422 "" "$f"
done
mk '.recipient = "x"'
bad "recipient not an object" 422 "" recipient
mk '.recipient.name = 5'
bad "name not a string" 422 "" recipient.name
mk '.recipient.name = ""'
bad "empty name" 422 "" recipient.name
mk '.recipient.name = "   "'
bad "blank name" 422 "" recipient.name

# ---- bounds ---------------------------------------------------------------------------------------

mk --arg n "$(printf '张%.0s' $(seq 33))" '.recipient.name = $n'
bad "name of 33 Han characters" 422 "" recipient.name
mk --arg n "$(printf 'a%.0s' $(seq 129))" '.sender.address = $n'
bad "address of 129 characters" 422 "" sender.address
for w in 0 100001 -1 1.5 '"100"' null; do
	mk ".parcel.weight_g = $w"
	bad "weight_g $w" 422 "" parcel.weight_g
done
mk '.parcel.count = 0'
bad "count 0" 422 "" parcel.count
for p in 12345 abcdefghijk 1380013800 138001380001 "+86 123" "138 0013 800x" ""; do
	mk --arg p "$p" '.recipient.phone = $p'
	bad "bad phone '$p'" 422 "" recipient.phone
done
mk --arg p 'abc' '.sender.phone = $p'
bad "bad sender phone" 422 "" sender.phone
mk '.client_order_id = "has space"'
bad "client_order_id with a space" 422 "" client_order_id
mk .
bad "Idempotency-Key with a space" 422 "" "" -H "Idempotency-Key: a b"

# ---- the small bodies: assign and status --------------------------------------------------------------

small() { # NAME STATUS PATH DATA [-H HDR]...
	local name=$1 st=$2 path=$3 data=$4
	shift 4
	api "$@" POST "$path" "${TOK[dep1]}" -d "$data"
	expect_error "$name" "$st" "" ""
	still_serving "$name"
	api GET "/v1/orders/$TN" "${TOK[dep1]}"
	jq -e '.status == "created" and .courier == null' "$BODY" >/dev/null ||
		fail "$name: order unchanged" "$(snip "$BODY")"
}
small "status: body over 4 KiB" 413 "/v1/orders/$TN/status" "{\"status\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}"
small "status: text/plain" 415 "/v1/orders/$TN/status" '{"status":"picked_up"}' -H "Content-Type: text/plain"
small "status: not JSON" 400 "/v1/orders/$TN/status" 'picked_up'
small "status: unknown field" 422 "/v1/orders/$TN/status" '{"status":"picked_up","why":"x"}'
small "status: duplicate key" 422 "/v1/orders/$TN/status" '{"status":"cancelled","status":"picked_up"}'
small "status: missing" 422 "/v1/orders/$TN/status" '{}'
small "status: trailing bytes" 400 "/v1/orders/$TN/status" '{"status":"picked_up"} x'
small "assign: not a string" 422 "/v1/orders/$TN/assign" '{"courier":["c1"]}'
small "assign: bad name" 422 "/v1/orders/$TN/assign" '{"courier":"C 1"}'
small "assign: empty" 422 "/v1/orders/$TN/assign" '{"courier":""}'

# ---- tracking numbers: bad check digits are not looked up, not audited --------------------------------

audit_entries() {
	api GET /v1/audit/verify "${TOK[aud1]}"
	jb .entries
}
BADTN=${TN%??}$(printf '%02d' $(((10#${TN: -2} + 1) % 100)))
if tn_check "$BADTN"; then fail "a tracking number with wrong check digits is made" "$BADTN verifies"; fi
a=$(audit_entries)
for req in "GET /v1/orders/$BADTN c1" "GET /v1/orders/$BADTN dep1" "POST /v1/orders/$BADTN/status dep1" \
	"POST /v1/orders/$BADTN/assign dep1" "GET /v1/orders/WB123 c1" "GET /v1/orders/XX${TN#WB} c1" \
	"GET /v1/orders/${TN}0 c1" "GET /v1/orders/$(echo "$TN" | tr 0-9 a-j) c2"; do
	set -- $req
	if [ "$1" = POST ]; then
		api POST "$2" "${TOK[$3]}" -d '{"status":"picked_up"}'
	else
		api GET "$2" "${TOK[$3]}"
	fi
	expect_error "$1 ${2/$TN/TN} ($3): bad tracking number 404" 404 not_found ""
done
b=$(audit_entries)
if [ "$b" = $((a + 1)) ]; then
	ok "bad check digits: no audit entry (only verify's own)"
else
	fail "bad check digits: no audit entry" "entries $a before, $b after (want $((a + 1)))"
fi
check "bad check digits: nothing in the audit for that number" \
	sh -c "curl -s -H 'Authorization: Bearer ${TOK[aud1]}' '$URL/v1/audit?tracking_no=$BADTN' | jq -e '.entries == []'"

TNX=$(tn_make 1111222233334444)
a=$(audit_entries)
api GET "/v1/orders/$TNX" "${TOK[c1]}"
expect_error "well-formed unknown tracking number" 404 not_found ""
b=$(audit_entries)
if [ "$b" = $((a + 2)) ]; then
	ok "well-formed unknown tracking number: audited (one entry besides verify's)"
else
	fail "well-formed unknown tracking number: audited" "entries $a before, $b after (want $((a + 2)))"
fi
api GET "/v1/audit?tracking_no=$TNX" "${TOK[aud1]}"
check "the unknown number's audit entry: c1, order.read, not_found" \
	jq -e '.entries | length == 1 and .[0].actor == "c1" and .[0].action == "order.read" and .[0].result == "not_found"' "$BODY"

# ---- boundaries that are fine -------------------------------------------------------------------

good() { # NAME FILTER
	mk "$2"
	api POST /v1/orders "${TOK[c1]}" "$DIR/b.json"
	expect_status "$1: accepted" 201 "$STATUS"
}
good "name of 32 Han characters" ".recipient.name = \"$(printf '张%.0s' $(seq 32))\""
good "weight_g 1" '.parcel.weight_g = 1'
good "weight_g 100000" '.parcel.weight_g = 100000'
good "phone +86 with spaces" '.recipient.phone = "+86 138 0013 8000"'
good "phone with dashes" '.recipient.phone = "138-0013-8000"'
good "landline" '.recipient.phone = "0755-12345678"'
good "E.164 abroad" '.recipient.phone = "+4930123456"'

# ---- the error bodies ---------------------------------------------------------------------------

grep -v '^$' "$DIR/error_bodies" >"$DIR/eb.jsonl"
bad_shape=$(jq -c "select(($ERROR_SHAPE) | not)" "$DIR/eb.jsonl" 2>&1)
check "every error body is {\"error\":{\"code\",\"message\",\"field\"?}}" test -z "$bad_shape"
[ -z "$bad_shape" ] || echo "# bad error bodies: $(printf '%s' "$bad_shape" | head -c 500)"
check "error bodies were captured" test "$(grep -c . "$DIR/error_bodies")" -gt 80
no_pii "error bodies hold no personal data" "$DIR/error_bodies"
stop_daemon "SIGTERM after all the bad requests: exit 0"
no_pii "log holds no personal data" "$DIR/log"
finish
