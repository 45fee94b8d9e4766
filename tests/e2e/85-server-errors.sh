#!/bin/sh
# 85-server-errors: a 500 on an audited route is on record like any other
# outcome.  An order's ciphertext is made unopenable in the database (what
# tampering, a bad restore or a bug look like); then every audited route
# that opens it answers 500, and for every one of those answers the audit
# log holds an entry with the same request id whose result is not "ok".
# Nothing is printed or counted for a label that was not sent.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
fixtures_pii "$DIR/pii"
for i in 0 1 2; do
	fixture "$i" >"$DIR/o$i.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o$i.json"
	expect_status "setup: order $i created" 201 "$STATUS"
	TN[i]=$(jb .tracking_no)
done
BAD=${TN[0]} GOOD=${TN[1]}
api POST "/v1/orders/$BAD/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
expect_status "setup: the order to break is assigned to c2" 200 "$STATUS"
stop_daemon "sigterm exits 0 (before the ciphertext is broken)"
# Zero the sealed blob in place: it no longer authenticates (each dialect's zeros).
ZEROS="CAST(zeroblob(length(sealed)) AS BLOB)"
is_pg && ZEROS="decode(repeat('00', length(sealed)), 'hex')"
db_sql "UPDATE orders SET sealed = $ZEROS WHERE tracking_no = '$BAD'"
check "setup: the sealed blob is broken in place" \
	test "$(db_sql "SELECT count(*) FROM orders WHERE tracking_no = '$BAD' AND sealed = $ZEROS")" = 1
daemon_up || die restart "waybilld did not come back"

: >"$DIR/500s"
# expect_500 NAME: the last answer was a 500 error; remember its request id.
expect_500() {
	expect_status "$1: 500" 500 "$STATUS"
	if error_shape_ok "$BODY"; then
		ok "$1: an error body"
		printf '%s\t%s\n' "$(jb .error.request_id)" "$1" >>"$DIR/500s"
	else
		fail "$1: an error body" "$(snip "$BODY")"
	fi
}

api GET "/v1/orders/$BAD" "${TOK[dep1]}"
expect_500 "order view"
api GET "/v1/orders/$BAD/label.pdf" "${TOK[dep1]}"
expect_500 "single label"
api POST /v1/labels "${TOK[dep1]}" -d "{\"tracking_nos\":[\"$GOOD\",\"$BAD\"]}"
expect_500 "batch of two, the second broken"
api POST /v1/labels "${TOK[dep1]}" -d "{\"tracking_nos\":[\"$BAD\"]}"
expect_500 "one-label batch"
api GET "/v1/orders/$BAD/delivery" "${TOK[c2]}"
expect_500 "delivery view"
api POST "/v1/orders/$BAD/status" "${TOK[dep1]}" -d '{"status":"picked_up"}'
expect_500 "status change (committed, its view cannot be made)"
api POST "/v1/orders/$BAD/assign" "${TOK[dep1]}" -d '{"courier":"c1"}'
expect_500 "reassignment (committed, its view cannot be made)"
check "setup: seven 500s seen" test "$(wc -l <"$DIR/500s")" -eq 7

audit_all "$DIR/audit.json" || fail "audit: readable" "HTTP $STATUS"
while IFS=$'\t' read -r rid what; do
	if jq -e --arg r "$rid" 'any(.[]; .request_id == $r and .result != "ok")' "$DIR/audit.json" >/dev/null; then
		ok "$what: the 500 is audited (request $rid, result not ok)"
	else
		fail "$what: the 500 is audited" "no entry with request id $rid and a result other than ok"
	fi
done <"$DIR/500s"
check "the single label's 500 names its order" \
	jq -e --arg t "$BAD" --arg r "$(sed -n 2p "$DIR/500s" | cut -f1)" \
	'any(.[]; .request_id == $r and .tracking_no == $t and .action == "label.print")' "$DIR/audit.json"
check "the batches' 500s name the broken order" \
	jq -e --arg t "$BAD" --arg a "$(sed -n 3p "$DIR/500s" | cut -f1)" --arg b "$(sed -n 4p "$DIR/500s" | cut -f1)" \
	'[.[] | select(.request_id == $a or .request_id == $b) | select(.tracking_no == $t and .action == "label.batch")] | length == 2' "$DIR/audit.json"
check "no label was counted: the good order of the failed batch is unprinted" \
	test "$(db_sql "SELECT print_count FROM orders WHERE tracking_no = '$GOOD'")" = 0
check "no label was counted: nor the broken one" \
	test "$(db_sql "SELECT print_count FROM orders WHERE tracking_no = '$BAD'")" = 0
check "no label entry says ok for the broken order" \
	jq -e --arg t "$BAD" '[.[] | select(.tracking_no == $t and (.action | test("^label")) and .result == "ok")] | length == 0' "$DIR/audit.json"

# The order next to it is untouched.
api GET "/v1/orders/$GOOD" "${TOK[dep1]}"
expect_status "the other order still reads: 200" 200 "$STATUS"
api GET "/v1/orders?limit=10" "${TOK[dep1]}"
expect_status "the list opens nothing, so the broken order does not break it: 200" 200 "$STATUS"
check "the list holds the broken order's summary" jq -e --arg t "$BAD" 'any(.orders[]; .tracking_no == $t)' "$BODY"

no_pii "error bodies" "$DIR/error_bodies"
no_pii "audit entries" "$DIR/audit.json"
no_pii "daemon log" "$DIR/log"
check "audit chain verifies" ctl audit verify
finish
