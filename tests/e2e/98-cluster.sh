#!/bin/sh
# 98-cluster: three waybilld over one PostgreSQL database (issue 15), under
# concurrent load, and what an insider would try against the promises that
# were per process before:
#   - the same client_order_id sent to all three at once: one order;
#   - a small number pool shared by all three: no extension held twice;
#   - admin reveals counted in the database: the cluster gives no more than
#     admin_reveals_per_day, however the requests are spread;
#   - miss_limit per daemon is the configured one divided by cluster_size:
#     404s over the whole cluster stay within miss_limit;
#   - the audit chain (one head, three writers) verifies; an edited or
#     deleted entry is refused by the database, and one edited past the
#     trigger is caught by `waybillctl audit verify`;
#   - kill -9 of one daemon under load: every order it (or another) acked
#     with a 201 is read back through the others.
# Runs on the PostgreSQL pass only (tests/run.sh; WAYBILL_TEST_PG).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

if ! is_pg; then
	echo "skip: three daemons on one database need PostgreSQL (tests/run.sh runs this on its PostgreSQL pass)"
	ok "skipped on SQLite (one daemon per database file)"
	finish
fi

REVEALS=5
MISS=6
FLAGS=(--vnum-pool 17000000000-17000000001 --miss-limit "$MISS" --admin-reveals-per-day "$REVEALS"
	--cluster-size 3)
start_daemon "${FLAGS[@]}"
declare -a DURL DPIDS
DURL[0]=$URL
DPIDS[0]=$DPID

# extra N: another daemon on the same database and key, its own port and log.
extra() {
	local n=$1 port u pid
	port=$(pick_port) || return 1
	u=http://127.0.0.1:$port
	WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints.$n "$WBD" --db "$DB" --key-file "$DIR/key" \
		--listen "127.0.0.1:$port" "${FLAGS[@]}" 2>>"$DIR/log.$n" &
	pid=$!
	for _ in $(seq 200); do
		curl -fs -o /dev/null --max-time 1 "$u/readyz" && break
		sleep 0.05
	done
	DURL[$n]=$u
	DPIDS[$n]=$pid
	curl -fs -o /dev/null --max-time 1 "$u/readyz"
}
check "second daemon on the same database starts" extra 1
check "third daemon on the same database starts" extra 2

# waitjobs: wait for the background jobs this script started (not the daemons).
JOBS=()
waitjobs() {
	local p
	for p in "${JOBS[@]}"; do wait "$p" 2>/dev/null; done
	JOBS=()
}

# on N: api against daemon N.
on() {
	local n=$1 keep=$URL
	shift
	URL=${DURL[$n]}
	api "$@"
	URL=$keep
}

# ---- idempotency: one key, three daemons, at once ----------------------------
mkdir -p "$DIR/idem"
for k in $(seq 1 8); do
	fixture "$k" | jq -c --arg k "race-$k" '.client_order_id = $k' >"$DIR/idem/$k.json"
done
for k in $(seq 1 8); do
	for n in 0 1 2; do
		curl -s -o "$DIR/idem/$k.$n.out" -w '%{http_code}\n' -X POST --max-time 30 \
			-H "Authorization: Bearer ${TOK[c1]}" -H "Content-Type: application/json" \
			--data-binary "@$DIR/idem/$k.json" "${DURL[$n]}/v1/orders" >"$DIR/idem/$k.$n.code" &
		JOBS+=($!)
	done
done
waitjobs
bad=0
for k in $(seq 1 8); do
	tns=$(for n in 0 1 2; do jq -r '.tracking_no // empty' "$DIR/idem/$k.$n.out"; done | sort -u)
	created=$(cat "$DIR/idem/$k".?.code | grep -c '^201$')
	others=$(cat "$DIR/idem/$k".?.code | grep -vc '^20[01]$')
	[ "$(echo "$tns" | grep -c .)" = 1 ] && [ "$created" = 1 ] && [ "$others" = 0 ] || bad=$((bad + 1))
done
check "idempotency race: each key got one 201 and two 200s naming the same order (keys wrong: $bad)" \
	test "$bad" = 0
check "idempotency race: the database holds one order per key" \
	test "$(db_sql "SELECT count(*) FROM orders WHERE idem_key IS NOT NULL")" = 8

# ---- virtual numbers: a pool of 2 numbers shared by three writers ------------
mkdir -p "$DIR/vn"
for i in $(seq 0 29); do
	fixture "$((i % 20))" | jq -c --arg k "vn-$i" '.client_order_id = $k' >"$DIR/vn/$i.json"
	curl -s -o "$DIR/vn/$i.out" -w '%{http_code}\n' -X POST --max-time 30 \
		-H "Authorization: Bearer ${TOK[c2]}" -H "Content-Type: application/json" \
		--data-binary "@$DIR/vn/$i.json" "${DURL[$((i % 3))]}/v1/orders" >"$DIR/vn/$i.code" &
	JOBS+=($!)
done
waitjobs
check "vnum: the 30 creates spread over three daemons all succeeded" \
	test "$(cat "$DIR"/vn/*.code | grep -c '^201$')" = 30
check "vnum: no (number, extension) is held by two open bindings" \
	test -z "$(db_sql "SELECT vnum, ext FROM vnum_bindings WHERE released = 0 GROUP BY vnum, ext HAVING count(*) > 1")"
check "vnum: no two open orders print the same number and extension" \
	test -z "$(db_sql "SELECT vnum, ext FROM orders WHERE vnum IS NOT NULL GROUP BY vnum, ext HAVING count(*) > 1")"
check "vnum: each number's held count is its open bindings" \
	test -z "$(db_sql "SELECT n.vnum FROM vnum_numbers n WHERE n.held <> (SELECT count(*) FROM vnum_bindings b WHERE b.vnum = n.vnum AND b.released = 0)")"

# ---- admin reveals: the day's quota is the cluster's -------------------------
TN=$(jq -r .tracking_no "$DIR/idem/1.0.out")
[ "$TN" = null ] && TN=$(jq -r .tracking_no "$DIR/idem/1.1.out")
mkdir -p "$DIR/rv"
R_URI=$(jq -rn --arg r "ticket T-4711: customer asks what was sent" '$r | @uri')
for i in $(seq 0 11); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -H "Authorization: Bearer ${TOK[adm1]}" \
		"${DURL[$((i % 3))]}/v1/admin/orders/$TN?reason=$R_URI" >"$DIR/rv/$i" &
	JOBS+=($!)
done
waitjobs
check "reveals: 12 asked over three daemons, exactly admin_reveals_per_day ($REVEALS) answered ($(sort "$DIR"/rv/* | uniq -c | tr '\n' ' '))" \
	test "$(cat "$DIR"/rv/* | grep -c '^200$')" = "$REVEALS"
check "reveals: the rest are 429" test "$(cat "$DIR"/rv/* | grep -c '^429$')" = $((12 - REVEALS))

# ---- miss_limit over the cluster ----------------------------------------------
: >"$DIR/miss"
for i in $(seq 0 17); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -H "Authorization: Bearer ${TOK[c3]}" \
		"${DURL[$((i % 3))]}/v1/orders/WB$(printf '%018d' "$i")" >>"$DIR/miss"
done
m404=$(grep -c '^404$' "$DIR/miss")
check "miss_limit: 18 guesses over three daemons get at most miss_limit ($MISS) 404s (got $m404)" \
	test "$m404" -le "$MISS" -a "$m404" -ge 3
check "miss_limit: the rest are 429" test "$(grep -c '^429$' "$DIR/miss")" = $((18 - m404))

# ---- the audit chain with three writers ----------------------------------------
check "audit: the chain written by three daemons verifies" ctl audit verify
on 1 GET /v1/audit/verify "${TOK[aud1]}"
check "audit: GET /v1/audit/verify on another daemon says ok" test "$(jb .ok)" = true
check "audit: one head row, at the chain's last entry" \
	test "$(db_sql "SELECT seq FROM audit_head")" = "$(db_sql "SELECT max(seq) FROM audit")"
MID=$(db_sql "SELECT max(seq) / 2 FROM audit")
check "audit: UPDATE of an entry is refused by the database" \
	bash -c "! psql -qAtX '$DB' -c \"UPDATE audit SET result = 'ok' WHERE seq = $MID\" 2>/dev/null"
check "audit: DELETE of an entry is refused by the database" \
	bash -c "! psql -qAtX '$DB' -c \"DELETE FROM audit WHERE seq = $MID\" 2>/dev/null"
# An insider with the table owner's rights goes past the trigger; verify catches it.
db_sql "ALTER TABLE audit DISABLE TRIGGER audit_no_update;
	UPDATE audit SET result = CASE result WHEN 'ok' THEN 'denied' ELSE 'ok' END WHERE seq = $MID;
	ALTER TABLE audit ENABLE TRIGGER audit_no_update" >/dev/null
if ctl audit verify >"$DIR/verify.out" 2>&1; then
	fail "audit: an entry edited past the trigger fails verify" "verify said ok"
else
	ok "audit: an entry edited past the trigger fails verify"
fi
check "audit: verify names the edited entry (seq $MID)" grep -q "seq $MID" "$DIR/verify.out"
db_sql "ALTER TABLE audit DISABLE TRIGGER audit_no_update;
	UPDATE audit SET result = CASE result WHEN 'ok' THEN 'denied' ELSE 'ok' END WHERE seq = $MID;
	ALTER TABLE audit ENABLE TRIGGER audit_no_update" >/dev/null
check "audit: put back, it verifies again" ctl audit verify

# ---- kill -9 of one daemon under load ------------------------------------------
mkdir -p "$DIR/load"
load() { # load N: post orders to daemon N until told to stop, "CODE TN" lines
	local n=$1 i=0 code
	while [ ! -f "$DIR/load/stop" ]; do
		fixture "$((i % 20))" | jq -c --arg k "load-$n-$i" '.client_order_id = $k' >"$DIR/load/$n.json"
		code=$(curl -s -o "$DIR/load/$n.out" -w '%{http_code}' -X POST --max-time 10 \
			-H "Authorization: Bearer ${TOK[c1]}" -H "Content-Type: application/json" \
			--data-binary "@$DIR/load/$n.json" "${DURL[$n]}/v1/orders")
		echo "$code $(jq -r '.tracking_no // "-"' "$DIR/load/$n.out" 2>/dev/null)" >>"$DIR/load/$n.acks"
		i=$((i + 1))
	done
}
db_sql "UPDATE vnum_numbers SET in_pool = 1" >/dev/null
for n in 0 1 2; do
	load "$n" &
	JOBS+=($!)
done
sleep 2
kill -KILL "${DPIDS[1]}"
wait "${DPIDS[1]}" 2>/dev/null
sleep 1
touch "$DIR/load/stop"
waitjobs
acked=$(cat "$DIR"/load/*.acks | awk '$1 == 201 { print $2 }' | sort -u)
nacked=$(echo "$acked" | grep -c .)
check "kill -9: orders were acked on every daemon before and after ($nacked)" test "$nacked" -ge 6
missing=0
for tn in $acked; do
	c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer ${TOK[c1]}" \
		"${DURL[$((RANDOM % 2 == 0 ? 0 : 2))]}/v1/orders/$tn")
	[ "$c" = 200 ] || missing=$((missing + 1))
done
check "kill -9: every acked order is read back through the surviving daemons (missing $missing)" \
	test "$missing" = 0
check "kill -9: the killed daemon acked orders before it died" \
	test "$(awk '$1 == 201' "$DIR/load/1.acks" | wc -l)" -ge 1
check "kill -9: the chain still verifies" ctl audit verify
on 2 GET /readyz -
check "kill -9: the survivors stay ready" test "$STATUS" = 200
kill -TERM "${DPIDS[2]}" 2>/dev/null
wait "${DPIDS[2]}"
check "third daemon exits 0 on SIGTERM" test $? = 0
stop_daemon
finish
