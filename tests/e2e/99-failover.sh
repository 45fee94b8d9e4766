#!/bin/sh
# 99-failover: two waybilld over a PostgreSQL primary with a synchronous
# streaming standby (tests/pg_pair.sh), one multi-host URL
# (host=PRIMARY,STANDBY&target_session_attrs=read-write).  Writers post orders
# with client_order_ids through both daemons and send every request without a
# definite answer (503, lost connection) again with the same id, as a client
# must.  Under that load the primary dies (SIGKILL to its postmaster and every
# backend: its machine is gone) and the standby is promoted.  Then:
#   - the daemons answered 503 (or nothing) meanwhile, never a 500;
#   - /readyz said "store" and is 200 again on both once the standby took over;
#   - every order acked (201, or 200 for a repeat) before and after the kill
#     is read back through the other daemon from the new primary;
#   - no client_order_id maps to two tracking numbers, the database holds one
#     order per key and no order nobody was answered for;
#   - `waybillctl audit verify` on the new primary says the chain holds.
# FAILOVER_CYCLES (default 1) kills and promotes that many times, each time
# building a new standby from the new primary (tests/torture/failover.sh).
# Runs on the PostgreSQL pass only (tests/run.sh; WAYBILL_TEST_PG): it starts
# its own pair of servers beside that pass's cluster.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

if ! is_pg; then
	echo "skip: failover needs PostgreSQL with a standby (tests/run.sh runs this on its PostgreSQL pass)"
	ok "skipped on SQLite (no standby to fail over to)"
	finish
fi

CYCLES=${FAILOVER_CYCLES:-1}
THREADS_EACH=${FAILOVER_THREADS:-4}
CLIENTS=$ROOT/tests/torture/clients.py
PAIR=$ROOT/tests/pg_pair.sh

DIR=$(mktemp -d "${TMPDIR:-/tmp}/waybill-e2e.XXXXXX") || die setup "mktemp failed"
chmod 755 "$DIR"
BODY=$DIR/body
: >"$DIR/bodies"
: >"$DIR/error_bodies"
export WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints
declare -a DURL DPIDS WPIDS F0 R0

fo_cleanup() {
	local rc=$? p
	for p in "${WPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${WPIDS[@]}"; do wait "$p" 2>/dev/null; done
	for p in "${DPIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${DPIDS[@]}"; do wait "$p" 2>/dev/null; done
	DPID=
	sh "$PAIR" stop "$DIR/pg" >/dev/null 2>&1
	(exit "$rc")
	cleanup
}
trap fo_cleanup EXIT
trap 'exit 130' INT TERM

DB=$(sh "$PAIR" start "$DIR/pg" 2>"$DIR/pair.err") || die setup "the primary and standby did not start: $(tr '\n' ' ' <"$DIR/pair.err")"
"$WBCTL" keygen --out "$DIR/key" 2>/dev/null || die setup "keygen failed"
: >"$DIR/tokens"
for a in "w1 courier d1" "w2 courier d1" "w3 courier d2" "w4 courier d2" "aud1 auditor"; do
	# shellcheck disable=SC2086
	add_account $a || die setup "account add $a failed"
	set -- $a
	[ "$2" = courier ] && echo "$1 ${TOK[$1]}" >>"$DIR/tokens"
done

FLAGS=(--cluster-size 2)
# up N: daemon N on the pair's URL, its own port, log and checkpoint file.
up() {
	local n=$1 port u pid
	port=$(pick_port) || return 1
	u=http://127.0.0.1:$port
	WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints.$n "$WBD" --db "$DB" --key-file "$DIR/key" \
		--listen "127.0.0.1:$port" "${FLAGS[@]}" 2>>"$DIR/log.$n" &
	pid=$!
	DURL[$n]=$u
	DPIDS[$n]=$pid
	echo "$u" >"$DIR/url.$n"
	wait_until 15 curl -fs -o /dev/null --max-time 1 "$u/readyz"
}
check "daemon 0 starts on the multi-host URL" up 0
check "daemon 1 starts on the multi-host URL" up 1

# ready N: daemon N's /readyz status code, and its reasons in $DIR/ready.N.
ready() {
	curl -s -o "$DIR/ready.$1" -w '%{http_code}' --max-time 2 "${DURL[$1]}/readyz"
}
is_ready() { [ "$(ready "$1")" = 200 ]; }
says_store() { [ "$(ready "$1")" = 503 ] && [ "$(jq -r '.reasons | join(",")' "$DIR/ready.$1")" = store ]; }
# both_say_store SECS WHAT [TAIL]: each daemon's /readyz is 503 "store" within SECS.
both_say_store() {
	local n
	for n in 0 1; do
		if wait_until "$1" says_store "$n"; then
			ok "$2: daemon $n: /readyz 503 \"store\"$3"
		else
			fail "$2: daemon $n: /readyz 503 \"store\"$3" "$(ready "$n") $(cat "$DIR/ready.$n")"
		fi
	done
}
live() { # live OUT CODE: that code's count in the writers' running tally
	awk -v k="$2" '$1 == k { print $2 }' "$1/live" 2>/dev/null | tail -n 1 | grep . || echo 0
}
enough() { [ "$(live "$1" "$2")" -ge "$3" ]; }

writers_start() { # writers_start CYCLE: one writer process per daemon
	local n
	for n in 0 1; do
		mkdir -p "$DIR/c$1/w$n"
		THREADS=$THREADS_EACH PREFIX="c$1w$n" python3 "$CLIENTS" write "$DIR/c$1/w$n" "$DIR/tokens" \
			"$DIR/url.$n" >"$DIR/c$1/w$n/write.out" 2>"$DIR/c$1/w$n/write.err" &
		WPIDS[$n]=$!
	done
}
writers_stop() {
	local n
	for n in 0 1; do touch "$DIR/c$1/w$n/stop"; done
	for n in 0 1; do wait "${WPIDS[$n]}"; done
	WPIDS=()
}
total() { # total CYCLE NAME FILE: NAME summed over both writers' FILE
	cat "$DIR/c$1"/w?/"$3" 2>/dev/null | awk -v k="$2" '$1 == k { s += $2 } END { print s + 0 }'
}

DOWN_MAX=0
for c in $(seq "$CYCLES"); do
	writers_start "$c"
	for n in 0 1; do
		wait_until 20 enough "$DIR/c$c/w$n" 201 15 ||
			fail "cycle $c: writers on daemon $n got 15 orders acked before the kill" "$(tr '\n' ' ' <"$DIR/c$c/w$n/live")"
	done
	before=$(($(live "$DIR/c$c/w0" 201) + $(live "$DIR/c$c/w1" 201)))
	t0=$(date +%s%N)
	sh "$PAIR" kill "$DIR/pg"
	both_say_store 10 "cycle $c" " once the primary is gone"
	# A moment of outage under load: the writers keep retrying.
	sleep 1
	check "cycle $c: the standby is promoted" sh "$PAIR" promote "$DIR/pg"
	for n in 0 1; do
		check "cycle $c: daemon $n: /readyz 200 again on the promoted standby" wait_until 20 is_ready "$n"
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -gt "$DOWN_MAX" ] && DOWN_MAX=$ms
	for n in 0 1; do
		wait_until 20 enough "$DIR/c$c/w$n" 201 $(($(live "$DIR/c$c/w$n" 201) + 15)) ||
			fail "cycle $c: writers on daemon $n got orders acked after the promotion" "$(tr '\n' ' ' <"$DIR/c$c/w$n/live")"
	done
	writers_stop "$c"
	for n in 0 1; do
		THREADS=4 python3 "$CLIENTS" retry "$DIR/c$c/w$n" "$DIR/tokens" "$DIR/url.$n" \
			>"$DIR/c$c/w$n/retry.out" 2>"$DIR/c$c/w$n/retry.err"
		# Read back through the other daemon.
		THREADS=4 python3 "$CLIENTS" readback "$DIR/c$c/w$n" "$DIR/tokens" "$DIR/url.$((1 - n))" \
			>"$DIR/c$c/w$n/readback.out" 2>"$DIR/c$c/w$n/readback.err"
	done
	acked=$(total "$c" acked_distinct readback.out)
	after=$(($(total "$c" 201 write.out) - before))
	echo "cycle $c: $acked orders acked ($before before the kill, $after after), 503s $(total "$c" 503 write.out), repeats answered 200 $(total "$c" 200 write.out), no answer $(total "$c" conn write.out), retried at the end $(($(total "$c" retried_200 retry.out) + $(total "$c" retried_201 retry.out))), outage to both ready ${ms} ms"
	check "cycle $c: orders were acked before the kill ($before) and after the promotion ($after)" \
		test "$before" -ge 30 -a "$after" -ge 30
	check "cycle $c: the failover was seen by the writers (503s or lost connections)" \
		test $(($(total "$c" 503 write.out) + $(total "$c" conn write.out))) -gt 0
	check "cycle $c: every acked order read back from the new primary (lost $(total "$c" lost readback.out), other $(total "$c" read_other readback.out))" \
		test "$(total "$c" lost readback.out)" = 0 -a "$(total "$c" read_other readback.out)" = 0 \
		-a "$(total "$c" read_ok readback.out)" = "$acked"
	check "cycle $c: no 500 and no other status, to writes or retries" \
		test $(($(total "$c" 500 write.out) + $(total "$c" other write.out) + $(total "$c" bad_ack_body write.out) + $(total "$c" 500 retry.out) + $(total "$c" retry_bad retry.out))) = 0
	check "cycle $c: every 503 said unavailable, none vnum_pool_exhausted ($(total "$c" e503_unavailable write.out) of $(total "$c" 503 write.out))" \
		test "$(total "$c" e503_unavailable write.out)" = "$(total "$c" 503 write.out)"
	dup=$(cat "$DIR/c$c"/w?/acked.tsv | awk -F'\t' '{ print $3 "\t" $1 }' | sort -u | cut -f1 | uniq -d | head -n 3)
	check "cycle $c: no client_order_id was answered with two tracking numbers${dup:+ ($dup)}" test -z "$dup"
	# The promoted standby needs a standby of its own for the next kill.
	if [ "$c" -lt "$CYCLES" ]; then
		check "cycle $c: a new standby streams from the new primary" sh "$PAIR" rebuild "$DIR/pg"
	fi
done

# ---- with no load: /readyz alone must follow the database ---------------------
# A load balancer sends nothing to a daemon whose /readyz says 503: the daemon
# must find out by itself that the primary is gone, and that the promoted
# standby takes its writes, without a request to fail or succeed first.
check "idle: a new standby streams from the primary" sh "$PAIR" rebuild "$DIR/pg"
for n in 0 1; do
	check "idle: daemon $n is ready before the kill" is_ready "$n"
done
sh "$PAIR" kill "$DIR/pg"
both_say_store 10 "idle" " with no request sent since the kill"
check "idle: the standby is promoted" sh "$PAIR" promote "$DIR/pg"
for n in 0 1; do
	check "idle: daemon $n: /readyz 200 again with no request sent" wait_until 20 is_ready "$n"
done
fixture 3 | jq -c '.client_order_id = "idle-after"' >"$DIR/idle.json"
URL=${DURL[1]}
api POST /v1/orders "${TOK[w1]}" "$DIR/idle.json"
expect_status "idle: the first order after the promotion is created" 201 "$STATUS"
[ "$STATUS" = 201 ] && printf '%s\tw1\tidle-after\t0\n' "$(jb .tracking_no)" >"$DIR/c0idle.tsv"

# ---- a standby that stops answering ---------------------------------------------
# With synchronous_commit on, every commit waits for the standby.  One that
# stopped (or hangs with its machine) held every write for good while /readyz
# said 200: a write waited until its client gave up (30 s here), and so did
# the other daemon's, queued behind the head row the stuck commit kept locked.
# db_timeout_s (default 5) bounds the wait: the commit is cancelled (committed
# on the primary, not confirmed), the write answers 503 unavailable, /readyz
# says "store" on both daemons (the idle one finds out by its own probe), and
# the writes after it answer 503 at once until a commit goes through.  Once
# the standby is back, a client that sends its 503'd order again gets it.
wrote() { [ "$STATUS" = 201 ] || [ "$STATUS" = 200 ]; }
sb_post() { # sb_post DAEMON COID FIXTURE: POST it, its time in $MS
	local t0
	fixture "$3" | jq -c --arg k "$2" '.client_order_id = $k' >"$DIR/sb.json"
	URL=${DURL[$1]}
	t0=$(date +%s%N)
	api POST /v1/orders "${TOK[w1]}" "$DIR/sb.json"
	MS=$((($(date +%s%N) - t0) / 1000000))
	wrote && printf '%s\tw1\t%s\t0\n' "$(jb .tracking_no)" "$2" >>"$DIR/c0standby.tsv"
}
check "standby: a new standby streams from the primary" sh "$PAIR" rebuild "$DIR/pg"
for n in 0 1; do
	check "standby: daemon $n is ready" wait_until 20 is_ready "$n"
done
sb_post 0 sb-before 4
expect_status "standby: an order while it streams: 201" 201 "$STATUS"
loglines() { grep -ac "$2" "$DIR/log.$1"; }
for n in 0 1; do
	F0[$n]=$(loglines "$n" 'writing failed')
	R0[$n]=$(loglines "$n" 'writing recovered')
done
check "standby: it stops (immediate)" sh "$PAIR" standby-down "$DIR/pg"
sb_post 0 sb-during 5
echo "# the write during the standby's outage answered $STATUS in $MS ms"
expect_error "standby down: the write answers 503" 503 unavailable ""
ra=$(curl -s -D - -o /dev/null --max-time 30 -H "Authorization: Bearer ${TOK[w1]}" \
	-H 'Content-Type: application/json' --data-binary "@$DIR/sb.json" "${DURL[0]}/v1/orders" |
	tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')
check "standby down: the next write's 503 says Retry-After ($ra)" test -n "$ra"
both_say_store 15 "standby down"
sb_post 1 sb-other 6
echo "# a write to the other daemon meanwhile answered $STATUS in $MS ms"
expect_error "standby down: a write to the other daemon answers 503" 503 unavailable ""
check "standby: it starts again" sh "$PAIR" standby-up "$DIR/pg"
for n in 0 1; do
	check "standby back: daemon $n: /readyz 200 again" wait_until 20 is_ready "$n"
	f=$(($(loglines "$n" 'writing failed') - F0[n]))
	r=$(($(loglines "$n" 'writing recovered') - R0[n]))
	check "standby: daemon $n logged one 'writing failed' and one 'writing recovered' line ($f, $r)" \
		test "$f" = 1 -a "$r" = 1
done
line=$(grep -ah 'writing failed' "$DIR/log.0" "$DIR/log.1" | grep -a 'synchronous standby' | head -n 1)
check "standby: the line says it was the synchronous standby: ${line#*msg=}" test -n "$line"
# The cancelled commit kept its order on the primary (a repeat finds it, 200);
# a write refused before its commit was tried is created now (201).
sb_post 1 sb-during 5
check "standby back: the 503'd order sent again is answered ($STATUS)" wrote
tn=$(jb .tracking_no)
sb_post 0 sb-other 6
check "standby back: the other daemon's 503'd order sent again is answered ($STATUS)" wrote
URL=${DURL[0]}
api GET "/v1/orders/$tn" "${TOK[w1]}"
expect_status "standby back: that order reads back through the other daemon" 200 "$STATUS"

coids=$(cat "$DIR"/c*/w?/acked.tsv "$DIR"/c0idle.tsv "$DIR"/c0standby.tsv 2>/dev/null | cut -f2,3 | sort -u | wc -l)
check "the database holds one order per client_order_id" \
	test -z "$(db_sql "SELECT creator, idem_key FROM orders GROUP BY creator, idem_key HAVING count(*) > 1")"
check "the database holds exactly the orders acked ($coids): none that no one was answered for" \
	test "$(db_sql "SELECT count(*) FROM orders")" = "$coids"
check "waybillctl audit verify on the new primary" ctl audit verify
check "the daemons' audit entries: one order.create per order, none lost ($(db_sql "SELECT count(*) FROM audit WHERE action = 'order.create' AND result = 'ok'")/$coids)" \
	test "$(db_sql "SELECT count(DISTINCT order_id) FROM audit WHERE action = 'order.create' AND result = 'ok'")" = "$coids"
echo "figure: failover_to_ready_max_ms $DOWN_MAX"
for n in 0 1; do
	kill -TERM "${DPIDS[$n]}"
	wait "${DPIDS[$n]}"
	check "daemon $n exits 0 on SIGTERM" test $? = 0
done
DPIDS=()
finish
