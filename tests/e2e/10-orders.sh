#!/bin/sh
# 10-orders: the order lifecycle over HTTP - create, read, list and page,
# idempotency (also under concurrency), assign, the state machine, metrics,
# a SIGTERM that drains a request in flight, and a restart.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
CREATED=0 # 201s seen, for /metrics

# post TOKEN FILE [-H HDR]...: POST /v1/orders; counts 201s.
post() {
	local token=$1 file=$2
	shift 2
	api "$@" POST /v1/orders "$token" "$file"
	[ "$STATUS" = 201 ] && CREATED=$((CREATED + 1))
}

# ---- create -------------------------------------------------------------------

fixture 0 >"$DIR/o0.json"
post "${TOK[c1]}" "$DIR/o0.json"
expect_status "create: 201" 201 "$STATUS"
cp "$BODY" "$DIR/view0.json"
TN=$(jb .tracking_no)
check "create: tracking_no is WB + 18 digits" grep -Eq '^WB[0-9]{18}$' <<<"$TN"
check "create: tracking_no MOD 97-10 check digits verify" tn_check "$TN"
check "create: status created, depot d1, no courier" \
	jq -e '.status == "created" and .depot == "d1" and .courier == null' "$BODY"
check "create: created_at is UTC ISO 8601" \
	jq -e '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$BODY"
check "create: view has the API.md fields" jq -e '
	(["tracking_no","status","depot","courier","created_at","sender","recipient","parcel",
	  "virtual_number","extension"] - keys == [])
	and ((.sender | keys) == ["name","phone","region"])
	and ((.recipient | keys) == ["address","name","phone","region"])
	and ((.parcel | keys) == ["count","weight_g"])' "$BODY"
check "create: view holds no note, items, client_order_id or row id" \
	jq -e '[.. | objects | keys[]] | any(. == "note" or . == "items" or . == "client_order_id" or . == "id") | not' "$BODY"
check "create: parcel weight and count as submitted" \
	jq -e --slurpfile o "$DIR/o0.json" '.parcel.weight_g == $o[0].parcel.weight_g and .parcel.count == $o[0].parcel.count' "$BODY"
check "create: regions from the order" jq -e '.sender.region == "广东省深圳市宝安区" and .recipient.region == "江苏省镇江市京口区"' "$BODY"

# ---- read back ------------------------------------------------------------------

for who in c1 dep1 adm1; do
	api GET "/v1/orders/$TN" "${TOK[$who]}"
	expect_status "read as $who: 200" 200 "$STATUS"
	check "read as $who: same view as created" \
		jq -e --slurpfile v "$DIR/view0.json" '. == $v[0]' "$BODY"
done
for who in c2 c3 dep2; do
	api GET "/v1/orders/$TN" "${TOK[$who]}"
	expect_status "read as $who (not theirs): 404" 404 "$STATUS"
done

# ---- idempotency ----------------------------------------------------------------

post "${TOK[c1]}" "$DIR/o0.json"
expect_status "repeat client_order_id: 200" 200 "$STATUS"
check "repeat client_order_id: same tracking_no" jq -e --arg tn "$TN" '.tracking_no == $tn' "$BODY"
jq -c '.parcel.weight_g += 1' "$DIR/o0.json" >"$DIR/o0b.json"
post "${TOK[c1]}" "$DIR/o0b.json"
expect_error "same client_order_id, other body" 409 idempotency_conflict
post "${TOK[c1]}" "$DIR/o0.json" -H "Idempotency-Key: $(jq -r .client_order_id "$DIR/o0.json")"
expect_status "client_order_id plus the same Idempotency-Key: 200" 200 "$STATUS"
check "client_order_id plus the same Idempotency-Key: same tracking_no" jq -e --arg tn "$TN" '.tracking_no == $tn' "$BODY"
post "${TOK[c2]}" "$DIR/o0.json"
expect_status "same client_order_id from another account: 201" 201 "$STATUS"
check "same client_order_id from another account: a new tracking_no" jq -e --arg tn "$TN" '.tracking_no != $tn' "$BODY"
TNC2=$(jb .tracking_no)

fixture 1 | jq -c 'del(.client_order_id)' >"$DIR/o1.json"
post "${TOK[c1]}" "$DIR/o1.json" -H "Idempotency-Key: e2e-key-1"
expect_status "Idempotency-Key only: 201" 201 "$STATUS"
TN1=$(jb .tracking_no)
post "${TOK[c1]}" "$DIR/o1.json" -H "Idempotency-Key: e2e-key-1"
expect_status "Idempotency-Key repeat: 200" 200 "$STATUS"
check "Idempotency-Key repeat: same tracking_no" jq -e --arg tn "$TN1" '.tracking_no == $tn' "$BODY"
jq -c '.parcel.count = 7' "$DIR/o1.json" >"$DIR/o1b.json"
post "${TOK[c1]}" "$DIR/o1b.json" -H "Idempotency-Key: e2e-key-1"
expect_error "Idempotency-Key, other body" 409 idempotency_conflict
post "${TOK[c1]}" "$DIR/o1.json"
expect_status "same body without a key: a new order (201)" 201 "$STATUS"
check "same body without a key: a new tracking_no" jq -e --arg tn "$TN1" '.tracking_no != $tn' "$BODY"
TN1B=$(jb .tracking_no)

# ---- more orders: d1 by c1, d2 by c3 ----------------------------------------------

D1=("$TN" "$TN1" "$TN1B") # orders of depot d1 made above by c1
for i in $(seq 2 13); do
	fixture "$i" >"$DIR/o$i.json"
	post "${TOK[c1]}" "$DIR/o$i.json"
	[ "$STATUS" = 201 ] || fail "create fixture $i" "HTTP $STATUS"
	D1+=("$(jb .tracking_no)")
done
D2=()
for i in 14 15 16; do
	fixture "$i" >"$DIR/o$i.json"
	post "${TOK[c3]}" "$DIR/o$i.json"
	[ "$STATUS" = 201 ] || fail "create fixture $i as c3" "HTTP $STATUS"
	check "c3's order belongs to depot d2" jq -e '.depot == "d2"' "$BODY"
	D2+=("$(jb .tracking_no)")
done

# ---- assign ---------------------------------------------------------------------

TA=${D1[2]}
TB=${D1[3]}
api GET "/v1/orders/$TA" "${TOK[c2]}"
expect_status "c2 cannot read TA before assignment" 404 "$STATUS"
api POST "/v1/orders/$TA/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
expect_status "assign TA to c2: 200" 200 "$STATUS"
check "assign: view names courier c2" jq -e --arg tn "$TA" '.courier == "c2" and .tracking_no == $tn' "$BODY"
api POST "/v1/orders/$TA/assign" "${TOK[dep1]}" -d '{"courier":"nobody"}'
expect_error "assign to an unknown courier" 422 "" courier
api POST "/v1/orders/$TA/assign" "${TOK[dep1]}" -d '{"courier":"c3"}'
expect_error "assign to a courier of another depot" 422 "" courier
api POST "/v1/orders/$TA/assign" "${TOK[dep1]}" -d '{"courier":"dep1"}'
expect_error "assign to a depot account" 422 "" courier
api GET "/v1/orders/$TA" "${TOK[dep1]}"
check "failed assigns left courier c2" jq -e '.courier == "c2"' "$BODY"
api POST "/v1/orders/$TB/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
expect_status "assign TB to c2: 200" 200 "$STATUS"

api GET "/v1/orders/$TA" "${TOK[c2]}"
expect_status "assigned courier c2 reads TA" 200 "$STATUS"
api GET "/v1/orders/$TA" "${TOK[c1]}"
expect_status "creator c1 (not assigned) still reads TA" 200 "$STATUS"
check "c1 sees courier c2" jq -e '.courier == "c2"' "$BODY"

# ---- status transitions ---------------------------------------------------------

# set TN WHO STATUS WANT NAME
set_status() {
	api POST "/v1/orders/$1/status" "${TOK[$2]}" -d "{\"status\":\"$3\"}"
	expect_status "$5" "$4" "$STATUS"
	if [ "$STATUS" = 200 ]; then
		check "$5: view shows $3" jq -e --arg s "$3" '.status == $s' "$BODY"
	elif [ "$4" = 409 ]; then
		error_shape_ok || fail "$5: error body" "$(cat "$BODY")"
	fi
}
set_status "$TA" c1 picked_up 404 "creator c1 (not assigned) may not set status"
set_status "$TA" c2 picked_up 200 "created -> picked_up by assigned c2"
set_status "$TA" c2 out_for_delivery 409 "picked_up -> out_for_delivery (skips a step)"
set_status "$TA" c2 created 409 "picked_up -> created (backwards)"
set_status "$TA" c2 picked_up 409 "picked_up -> picked_up (same)"
set_status "$TA" c2 in_transit 200 "picked_up -> in_transit"
set_status "$TA" dep1 out_for_delivery 200 "in_transit -> out_for_delivery by depot"
set_status "$TA" c2 delivered 200 "out_for_delivery -> delivered"
for s in cancelled returned picked_up in_transit out_for_delivery delivered created; do
	set_status "$TA" c2 "$s" 409 "delivered -> $s refused"
done
api POST "/v1/orders/$TA/assign" "${TOK[dep1]}" -d '{"courier":"c1"}'
expect_status "assign a delivered order: 409" 409 "$STATUS"

set_status "$TB" c2 picked_up 200 "TB created -> picked_up"
set_status "$TB" c2 in_transit 200 "TB picked_up -> in_transit"
set_status "$TB" c2 cancelled 200 "TB in_transit -> cancelled"
set_status "$TB" c2 in_transit 409 "TB cancelled -> in_transit refused"
set_status "$TB" dep1 returned 409 "TB cancelled -> returned refused"

TC=${D1[4]}
set_status "$TC" dep1 returned 200 "TC created -> returned by depot"
set_status "$TC" dep1 cancelled 409 "TC returned -> cancelled refused"
TD=${D1[5]}
set_status "$TD" dep1 picked_up 200 "TD created -> picked_up by depot"

api POST "/v1/orders/$TD/status" "${TOK[dep1]}" -d '{"status":"lost"}'
expect_error "unknown status" 422 unknown_status status
api POST "/v1/orders/$TD/status" "${TOK[dep1]}" -d '{"status":""}'
expect_status "empty status: 422" 422 "$STATUS"
api POST "/v1/orders/$TD/status" "${TOK[dep1]}" -d '{"status":7}'
expect_status "status not a string: 422" 422 "$STATUS"
api POST "/v1/orders/$TD/status" "${TOK[dep2]}" -d '{"status":"in_transit"}'
expect_status "depot of another depot sets status: 404" 404 "$STATUS"
api GET "/v1/orders/$TD" "${TOK[dep1]}"
check "TD still picked_up after the refused changes" jq -e '.status == "picked_up"' "$BODY"

# ---- list and paging ------------------------------------------------------------

# list TOKEN QUERY: every page of GET /v1/orders?QUERY, tracking_nos to $DIR/list,
# page sizes to $DIR/pages; returns 1 on a non-200 or a broken cursor.
list_all() {
	local token=$1 q=$2 after="" n=0
	: >"$DIR/list"
	: >"$DIR/pages"
	while :; do
		api GET "/v1/orders?$q${after:+&after=$after}" "$token"
		[ "$STATUS" = 200 ] || { echo "HTTP $STATUS" >&2; return 1; }
		jq -r '.orders[].tracking_no' "$BODY" >>"$DIR/list"
		jq -r '.orders | length' "$BODY" >>"$DIR/pages"
		local next last
		next=$(jb '.next // ""')
		[ -z "$next" ] && return 0
		last=$(jb '.orders[-1].tracking_no')
		[ "$next" = "$last" ] || { echo "next $next is not the last item $last" >&2; return 1; }
		after=$next
		n=$((n + 1))
		[ "$n" -lt 100 ] || return 1
	done
}

sorted() { printf '%s\n' "$@" | sort; }

check "list as dep1, limit=5: every page 200, next = last item" list_all "${TOK[dep1]}" "limit=5"
check "list as dep1: pages hold at most 5" awk '$1 > 5 { exit 1 }' "$DIR/pages"
check "list as dep1: more than one page" test "$(wc -l <"$DIR/pages")" -gt 1
check "list as dep1: pages do not overlap" test -z "$(sort "$DIR/list" | uniq -d)"
sort "$DIR/list" >"$DIR/list.dep1"
# d1 holds D1 plus c2's order made with fixture 0's client_order_id (TNC2).
check "list as dep1: exactly the d1 orders" test "$(wc -l <"$DIR/list.dep1")" -eq $((${#D1[@]} + 1))
check "list as dep1: every d1 order listed" test -z "$(comm -23 <(sorted "${D1[@]}") "$DIR/list.dep1")"
check "list as dep1: no d2 order" test -z "$(comm -12 <(sorted "${D2[@]}") "$DIR/list.dep1")"
check "list: every item is a summary (no sender, no recipient)" jq -e '.orders | all((has("sender") or has("recipient") | not) and has("destination") and .depot == "d1")' "$BODY"

check "list as dep2, limit=2: pages" list_all "${TOK[dep2]}" "limit=2"
check "list as dep2: exactly the d2 orders" test "$(sort "$DIR/list")" = "$(sorted "${D2[@]}")"

check "list as c2: pages" list_all "${TOK[c2]}" "limit=200"
check "list as c2: its own order and the two assigned to it" \
	test "$(sort "$DIR/list")" = "$(sorted "$TNC2" "$TA" "$TB")"
check "list as c3: pages" list_all "${TOK[c3]}" ""
check "list as c3: only its own three" test "$(sort "$DIR/list")" = "$(sorted "${D2[@]}")"

check "list as dep1 status=picked_up" list_all "${TOK[dep1]}" "status=picked_up&limit=1"
check "status filter: only TD is picked_up" test "$(cat "$DIR/list")" = "$TD"
check "list as dep1 status=delivered" list_all "${TOK[dep1]}" "status=delivered"
check "status filter: only TA is delivered" test "$(cat "$DIR/list")" = "$TA"
check "list as dep1 status=created" list_all "${TOK[dep1]}" "status=created&limit=3"
check "status filter created: the rest" test "$(wc -l <"$DIR/list")" -eq $((${#D1[@]} + 1 - 4))
api GET "/v1/orders?status=created&limit=200" "${TOK[dep1]}"
check "status filter created: every item has status created" jq -e '.orders | length > 0 and all(.status == "created")' "$BODY"

api GET "/v1/orders?limit=0" "${TOK[dep1]}"
expect_status "limit=0: 400" 400 "$STATUS"
api GET "/v1/orders?limit=201" "${TOK[dep1]}"
expect_status "limit=201: 400" 400 "$STATUS"
api GET "/v1/orders?status=lost" "${TOK[dep1]}"
expect_status "unknown status filter: 400" 400 "$STATUS"
api GET "/v1/orders?after=WB0000000000000000000" "${TOK[dep1]}"
expect_status "malformed after cursor: 400" 400 "$STATUS"

# ---- metrics --------------------------------------------------------------------

curl -s "$URL/metrics" >"$DIR/metrics"
check "metrics: waybill_http_requests_total present" grep -q '^waybill_http_requests_total{' "$DIR/metrics"
got=$(awk '/^waybill_http_requests_total\{method="POST",route="\/v1\/orders",code="201"\}/ { print $2 }' "$DIR/metrics")
if [ "${got:-0}" = "$CREATED" ]; then ok "metrics: POST /v1/orders 201 counts $CREATED"; else fail "metrics: POST /v1/orders 201" "want $CREATED, got ${got:-none}"; fi
got=$(awk '$1 == "waybill_orders_created_total" { print $2 }' "$DIR/metrics")
if [ "${got:-x}" = "$CREATED" ]; then ok "metrics: waybill_orders_created_total = $CREATED"; else fail "metrics: waybill_orders_created_total" "want $CREATED, got ${got:-none}"; fi
got=$(awk '/^waybill_http_requests_total\{method="POST",route="\/v1\/orders",code="409"\}/ { print $2 }' "$DIR/metrics")
check "metrics: the two idempotency conflicts counted as 409" test "${got:-0}" = 2
# Every metric docs/openapi.yaml names is exported, and the write path's counters add up.
missing=
names=$(sed -n '/^  \/metrics:/,/^  \/v1/p' docs/openapi.yaml | grep -o '`waybill_[a-z_]*' | tr -d '`' | sort -u)
check "metrics: docs/openapi.yaml names the metrics ($(echo "$names" | wc -l) of them)" test "$(echo "$names" | wc -l)" -ge 12
for m in $names; do
	grep -Eq "^$m(_bucket|_count|_sum)?[ {]" "$DIR/metrics" || missing="$missing $m"
done
check "metrics: every name docs/openapi.yaml lists is exported (missing:${missing:- none})" test -z "$missing"
jobs=$(awk '$1 == "waybill_store_jobs_total" { print $2 }' "$DIR/metrics")
pages=$(awk '$1 == "waybill_store_wal_pages_total" { print $2 }' "$DIR/metrics")
reruns=$(awk '$1 == "waybill_store_batch_reruns_total" { print $2 }' "$DIR/metrics")
if is_pg; then
	# PostgreSQL's WAL is the server's, shared by every daemon: not counted here.
	echo "skip on PostgreSQL: waybill_store_wal_pages_total counts SQLite's log pages"
	check "metrics: the log's pages are 0 on PostgreSQL (${pages:-none})" test "${pages:-x}" = 0
else
	check "metrics: the log's pages ($pages) at least one per write ($jobs), under 50 each" \
		test "${pages:-0}" -ge "${jobs:-1}" -a "${pages:-0}" -lt $((${jobs:-0} * 50))
fi
# The idempotency conflicts fail before writing: no batch needed a second run.
check "metrics: no batch was run again (reruns ${reruns:-none})" test "${reruns:-x}" = 0
commits=$(awk '$1 == "waybill_store_commits_total" { print $2 }' "$DIR/metrics")
check "metrics: the commit-duration histogram counts every commit ($commits), its buckets never fall" \
	awk -v want="$commits" '
		/^waybill_store_commit_duration_seconds_bucket/ { if ($2 < last) bad = 1; last = $2; n++ }
		/^waybill_store_commit_duration_seconds_count/ { count = $2 }
		END { exit !(n == 10 && !bad && count == want && last == want && want > 0) }' "$DIR/metrics"

# ---- concurrent repeats ------------------------------------------------------------

# Ten copies of one new order at once: one is created, nine are repeats of it.
mkdir -p "$DIR/same"
fixture 20 >"$DIR/same/0.json"
for i in $(seq 1 9); do cp "$DIR/same/0.json" "$DIR/same/$i.json"; done
seq 0 9 | sed 's|$| /v1/orders|' | bulk POST "${TOK[c1]}" "$DIR/same.out" "$DIR/same"
check "10 concurrent repeats: one 201" test "$(awk '$2 == 201' "$DIR/same.out.codes" | wc -l)" -eq 1
check "10 concurrent repeats: nine 200" test "$(awk '$2 == 200' "$DIR/same.out.codes" | wc -l)" -eq 9
check "10 concurrent repeats: one tracking number" \
	test "$(cat "$DIR"/same.out/*.json | jq -r .tracking_no | sort -u | grep -c '^WB')" -eq 1
CREATED=$((CREATED + 1))
TSAME=$(jq -r .tracking_no "$DIR/same.out/0.json")

# ---- SIGTERM drains, then a restart --------------------------------------------------

# An upload still in flight (about 3 s at 2 KB/s) when SIGTERM comes is answered.
fixture 21 >"$DIR/slow.json"
head -c 6000 /dev/zero | tr '\0' ' ' >>"$DIR/slow.json" # JSON allows trailing whitespace
curl -s -o "$DIR/slow.out" -w '%{http_code}' --max-time 20 --limit-rate 2K \
	-H "Authorization: Bearer ${TOK[c1]}" -H 'Content-Type: application/json' \
	--data-binary "@$DIR/slow.json" "$URL/v1/orders" >"$DIR/slow.code" &
SLOW=$!
sleep 1
kill -TERM "$DPID"
sleep 0.3
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")
check "draining: a new connection is not served" test "$got" = 000
wait "$SLOW"
check "draining: the upload in flight is answered 201" test "$(cat "$DIR/slow.code")" = 201
TSLOW=$(jq -r .tracking_no "$DIR/slow.out" 2>/dev/null)
CREATED=$((CREATED + 1))
wait "$DPID"
rc=$?
DPID=
check "SIGTERM with a request in flight: exit status 0" test "$rc" -eq 0
check "draining: the log says so" grep -q 'draining' "$DIR/log"
daemon_up || die restart "waybilld did not come back"
api GET "/v1/orders/$TSLOW" "${TOK[c1]}"
expect_status "after restart: the order answered during the drain is there" 200 "$STATUS"
api GET "/v1/orders/$TSAME" "${TOK[c1]}"
expect_status "after restart: the concurrently repeated order is there" 200 "$STATUS"
api GET "/v1/orders/$TN" "${TOK[dep1]}"
expect_status "after restart: order readable" 200 "$STATUS"
check "after restart: same view" jq -e --slurpfile v "$DIR/view0.json" '. == $v[0]' "$BODY"
api GET "/v1/orders/$TA" "${TOK[c2]}"
check "after restart: TA delivered, courier c2" jq -e '.status == "delivered" and .courier == "c2"' "$BODY"
check "after restart: list as dep1 unchanged" list_all "${TOK[dep1]}" "limit=200"
check "after restart: same d1 orders (and the two made since)" \
	test "$(sort "$DIR/list")" = "$(sorted "$TSAME" "$TSLOW" $(cat "$DIR/list.dep1"))"
post "${TOK[c1]}" "$DIR/o0.json"
expect_status "after restart: idempotency remembered (200)" 200 "$STATUS"
check "after restart: same tracking_no" jq -e --arg tn "$TN" '.tracking_no == $tn' "$BODY"
curl -s "$URL/metrics" >"$DIR/metrics"
check "after restart: metrics restart from zero" grep -qx 'waybill_orders_created_total 0' "$DIR/metrics"
stop_daemon "SIGTERM after restart: exit status 0"
finish
