#!/bin/sh
# 70-calls: virtual numbers (docs/API.md "Virtual numbers"), the assigned
# courier's delivery view, and POST /v1/calls/route: courier -> recipient and
# recipient -> courier (only out for delivery or in the grace period),
# reassignment, delivery with and without a grace period, cancellation, the
# per-caller rate limit, pool metrics and pool exhaustion.  A route answers
# {forward_to, call_id} and nothing else; its audit entry holds the call id.
# No real phone may leave except as forward_to: not in another response, not
# in the log, not in the audit chain.  (The limits on sweeps: 75-call-limits.)
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

# The many 404s here are the test's own, not a sweep: miss_limit out of the way.
start_daemon --call-routes-per-hour 1000 --miss-limit 100000

A_PHONE=+8613912340001 # courier A, registered as "+86 139 1234 0001"
B_PHONE=+8613912340002 # courier B, registered as "139-1234-0002"
D_PHONE=+8613912340004 # courier D (rate-limit phase)
add_account ca courier d1 "+86 139 1234 0001" || die setup "account ca"
add_account cb courier d1 "139-1234-0002" || die setup "account cb"
add_account cd courier d1 "13912340004" || die setup "account cd"
TOK[cn]=$(ctl account add --name cn --role courier --depot d1) || die setup "account cn (no phone)"

ROUTES=0 # route requests made (each must be audited, bad phones and extensions too)
: >"$DIR/route_bodies"
# route CALLER CALLED [EXT]: POST /v1/calls/route as the telephony account.
route() {
	local data
	data=$(jq -nc --arg a "$1" --arg b "$2" --arg e "${3:-}" \
		'{caller: $a, called: $b} + (if $e == "" then {} else {extension: $e} end)')
	api POST /v1/calls/route "${TOK[tel1]}" -d "$data"
	case $STATUS in 200 | 404 | 422 | 429) ROUTES=$((ROUTES + 1)) ;; esac
	{ cat "$BODY"; echo; } >>"$DIR/route_bodies"
}
# create IDX [TOKEN]: POST fixture IDX; TN, VNUM, EXT of the answer.
create() {
	fixture "$1" >"$DIR/o.json"
	api POST /v1/orders "${TOK[${2:-c1}]}" "$DIR/o.json"
	TN=$(jb .tracking_no) VNUM=$(jb .virtual_number) EXT=$(jb .extension)
}
assign() {
	api POST "/v1/orders/$1/assign" "${TOK[dep1]}" -d "{\"courier\":\"$2\"}"
}
delivery() {
	api GET "/v1/orders/$1/delivery" "${TOK[$2]}"
}

# ---- create, assign ------------------------------------------------------------

# fixture 0: recipient 阿卜杜拉·买买提, 188-0636-0837, 江苏省镇江市京口区丁卯桥路457号26栋2单元703室
R_PHONE=+8618806360837
create 0
expect_status "create: 201" 201 "$STATUS"
check "create: a virtual number and a 4-digit extension" \
	bash -c '[[ $1 =~ ^[0-9]{11}$ && $2 =~ ^[0-9]{4}$ ]]' _ "$VNUM" "$EXT"
T1=$TN V1=$VNUM E1=$EXT
MASKED_NAME=$(jb .recipient.name)

route "$A_PHONE" "$V1" "$E1"
expect_status "route before any assignment: 404" 404 "$STATUS"
assign "$T1" cn
expect_error "assign to a courier without a phone" 422 "" courier
assign "$T1" c3
expect_error "assign to a courier of another depot" 422 "" courier
assign "$T1" ca
expect_status "assign to courier A: 200" 200 "$STATUS"
check "assign: the view names A and keeps the binding" \
	jq -e --arg v "$V1" --arg e "$E1" '.courier == "ca" and .virtual_number == $v and .extension == $e' "$BODY"

# ---- courier -> recipient ---------------------------------------------------------

CALL_ID='^[0-9a-f]{4}(-[0-9a-f]{4}){7}$'
: >"$DIR/call_ids"
for caller in "+86 139-1234-0001" "13912340001" "+8613912340001" "139 1234 0001"; do
	route "$caller" "$V1" "$E1"
	expect_status "route: A ($caller) + number + extension: 200" 200 "$STATUS"
	check "route: A ($caller): forward_to is the recipient in E.164, a call id, nothing else" \
		jq -e --arg p "$R_PHONE" --arg re "$CALL_ID" \
		'(keys == ["call_id", "forward_to"]) and .forward_to == $p and (.call_id | test($re))' "$BODY"
	jb .call_id >>"$DIR/call_ids"
done
check "route: every call id is new" test "$(sort -u "$DIR/call_ids" | wc -l)" -eq 4
route "$A_PHONE" "+86 ${V1:0:3} ${V1:3:4} ${V1:7}" "$E1"
expect_status "route: the called number spaced and with +86: 200" 200 "$STATUS"
route "$B_PHONE" "$V1" "$E1"
expect_status "route: B (not assigned) + number + extension: 404" 404 "$STATUS"
route "+8613912340099" "$V1" "$E1"
expect_status "route: an unknown caller: 404" 404 "$STATUS"
route "$A_PHONE" "$V1" "$(printf '%04d' $(((10#$E1 + 1) % 10000)))"
expect_status "route: A with another extension: 404" 404 "$STATUS"
route "$A_PHONE" "17099999999" "$E1"
expect_status "route: A with a number outside the pool: 404" 404 "$STATUS"

# ---- recipient -> courier ---------------------------------------------------------

# The call back reaches the courier only once the parcel is out for delivery.
route "$R_PHONE" "$V1"
expect_status "route: recipient, order created (not out for delivery): 404" 404 "$STATUS"
set_status "${TOK[ca]}" "$T1" picked_up in_transit
route "$R_PHONE" "$V1"
expect_status "route: recipient, order in transit (not out for delivery): 404" 404 "$STATUS"
set_status "${TOK[ca]}" "$T1" out_for_delivery
expect_status "A sets out_for_delivery" 200 "$STATUS"
for caller in "188-0636-0837" "+86 188 0636 0837" "18806360837" "+8618806360837"; do
	route "$caller" "$V1"
	expect_status "route: recipient ($caller), no extension, out for delivery: 200" 200 "$STATUS"
	check "route: recipient ($caller): forward_to is courier A, a call id, nothing else" \
		jq -e --arg p "$A_PHONE" --arg re "$CALL_ID" \
		'(keys == ["call_id", "forward_to"]) and .forward_to == $p and (.call_id | test($re))' "$BODY"
	jb .call_id >>"$DIR/call_ids"
done
route "$R_PHONE" "17099999999"
expect_status "route: recipient calling another number: 404" 404 "$STATUS"
route "+8618806360838" "$V1"
expect_status "route: a stranger calling the number: 404" 404 "$STATUS"
route "$R_PHONE" "$V1" "$E1"
expect_status "route: recipient with the extension (as if a courier): 404" 404 "$STATUS"

# ---- malformed and forbidden ---------------------------------------------------------

for body in '{"caller":"hello","called":"17000000000"}' '{"caller":"13912340001","called":"x"}' \
	'{"caller":"13912340001","called":"17000000000","extension":"12"}' \
	'{"caller":"13912340001"}' '{"caller":"13912340001","called":"17000000000","x":1}'; do
	api POST /v1/calls/route "${TOK[tel1]}" -d "$body"
	expect_status "route: malformed $body: 400|422" "400|422" "$STATUS"
	# a bad phone or extension is a route request and is audited; a bad body is not
	case $(jb '.error.code') in invalid_phone | invalid_extension) ROUTES=$((ROUTES + 1)) ;; esac
done
for who in c1 ca dep1 adm1 aud1; do
	api POST /v1/calls/route "${TOK[$who]}" -d "{\"caller\":\"$A_PHONE\",\"called\":\"$V1\",\"extension\":\"$E1\"}"
	expect_status "route as $who: 403" 403 "$STATUS"
	check "route as $who: no phone in the answer" bash -c '! grep -q "forward_to" "$1"' _ "$BODY"
done

# ---- the delivery view ------------------------------------------------------------

delivery "$T1" ca
expect_status "delivery view as A: 200" 200 "$STATUS"
check "delivery view: full street address, masked name, binding, expires_at null" \
	jq -e --arg n "$MASKED_NAME" --arg v "$V1" --arg e "$E1" --arg t "$T1" '
	.tracking_no == $t and .recipient.address == "江苏省镇江市京口区丁卯桥路457号26栋2单元703室"
	and .recipient.name_masked == $n and .virtual_number == $v and .extension == $e
	and .expires_at == null' "$BODY"
check "delivery view: no phone and no name in clear" \
	bash -c '! grep -Eq "phone|阿卜杜拉|买买提|0636|0837" "$1"' _ "$BODY"
for who in cb c1; do
	delivery "$T1" "$who"
	expect_status "delivery view as $who (not assigned): 404" 404 "$STATUS"
done
for who in dep1 adm1 tel1; do
	delivery "$T1" "$who"
	expect_status "delivery view as $who: 403" 403 "$STATUS"
done
# a municipality: province and city are one
T_MUNI=
for i in $(seq 2 60); do
	if fixture "$i" | jq -e '.recipient.province == .recipient.city' >/dev/null; then
		create "$i"
		T_MUNI=$TN
		MUNI=$(fixture "$i" | jq -r '.recipient | [.province, .city, .district, .address] | @tsv')
		break
	fi
done
if [ -n "$T_MUNI" ]; then
	assign "$T_MUNI" ca
	delivery "$T_MUNI" ca
	IFS=$'\t' read -r p c d a <<<"$MUNI"
	check "delivery view of a municipality order: province, district and the full address" \
		jq -e --arg p "$p" --arg c "$c" --arg d "$d" --arg a "$a" \
		'.recipient.address == ($p + $d + $a) or .recipient.address == ($p + $c + $d + $a)' "$BODY"
fi

# ---- reassignment ---------------------------------------------------------------

assign "$T1" cb
expect_status "reassign to B: 200" 200 "$STATUS"
V2=$(jb .virtual_number) E2=$(jb .extension)
check "reassign: a new extension (or number) for the new courier" test "$V2:$E2" != "$V1:$E1"
route "$A_PHONE" "$V1" "$E1"
expect_status "route: A with the old extension after reassignment: 404" 404 "$STATUS"
route "$B_PHONE" "$V1" "$E1"
expect_status "route: B with the old extension: 404" 404 "$STATUS"
route "$A_PHONE" "$V2" "$E2"
expect_status "route: A with the new extension: 404" 404 "$STATUS"
route "+86 139 1234 0002" "$V2" "$E2"
expect_status "route: B with the new extension: 200" 200 "$STATUS"
check "route: B: forward_to the recipient" jq -e --arg p "$R_PHONE" '.forward_to == $p' "$BODY"
route "$R_PHONE" "$V2"
expect_status "route: recipient calls the new number: 200" 200 "$STATUS"
check "route: recipient now reaches B" jq -e --arg p "$B_PHONE" '.forward_to == $p' "$BODY"
delivery "$T1" ca
expect_status "delivery view as A after reassignment: 404" 404 "$STATUS"
delivery "$T1" cb
check "delivery view as B: the new binding" \
	jq -e --arg v "$V2" --arg e "$E2" '.virtual_number == $v and .extension == $e' "$BODY"
api GET "/v1/orders/$T1" "${TOK[dep1]}"
check "order view: the new binding" \
	jq -e --arg v "$V2" --arg e "$E2" '.virtual_number == $v and .extension == $e' "$BODY"

# ---- delivered, default grace (24 h) ----------------------------------------------

set_status "${TOK[cb]}" "$T1" delivered
expect_status "deliver as B: 200" 200 "$STATUS"
route "$B_PHONE" "$V2" "$E2"
expect_status "route after delivery, 24 h grace: 200" 200 "$STATUS"
route "$R_PHONE" "$V2"
expect_status "route: recipient after delivery, 24 h grace: 200" 200 "$STATUS"
delivery "$T1" cb
check "delivery view after delivery: expires_at about 24 h ahead" \
	jq -e --arg v "$V2" --argjson now "$(date +%s)" '.virtual_number == $v and (.expires_at | type == "string")
		and ((.expires_at | fromdateiso8601) - $now | . > 23 * 3600 and . < 25 * 3600)' "$BODY"

# ---- cancelled: at once ----------------------------------------------------------

create 3
T3=$TN V3=$VNUM E3=$EXT R3=$(fixture 3 | jq -r .recipient.phone)
assign "$T3" ca
route "$A_PHONE" "$V3" "$E3"
expect_status "route before cancellation: 200" 200 "$STATUS"
set_status "${TOK[dep1]}" "$T3" cancelled
expect_status "cancel: 200" 200 "$STATUS"
route "$A_PHONE" "$V3" "$E3"
expect_status "route right after cancellation: 404" 404 "$STATUS"
route "$R3" "$V3"
expect_status "route: recipient right after cancellation: 404" 404 "$STATUS"
delivery "$T3" ca
check "delivery view of a cancelled order: no binding" \
	jq -e '.virtual_number == null and .extension == null and .expires_at == null' "$BODY"
create 4
T4=$TN V4=$VNUM E4=$EXT
assign "$T4" ca
set_status "${TOK[ca]}" "$T4" picked_up returned
route "$A_PHONE" "$V4" "$E4"
expect_status "route right after a return: 404" 404 "$STATUS"

# ---- grace 0: delivered ends the binding at once -------------------------------------

stop_daemon "sigterm exits 0 (before --vnum-grace-hours 0)"
daemon_up --vnum-grace-hours 0 --call-routes-per-hour 1000 --miss-limit 100000 ||
	die restart "waybilld did not come back"
create 5
T5=$TN V5=$VNUM E5=$EXT R5=$(fixture 5 | jq -r .recipient.phone)
assign "$T5" ca
route "$A_PHONE" "$V5" "$E5"
expect_status "grace 0: route before delivery: 200" 200 "$STATUS"
set_status "${TOK[ca]}" "$T5" picked_up in_transit out_for_delivery delivered
expect_status "grace 0: delivered" 200 "$STATUS"
route "$A_PHONE" "$V5" "$E5"
expect_status "grace 0: route right after delivery: 404" 404 "$STATUS"
route "$R5" "$V5"
expect_status "grace 0: recipient right after delivery: 404" 404 "$STATUS"
delivery "$T5" ca
expect_status "grace 0: delivery view still answers" 200 "$STATUS"
check "grace 0: delivery view has virtual_number null" \
	jq -e '.virtual_number == null and .extension == null' "$BODY"
# the order delivered under the 24 h grace keeps its binding across the restart
route "$B_PHONE" "$V2" "$E2"
expect_status "a binding ended with 24 h grace survives a restart: 200" 200 "$STATUS"

# ---- rate limit: call_routes_per_hour 5 ---------------------------------------------

stop_daemon "sigterm exits 0 (before --call-routes-per-hour 5)"
daemon_up --call-routes-per-hour 5 || die restart "waybilld did not come back"
create 6
T6=$TN V6=$VNUM E6=$EXT
assign "$T6" cd
codes=
for k in 1 2 3 4 5; do
	route "+8613700000000" "$V6" "$E6"
	codes="$codes$STATUS "
done
check "rate limit: 5 routes from one caller answered (404s: $codes)" test "$codes" = "404 404 404 404 404 "
route "+86 137 0000 0000" "$V6" "$E6"
expect_error "rate limit: the 6th route from that caller (another notation)" 429 ""
route "13700000000" "$V6"
expect_status "rate limit: the 7th, without extension: 429" 429 "$STATUS"
route "$D_PHONE" "$V6" "$E6"
expect_status "rate limit: another caller is still answered" 200 "$STATUS"
check "rate limit: and forwarded to the recipient" jq -e '.forward_to == "+8619040901610"' "$BODY"
for k in 2 3 4 5; do route "$D_PHONE" "$V6" "$E6"; done
expect_status "rate limit: D's 5th route: 200" 200 "$STATUS"
route "$D_PHONE" "$V6" "$E6"
expect_status "rate limit: D's 6th route: 429" 429 "$STATUS"
check "rate limit: a 429 carries no phone" bash -c '! grep -q forward_to "$1"' _ "$BODY"

# ---- pool: metrics and exhaustion ------------------------------------------------------

stop_daemon "sigterm exits 0 (before --vnum-pool 17000000000)"
daemon_up --vnum-pool 17000000000 --vnum-quarantine-days 0 --purge-interval-s 1 ||
	die restart "waybilld did not come back"
# The database's clock in seconds, in the backend's SQL.
NOW_SQL="CAST(strftime('%s','now') AS INTEGER)"
is_pg && NOW_SQL="extract(epoch from now())::bigint"
held() {
	db_sql "select count(*) from vnum_bindings where vnum = '17000000000' and released = 0" 2>/dev/null
}
active_all() {
	db_sql "select count(*) from vnum_bindings where released = 0 and
		(active_until is null or active_until > $NOW_SQL)" 2>/dev/null
}
act=$(metric waybill_vnum_bindings_active)
cap=$(metric waybill_vnum_free_capacity)
h=$(held)
check "metrics: waybill_vnum_bindings_active ($act) counts the live bindings ($(active_all))" test "$act" = "$(active_all)"
check "metrics: waybill_vnum_free_capacity ($cap) = 10000 x 1 number - held on it ($h)" test "$cap" -eq $((10000 - h))
# two orders of one recipient on the one number: a call back is ambiguous
create 7
T7=$TN
fixture 7 | jq -c '.client_order_id = "again-7"' >"$DIR/o7b.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o7b.json"
T7B=$(jb .tracking_no)
assign "$T7" ca
assign "$T7B" cb
check "one pool number: both orders on 17000000000" test "$(jb .virtual_number)" = 17000000000
route "$(fixture 7 | jq -r .recipient.phone)" 17000000000
expect_status "recipient with two live bindings on one number: 404 (not exactly one)" 404 "$STATUS"
check "metrics: active +2, free capacity -2" \
	test "$(metric waybill_vnum_bindings_active)" -eq $((act + 2)) -a "$(metric waybill_vnum_free_capacity)" -eq $((cap - 2))

# exhaust it: as many orders as there are free extensions, in parallel
FREE=$(metric waybill_vnum_free_capacity)
mkdir -p "$DIR/fill"
t0=$(date +%s.%N)
for r in $(seq 0 $((FREE / 500))); do
	jq -c --arg r "$r" '.client_order_id = "fill-\($r)-" + .client_order_id' "$FIXTURES"
done | head -n "$FREE" | awk -v d="$DIR/fill/in" 'BEGIN { system("mkdir -p " d) }
	{ f = d "/" (NR - 1) ".json"; print > f; close(f) }'
seq 0 $((FREE - 1)) | sed 's|$| /v1/orders|' | bulk POST "${TOK[c2]}" "$DIR/fill/out" "$DIR/fill/in"
t1=$(date +%s.%N)
n201=$(awk '$2 == 201' "$DIR/fill/out.codes" | wc -l)
echo "# filled $FREE extensions with $n201 orders in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
check "exhaust: all $FREE orders created (201)" test "$n201" -eq "$FREE"
check "metrics: free capacity 0" test "$(metric waybill_vnum_free_capacity)" -eq 0
fixture 8 >"$DIR/o8.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o8.json"
expect_error "exhausted pool: the next order" 503 vnum_pool_exhausted
no_pii "exhausted pool: the error body" "$BODY"
assign "$T7B" ca
expect_error "exhausted pool: reassignment (needs a new extension)" 503 vnum_pool_exhausted
api GET "/v1/orders/$T7B" "${TOK[dep1]}"
check "exhausted pool: the refused reassignment changed nothing (courier B, same binding)" \
	jq -e '.courier == "cb" and .virtual_number == "17000000000"' "$BODY"
B7EXT=$(jb .extension)
route "$B_PHONE" 17000000000 "$B7EXT"
expect_status "exhausted pool: B still routes through the old binding" 200 "$STATUS"
set_status "${TOK[dep1]}" "$T7" cancelled
expect_status "exhausted pool: cancel one order" 200 "$STATUS"
# quarantine 0: the extension is free once the housekeeping sweep has run
if wait_until 15 bash -c '[ "$(curl -s "$1/metrics" | awk "\$1 == \"waybill_vnum_free_capacity\" { print \$2 }")" = 1 ]' _ "$URL"; then
	ok "exhausted pool: the cancelled order's extension comes back (free capacity 1)"
else
	fail "exhausted pool: the cancelled order's extension comes back" "free capacity $(metric waybill_vnum_free_capacity)"
fi
api POST /v1/orders "${TOK[c1]}" "$DIR/o8.json"
expect_status "exhausted pool: the refused order goes through now (201, not a repeat)" 201 "$STATUS"
check "it takes the freed number" test "$(jb .virtual_number)" = 17000000000

# ---- no real phone leaks ----------------------------------------------------------------

# every notation of the couriers' phones, the callers' and every fixture phone
{ echo "$A_PHONE $B_PHONE $D_PHONE +8613700000000" | tr ' ' '\n'
  jq -r '.recipient.phone, .sender.phone' "$FIXTURES"; } | phone_forms >"$DIR/phones"
check "phone patterns: the registered notations are among them" grep -qxF "139-1234-0002" "$DIR/phones"
fixtures_pii "$DIR/pii"
cat "$DIR/phones" "$DIR/pii" | sort -u >"$DIR/pii+phones"
grep -v '"forward_to"' "$DIR/bodies" >"$DIR/bodies.noroute"
grep_pii "no real phone in any answer but forward_to" "$DIR/phones" "$DIR/bodies.noroute"
check "route answers are only {forward_to, call_id} or an error" \
	jq -se 'all(.[]; (keys == ["call_id", "forward_to"]) or (keys == ["error"]))' "$DIR/route_bodies"
check "no route answer holds a tracking number" \
	bash -c '! grep -aqE "WB[0-9]{18}" "$1"' _ "$DIR/route_bodies"
grep_pii "no phone (nor any fixture name or address) in the daemon log" "$DIR/pii+phones" "$DIR/log"
audit_export "$DIR/audit.jsonl"
# Each call id handed out is in the audit entry of its route, next to the order.
n_ids=0
while read -r cid; do
	n_ids=$((n_ids + 1))
	jq -se --arg r "call_id=$cid" --arg t "$T1" \
		'any(.[]; .action == "call.route" and .result == "ok" and .reason == $r and .tracking_no == $t)' \
		"$DIR/audit.jsonl" >/dev/null || { fail "call id $cid: in the audit entry of its route, with the tracking number"; continue; }
	ok "call id ${cid:0:9}...: in the audit entry of its route, with the tracking number"
done <"$DIR/call_ids"
check "call ids: eight of them checked" test "$n_ids" -eq 8
grep_pii "no phone (nor any fixture name or address) in the audit chain" "$DIR/pii+phones" "$DIR/audit.jsonl"
got=$(jq -s '[.[] | select(.action == "call.route")] | length' "$DIR/audit.jsonl")
# the 403s above are audited as call.route too (denied attempts)
check "every route request audited: $got call.route entries for $ROUTES requests (+5 denied)" \
	test "$got" -eq $((ROUTES + 5))
check "call.route entries carry no phone field" \
	jq -se '[.[] | select(.action == "call.route") | .reason // "" | test("[0-9]{7}")] | any | not' "$DIR/audit.jsonl"
check "audit chain verifies" ctl audit verify
# A binding that can route no call again (ended at once, or released after its
# rest) keeps no phone hash; open ones and delivered ones in grace keep theirs.
kept=$(db_sql "SELECT count(*) FROM vnum_bindings WHERE
	recipient_index IS NOT NULL AND (released = 1 OR active_until <= $NOW_SQL)")
ended=$(db_sql "SELECT count(*) FROM vnum_bindings WHERE
	released = 1 OR active_until <= $NOW_SQL")
open=$(db_sql "SELECT count(*) FROM vnum_bindings WHERE
	active_until IS NULL AND recipient_index IS NOT NULL")
check "bindings that route no more keep no phone hash ($ended of them; $open open ones keep theirs)" \
	test "$kept" = 0 -a "$ended" -gt 0 -a "$open" -gt 0
echo "# run time $(elapsed) s"
finish
