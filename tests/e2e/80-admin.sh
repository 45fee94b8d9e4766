#!/bin/sh
# 80-admin: GET /v1/admin/orders/{tn}?reason=... for every fixture order
# (the full order exactly as posted, plus the masked view), the reason rules,
# the daily quota, erased orders (410), unknown ones, roles, the audit of
# each reveal, and the enumeration limit (miss_limit) on made-up numbers.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

start_daemon --admin-reveals-per-day 1000

# ---- every fixture order, revealed -------------------------------------------------

N=$(wc -l <"$FIXTURES")
post_fixtures "${TOK[c1]}" "$DIR/map" $(seq 0 $((N - 1)))
POSTED=$PF_DIR/out
check "setup: all $N fixture orders created (201)" awk '$3 != 201 { exit 1 } END { exit NR != '"$N"' }' "$DIR/map"

REASON="ticket T-4711: customer asks what was sent"
R_URI=$(jq -rn --arg r "$REASON" '$r | @uri')
awk -v q="$R_URI" '{ print $1, "/v1/admin/orders/" $2 "?reason=" q }' "$DIR/map" |
	bulk GET "${TOK[adm1]}" "$DIR/rev"
check "reveal: all $N answered 200" awk '$2 != 200 { exit 1 } END { exit NR != '"$N"' }' "$DIR/rev.codes"
# .order, keys sorted, one line per order in fixture order; the same for the fixtures
for i in $(seq 0 $((N - 1))); do echo "$DIR/rev/$i.json"; done | xargs jq -S -c '.order' >"$DIR/rev.orders" 2>/dev/null
jq -S -c . "$FIXTURES" >"$DIR/fix.sorted"
if cmp -s "$DIR/rev.orders" "$DIR/fix.sorted"; then
	ok "reveal: .order of every order equals the posted JSON exactly (jq -S)"
else
	fail "reveal: .order equals the posted JSON (jq -S)" \
		"$(diff "$DIR/fix.sorted" "$DIR/rev.orders" | grep -c '^>') orders differ; first: $(diff "$DIR/fix.sorted" "$DIR/rev.orders" | head -n 4 | cut -c1-300 | tr '\n' '|')"
fi
# .view is the masked view the creating courier was given, .tracking_no the order's
for i in $(seq 0 $((N - 1))); do cat "$DIR/rev/$i.json"; echo; done >"$DIR/rev.all"
for i in $(seq 0 $((N - 1))); do cat "$POSTED/$i.json"; echo; done >"$DIR/posted.all"
bad=$(jq -n -r --slurpfile r "$DIR/rev.all" --slurpfile p "$DIR/posted.all" '
	[range(0; $p | length) | select(($r[.].tracking_no != $p[.].tracking_no)
		or (($r[.].view | del(.updated_at)) != ($p[.] | del(.updated_at))))] | .[0:5] | map(tostring) | join(" ")')
check "reveal: .view is the masked order view and .tracking_no the order's (all $N)${bad:+; bad: $bad}" test -z "$bad"
check "reveal: answers hold tracking_no, order and view only" \
	bash -c 'cd "$1" && jq -s -e "all(.[]; keys == [\"order\", \"tracking_no\", \"view\"])" [0-9]*.json' _ "$DIR/rev"
# the admin's ordinary read stays masked
T0=$(tn_of "$DIR/map" 0)
api GET "/v1/orders/$T0" "${TOK[adm1]}"
expect_status "admin's plain read: 200" 200 "$STATUS"
no_pii "admin's plain read is masked" "$BODY"
# another depot's order: an admin reveals any
fixture 3 | jq -c '.client_order_id = "d2-3"' >"$DIR/d2.json"
api POST /v1/orders "${TOK[c3]}" "$DIR/d2.json"
TD2=$(jb .tracking_no)
api GET "/v1/admin/orders/$TD2?reason=$R_URI" "${TOK[adm1]}"
expect_status "reveal of depot d2's order: 200" 200 "$STATUS"
check "reveal of depot d2's order: as posted" jq -e --slurpfile o "$DIR/d2.json" '.order == $o[0]' "$BODY"

# the audit: one admin.reveal per order, each with its reason
audit_all "$DIR/aud.json" "actor=adm1" || fail "audit as auditor" "HTTP $STATUS"
check "audit: $((N + 1)) admin.reveal entries by adm1, result ok, each with the reason" \
	jq -e --arg r "$REASON" --argjson n "$((N + 1))" \
	'[.[] | select(.action == "admin.reveal" and .result == "ok")] | length == $n and all(.reason == $r)' "$DIR/aud.json"
check "audit: every revealed tracking number has its entry" \
	bash -c 'diff <(jq -r ".[] | select(.action == \"admin.reveal\") | .tracking_no" "$1" | sort -u) \
		<({ awk "{ print \$2 }" "$2"; echo "$3"; } | sort -u)' _ "$DIR/aud.json" "$DIR/map" "$TD2"
no_pii "audit: the reveal entries hold no personal data" "$DIR/aud.json"

# ---- reasons ------------------------------------------------------------------------

reveal() { # reveal TN REASON|- [TOKEN]
	if [ "$2" = - ]; then
		api GET "/v1/admin/orders/$1" "${TOK[${3:-adm1}]}"
	else
		api GET "/v1/admin/orders/$1?reason=$(jq -rn --arg r "$2" '$r | @uri')" "${TOK[${3:-adm1}]}"
	fi
}
T1=$(tn_of "$DIR/map" 1)
reveal "$T1" -
expect_error "reveal without a reason" 400 "" reason
check "reveal without a reason: no personal data" bash -c '! grep -q "\"order\"" "$1"' _ "$BODY"
api GET "/v1/admin/orders/$T1?reason=" "${TOK[adm1]}"
expect_status "reveal with an empty reason: 400" 400 "$STATUS"
for r in "abc" "call 13812345678 back" "+8613812345678" "call +86 138 1234 5678 back" \
	"call 138-1234-5678" "0755-22254189 asked" "$(printf 'x%.0s' $(seq 201))" $'line\nbreak' \
	"T-1 call 138/1234/5678" "T-1 call １３８１２３４５６７８" "T-1 一三八一二三四五六七八" \
	"T-1 收件人：张三投诉" "customer asks what was sent" \
	"T-1 $(printf '投%.0s' $(seq 100))"; do
	reveal "$T1" "$r"
	expect_status "reveal with reason '$(printf '%s' "$r" | head -c 40 | tr '\n' ' ')': 400" 400 "$STATUS"
done
audit_all "$DIR/aud2.json" "tracking_no=$T1"
check "refused reasons put no phone into the audit chain" \
	bash -c '! jq -r ".[].reason // empty" "$1" | grep -Eq "138.?1234.?5678|22254189"' _ "$DIR/aud2.json"
check "refused reasons put no full-width or Chinese-numeral phone into the audit chain" \
	bash -c '! jq -r ".[].reason // empty" "$1" | grep -Eq "１３８|一三八|张三"' _ "$DIR/aud2.json"
reveal "$T1" "工单 CS-0712：收件人投诉"
expect_status "reveal with a Chinese reason and a ticket: 200" 200 "$STATUS"
# 87 characters, 80 of them Chinese (251 bytes), fit the audit entry whole and come back intact.
LONG_R="工单 T-9 $(printf '诉%.0s' $(seq 80))"
reveal "$T1" "$LONG_R"
expect_status "reveal with an 87-character (251-byte) Chinese reason: 200" 200 "$STATUS"
api GET "/v1/audit?tracking_no=$T1&limit=200" "${TOK[aud1]}"
check "GET /v1/audit is valid UTF-8 after long Chinese reasons" iconv -f UTF-8 -t UTF-8 "$BODY"
check "the long reason is in the audit whole, never cut" \
	jq -e --arg r "$LONG_R" '[.entries[] | select(.reason == $r)] | length == 1' "$BODY"

# ---- unknown, malformed, roles ---------------------------------------------------------

reveal "$(tn_make 9999888877776666)" "ticket T-1"
expect_status "reveal of an unknown tracking number: 404" 404 "$STATUS"
bad=${T1:0:19}$(( (${T1:19:1} + 1) % 10 ))
reveal "$bad" "ticket T-1"
expect_status "reveal with failing check digits: 404" 404 "$STATUS"
reveal "../orders" "ticket T-1"
expect_status "reveal of a non-number: 404" 404 "$STATUS"
for who in c1 dep1 aud1 tel1; do
	reveal "$T1" "ticket T-1" "$who"
	expect_status "reveal as $who: 403" 403 "$STATUS"
done
api GET "/v1/admin/orders/$T1?reason=ticket" -
expect_status "reveal without a token: 401" 401 "$STATUS"

# ---- quota 2 per day; erased orders ------------------------------------------------------

stop_daemon "sigterm exits 0 (before --admin-reveals-per-day 2)"
daemon_up --admin-reveals-per-day 2 --retention-days 0 || die restart "waybilld did not come back"
add_account adm2 admin || die setup "account adm2"
add_account adm3 admin || die setup "account adm3"
T2=$(tn_of "$DIR/map" 2)
for k in 1 2; do
	reveal "$T2" "ticket Q-$k" adm2
	expect_status "quota 2: reveal $k: 200" 200 "$STATUS"
done
reveal "$T2" "ticket Q-3" adm2
expect_error "quota 2: the third reveal" 429 ""
check "quota: the 429 holds no order" bash -c '! grep -q "\"order\"" "$1"' _ "$BODY"
reveal "$T1" "ticket Q-4" adm1
expect_status "quota 2: adm1, past 500 today, is refused too: 429" 429 "$STATUS"
# erased: cancelled with retention 0, purged by the operator
T3=$(tn_of "$DIR/map" 3)
set_status "${TOK[dep1]}" "$T3" cancelled
expect_status "cancel an order (retention 0)" 200 "$STATUS"
check "waybillctl purge erases it" bash -c 'out=$("$@") && grep -Eq "erased the personal data of [1-9]" <<<"$out"' _ \
	"$WBCTL" --db "$DB" --key-file "$DIR/key" purge
reveal "$T3" "ticket E-1" adm3
expect_error "reveal of an erased order" 410 ""
check "erased: no personal data in the 410" bash -c '! grep -q "\"order\"" "$1"' _ "$BODY"
for k in 1 2; do
	reveal "$T1" "ticket E-$k" adm3
	expect_status "quota 2: adm3's reveal $k after a 410 (the 410 cost nothing): 200" 200 "$STATUS"
done
reveal "$T1" "ticket E-3" adm3
expect_status "quota 2: adm3's third: 429" 429 "$STATUS"
api GET "/v1/orders/$T3" "${TOK[dep1]}"
expect_status "erased: the masked view answers 410" 410 "$STATUS"
audit_all "$DIR/aud3.json" "actor=adm2"
check "audit: adm2's reveals carry their reasons, the refused one too" \
	jq -e '[.[] | select(.action == "admin.reveal")] | map(.reason) == ["ticket Q-1", "ticket Q-2", "ticket Q-3"]' "$DIR/aud3.json"
check "audit: adm2's third reveal is on record as refused" \
	jq -e '[.[] | select(.action == "admin.reveal")][2].result != "ok"' "$DIR/aud3.json"

# ---- a reveal whose open fails: on record before and after, and free ------------------------
# The reveal's entry (with its reason) is written before the order is opened;
# when the open then fails, a second entry says so and the quota is given back.

T4=$(tn_of "$DIR/map" 4)
T5=$(tn_of "$DIR/map" 5)
stop_daemon "sigterm exits 0 (before breaking two orders)"
ZEROS="CAST(zeroblob(length(sealed)) AS BLOB)"
is_pg && ZEROS="decode(repeat('00', length(sealed)), 'hex')"
db_sql "UPDATE orders SET sealed = $ZEROS WHERE tracking_no = '$T4';
	UPDATE orders SET sealed = NULL WHERE tracking_no = '$T5'" >/dev/null
daemon_up --admin-reveals-per-day 1 || die restart "waybilld did not come back"
add_account adm4 admin || die setup "account adm4"
quota_used() { db_sql "SELECT coalesce(sum(count), 0) FROM admin_reveals WHERE actor = '$1'"; }
reveal "$T4" "ticket F-1" adm4
expect_error "reveal of an order whose ciphertext no longer opens" 500 integrity_error
RID_F1=$(jb .error.request_id)
check "failed open: no order in the answer" bash -c '! grep -q "\"order\"" "$1"' _ "$BODY"
reveal "$T5" "ticket F-2" adm4
expect_error "reveal of an order whose sealed data is gone" 410 gone
audit_all "$DIR/aud6.json" "actor=adm4"
check "failed open: two admin.reveal entries for the request, the first ok, the second saying the open failed" \
	jq -e --arg r "$RID_F1" --arg t "$T4" '[.[] | select(.request_id == $r)] | length == 2
		and all(.action == "admin.reveal" and .tracking_no == $t and .reason == "ticket F-1")
		and .[0].result == "ok" and (.[1].result | test("^open_failed")) and .[0].seq < .[1].seq' "$DIR/aud6.json"
check "gone before the open: one entry, result gone" \
	jq -e --arg t "$T5" '[.[] | select(.tracking_no == $t)] | length == 1 and .[0].result == "gone"' "$DIR/aud6.json"
check "failed opens spend no quota (admin_reveals count 0)" test "$(quota_used adm4)" = 0
reveal "$T1" "ticket F-3" adm4
expect_status "quota 1: adm4's first successful reveal after two failed ones: 200" 200 "$STATUS"
check "a successful reveal spends one" test "$(quota_used adm4)" = 1
reveal "$T1" "ticket F-4" adm4
expect_status "quota 1: adm4's second successful one: 429" 429 "$STATUS"
no_pii "failed reveals: audit entries" "$DIR/aud6.json"

# ---- enumeration: miss_limit 5 -------------------------------------------------------------

stop_daemon "sigterm exits 0 (before --miss-limit 5)"
daemon_up --miss-limit 5 || die restart "waybilld did not come back"
codes=
for k in 1 2 3 4 5; do
	api GET "/v1/orders/$(tn_make "$(printf '4242%012d' "$k")")" "${TOK[dep1]}"
	codes="$codes$STATUS "
done
check "enumeration: 5 made-up (well-formed) numbers: 404 each ($codes)" test "$codes" = "404 404 404 404 404 "
api GET "/v1/orders/$T0" "${TOK[dep1]}"
expect_error "enumeration: the next request, for its own order" 429 ""
api GET "/v1/orders?limit=1" "${TOK[dep1]}"
expect_status "enumeration: and a list" 429 "$STATUS"
get_pdf "${TOK[dep1]}" "/v1/orders/$T0/label.pdf" "$DIR/l.pdf"
expect_status "enumeration: and a label" 429 "$STATUS"
api GET "/v1/orders/$T0" "${TOK[c1]}"
expect_status "enumeration: another token (the creating courier) is unaffected" 200 "$STATUS"
api GET "/v1/orders/$T0" "${TOK[adm1]}"
expect_status "enumeration: the admin is unaffected" 200 "$STATUS"
for k in 1 2 3 4; do
	api GET "/v1/orders/$(tn_make "$(printf '4343%012d' "$k")")" "${TOK[c1]}"
done
api GET "/v1/orders/$T0" "${TOK[c1]}"
expect_status "enumeration: 4 misses stay under the limit" 200 "$STATUS"
audit_all "$DIR/aud4.json" "actor=dep1"
check "enumeration: an audit entry with action \"enumeration\" for dep1" \
	jq -e '[.[] | select(.action == "enumeration")] | length == 1' "$DIR/aud4.json"
check "enumeration: the blocked requests are audited" \
	jq -e '[.[] | select(.result == "blocked" and .action != "enumeration")] | length >= 3' "$DIR/aud4.json"
audit_all "$DIR/aud5.json" "actor=c1"
check "enumeration: none for c1" jq -e '[.[] | select(.action == "enumeration")] | length == 0' "$DIR/aud5.json"
grep -q "enumeration" "$DIR/log" && ok "enumeration: logged" || fail "enumeration: logged" "no log line"

no_pii "error bodies" "$DIR/error_bodies"
no_pii "daemon log" "$DIR/log"
check "audit chain verifies" ctl audit verify
echo "# run time $(elapsed) s"
finish
