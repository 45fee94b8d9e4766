#!/bin/sh
# 30-matrix: every route x every kind of caller x own/foreign order, with the
# exact status docs/API.md asks for; denied answers carry nothing of the order and
# look like a real not-found; every denial is audited.  Unknown routes 404,
# wrong methods 405.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
add_account c4 courier d1 || die setup "account add c4"   # same depot, not involved
add_account dis1 courier d1 || die setup "account add dis1" # disabled below
C2_PHONE=${PHONE[c2]}
TOK[none]=-
TOK[bad]=wb_$(printf '%064d' 0 | tr 0 a)
CALLERS=(c1 c2 c3 c4 dep1 dep2 adm1 aud1 tel1 none bad dis1)
declare -A LIST_ROWS

# The order under test: made by c1 (depot d1), assigned to c2.
fixture 0 >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
[ "$STATUS" = 201 ] || die setup "create: HTTP $STATUS"
TN=$(jb .tracking_no)
cp "$BODY" "$DIR/view.json"
cp "$BODY" "$DIR/lastview.json"
api POST "/v1/orders/$TN/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
[ "$STATUS" = 200 ] || die setup "assign: HTTP $STATUS"
# An order of depot d2, so dep2 and c3 have something of their own.
fixture 1 >"$DIR/o2.json"
api POST /v1/orders "${TOK[c3]}" "$DIR/o2.json"
[ "$STATUS" = 201 ] || die setup "create in d2: HTTP $STATUS"
TN2=$(jb .tracking_no)
# A well-formed tracking number that does not exist.
TNX=$(tn_make 1234567890123456)
[ "$TNX" != "$TN" ] || TNX=$(tn_make 6543210987654321)

# A printer of d1 that is off (no one listens on its port), and a job of d1 that failed
# on it, for the printer and print-job rows.  The reprint limit is raised: the print
# routes spend prints of TN, and a failed job's come back only once it has failed.  With
# 17 rows, the unauthenticated callers pass auth_failures_per_minute's default (60): raised.
DOWN=$(pick_port) || die setup "no free port"
printf 'm-d1 d1 127.0.0.1:%s pdf 203 100x150\n' "$DOWN" >"$DIR/printers"
stop_daemon "sigterm exits 0 (restarting with printers)"
daemon_up --printers "$DIR/printers" --label-reprints-max 10 --auth-failures-per-minute 1000 || die setup "waybilld did not start with printers"
api POST /v1/print-jobs "${TOK[dep1]}" -d "{\"printer\":\"m-d1\",\"tracking_nos\":[\"$TN\"]}"
[ "$STATUS" = 202 ] || die setup "print job: HTTP $STATUS"
JOB=$(jb .id)
for _ in $(seq 100); do
	api GET "/v1/print-jobs/$JOB" "${TOK[dep1]}"
	[ "$(jb .status)" = failed ] && break
	sleep 0.1
done
[ "$(jb .status)" = failed ] || die setup "the print job did not fail: $(jb .status)"
job_of() { if [ "$1" = "$TNX" ]; then echo 999999; else echo "$JOB"; fi; }

# What a denied body must not hold: the order's personal data, masked or not.
{
	jq -r '(.sender, .recipient) | .name, .phone, .address, (.phone | gsub("[^0-9]"; ""))' "$DIR/o.json"
	jq -r '(.sender, .recipient) | .name, .phone, .region, (.address // empty)' "$DIR/view.json"
	jq -r '.parcel.items, (.note // empty)' "$DIR/o.json"
} | grep -v '^$' | sort -u >"$DIR/order.pii"

# The disabled account works, then is disabled while the daemon runs.
api GET /v1/orders "${TOK[dis1]}"
expect_status "dis1 works before it is disabled" 200 "$STATUS"
ctl account disable dis1 >/dev/null 2>&1
check "waybillctl account disable dis1 (daemon running)" test $? -eq 0
api GET /v1/orders "${TOK[dis1]}"
expect_status "disabled account: refused at once" 401 "$STATUS"

# ---- the matrix ------------------------------------------------------------------
#              c1  c2  c3  c4  dep1 dep2 adm1 aud1 tel1 none bad dis1
MATRIX="
create         201 201 201 201 403  403  403  403  403  401  401 401
list           200 200 200 200 200  200  403  403  403  401  401 401
get            200 200 404 404 200  404  200  403  403  401  401 401
assign         403 403 403 403 200  404  403  403  403  401  401 401
status         404 200 404 404 200  404  403  403  403  401  401 401
label          200 404 404 404 200  404  403  403  403  401  401 401
labels         403 403 403 403 200  404  403  403  403  401  401 401
preview        200 404 404 404 200  404  403  403  403  401  401 401
delivery       404 200 404 404 403  403  403  403  403  401  401 401
call           403 403 403 403 403  403  403  403  200  401  401 401
reveal         403 403 403 403 403  403  200  403  403  401  401 401
audit          403 403 403 403 403  403  403  200  403  401  401 401
audit_verify   403 403 403 403 403  403  403  200  403  401  401 401
printers       403 403 403 403 200  200  403  403  403  401  401 401
print_job      403 403 403 403 202  404  403  403  403  401  401 401
job_get        403 403 403 403 200  404  403  403  403  401  401 401
job_retry      403 403 403 403 202  404  403  403  403  401  401 401
"
# For each route: its audit action, and the request.
action_of() {
	case $1 in
	create) echo order.create ;; list) echo order.list ;; get) echo order.read ;;
	assign) echo order.assign ;; status) echo order.status ;;
	label) echo label.print ;; labels) echo label.batch ;; delivery) echo order.delivery ;;
	preview) echo label.preview ;;
	call) echo call.route ;; reveal) echo admin.reveal ;;
	audit) echo audit.read ;; audit_verify) echo audit.verify ;;
	printers) echo printer.list ;; print_job) echo print_job.create ;;
	job_get) echo print_job.read ;; job_retry) echo print_job.retry ;;
	esac
}
NEXT_STATUS=picked_up # a transition the order allows now
advance() {
	case $NEXT_STATUS in
	picked_up) NEXT_STATUS=in_transit ;; in_transit) NEXT_STATUS=out_for_delivery ;;
	out_for_delivery) NEXT_STATUS=delivered ;;
	esac
}
NCREATE=0
call() { # ROUTE CALLER [TN]
	local tok=${TOK[$2]} tn=${3:-$TN}
	case $1 in
	create)
		NCREATE=$((NCREATE + 1))
		jq -c --arg id "m-$2-$NCREATE" '.client_order_id = $id' "$DIR/o.json" >"$DIR/oc.json"
		api POST /v1/orders "$tok" "$DIR/oc.json" ;;
	list) api GET "/v1/orders?limit=200" "$tok" ;;
	get) api GET "/v1/orders/$tn" "$tok" ;;
	assign) api POST "/v1/orders/$tn/assign" "$tok" -d '{"courier":"c2"}' ;;
	status) api POST "/v1/orders/$tn/status" "$tok" -d "{\"status\":\"$NEXT_STATUS\"}" ;;
	label) api GET "/v1/orders/$tn/label.pdf?size=100x150" "$tok" ;;
	labels) api POST /v1/labels "$tok" -d "{\"tracking_nos\":[\"$tn\"],\"size\":\"100x150\"}" ;;
	preview) api GET "/v1/orders/$tn/preview.png" "$tok" ;;
	delivery) api GET "/v1/orders/$tn/delivery" "$tok" ;;
	call) # the assigned courier (c2) calls the order's virtual number and extension
		jq -c --arg c "$C2_PHONE" '{caller: $c, called: .virtual_number, extension: .extension}' \
			"$DIR/lastview.json" >"$DIR/call.json"
		api POST /v1/calls/route "$tok" "$DIR/call.json" ;;
	reveal) api GET "/v1/admin/orders/$tn?reason=case%20ABC-12" "$tok" ;;
	audit) api GET "/v1/audit?tracking_no=$tn" "$tok" ;;
	audit_verify) api GET /v1/audit/verify "$tok" ;;
	printers) api GET /v1/printers "$tok" ;;
	print_job) api POST /v1/print-jobs "$tok" -d "{\"printer\":\"m-d1\",\"tracking_nos\":[\"$tn\"]}" ;;
	job_get) api GET "/v1/print-jobs/$(job_of "$tn")" "$tok" ;;
	job_retry) api POST "/v1/print-jobs/$(job_of "$tn")/retry" "$tok" ;;
	esac
}

: >"$DIR/denied"  # "actor action tn|-" for every 403 and not-yours 404
: >"$DIR/unauth"  # one line per 401
while read -r route want; do
	[ -n "$route" ] || continue
	read -ra wants <<<"$want"
	for k in "${!CALLERS[@]}"; do
		who=${CALLERS[$k]}
		w=${wants[$k]}
		call "$route" "$who"
		expect_status "$route as $who: $w" "$w" "$STATUS"
		case $STATUS in
		200 | 201 | 202)
			[ "$route" = status ] && advance
			case $route in
			get | assign | status)
				check "$route as $who: the order's view" jq -e --arg tn "$TN" '.tracking_no == $tn' "$BODY"
				cp "$BODY" "$DIR/lastview.json" ;;
			label | labels)
				check "$route as $who: a PDF" test "$(head -c 5 "$BODY")" = "%PDF-" ;;
			preview)
				check "$route as $who: a PNG" test "$(head -c 4 "$BODY" | tail -c 3)" = "PNG" ;;
			delivery)
				check "$route as $who: the delivery view" jq -e --arg tn "$TN" --slurpfile o "$DIR/o.json" '
					.tracking_no == $tn and (.recipient.address | endswith($o[0].recipient.address))
					and (.recipient | has("phone") | not)' "$BODY" ;;
			call)
				check "$route as $who: forwards to the recipient" jq -e --slurpfile o "$DIR/o.json" '
					(.call_id | type == "string") and (.forward_to | gsub("[^0-9]"; "") | endswith($o[0].recipient.phone | gsub("[^0-9]"; "")))' "$BODY" ;;
			print_job | job_retry)
				check "$route as $who: a queued job" jq -e '.status == "queued" and (.id | type == "number")' "$BODY" ;;
			job_get)
				check "$route as $who: the job" jq -e --argjson j "$JOB" '.id == $j and .printer == "m-d1"' "$BODY" ;;
			printers)
				check "$route as $who: its depot's printers" jq -e --arg w "$who" \
					'[.printers[].name] == (if $w == "dep1" then ["m-d1"] else [] end)' "$BODY" ;;
			reveal)
				check "$route as $who: the order as posted" jq -e --slurpfile o "$DIR/o.json" '
					.order.recipient.name == $o[0].recipient.name' "$BODY" ;;
			esac ;;
		*)
			cp "$BODY" "$DIR/denied.body"
			error_shape_ok "$DIR/denied.body" || fail "$route as $who: error body shape" "$(cat "$DIR/denied.body")"
			if LC_ALL=C grep -q -F -f "$DIR/order.pii" "$DIR/denied.body"; then
				fail "$route as $who: denied body holds order data" "$(cat "$DIR/denied.body")"
			fi
			if grep -q -F "$TN" "$DIR/denied.body"; then
				fail "$route as $who: denied body names the tracking number"
			fi
			case $route in
			get | assign | status | label | preview | delivery | reveal) tn=$TN ;;
			labels) [ "$STATUS" = 404 ] && tn=$TN || tn=- ;;
			*) tn=- ;;
			esac
			case $STATUS in
			401) echo "$who" >>"$DIR/unauth" ;;
			403 | 404) echo "$who $(action_of "$route") $tn" >>"$DIR/denied" ;;
			esac
			if [ "$STATUS" = 404 ]; then
				# Not yours looks exactly like not found (request_id aside).
				call "$route" "$who" "$TNX"
				if [ "$STATUS" = 404 ] &&
					jq -e --slurpfile d "$DIR/denied.body" 'del(.error.request_id) == ($d[0] | del(.error.request_id))' "$BODY" >/dev/null; then
					ok "$route as $who: not-yours 404 = not-found 404"
				else
					fail "$route as $who: not-yours 404 differs from not-found" "$(cat "$DIR/denied.body") vs $STATUS $(cat "$BODY")"
				fi
			fi ;;
		esac
	done
done <<<"$MATRIX"

# Own and foreign lists: who sees the order in GET /v1/orders.
for who in c1 c2 c3 c4 dep1 dep2; do
	api GET "/v1/orders?limit=200" "${TOK[$who]}"
	case $who in c1 | c2 | dep1) want=1 ;; *) want=0 ;; esac
	got=$(jq --arg tn "$TN" '[.orders[] | select(.tracking_no == $tn)] | length' "$BODY")
	if [ "$got" = "$want" ]; then ok "list as $who: order listed $want time(s)"; else fail "list as $who: order listed" "want $want, got $got"; fi
	case $who in c3 | dep2) want=1 ;; *) want=0 ;; esac
	got=$(jq --arg tn "$TN2" '[.orders[] | select(.tracking_no == $tn)] | length' "$BODY")
	if [ "$got" = "$want" ]; then ok "list as $who: d2 order listed $want time(s)"; else fail "list as $who: d2 order listed" "want $want, got $got"; fi
	# A row is a summary: none of the view's masked fields, nor the phones' last four.
	check "list as $who: rows are summaries, no masked name or phone, no last four digits" \
		jq -e --slurpfile v "$DIR/view.json" '[.orders[] | .. | strings] as $s |
			all(.orders[]; keys == ["courier", "created_at", "depot", "destination", "parcel", "prints",
				"sort_code", "status", "tracking_no", "updated_at"]) and
			([$v[0] | (.sender, .recipient) | .name, .phone, (.phone | .[-4:])] as $m |
			 all($s[]; . as $x | ($m | index($x)) == null and (test("\\*") | not)))' "$BODY"
	LIST_ROWS[$who]=$(jq '.orders | length' "$BODY")
done
api GET "/v1/orders/$TN2" "${TOK[c3]}"
expect_status "c3 reads its own d2 order" 200 "$STATUS"
api GET "/v1/orders/$TN2" "${TOK[dep2]}"
expect_status "dep2 reads its own d2 order" 200 "$STATUS"
api GET "/v1/orders/$TN2" "${TOK[dep1]}"
expect_status "dep1 may not read the d2 order" 404 "$STATUS"

# ---- other kinds of bad credentials ---------------------------------------------------

# (before the malformed headers below: with them the matrix's 401s reach
# auth_failures_per_minute, 60, and the 61st would be a 429)
check "401 answer carries WWW-Authenticate: Bearer (RFC 9110 15.5.2)" \
	sh -c "curl -s -D - -o /dev/null '$URL/v1/orders/$TN' | grep -qi '^WWW-Authenticate: *Bearer'"
echo "-" >>"$DIR/unauth"
for h in "Bearer" "Bearer " "Bearer garbage" "Basic YzE6cGFzcw==" \
	"Bearer ${TOK[c1]}x" "Bearer ${TOK[c1]%?}" "Token ${TOK[c1]}"; do
	api -H "Authorization: $h" GET "/v1/orders/$TN" -
	expect_status "Authorization '${h:0:16}...': 401" 401 "$STATUS"
	echo "-" >>"$DIR/unauth"
done
api GET "/v1/orders/$TN" -
echo "-" >>"$DIR/unauth"

# ---- every denial is audited ---------------------------------------------------------------

# 401s are counted per client address and audited once a minute is over, or at stop.
restart_daemon "sigterm exits 0 (before the audit is read: 401 counts are written at stop)"
check "audit: all entries fetched" audit_all "$DIR/audit.json"
jq -r '.[] | select(.result == "denied") | "\(.actor) \(.action) \(.tracking_no // "-")"' \
	"$DIR/audit.json" | sort | uniq -c | awk '{ print $2, $3, $4, $1 }' >"$DIR/denied.audit"
sort "$DIR/denied" | uniq -c | awk '{ print $2, $3, $4, $1 }' >"$DIR/denied.want"
check "denials: there were some" test -s "$DIR/denied.want"
while read -r who act tn n; do
	got=$(awk -v w="$who" -v a="$act" -v t="$tn" '$1 == w && $2 == a && $3 == t { print $4 }' "$DIR/denied.audit")
	if [ "${got:-0}" -ge "$n" ]; then
		ok "audit: $who $act ${tn/$TN/TN} denied x$n recorded"
	else
		fail "audit: $who $act ${tn/$TN/TN} denied" "want $n entries with result denied, got ${got:-0}"
	fi
done <"$DIR/denied.want"
n=$(wc -l <"$DIR/unauth")
got=$(jq '[.[] | select(.action == "auth.fail") | .reason | capture("count=(?<n>[0-9]+)").n | tonumber] | add // 0' "$DIR/audit.json")
check "audit: every 401 recorded ($n, in auth.fail counts: $got)" test "$got" -ge "$n"

api GET "/v1/audit?tracking_no=$TN&limit=1000" "${TOK[aud1]}"
want=$(grep -c " $TN\$" "$DIR/denied")
got=$(jq '[.entries[] | select(.result == "denied" and .tracking_no == "'"$TN"'")] | length' "$BODY")
if [ "$got" = "$want" ]; then ok "audit?tracking_no=TN: $want denied entries"; else fail "audit?tracking_no=TN: denied entries" "want $want, got $got"; fi
for who in c1 c2 c3 c4 dep1 dep2; do
	check "audit: $who's list is one order.list entry naming no order, with its count (${LIST_ROWS[$who]})" \
		jq -e --arg w "$who" --arg n "${LIST_ROWS[$who]} orders" \
		'[.[] | select(.actor == $w and .action == "order.list" and .reason == $n)] | length >= 1 and all(.tracking_no == null)' "$DIR/audit.json"
done
check "audit?tracking_no=TN: only that order's entries" jq -e --arg tn "$TN" '.entries | length > 0 and all(.tracking_no == $tn)' "$BODY"
check "audit?tracking_no=TN: the reads that worked are there" \
	jq -e '[.entries[] | select(.action == "order.read" and .result == "ok") | .actor] | sort == ["adm1","c1","c2","dep1"]' "$BODY"
check "audit entries: no personal data of the order" sh -c "! LC_ALL=C grep -q -F -f '$DIR/order.pii' '$DIR/audit.json'"

# ---- unknown routes and wrong methods ---------------------------------------------------------

for p in / /v1 /v1/nope /v2/orders "/v1/orders/$TN/extra" /v1/orders/ "/v1/orders/$TN/" \
	/v1/audit/ /v1/audit/verify/x /healthz/x /readyz/x; do
	api GET "$p" "${TOK[adm1]}"
	expect_status "GET $p: 404" 404 "$STATUS"
	error_shape_ok || fail "GET $p: error body" "$(cat "$BODY")"
done
wrong() { # METHOD PATH ALLOW
	local hdrs
	hdrs=$(curl -s -D - -o "$BODY" -X "$1" -H "Authorization: Bearer ${TOK[adm1]}" "$URL$2")
	STATUS=$(printf '%s\n' "$hdrs" | awk 'NR == 1 { print $2 }')
	expect_status "$1 ${2/$TN/TN}: 405" 405 "$STATUS"
	error_shape_ok || fail "$1 ${2/$TN/TN}: error body" "$(cat "$BODY")"
	local allow
	allow=$(printf '%s\n' "$hdrs" | tr -d '\r' | awk -F': *' 'tolower($1) == "allow" { print $2 }')
	[ "$allow" = "$3" ] || BAD_ALLOW+=("$1 ${2/$TN/TN}: Allow '$allow', want '$3'")
}
BAD_ALLOW=()
wrong DELETE "/v1/orders/$TN" "GET, HEAD"
wrong PUT "/v1/orders/$TN" "GET, HEAD"
wrong PATCH /v1/orders "GET, HEAD, POST"
wrong DELETE /v1/orders "GET, HEAD, POST"
wrong GET "/v1/orders/$TN/assign" POST
wrong GET "/v1/orders/$TN/status" POST
wrong POST /v1/audit "GET, HEAD"
wrong POST /v1/audit/verify "GET, HEAD"
wrong POST /healthz "GET, HEAD"
wrong POST /readyz "GET, HEAD"
wrong DELETE /metrics "GET, HEAD"
wrong DELETE "/v1/orders/$TN/label.pdf" GET # a HEAD would spend a print
wrong DELETE "/v1/orders/$TN/label" GET
wrong POST "/v1/orders/$TN/preview.png" GET # a HEAD would audit a preview it never sent
# RFC 9110 15.5.6: a 405 lists the methods the path does support.
if [ ${#BAD_ALLOW[@]} -eq 0 ]; then
	ok "405 answers: Allow lists exactly the path's methods"
else
	fail "405 answers: Allow lists exactly the path's methods" "${#BAD_ALLOW[@]} wrong, e.g. ${BAD_ALLOW[0]}; ${BAD_ALLOW[1]:-}"
fi

stop_daemon
finish
