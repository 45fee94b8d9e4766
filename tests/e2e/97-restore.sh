#!/bin/sh
# 97-restore: docs/operations.md "Restoring a backup, step by step", done to
# a test daemon.  An online backup (sqlite3 .backup, or pg_dump) verifies; after more
# orders and an account disabled, the database is lost; the old -wal moved
# aside with it; the restored copy refused while the signed checkpoints say
# the chain was longer, started once the checkpoint file is kept aside, and
# audit verify --checkpoints names what the restore lost; the account
# disabled after the backup works again until it is disabled again (why the
# procedure redoes it), and the purge runs.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

start_daemon --audit-checkpoint-s 1
CP=$WAYBILL_AUDIT_CHECKPOINTS
post_fixtures "${TOK[c1]}" "$DIR/map1" 0 1 2
check "3 orders before the backup" test "$(awk '$3 == 201' "$DIR/map1" | wc -l)" = 3

# Backups: online, while the daemon runs; the copy's chain verifies
# (SQLite's .backup, or pg_dump into a database of its own: lib.sh db_copy).
BK=$(db_copy backup)
check "an online backup while the daemon runs" test -n "$BK" -a "$(db_sql_at "$BK" 'SELECT count(*) FROM orders')" = 3
out=$("$WBCTL" --db "$BK" --key-file "$DIR/key" audit verify)
check "the backup's chain verifies ($out)" sh -c "printf '%s' \"\$1\" | grep -q '^ok: '" - "$out"
is_pg || check "the backup passes its quick check" test "$(sqlite3 "$BK" 'PRAGMA quick_check')" = ok

# After the backup: more orders, an insider's account disabled, checkpoints.
post_fixtures "${TOK[c1]}" "$DIR/map2" 3 4 5 6
TN_LOST=$(tn_of "$DIR/map2" 3)
ctl account disable c2 >/dev/null
api GET /v1/orders "${TOK[c2]}"
expect_status "c2 disabled after the backup: 401" 401 "$STATUS"
wait_until 10 test -s "$CP"
stop_daemon "the daemon before the loss: sigterm exits 0"
check "the stop wrote a signed checkpoint" grep -q 'sig=' "$CP"

# Step 1: everything aside, -wal and -shm included (PostgreSQL: the
# damaged database renamed aside).
D=$DIR/damaged
install -d -m 0700 "$D"
if is_pg; then
	psql -qAtX -v ON_ERROR_STOP=1 "$(pg_url postgres)" -c "ALTER DATABASE $PG_DB RENAME TO ${PG_DB}_damaged" ||
		die "step 1" "cannot set the database aside"
	check "step 1: no database left under the old name" \
		test "$(psql -qAtX "$(pg_url postgres)" -c "SELECT count(*) FROM pg_database WHERE datname = '$PG_DB'")" = 0
	# Step 3: the backup in place, under the database's name.
	psql -qAtX -v ON_ERROR_STOP=1 "$(pg_url postgres)" -c "CREATE DATABASE $PG_DB TEMPLATE ${PG_DB}_backup" ||
		die "step 3" "cannot restore the backup"
else
	mv "$DIR/db" "$DIR"/db-* "$D"/ 2>/dev/null
	check "step 1: no database file left behind" test -z "$(ls "$DIR"/db* 2>/dev/null)"
	# Step 3: the backup in place, mode 0600.
	install -m 0600 "$BK" "$DIR/db"
fi
# Step 4: the checkpoints say the chain was longer: refused.
out=$("$WBD" --db "$DB" --key-file "$DIR/key" --listen "127.0.0.1:$(pick_port)" 2>&1)
rc=$?
check "step 4: the restored chain is refused while the checkpoints are longer (exit $rc)" test "$rc" -ne 0
check "step 4: ... with one line naming the checkpoint" \
	sh -c "printf '%s\n' \"\$1\" | grep -c . | grep -qx 1 && printf '%s' \"\$1\" | grep -q 'behind its last checkpoint'" - "$out"
# Keep the checkpoints with the damaged files; the daemon starts a new file.
mv "$CP" "$D/audit.checkpoints"
daemon_up || die "step 4: start" "the restored database did not start"
ok "step 4: the restored database starts with a new checkpoint file"
api GET "/v1/orders/$TN_LOST" "${TOK[c1]}"
expect_status "an order created after the backup is gone" 404 "$STATUS"
out=$("$WBCTL" --db "$DB" --key-file "$DIR/key" audit verify --checkpoints "$D/audit.checkpoints" 2>&1)
rc=$?
check "verify --checkpoints against the kept file fails ($rc): it names what the restore lost" test "$rc" = 1
check "... a checkpoint the database lacks" sh -c "printf '%s' \"\$1\" | grep -q 'lacks'" - "$out"

# Step 5: the account disabled after the backup is back until disabled again.
api GET /v1/orders "${TOK[c2]}"
expect_status "step 5: c2's token works again in the restored database" 200 "$STATUS"
ctl account disable c2 >/dev/null
api GET /v1/orders "${TOK[c2]}"
expect_status "step 5: disabled again: 401" 401 "$STATUS"
out=$(ctl purge 2>&1)
check "step 5: purge runs ($out)" test $? = 0
out=$(ctl audit verify)
check "step 6: the new head ($out)" sh -c "printf '%s' \"\$1\" | grep -q '^ok: '" - "$out"
stop_daemon
finish
