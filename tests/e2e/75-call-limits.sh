#!/bin/sh
# 75-call-limits: what an insider with a token can get out of the call
# routes and the allocator, and the limits that stop them (issue 12).
#
#   - a telephony token sweeping extensions, or recipients' phones, runs into
#     its own limit (call_routes_per_token_per_minute) and learns no tracking
#     number; its 404s count towards miss_limit like anyone's;
#   - flooding the per-caller limiter with other callers resets nobody;
#   - 200 concurrent guesses from one token get at most miss_limit 404s;
#   - extensions are not handed out in sequence, and where a recent
#     recipient's order lands cannot be told from where a new one's does;
#   - 1000 requests without a token write a handful of audit entries (one
#     per address and minute, with the count) and are answered 429 past
#     auth_failures_per_minute.
#
# The per-token limit is set through the environment, so that the same
# script runs (and fails) against a daemon from before it existed.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

export WAYBILL_CALL_ROUTES_PER_TOKEN_PER_MINUTE=20
MISS=10
start_daemon --vnum-pool 17000000000-17000000003 --miss-limit "$MISS"
CA_PHONE=+8613912340001
add_account ca courier d1 "$CA_PHONE" || die setup "account ca"
for t in tel2 tel3 tel4 tel5; do
	add_account "$t" telephony || die setup "account $t"
done

# codes FILE: "CODE COUNT" lines of a bulk run's codes, one line.
codes() {
	awk '{ n[$2]++ } END { for (c in n) printf "%s:%d ", c, n[c] }' "$1"
}
count() { # count FILE CODE
	awk -v c="$2" '$2 == c' "$1" | wc -l
}
# A fixed-window limit counts per calendar minute: start a burst early in one
# (20 s of room; a burst takes a few), so that it does not straddle two.
minute_start() {
	local s
	s=$(date +%S)
	[ "$((10#$s))" -lt 40 ] || sleep $((61 - 10#$s))
}
# routes TOKEN OUT < "N JSON" lines: POST /v1/calls/route, 8 at a time.
routes() {
	local token=$1 out=$2 n body
	mkdir -p "$out.in"
	while read -r n body; do
		printf '%s' "$body" >"$out.in/$n.json"
		echo "$n /v1/calls/route"
	done >"$out.list"
	bulk POST "$token" "$out" "$out.in" <"$out.list"
}
# no_tn NAME DIR: no tracking number in any answer in DIR.
no_tn() {
	if cat "$2"/*.json 2>/dev/null | grep -aqE 'WB[0-9]{18}'; then
		fail "$1" "a tracking number in an answer: $(cat "$2"/*.json | grep -aoE 'WB[0-9]{18}' | head -n 3 | tr '\n' ' ')"
	else
		ok "$1"
	fi
}

# ---- orders out for delivery with courier ca ----------------------------------

N=40
: >"$DIR/ca_orders"
for k in $(seq 1 $N); do
	phone=1382000$(printf '%04d' "$k")
	order_with ".client_order_id = \"ca-$k\" | .recipient.phone = \"$phone\"" >"$DIR/o.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
	tn=$(jb .tracking_no)
	api POST "/v1/orders/$tn/assign" "${TOK[dep1]}" -d '{"courier":"ca"}'
	set_status "${TOK[ca]}" "$tn" picked_up in_transit out_for_delivery
	[ "$STATUS" = 200 ] || die setup "order $k: not out for delivery ($STATUS)"
	echo "$tn $(jb .virtual_number) $(jb .extension) +86$phone" >>"$DIR/ca_orders"
done
ok "setup: $N orders out for delivery with courier ca"
read -r _ V _ _ <"$DIR/ca_orders"

# ---- a telephony token sweeping extensions with the courier's phone -------------------

minute_start
for e in $(seq 0 999); do
	printf '%d {"caller":"%s","called":"%s","extension":"%04d"}\n' "$e" "$CA_PHONE" "$V" "$e"
done | routes "${TOK[tel1]}" "$DIR/sweep_ext"
answered=$(($(count "$DIR/sweep_ext.codes" 200) + $(count "$DIR/sweep_ext.codes" 404)))
check "extension sweep 0000-0999 with ca's phone: at most 20 answered, the rest 429 ($(codes "$DIR/sweep_ext.codes"))" \
	test "$answered" -le 20 -a "$(count "$DIR/sweep_ext.codes" 429)" -ge 980
no_tn "extension sweep: no tracking number in any answer" "$DIR/sweep_ext"

# ---- a telephony token sweeping recipients' phones -------------------------------------

minute_start
k=0
while read -r _ v _ phone; do
	printf '%d {"caller":"%s","called":"%s"}\n' "$k" "$phone" "$v"
	k=$((k + 1))
done <"$DIR/ca_orders" | routes "${TOK[tel2]}" "$DIR/sweep_phone"
check "phone sweep of $N recipients: at most 20 call backs answered, the rest 429 ($(codes "$DIR/sweep_phone.codes"))" \
	test "$(count "$DIR/sweep_phone.codes" 200)" -le 20 -a "$(count "$DIR/sweep_phone.codes" 429)" -ge $((N - 20))
check "phone sweep: the call backs answered did reach ca (the orders are out for delivery)" \
	test "$(cat "$DIR"/sweep_phone/*.json | grep -c "\"forward_to\":\"$CA_PHONE\"")" -ge 1
no_tn "phone sweep: no tracking number in any answer" "$DIR/sweep_phone"
hdr=$(curl -s -D - -o "$BODY" --max-time 10 -H "Authorization: Bearer ${TOK[tel2]}" \
	-H 'Content-Type: application/json' -d "{\"caller\":\"$CA_PHONE\",\"called\":\"$V\"}" "$URL/v1/calls/route")
check "phone sweep: the token's next route is 429 with Retry-After" \
	bash -c 'grep -q "^HTTP/1.1 429" <<<"$1" && grep -qiE "^retry-after: [0-9]+" <<<"$1"' _ "$hdr"
check "phone sweep: every 429 is a clean error" \
	bash -c 'for f in "$1"/*.json; do grep -q forward_to "$f" || jq -e ".error.code" "$f" >/dev/null || exit 1; done' _ "$DIR/sweep_phone"

# ---- telephony 404s count towards miss_limit ----------------------------------------------

: >"$DIR/miss.codes"
for k in $(seq 10 29); do
	api POST /v1/calls/route "${TOK[tel3]}" -d "{\"caller\":\"+86139000100$k\",\"called\":\"$V\",\"extension\":\"0000\"}"
	echo "$k $STATUS" >>"$DIR/miss.codes"
done
check "20 routes from 20 callers that find nothing: $MISS 404s, then 429 (miss_limit) ($(codes "$DIR/miss.codes"))" \
	test "$(count "$DIR/miss.codes" 404)" -le "$MISS" -a "$(count "$DIR/miss.codes" 429)" -ge $((20 - MISS))

# ---- flooding the per-caller limiter --------------------------------------------------------

# A victim caller uses up its budget (call_routes_per_hour, 30) through tel5.
VICTIM=+8613700000000
for k in $(seq 1 30); do
	api POST /v1/calls/route "${TOK[tel5]}" -d "{\"caller\":\"$VICTIM\",\"called\":\"$V\"}"
done
api POST /v1/calls/route "${TOK[tel5]}" -d "{\"caller\":\"$VICTIM\",\"called\":\"$V\"}"
expect_status "flood: the victim caller's 31st route this hour" 429 "$STATUS"
# tel4 floods the limiter with 650 distinct callers.
minute_start
for k in $(seq 0 649); do
	printf '%d {"caller":"+861360000%04d","called":"%s"}\n' "$k" "$k" "$V"
done | routes "${TOK[tel4]}" "$DIR/flood"
check "flood of 650 distinct callers from one token: stopped at 20 (the rest 429: $(codes "$DIR/flood.codes"))" \
	test "$(count "$DIR/flood.codes" 429)" -ge 630
api POST /v1/calls/route "${TOK[tel5]}" -d "{\"caller\":\"$VICTIM\",\"called\":\"$V\"}"
expect_status "flood: the victim caller is still counted (429) after it" 429 "$STATUS"

# ---- 200 concurrent guesses from one token ---------------------------------------------------

: >"$DIR/guess.list"
for k in $(seq 0 199); do
	echo "$k /v1/orders/$(tn_make "$(printf '%016d' $((RANDOM * 32768 + RANDOM + k * 1000000000)))")" >>"$DIR/guess.list"
done
mkdir -p "$DIR/guess"
while read -r n p; do
	[ "$n" = 0 ] || echo next
	printf 'url = "%s%s"\noutput = "%s/guess/%s.json"\nwrite-out = "%s %%{http_code}\\n"\nmax-time = 60\nheader = "Authorization: Bearer %s"\n' \
		"$URL" "$p" "$DIR" "$n" "$n" "${TOK[c3]}"
done <"$DIR/guess.list" >"$DIR/guess.curl"
curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 200 -K "$DIR/guess.curl" \
	>"$DIR/guess.codes" 2>"$DIR/guess.err"
check "200 concurrent guesses: at most $MISS 404s, the rest 429 ($(codes "$DIR/guess.codes"))" \
	test "$(count "$DIR/guess.codes" 404)" -le "$MISS" -a \
	"$(($(count "$DIR/guess.codes" 404) + $(count "$DIR/guess.codes" 429)))" -eq 200

# ---- extensions are not handed out in sequence ------------------------------------------

: >"$DIR/exts"
for k in $(seq 1 50); do
	order_with ".client_order_id = \"seq-$k\" | .recipient.phone = \"1383000$(printf '%04d' "$k")\"" >"$DIR/o.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
	jb .extension >>"$DIR/exts"
done
read -r low mean ascents < <(awk 'NR > 1 { up += ($1 + 0 > prev) } { low += ($1 + 0 < 1000); sum += $1; prev = $1 + 0 }
	END { printf "%d %d %d\n", low, sum / NR, up }' "$DIR/exts")
# uniform on 0000-9999: a tenth below 1000 (5, sd 2.1), mean 5000 (sd 408),
# rising from one order to the next about half of the time (24.5, sd 2)
check "50 orders' extensions are not 0000-0049: $low below 1000" test "$low" -le 15
check "50 orders' extensions: mean $mean within 2500-7500" test "$mean" -ge 2500 -a "$mean" -le 7500
check "50 orders' extensions: $ascents of 49 rise from the one before (10-39)" test "$ascents" -ge 10 -a "$ascents" -le 39

# ---- a recent recipient cannot be told from a new one ---------------------------------------

# Courier c1 probes phones: an order for a new phone it made up, then one for
# the phone it asks about, and looks whether the second lands on the number
# the first did.  Half the phones asked about had an order made by another
# courier (c2) just before: recent recipients.  The other half are new.
K=30
same_recent=0
same_new=0
for k in $(seq 1 $K); do
	rp=1384000$(printf '%04d' "$k")
	order_with ".client_order_id = \"victim-$k\" | .recipient.phone = \"$rp\"" >"$DIR/o.json"
	api POST /v1/orders "${TOK[c2]}" "$DIR/o.json"
	for kind in recent new; do
		if [ "$kind" = recent ]; then probe=13871$(printf '%06d' "$k"); else probe=13872$(printf '%06d' "$k"); fi
		order_with ".client_order_id = \"probe-$kind-$k\" | .recipient.phone = \"$probe\"" >"$DIR/o.json"
		api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
		before=$(jb .virtual_number)
		if [ "$kind" = recent ]; then phone=$rp; else phone=1386000$(printf '%04d' "$k"); fi
		order_with ".client_order_id = \"ask-$kind-$k\" | .recipient.phone = \"$phone\"" >"$DIR/o.json"
		api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
		if [ "$(jb .virtual_number)" = "$before" ]; then
			if [ "$kind" = recent ]; then same_recent=$((same_recent + 1)); else same_new=$((same_new + 1)); fi
		fi
	done
done
# Random numbers: a quarter each (7.5 of 30, sd 2.4); the difference beyond
# 15 once in ~10^5 runs.  In sequence, new phones stay on the number (30)
# and recent ones are moved (0).
diff=$((same_new - same_recent))
check "recent vs new recipient: same number as the probe before $same_recent vs $same_new of $K times (|diff| <= 15)" \
	test "${diff#-}" -le 15

# ---- requests without a valid token ---------------------------------------------------------

audit_export "$DIR/audit.before"
minute_start
api GET "/v1/orders/$(head -n 1 "$DIR/ca_orders" | cut -d' ' -f1)" -
expect_status "no token: 401" 401 "$STATUS"
seq 0 999 | sed "s|$| /v1/orders/$(head -n 1 "$DIR/ca_orders" | cut -d' ' -f1)|" | bulk GET - "$DIR/unauth"
n401=$(count "$DIR/unauth.codes" 401)
n429=$(count "$DIR/unauth.codes" 429)
check "1000 requests without a token: 59 more 401s, then 429 ($(codes "$DIR/unauth.codes"))" \
	test "$n401" -le 60 -a "$((n401 + n429))" -eq 1000
hdr=$(curl -s -D - -o "$BODY" --max-time 10 -H 'Authorization: Bearer wb_0000' "$URL/v1/orders")
check "past the limit, a bad token gets 429 with Retry-After" \
	bash -c 'grep -q "^HTTP/1.1 429" <<<"$1" && grep -qiE "^retry-after: [0-9]+" <<<"$1"' _ "$hdr"
api GET /v1/orders "${TOK[c1]}"
expect_status "a valid token from the same address is still answered" 200 "$STATUS"
stop_daemon "sigterm exits 0 (the last minute's count is written at stop)"
audit_export "$DIR/audit.after"
added=$(($(wc -l <"$DIR/audit.after") - $(wc -l <"$DIR/audit.before")))
check "1002 unauthenticated requests wrote a handful of audit entries ($added)" test "$added" -le 5
total=$(jq -s '[.[] | select(.action == "auth.fail") | .reason | capture("count=(?<n>[0-9]+)").n | tonumber] | add // 0' "$DIR/audit.after")
check "the auth.fail entries count them all ($total of 1002)" test "$total" -eq 1002
check "an auth.fail entry names the address, the minute, the count and how many got 429" \
	jq -se 'any(.[]; .action == "auth.fail" and .result == "unauthorized" and
		(.reason | test("^addr=127\\.0\\.0\\.1 minute=[0-9T:-]+Z count=[0-9]+ limited=[0-9]+$")))' "$DIR/audit.after"
check "audit chain verifies" ctl audit verify
finish
