#!/bin/sh
# 58-seal-binding: an order's sealed data is bound to its tracking number,
# depot and creator (the clear columns that never change).  A database
# writer who moves an order to another depot or creator (an UPDATE, either backend)
# gets an integrity error through the API, never the data.  A database from
# before migration 0009 (tests/data/legacy-0006, made by the old code:
# bound to the tracking number only, idempotency keys in the clear) is
# resealed at start: its orders still open, idempotency still holds, and no
# clear client_order_id is left.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

is_pg || command -v sqlite3 >/dev/null || { fail tools "sqlite3 is not installed"; finish; }
LEGACY=$ROOT/tests/data/legacy-0006
sql() { db_sql "$@" 2>&1; }

# ---- an old database, upgraded ------------------------------------------------------

start_daemon
declare -A LTN
if is_pg; then
	# PostgreSQL's migrations begin at 0010, after the binding: there is no
	# old PostgreSQL database to upgrade (waybillctl migrate moves SQLite's
	# orders as they are).  The orders the insider moves below are made here.
	for i in 0 1 2; do
		fixture "$i" >"$DIR/f$i.json"
		api POST /v1/orders "${TOK[c1]}" "$DIR/f$i.json"
		expect_status "PostgreSQL: order $i (c1, depot d1)" 201 "$STATUS"
		LTN[$i]=$(jb .tracking_no)
	done
	check "PostgreSQL: orders are written bound, their client_order_id hashed" \
		test "$(sql "select count(*) from orders where seal_bind = 1 and idem_key like 'h:%' and length(idem_key) = 66")" = 3
else
stop_daemon "sigterm exits 0 (the fresh database is set aside)"
# The old database comes without checkpoints: the fresh one's file goes with it.
rm -f "$DIR/db" "$DIR/db-wal" "$DIR/db-shm" "$DIR/db-lock" "$DIR/audit.checkpoints"
cp "$LEGACY/db" "$DIR/db"
cp "$LEGACY/key" "$DIR/key"
chmod 600 "$DIR/db" "$DIR/key"
while read -r name tok; do TOK[$name]=$tok; done <"$LEGACY/tokens"
while read -r i tn; do LTN[$i]=$tn; done <"$LEGACY/tns"
check "the old database is at migration 6, its keys in the clear" \
	test "$(sql "select max(version) from schema_migrations") $(sql "select count(*) from orders where idem_key like 's1-%'")" = "6 4"

: >"$DIR/log"
daemon_up || die start "waybilld did not start on the old database"
ok "waybilld starts on a database from before migration 0009"
check "the log says 3 orders were resealed" grep -q "resealed 3 orders to their depot and creator" "$DIR/log"
check "sqlite: migration 0009 applied" test "$(sql "select count(*) from schema_migrations where version = 9")" = 1
check "sqlite: every order is bound now (seal_bind 1)" test "$(sql "select count(*) from orders where seal_bind = 1")" = 4
check "sqlite: no clear client_order_id is left, only keyed hashes" \
	test "$(sql "select count(*) from orders where idem_key like 's1-%'") $(sql "select count(*) from orders where idem_key like 'h:%' and length(idem_key) = 66")" = "0 4"
check "the database file holds no clear client_order_id" \
	bash -c '! grep -aq "s1-00000[0-3]" "$1"' _ "$DIR/db"
for i in 0 1 2; do
	api GET "/v1/admin/orders/${LTN[$i]}?reason=ticket%20UP-$i" "${TOK[adm1]}"
	expect_status "old order $i: an admin reveal after the upgrade" 200 "$STATUS"
	check "old order $i: the revealed order is the one posted (jq -S)" \
		bash -c 'diff <(jq -S -c .order "$1") <(sed -n "$2p" "$3" | jq -S -c .)' _ "$BODY" "$((i + 1))" "$FIXTURES"
	api GET "/v1/orders/${LTN[$i]}" "${TOK[dep1]}"
	expect_status "old order $i: the depot's masked view" 200 "$STATUS"
done
api GET "/v1/orders/${LTN[3]}" "${TOK[dep1]}"
expect_status "the old erased order still answers 410" 410 "$STATUS"
fixture 0 >"$DIR/f0.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/f0.json"
expect_status "idempotency survives the hashing: the old order's client_order_id again: 200" 200 "$STATUS"
check "... with the old tracking number" jq -e --arg tn "${LTN[0]}" '.tracking_no == $tn' "$BODY"
fixture 3 >"$DIR/f3.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/f3.json"
expect_status "the client_order_id of an erased order: 410 (neither answered nor made again)" 410 "$STATUS"
check "sqlite: the repeat of the erased order made no new order" \
	test "$(sql "select count(*) from orders")" = 4
audit_all "$DIR/aud.json"
check "the reseal is in the audit log: one store.reseal entry by waybilld" \
	jq -e '[.[] | select(.action == "store.reseal")] | length == 1 and .[0].actor == "waybilld" and (.[0].reason | test("^resealed 3 orders"))' "$DIR/aud.json"
check "the audit chain verifies after the upgrade" ctl audit verify
restart_daemon "sigterm exits 0 (after the upgrade)"
check "a second start reseals nothing" test "$(grep -c "resealed 3 orders" "$DIR/log")" = 1
fi

# ---- orders moved in the database ------------------------------------------------------

fixture 10 >"$DIR/f10.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/f10.json"
expect_status "a new order (c1, depot d1)" 201 "$STATUS"
NEW=$(jb .tracking_no)
fixture 11 >"$DIR/f11.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/f11.json"
NEW2=$(jb .tracking_no)
check "database: new orders are written bound, their client_order_id hashed" \
	test "$(sql "select count(*) from orders where tracking_no in ('$NEW', '$NEW2') and seal_bind = 1 and idem_key like 'h:%'")" = 2
stop_daemon "sigterm exits 0 (before moving orders)"
sql "update orders set depot = 'd2' where tracking_no in ('$NEW', '${LTN[1]}');
	update orders set creator = 'c3', depot = 'd2' where tracking_no = '${LTN[2]}';
	update orders set depot = 'd2', seal_bind = 0 where tracking_no = '$NEW2'" >"$DIR/sql.out"
check "database: 4 orders moved to depot d2 (one to creator c3, one marked as old)" \
	test "$(sql "select count(*) from orders where depot = 'd2'")" = 4
daemon_up || die restart "waybilld did not come back"
fixtures_pii "$DIR/pii"
for t in "$NEW" "${LTN[1]}" "$NEW2"; do
	api GET "/v1/orders/$t" "${TOK[dep2]}"
	expect_error "moved to d2 ($t): the d2 depot's read is an integrity error" 500 ""
	no_pii "moved to d2 ($t): the error" "$BODY"
	api GET "/v1/orders/$t/label.pdf" "${TOK[dep2]}"
	expect_status "moved to d2 ($t): no label" 500 "$STATUS"
	api GET "/v1/admin/orders/$t?reason=ticket%20MV-1" "${TOK[adm1]}"
	expect_status "moved to d2 ($t): no reveal either" 500 "$STATUS"
	no_pii "moved to d2 ($t): the reveal's error" "$BODY"
done
api GET "/v1/orders/${LTN[2]}" "${TOK[c3]}"
expect_error "an old order moved to creator c3: c3's read is an integrity error" 500 ""
no_pii "moved to c3: the error" "$BODY"
api GET "/v1/orders/${LTN[0]}" "${TOK[dep1]}"
expect_status "the order left alone still reads" 200 "$STATUS"
no_pii "the log" "$DIR/log"
stop_daemon "sigterm exits 0 (at the end)"
finish
