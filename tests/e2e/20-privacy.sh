#!/bin/sh
# 20-privacy: every fixture order goes in; no name, phone (any notation) or
# street address comes out - not in the raw database files, not in the log,
# not in any response - and every view follows the masking rules.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
fixtures_pii "$DIR/pii"
N=$(wc -l <"$FIXTURES")
check "fixtures: patterns made" test "$(wc -l <"$DIR/pii")" -gt 1000
# Positive control: the patterns and grep do find personal data where it is.
check "fixtures: every fixture line matches a pattern (the grep works)" \
	test "$(LC_ALL=C grep -a -c -F -f "$DIR/pii" "$FIXTURES")" -eq "$N"

mkdir -p "$DIR/req" "$DIR/created" "$DIR/read" "$DIR/snap"
awk -v d="$DIR/req" '{ f = d "/" (NR - 1) ".json"; print > f; close(f) }' "$FIXTURES"

# post_all: every fixture as c1; read_all WHO: every order back, by tracking number.
post_all() {
	seq 0 $((N - 1)) | sed 's|$| /v1/orders|' | bulk POST "${TOK[c1]}" "$DIR/created" "$DIR/req"
}
read_all() {
	tn_index | sed 's| | /v1/orders/|' | bulk GET "${TOK[$1]}" "$DIR/read"
}

# "N TN" for every fixture line N.
tn_index() {
	local files=() i
	for i in $(seq 0 $((N - 1))); do files+=("$DIR/created/$i.json"); done
	paste -d ' ' <(seq 0 $((N - 1))) <(jq -r .tracking_no "${files[@]}")
}

# ---- every order in ------------------------------------------------------------

t0=$(date +%s)
post_all
t1=$(date +%s)
echo "# posted $N orders in $((t1 - t0)) s"
check "create: $N answers" test "$(wc -l <"$DIR/created.codes")" -eq "$N"
bad=$(awk '$2 != 201' "$DIR/created.codes" | head -n 5 | tr '\n' ' ')
if [ -z "$bad" ]; then ok "create: all $N answered 201"; else fail "create: all 201" "$bad"; fi
check "create: $N distinct tracking numbers" \
	test "$(cat "$DIR"/created/*.json | jq -r .tracking_no | sort -u | grep -c '^WB')" -eq "$N"

# While it runs: the database and its WAL as they are on disk now (on
# PostgreSQL: the database's heap files and the cluster's WAL, lib.sh db_files).
db_files "$DIR/snap"
TN0=$(jq -r .tracking_no "$DIR/created/0.json")
check "raw files (running): positive control, a tracking number is in the clear" \
	grep -a -q -F "$TN0" "$DIR"/snap/db*
no_pii "raw files while running" "$DIR/snap/db" "$DIR/snap/db-wal" "$DIR/snap/db-shm"

# ---- errors that carry personal data in the request ---------------------------------

# A request with personal data that is refused must not echo it back.
o0=$DIR/req/0.json
bad_req() { # NAME WANT JQ-FILTER
	jq -c "$3" "$o0" >"$DIR/badreq.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/badreq.json"
	expect_status "refused with personal data: $1" "$2" "$STATUS"
}
bad_req "bad phone" 422 '.client_order_id = "p-1" | .recipient.phone = (.recipient.phone + "99")'
bad_req "phone as a number" 422 '.client_order_id = "p-2" | .recipient.phone = (.recipient.phone | gsub("[^0-9]"; "") | tonumber)'
bad_req "name too long" 422 '.client_order_id = "p-3" | .recipient.name = (.recipient.name * 12)'
bad_req "unknown field holding a phone" 422 '.client_order_id = "p-4" | .recipient.mobile = .recipient.phone'
bad_req "phone as an unknown key" 422 '.client_order_id = "p-5" | .recipient[.sender.phone | gsub("[^0-9]"; "")] = 1'
bad_req "name as an unknown key" 422 '.client_order_id = "p-6" | .sender[.recipient.name] = .recipient.address'
bad_req "address as an object" 422 '.client_order_id = "p-7" | .recipient.address = {"street": .recipient.address}'
bad_req "missing phone" 422 '.client_order_id = "p-8" | del(.sender.phone)'
bad_req "idempotency conflict" 409 '.recipient.name = .sender.name + "x"'
# Invalid UTF-8 right after the address, and a control character after a name.
{
	printf '{"client_order_id":"p-9","sender":%s,"recipient":{"name":"%s","phone":"%s","province":"x","city":"x","district":"x","address":"%s\377"},"parcel":{"weight_g":1}}' \
		"$(jq -c .sender "$o0")" "$(jq -r .recipient.name "$o0")" "$(jq -r .recipient.phone "$o0")" "$(jq -r .recipient.address "$o0")"
} >"$DIR/badutf8.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/badutf8.json"
expect_status "refused with personal data: invalid UTF-8 after an address" "400|422" "$STATUS"
jq -c '.client_order_id = "p-10" | .recipient.name = (.recipient.name + "\u0007")' "$o0" >"$DIR/badctl.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/badctl.json"
expect_status "refused with personal data: control character in a name" "400|422" "$STATUS"
# Someone else's order, and a courier reading it: 404, no data.
api GET "/v1/orders/$TN0" "${TOK[c3]}"
expect_status "foreign read: 404" 404 "$STATUS"
check "error bodies: captured" test -s "$DIR/error_bodies"
no_pii "error bodies" "$DIR/error_bodies"

# ---- stop: the files at rest ------------------------------------------------------

stop_daemon "SIGTERM after the bulk load: exit 0"
db_files "$DIR/rest"
no_pii "raw files after stop" "$DIR/rest/db" "$DIR/rest/db-wal" "$DIR/rest/db-shm" "$DIR/log"
check "raw db: positive control, the tracking number is in the clear" grep -a -q -F "$TN0" "$DIR/rest/db" "$DIR/rest/db-wal"
check "log: it logged the requests (the grep has something to read)" \
	test "$(grep -c ' method=POST route=/v1/orders ' "$DIR/log")" -ge "$N"

# ---- restart and read everything ------------------------------------------------------

daemon_up || die restart "waybilld did not come back"
t0=$(date +%s)
read_all adm1
t1=$(date +%s)
echo "# read $N orders in $((t1 - t0)) s"
bad=$(awk '$2 != 200' "$DIR/read.codes" | head -n 5 | tr '\n' ' ')
check "read after restart: $N answers" test "$(wc -l <"$DIR/read.codes")" -eq "$N"
if [ -z "$bad" ]; then ok "read after restart: all $N answered 200"; else fail "read after restart: all 200" "$bad"; fi
check "read after restart: every view equals the view at creation" diff -r -q "$DIR/created" "$DIR/read"

# The list, page by page, as dep1 (every order is in d1).
after=
: >"$DIR/listed"
for _ in $(seq 10); do
	api GET "/v1/orders?limit=200${after:+&after=$after}" "${TOK[dep1]}"
	[ "$STATUS" = 200 ] || break
	jq -c '.orders[]' "$BODY" >>"$DIR/listed"
	after=$(jb '.next // ""')
	[ -n "$after" ] || break
done
check "list after restart: all $N orders" test "$(wc -l <"$DIR/listed")" -eq "$N"

# ---- masking, by rule, for every order --------------------------------------------------

mkdir -p "$DIR/listview"
# Map the listed views back to fixture lines through their tracking numbers.
tn_index >"$DIR/tn.idx"
awk 'NR == FNR { idx[$2] = $1; next }
     { match($0, /"tracking_no":"[A-Z0-9]+"/); tn = substr($0, RSTART + 15, RLENGTH - 16);
       if (tn in idx) { f = d "/" idx[tn] ".json"; print > f; close(f) } }' \
	d="$DIR/listview" "$DIR/tn.idx" "$DIR/listed"
while IFS= read -r line; do
	case $line in
	ok*) ok "mask: ${line#ok   }" ;;
	FAIL*) fail "mask: ${line#FAIL }" ;;
	*) fail "mask: unexpected output" "$line" ;;
	esac
done < <(python3 "$E2E_DIR/masking_rules.py" "$FIXTURES" "$DIR/created" "$DIR/read" 2>&1)

# ---- the list: summaries, with nothing personal in any form ------------------------------
# An insider picked 248 of 250 orders by the last four phone digits alone, and
# all 250 with the name's first character: a list row carries neither, nor
# anything masked, nor a road name (summary_rules.py, field by field).
while IFS= read -r line; do
	case $line in
	ok*) ok "list: ${line#ok   }" ;;
	FAIL*) fail "list: ${line#FAIL }" ;;
	*) fail "list: unexpected output" "$line" ;;
	esac
done < <(python3 "$E2E_DIR/summary_rules.py" "$FIXTURES" "$DIR/listview" 2>&1)
no_pii "list pages" "$DIR/listed"
audit_all "$DIR/list-audit.json" "actor=dep1" || fail "list audit: readable" "HTTP $STATUS"
check "list audit: one order.list entry per page, naming no order, with the page's count" \
	jq -e '[.[] | select(.action == "order.list")] | length == 3 and all(.tracking_no == null)
		and (map(.reason) == ["200 orders", "200 orders", "100 orders"])' "$DIR/list-audit.json"

# Views: masked, so no full value anywhere in them.
cat "$DIR"/created/*.json "$DIR"/read/*.json "$DIR/listed" "$DIR/bodies" >"$DIR/allbodies"
no_pii "every response body" "$DIR/allbodies"

stop_daemon "SIGTERM after the reads: exit 0"
rm -rf "$DIR/rest"
db_files "$DIR/rest"
no_pii "raw files after reads" "$DIR/rest/db" "$DIR/rest/db-wal" "$DIR/rest/db-shm" "$DIR/log"

# ---- personal data typed where a tracking number goes -------------------------------------
# A phone or a name pasted into the tracking-number path (a common user mistake)
# must not reach the log or the audit chain, whoever sends it.

daemon_up || die restart "waybilld did not come back"
PHONE=$(jq -r '.recipient.phone | gsub("[^0-9]"; "")' "$o0")
NAME=$(jq -r .recipient.name "$o0")
NAME_URL=$(jq -rn --arg n "$NAME" '$n | @uri')
for who in c1 aud1 -; do
	tok=${TOK[$who]:--}
	api GET "/v1/orders/$PHONE" "$tok"
	expect_status "phone as tracking number, as ${who/-/no token}: refused" "401|403|404" "$STATUS"
	api GET "/v1/orders/$NAME_URL" "$tok"
	expect_status "name as tracking number, as ${who/-/no token}: refused" "401|403|404" "$STATUS"
	api POST "/v1/orders/$PHONE/status" "$tok" -d '{"status":"picked_up"}'
	expect_status "phone as tracking number in a status change, as ${who/-/no token}: refused" "401|403|404" "$STATUS"
done
check "audit list: every page 200" audit_all "$DIR/audit.json"
check "audit list: holds the entries of the probes above" \
	jq -e 'map(select(.actor == "aud1" and .result == "denied")) | length >= 3' "$DIR/audit.json"
no_pii "auditor's view of the audit log after a phone and a name in the path" "$DIR/audit.json"
stop_daemon "SIGTERM: exit 0"
no_pii "log after a phone and a name in the path" "$DIR/log"
finish
