#!/bin/sh
# 61-sort-codes: the routing table (docs/API.md "Sort codes").  A bad
# sort_table refuses the start with file:line; an order gets the longest
# route at creation (a street prefix beats its district, full-width and
# spaced addresses fold) and keeps it, stored; the view and the summary
# carry sort_code (null without a route); labels without one are counted in
# waybill_labels_unsorted_total; SIGHUP re-reads the table, and a bad one
# keeps the old; nothing of a street address reaches the log.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

start_daemon
TSV=$DIR/sort.tsv
TAB=$(printf '\t')
# Fixture recipients: 0 江苏省镇江市京口区 丁卯桥路457号..., 1 and 2 the same district
# (中山东路), 3 广东省深圳市宝安区 创业一路262号..., 4 浙江省湖州市南浔区.
cat >"$TSV" <<EOF
# province	city	district	street prefix	sort code	hub code	hub name
江苏省${TAB}镇江市${TAB}京口区${TAB}${TAB}511-J01-00${TAB}ZJ01${TAB}镇江京口集包
江苏省${TAB}镇江市${TAB}京口区${TAB}丁卯桥路${TAB}511-J01-07${TAB}ZJ07${TAB}镇江丁卯集包
江苏省${TAB}镇江市${TAB}京口区${TAB}中山东路8${TAB}511-J01-08${TAB}ZJ08${TAB}镇江中山集包
广东省${TAB}深圳市${TAB}*${TAB}${TAB}755-S00-00${TAB}SZ00${TAB}深圳集包
EOF

# ---- a bad table refuses the start ---------------------------------------------

stop_daemon "sigterm exits 0 (before the bad-table start)"
printf '江苏省\t镇江市\t京口区\t\t511\n' >"$DIR/bad.tsv"
out=$("$WBD" --db "$DB" --key-file "$DIR/key" --listen 127.0.0.1:1 \
	--sort-table "$DIR/bad.tsv" 2>&1)
rc=$?
check "a bad sort_table: the daemon refuses to start" test "$rc" -ne 0
check "a bad sort_table: the error names file:line and the problem" \
	grep -qF "$DIR/bad.tsv:1: want 7 tab-separated fields" <<<"$out"
out=$("$WBD" --db "$DB" --key-file "$DIR/key" --listen 127.0.0.1:1 \
	--sort-table "$DIR/missing.tsv" 2>&1)
check "a missing sort_table: the daemon refuses to start, naming it" \
	grep -qF "$DIR/missing.tsv" <<<"$out"
daemon_up --sort-table "$TSV" || die setup "waybilld did not start with the table"
check "start: the log counts the routes" grep -q 'sort_table: 4 routes' "$DIR/log"

# ---- routes at creation ---------------------------------------------------------

create() { # create FIXTURE [JQ]: a new order each time (no client_order_id); TN in $TN
	order_with "${2:-.} | del(.client_order_id)" "$1" >"$DIR/in.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/in.json"
	TN=$(jb .tracking_no)
	[ "$STATUS" = 201 ] || fail "create fixture $1" "HTTP $STATUS: $(snip "$BODY")"
}
create 0
TN0=$TN
check "create: a street prefix beats its district (丁卯桥路)" jq -e '.sort_code == "511-J01-07"' "$BODY"
create 1
TN1=$TN
check "create: no prefix of the address matches: the district's route" \
	jq -e '.sort_code == "511-J01-00"' "$BODY"
create 2
TN2=$TN
check "create: the longest prefix (中山东路8, 803号)" jq -e '.sort_code == "511-J01-08"' "$BODY"
create 3
TN3=$TN
check "create: the city's \"*\" routes a district the table does not name" \
	jq -e '.sort_code == "755-S00-00"' "$BODY"
create 4
TN4=$TN
check "create: no route: sort_code is null" jq -e 'has("sort_code") and .sort_code == null' "$BODY"
create 1 '.recipient.address = "　中山东路 ８０３号" | .recipient.district = "京口区 "'
check "create: full-width digits and spaces fold before the match" \
	jq -e '.sort_code == "511-J01-08"' "$BODY"

api GET "/v1/orders/$TN0" "${TOK[dep1]}"
check "view: sort_code read back from storage" jq -e '.sort_code == "511-J01-07"' "$BODY"
api GET "/v1/orders?limit=50" "${TOK[dep1]}"
check "list: the summary carries sort_code (null without a route)" jq -e --arg a "$TN0" \
	--arg b "$TN4" '[.orders[] | select(.tracking_no == $a) | .sort_code] == ["511-J01-07"] and
	 [.orders[] | select(.tracking_no == $b) | .sort_code] == [null]' "$BODY"
check "store: the route is in clear columns" \
	test "$(db_sql "SELECT sort_code || '|' || hub_code || '|' || hub_name FROM orders WHERE tracking_no = '$TN0'")" = "511-J01-07|ZJ07|镇江丁卯集包"

# ---- labels without a route are counted ------------------------------------------

u0=$(metric waybill_labels_unsorted_total)
check "metrics: waybill_labels_unsorted_total is exported" test -n "$u0"
get_pdf "${TOK[dep1]}" "/v1/orders/$TN0/label.pdf" "$DIR/l0.pdf"
expect_status "label of a routed order" 200 "$STATUS"
check "label of a routed order: the sort code and the hub name printed" \
	sh -c "pdftotext '$DIR/l0.pdf' - 2>/dev/null | tr -d ' \n' | grep -q '511-J01-07镇江丁卯集包'"
get_pdf "${TOK[dep1]}" "/v1/orders/$TN0/label?format=png" "$DIR/l0.png"
check "label of a routed order as PNG: the hub code's Code 128 reads ZJ07" \
	sh -c "zbarimg -q --raw '$DIR/l0.png' 2>/dev/null | grep -qx ZJ07"
check "metrics: a routed label is not counted unsorted" test "$(metric waybill_labels_unsorted_total)" = "$u0"
check "label: the sort zone prints the stored sort code and the hub name" \
	bash -c "pdftotext '$DIR/l0.pdf' - 2>/dev/null | tr -d ' \n' | grep -q '511-J01-07.*镇江丁卯集包\|镇江丁卯集包.*511-J01-07'"
get_pdf "${TOK[dep1]}" "/v1/orders/$TN4/label.pdf" "$DIR/l4.pdf"
expect_status "label of an order without a route" 200 "$STATUS"
check "label without a route: no sort code, the region instead" \
	bash -c "pdftotext '$DIR/l4.pdf' - 2>/dev/null | tr -d ' \n' | grep -q '南浔区' && ! pdftotext '$DIR/l4.pdf' - 2>/dev/null | grep -q '511-'"
check "metrics: an unrouted label counts one" test "$(metric waybill_labels_unsorted_total)" = $((u0 + 1))
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"$TN4\",\"$TN1\"]}" "$DIR/b.pdf"
expect_status "batch of one routed and one unrouted" 200 "$STATUS"
check "metrics: a batch counts its unrouted labels" test "$(metric waybill_labels_unsorted_total)" = $((u0 + 2))

# ---- SIGHUP -------------------------------------------------------------------------

cp "$TSV" "$DIR/good.tsv"
printf '浙江省\t湖州市\t南浔区\t\t572-N01-00\tHZ01\t湖州集包\n' >>"$TSV"
printf 'broken line\n' >>"$TSV"
kill -HUP "$DPID"
wait_until 5 grep -q 'SIGHUP: .*sort.tsv:7: want 7 tab-separated fields.*old routing table stays' "$DIR/log"
check "SIGHUP, bad table: logged with file:line, the old table stays" \
	grep -q 'sort.tsv:7: want 7 tab-separated fields' "$DIR/log"
create 4
check "SIGHUP, bad table: new orders are routed by the old one" jq -e '.sort_code == null' "$BODY"
create 0
check "SIGHUP, bad table: ... which still routes" jq -e '.sort_code == "511-J01-07"' "$BODY"
sed -i '$d' "$TSV"
sed -i 's/511-J01-07/511-J02-07/' "$TSV"
kill -HUP "$DPID"
wait_until 5 grep -q 'SIGHUP: sort_table re-read (5 routes)' "$DIR/log"
check "SIGHUP, good table: re-read, routes counted" grep -q 'SIGHUP: sort_table re-read (5 routes)' "$DIR/log"
create 4
check "SIGHUP, good table: a new route applies to new orders" jq -e '.sort_code == "572-N01-00"' "$BODY"
api GET "/v1/orders/$TN0" "${TOK[dep1]}"
check "SIGHUP: an order keeps the route it was given" jq -e '.sort_code == "511-J01-07"' "$BODY"

# ---- restart keeps the routes; nothing personal in the log ----------------------------

restart_daemon
api GET "/v1/orders/$TN2" "${TOK[dep1]}"
check "restart: the stored route stays" jq -e '.sort_code == "511-J01-08"' "$BODY"
fixtures_pii "$DIR/pii"
no_pii "log" "$DIR/log"
check "log: no street name of the table's prefixes" bash -c "! grep -qE '丁卯桥路|中山东路' '$DIR/log'"

finish
