#!/bin/sh
# 99-migrate: `waybillctl migrate --to postgresql://...` (docs/operations.md
# "From SQLite to PostgreSQL").  A daemon on SQLite takes orders (virtual
# number bindings), prints and reprints labels, reveals, writes signed
# checkpoints; part of the chain is archived; a print job row.  Refused
# while that daemon runs.  Refused, with nothing left on the target: a
# wrong key file, a bad URL, a damaged source, a source missing a table or holding one migrate
# does not know, a copy that fails half-way (the transaction rolls back).
# Then the copy: the daemon starts on PostgreSQL, every order opens the same
# for its creator, the list, the admin's reveal, the depot; reprint counts,
# the reveal quota, the idempotency keys and the bindings carry over; audit
# verify passes there with the old checkpoints, the archive and new ones;
# the migration's entry names the operator and counts; a second migrate
# into it is refused.  Its PostgreSQL: WAYBILL_TEST_PG's cluster when set,
# else a throw-away one of its own (tests/pg.sh).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"
if is_pg; then
	# This script's source is SQLite by design: its target is a database of the cluster.
	PGC=$WAYBILL_TEST_PG
	unset WAYBILL_TEST_PG
	OWN_PG=0
else
	PGC=
	OWN_PG=1
fi

start_daemon --audit-checkpoint-s 1 --admin-reveals-per-day 8 --label-reprints-max 3
CP=$WAYBILL_AUDIT_CHECKPOINTS
SQ=$DB
if [ "$OWN_PG" = 1 ]; then
	PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/waybill-mig-pg.XXXXXX")
	chmod 755 "$PGDIR" # the server runs as postgres when this runs as root
	PGC=$PGDIR/c
	trap 'rc=$?; sh "$ROOT/tests/pg.sh" stop "$PGC" >/dev/null 2>&1; rm -rf "$PGDIR"; (exit $rc); cleanup' EXIT
	sh "$ROOT/tests/pg.sh" start "$PGC" >"$DIR/pg-start.log" 2>&1 ||
		die setup "no PostgreSQL cluster: $(tail -n 3 "$DIR/pg-start.log" | tr '\n' '|')"
fi
pgu() { echo "postgresql:///$1?host=$PGC&user=waybill"; }
PGDBS=()
newdb() { # NAME: a fresh database of the cluster, dropped at the end
	local n=wbm_$(basename "$DIR" | tr -c 'a-zA-Z0-9\n' _ | tr 'A-Z' 'a-z')_$1
	psql -qAtX "$(pgu postgres)" -c "CREATE DATABASE $n" >/dev/null || die setup "createdb $n"
	PGDBS+=("$n")
	pgu "$n"
}
if [ "$OWN_PG" = 0 ]; then
	trap 'rc=$?; for d in "${PGDBS[@]}"; do psql -qAtX "$(pgu postgres)" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1; done; (exit $rc); cleanup' EXIT
fi
pg_tables() { psql -qAtX "$1" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"; }
migrate() { # SOURCE URL [KEY]: waybillctl migrate; output in $OUT, status in $RC
	OUT=$("$WBCTL" --key-file "${3:-$DIR/key}" migrate --db "$1" --to "$2" 2>&1)
	RC=$?
}
refused() { # NAME PATTERN: $RC nonzero, $OUT one line matching PATTERN
	check "$1: refused, exit $RC" test "$RC" -ne 0
	check "$1: says why ($OUT)" sh -c "printf '%s' \"\$1\" | grep -c . | grep -qx 1 && printf '%s' \"\$1\" | grep -Eq -e \"\$2\"" - "$OUT" "$2"
}

# ---- the SQLite database ------------------------------------------------------------

add_account adm2 admin || die setup "adm2"
daemon_check
post_fixtures "${TOK[c1]}" "$DIR/map1" 0 1 2
post_fixtures "${TOK[c3]}" "$DIR/map3" 3
sleep 1.1
ARCH_TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
post_fixtures "${TOK[c2]}" "$DIR/map2" 4 5
cat "$DIR/map1" "$DIR/map2" "$DIR/map3" >"$DIR/map"
check "6 orders on SQLite" test "$(awk '$3 == 201' "$DIR/map" | wc -l)" = 6
mapfile -t TNS < <(awk '{ print $2 }' "$DIR/map")
T0=${TNS[0]}
T1=${TNS[1]}
T3=$(tn_of "$DIR/map3" 3)
# a second POST of fixture 0 with its client_order_id: the same order
fixture 0 >"$DIR/o0.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o0.json"
check "idempotent repeat on SQLite: 200, the same order" test "$STATUS $(jb .tracking_no)" = "200 $T0"
api POST "/v1/orders/$T0/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
expect_status "assign T0 to c2" 200 "$STATUS"
api GET "/v1/orders/$T0/delivery" "${TOK[c2]}"
expect_status "c2's delivery view of T0" 200 "$STATUS"
jq -S '{virtual_number, extension, recipient}' "$BODY" >"$DIR/delivery.before"
# labels: T0 printed twice (one reprint), T1 once
for tn in "$T0" "$T0" "$T1"; do
	get_pdf "${TOK[dep1]}" "/v1/orders/$tn/label" "$DIR/l.pdf"
	expect_status "label $tn on SQLite" 200 "$STATUS"
done
# reveals: adm1 reveals each order (6 of its 8 for today)
R=$(jq -rn '"CS-2291 migration check" | @uri')
for tn in "${TNS[@]}"; do
	api GET "/v1/admin/orders/$tn?reason=$R" "${TOK[adm1]}"
	[ "$STATUS" = 200 ] || fail "reveal $tn on SQLite" "$STATUS"
	jq -S "del(.. | .request_id?)" "$BODY" >"$DIR/reveal.$tn.before"
	api GET "/v1/orders/$tn" "${TOK[adm1]}"
	jq -S "del(.. | .request_id?)" "$BODY" >"$DIR/view.$tn.before"
done
ok "adm1 revealed the 6 orders on SQLite"
api GET "/v1/orders?limit=200" "${TOK[dep1]}"
jq -S '[.orders[] | {tracking_no, status, prints, courier}]' "$BODY" >"$DIR/list.before"
check "the depot's list shows T0's two prints" \
	jq -e --arg t "$T0" '.[] | select(.tracking_no == $t) | .prints == 2' "$DIR/list.before"
ctl account disable c3 >/dev/null
wait_until 10 test -s "$CP"
api GET "/v1/orders/$T0" "${TOK[c1]}"

# refused while the daemon runs on it
PG_BUSY=$(newdb busy)
migrate "$SQ" "$PG_BUSY"
refused "while waybilld runs on the source" 'waybilld has it open; stop it first'
check "... nothing on the target" test "$(pg_tables "$PG_BUSY")" = 0

stop_daemon "the SQLite daemon: sigterm exits 0"
check "its checkpoints are signed" grep -q 'sig=' "$CP"
out=$(ctl audit archive --before "$ARCH_TS" --out "$DIR/arch1.gz" 2>&1)
check "part of the chain archived ($out)" test -s "$DIR/arch1.gz"
# a finished print job, as a depot printer's sender leaves it
sqlite3 "$SQ" "INSERT INTO print_jobs (depot, printer, actor, role, tracking_nos, labels, status,
	attempts, bytes_sent, created_at, updated_at) VALUES ('d1', 'p-ok', 'dep1', 'depot', '$T1', 1,
	'sent', 1, 2048, strftime('%s','now'), strftime('%s','now'))"
JOB=$(sqlite3 "$SQ" "SELECT max(id) FROM print_jobs")
SQ_AUDIT=$(sqlite3 "$SQ" "SELECT count(*) FROM audit")
cp "$SQ" "$DIR/db.pristine"
SQ_MD5=$(md5sum <"$SQ")

# ---- refused, and the target left as it was ----------------------------------------

PG_T=$(newdb target)
"$WBCTL" keygen --out "$DIR/otherkey" 2>/dev/null
migrate "$SQ" "$PG_T" "$DIR/otherkey"
refused "another key file" 'does not verify under this key file'
migrate "$SQ" "postgresql:///wbm_no_such_db?host=$PGC&user=waybill"
refused "a database that does not exist" 'database "wbm_no_such_db" does not exist'
migrate "$SQ" "postgresql:///x?host=$DIR/no-socket-here&user=waybill"
refused "no server at that URL" 'PostgreSQL: connection to server'
migrate "$SQ" "$DIR/other.db"
refused "a --to that is not a PostgreSQL URL" '--to wants a PostgreSQL URL'
out=$("$WBCTL" --key-file "$DIR/key" --db "$PG_T" migrate --to "$PG_T" 2>&1)
check "a PostgreSQL source: refused ($out)" sh -c "printf '%s' \"\$1\" | grep -q 'source must be an SQLite file'" - "$out"
cp "$DIR/db.pristine" "$DIR/missing.db"
sqlite3 "$DIR/missing.db" "DROP TABLE print_jobs"
migrate "$DIR/missing.db" "$PG_T"
refused "a source without print_jobs" 'has no table print_jobs'
cp "$DIR/db.pristine" "$DIR/extra.db"
sqlite3 "$DIR/extra.db" "CREATE TABLE courier_notes (tn TEXT, note TEXT)"
migrate "$DIR/extra.db" "$PG_T"
refused "a source with a table migrate does not know" 'table courier_notes is not one this version of migrate copies'
cp "$DIR/db.pristine" "$DIR/damaged.db"
yes | tr -d "\n" | head -c 8192 | dd of="$DIR/damaged.db" bs=4096 seek=3 conv=notrunc 2>/dev/null
migrate "$DIR/damaged.db" "$PG_T"
refused "a damaged source file" 'quick check|malformed|not a database'
cp "$DIR/db.pristine" "$DIR/tampered.db"
sqlite3 "$DIR/tampered.db" "DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'nothing to see'
	WHERE seq = (SELECT max(seq) FROM audit WHERE action = 'admin.reveal')"
migrate "$DIR/tampered.db" "$PG_T"
refused "a source whose chain was edited" 'chain does not verify under this key file at seq [0-9]+'
PG_SEEDED=$(newdb seeded)
psql -qAtX "$PG_SEEDED" -c "CREATE TABLE accounts (id bigint, name text, role text);
	INSERT INTO accounts VALUES (99, 'mallory', 'admin')" >/dev/null
migrate "$SQ" "$PG_SEEDED"
refused "a target with an account seeded before the copy" 'not empty \(accounts holds rows\)'
check "... which still holds only that row" test "$(psql -qAtX "$PG_SEEDED" -c "SELECT count(*) FROM accounts")" = 1
PG_OTHER=$(newdb other)
psql -qAtX "$PG_OTHER" -c "CREATE TABLE invoices (id bigint)" >/dev/null
migrate "$SQ" "$PG_OTHER"
refused "a target holding another application's table" 'table invoices that is not waybill'
# a target with the schema already there and a column SQLite's has not (a place to smuggle into)
PG_COL=$(newdb column)
for f in "$ROOT"/schema/pg/[0-9]*.sql; do psql -qAtX -v ON_ERROR_STOP=1 "$PG_COL" -f "$f" >/dev/null; done
psql -qAtX "$PG_COL" -c "CREATE TABLE waybill_schema (version integer PRIMARY KEY, name text NOT NULL,
	applied_at bigint NOT NULL); INSERT INTO waybill_schema SELECT v, 'x', 0 FROM
	unnest(ARRAY[$(ls "$ROOT"/schema/pg/ | sed -n 's/^0*\([0-9][0-9]*\)-.*/\1/p' | paste -sd,)]) v;
	ALTER TABLE orders ADD COLUMN courier_note text" >/dev/null
migrate "$SQ" "$PG_COL"
refused "a target whose orders has a column SQLite's has not" 'orders\.courier_note is a column PostgreSQL'
check "... which stays empty" test "$(psql -qAtX "$PG_COL" -c "SELECT count(*) FROM accounts")" = 0
# half-way: orders and accounts go in, then a binding names an order that is not there
cp "$DIR/db.pristine" "$DIR/orphan.db"
sqlite3 "$DIR/orphan.db" "PRAGMA foreign_keys = OFF; INSERT INTO vnum_bindings (vnum, ext, order_id,
	created_at, released) VALUES ('17000000099', '9999', 424242, 0, 1)"
migrate "$DIR/orphan.db" "$PG_T"
refused "a binding of no order (PostgreSQL's foreign key)" 'vnum_bindings.*foreign key'
check "after all of them the target holds no table (each rolled back)" test "$(pg_tables "$PG_T")" = 0
check "the source is untouched by them" test "$(md5sum <"$SQ")" = "$SQ_MD5"

# ---- the copy ----------------------------------------------------------------------

migrate "$SQ" "$PG_T"
check "migrate: exit 0 ($OUT)" test "$RC" = 0
check "migrate: says the chain verifies on PostgreSQL" sh -c "printf '%s' \"\$1\" | grep -q '^ok: the audit chain verifies on PostgreSQL'" - "$OUT"
check "the source is untouched (opened read-only)" test "$(md5sum <"$SQ")" = "$SQ_MD5"
q() { psql -qAtX "$PG_T" -c "$1"; }
for t in accounts orders vnum_numbers vnum_bindings admin_reveals audit_base print_jobs; do
	check "$t: as many rows as SQLite's" test "$(q "SELECT count(*) FROM $t")" = "$(sqlite3 "$SQ" "SELECT count(*) FROM $t")"
done
check "audit: SQLite's entries and the migration's" test "$(q "SELECT count(*) FROM audit")" = $((SQ_AUDIT + 1))
check "sealed blobs and wrapped keys byte for byte" test \
	"$(q "SELECT string_agg(upper(encode(sealed, 'hex')) || upper(encode(wrapped_dek, 'hex')), '' ORDER BY id) FROM orders" | sha256sum)" = \
	"$(sqlite3 "$SQ" "SELECT group_concat(hex(sealed) || hex(wrapped_dek), '') FROM (SELECT sealed, wrapped_dek FROM orders ORDER BY id)" | sha256sum)"
check "audit hashes byte for byte" test \
	"$(q "SELECT string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FROM audit WHERE seq <= $(sqlite3 "$SQ" 'SELECT max(seq) FROM audit')")" = \
	"$(sqlite3 "$SQ" "SELECT group_concat(lower(hex(hash)), ',') FROM (SELECT hash FROM audit ORDER BY seq)")"
E=$(q "SELECT actor, role, action, result, reason FROM audit ORDER BY seq DESC LIMIT 1")
check "the migration's entry ends the chain: operator, store.migrate, counts ($E)" \
	sh -c "printf '%s' \"\$1\" | grep -Eq '^op\.[a-z0-9._-]+\|operator\|store\.migrate\|ok\|from SQLite, schema [0-9]+: accounts 9 orders 6 .*audit [0-9]+ print_jobs 1$'" - "$E"
printf '%s\n%s\n' "$E" "$OUT" >"$DIR/migrate.out"
migrate "$SQ" "$PG_T"
refused "a second migrate into it" 'not empty'
check "... which wrote nothing" test "$(q "SELECT count(*) FROM audit")" = $((SQ_AUDIT + 1))

# ---- the daemon on PostgreSQL --------------------------------------------------------

DB=$PG_T
out=$(ctl audit verify --checkpoints "$CP" --archive "$DIR/arch1.gz" 2>&1)
check "audit verify on PostgreSQL: the archive, the chain, the SQLite checkpoints ($out)" \
	sh -c "printf '%s' \"\$1\" | grep -q '^ok: the chain holds all' && ! printf '%s' \"\$1\" | grep -q BAD" - "$out"
out=$(WAYBILL_AUDIT_CHECKPOINTS=$DIR/other.checkpoints timeout 30 "$WBD" --db "$PG_T" \
	--key-file "$DIR/otherkey" --listen "127.0.0.1:$(pick_port)" 2>&1)
rc=$?
check "a daemon with another key file refuses the migrated database (exit $rc)" \
	sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && printf '%s' \"\$1\" | grep -qi 'audit chain'" - "$out"
DAEMON_DB=$PG_T daemon_up || die "start on PostgreSQL" "waybilld did not start on the migrated database"
ok "waybilld starts on the migrated database (its checkpoints file goes on)"
F0=$FAIL
for tn in "${TNS[@]}"; do
	api GET "/v1/orders/$tn" "${TOK[adm1]}"
	jq -S "del(.. | .request_id?)" "$BODY" >"$DIR/view.$tn.after"
	cmp -s "$DIR/view.$tn.before" "$DIR/view.$tn.after" || fail "order $tn opens the same (masked view)" "$(diff "$DIR/view.$tn.before" "$DIR/view.$tn.after" | head -5)"
	api GET "/v1/admin/orders/$tn?reason=$R" "${TOK[adm2]}"
	jq -S "del(.. | .request_id?)" "$BODY" >"$DIR/reveal.$tn.after"
	cmp -s "$DIR/reveal.$tn.before" "$DIR/reveal.$tn.after" || fail "order $tn reveals the same fields" "$(diff "$DIR/reveal.$tn.before" "$DIR/reveal.$tn.after" | head -5)"
done
check "every order opens: the same masked view and the same reveal as on SQLite" test "$FAIL" = "$F0"
api GET "/v1/orders/$T0" "${TOK[c1]}"
expect_status "c1 opens its order" 200 "$STATUS"
api GET "/v1/orders/$(tn_of "$DIR/map2" 4)" "${TOK[c2]}"
expect_status "c2 opens its order" 200 "$STATUS"
api GET "/v1/orders/$T3" "${TOK[c3]}"
expect_status "c3, disabled on SQLite, stays disabled: 401" 401 "$STATUS"
api GET "/v1/orders/$T3" "${TOK[c1]}"
expect_status "another courier's order stays hidden: 404" 404 "$STATUS"
api GET "/v1/orders?limit=200" "${TOK[dep1]}"
jq -S '[.orders[] | {tracking_no, status, prints, courier}]' "$BODY" >"$DIR/list.after"
check "the depot's list: the same statuses, couriers and print counts" cmp -s "$DIR/list.before" "$DIR/list.after"
api GET "/v1/orders/$T0/delivery" "${TOK[c2]}"
jq -S '{virtual_number, extension, recipient}' "$BODY" >"$DIR/delivery.after"
check "c2's delivery view: the same binding and address" cmp -s "$DIR/delivery.before" "$DIR/delivery.after"
api POST /v1/orders "${TOK[c1]}" "$DIR/o0.json"
check "idempotent repeat on PostgreSQL: 200, the same order" test "$STATUS $(jb .tracking_no)" = "200 $T0"
# reprints: T0 had 2 prints of 4; the 3rd and 4th print, the 5th is refused
for i in 3 4; do
	get_pdf "${TOK[dep1]}" "/v1/orders/$T0/label" "$DIR/l.pdf"
	expect_status "T0's print $i on PostgreSQL" 200 "$STATUS"
done
get_pdf "${TOK[dep1]}" "/v1/orders/$T0/label" "$DIR/l.pdf"
expect_status "T0's 5th print: 429 (the reprint count carried over)" 429 "$STATUS"
# the quota: adm1 had 6 of 8 today
for i in 7 8; do
	api GET "/v1/admin/orders/$T1?reason=$R" "${TOK[adm1]}"
	expect_status "adm1's reveal $i today" 200 "$STATUS"
done
api GET "/v1/admin/orders/$T1?reason=$R" "${TOK[adm1]}"
expect_error "adm1's 9th reveal today: 429 (the quota carried over)" 429 ""
api GET "/v1/print-jobs/$JOB" "${TOK[dep1]}"
check "the print job carried over ($(snip "$BODY"))" jq -e --arg t "$T1" '.status == "sent" and .labels == 1' "$BODY"
# new rows after the copied ones: new ids, a binding slot no copied one holds
post_fixtures "${TOK[c1]}" "$DIR/map4" 6 7
check "new orders on PostgreSQL: 201" test "$(awk '$3 == 201' "$DIR/map4" | wc -l)" = 2
check "no (number, extension) held twice" test \
	"$(q "SELECT count(*) FROM (SELECT vnum, ext FROM vnum_bindings WHERE released = 0 GROUP BY 1, 2 HAVING count(*) > 1) d")" = 0
check "order ids go on after the copied ones" test \
	"$(q "SELECT count(*) FROM orders WHERE id > (SELECT max(id) FROM orders) - 2 AND created_at >= extract(epoch FROM now())::bigint - 120")" -ge 2
wait_until 10 sh -c "[ \$(grep -c 'sig=' '$CP') -gt $(grep -c 'sig=' "$CP") ]"
stop_daemon "the PostgreSQL daemon: sigterm exits 0"
out=$(ctl audit verify --checkpoints "$CP" --archive "$DIR/arch1.gz" 2>&1)
check "audit verify after the daemon ran on PostgreSQL: old and new checkpoints ($out)" \
	sh -c "printf '%s' \"\$1\" | grep -q '^ok: the chain holds all' && ! printf '%s' \"\$1\" | grep -q BAD" - "$out"
no_pii "no personal data in migrate's output, its audit entry, the error bodies" \
	"$DIR/migrate.out" "$DIR/error_bodies"
finish
