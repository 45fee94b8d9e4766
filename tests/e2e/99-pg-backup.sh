#!/bin/sh
# 99-pg-backup: docs/operations.md "Backup and restore with pg_basebackup and
# WAL archiving", done to a test daemon on a PostgreSQL cluster of its own
# with WAL archiving on.  Orders, a base backup (pg_basebackup -Ft -z -X
# fetch), more orders and an account disabled, their WAL archived; the
# cluster is lost (stopped -m immediate, its data directory removed); the
# base backup is extracted, recovery.signal and restore_command set; once
# pg_is_in_recovery() says f, a daemon starts on it with the same signed
# checkpoints: every order opens, the one made after the backup too, the
# account stays disabled, and audit verify --checkpoints holds them all.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"
unset WAYBILL_TEST_PG # this cluster is its own: it needs archive_mode, a restart away

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/pg_basebackup" ] || die setup "no PostgreSQL server (apt-get install postgresql)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
P=$(mktemp -d "${TMPDIR:-/tmp}/waybill-pgbk.XXXXXX") || die setup mktemp
chmod 755 "$P"
[ "$(id -u)" = 0 ] && chown postgres "$P"
pg_start() { # DATADIR
	as_pg "$bindir/pg_ctl" -D "$1" -l "$P/server.log" -w -t 60 -o "-k $P -c listen_addresses='' \
		-c fsync=off -c wal_level=replica -c archive_mode=on -c archive_timeout=60 \
		-c archive_command='test ! -f $P/wal/%f && cp %p $P/wal/%f'" start >/dev/null
}
pg_kill() { # DATADIR
	[ -d "$1" ] && as_pg "$bindir/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1
	return 0
}
trap 'rc=$?; pg_kill "$P/data"; pg_kill "$P/restored"; rm -rf "$P"; (exit $rc); cleanup' EXIT
as_pg "$bindir/initdb" -D "$P/data" -U waybill -A trust -E UTF8 --no-locale >"$P/initdb.log" 2>&1 ||
	die setup "initdb: $(tail -n 3 "$P/initdb.log" | tr '\n' '|')"
as_pg mkdir -m 0700 "$P/wal"
pg_start "$P/data" || die setup "the cluster did not start: $(tail -n 3 "$P/server.log" | tr '\n' '|')"
as_pg "$bindir/createdb" -h "$P" -U waybill waybill || die setup createdb
U="postgresql:///waybill?host=$P&user=waybill"

# start_daemon makes $DIR/db an SQLite path; this test's database is the cluster's.
DIR=$(mktemp -d "${TMPDIR:-/tmp}/waybill-e2e.XXXXXX") || die setup mktemp
BODY=$DIR/body
DB=$U
export WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints
CP=$WAYBILL_AUDIT_CHECKPOINTS
: >"$DIR/bodies"
: >"$DIR/error_bodies"
"$WBCTL" keygen --out "$DIR/key" 2>/dev/null || die setup keygen
for a in "c1 courier d1" "c2 courier d1" "dep1 depot d1" "adm1 admin"; do
	# shellcheck disable=SC2086
	add_account $a || die setup "account add $a"
done
daemon_up --audit-checkpoint-s 1 || die setup "waybilld did not start on PostgreSQL"
post_fixtures "${TOK[c1]}" "$DIR/map1" 0 1 2
check "3 orders before the backup" test "$(awk '$3 == 201' "$DIR/map1" | wc -l)" = 3

# the nightly base backup, while the daemon runs
as_pg "$bindir/pg_basebackup" -h "$P" -U waybill -D "$P/base" -Ft -z -X fetch -c fast \
	>"$DIR/basebackup.log" 2>&1
check "pg_basebackup -Ft -z -X fetch while the daemon runs" test -s "$P/base/base.tar.gz"

# after it: more orders, an account disabled, then the WAL archived
post_fixtures "${TOK[c2]}" "$DIR/map2" 3 4
TN_AFTER=$(tn_of "$DIR/map2" 3)
ctl account disable c2 >/dev/null
wait_until 10 test -s "$CP"
stop_daemon "the daemon before the loss: sigterm exits 0"
SEQ=$(psql -qAtX "$U" -c "SELECT max(seq) FROM audit")
last=$(psql -qAtX "$U" -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
psql -qAtX "$U" -c "SELECT pg_switch_wal()" >/dev/null
wait_until 20 test -f "$P/wal/$last"
check "the WAL of the last writes is archived ($last)" test -f "$P/wal/$last"

# the loss
pg_kill "$P/data"
as_pg rm -rf "$P/data"
check "the cluster is gone" test ! -d "$P/data"

# the restore, as operations.md has it
as_pg mkdir -m 0700 "$P/restored"
as_pg tar -xzf "$P/base/base.tar.gz" -C "$P/restored"
as_pg touch "$P/restored/recovery.signal"
echo "restore_command = 'cp $P/wal/%f %p'" | as_pg tee -a "$P/restored/postgresql.auto.conf" >/dev/null
pg_start "$P/restored"
check "the restored cluster starts" psql -qAtX "$U" -c "SELECT 1"
wait_until 30 sh -c "[ \"\$(psql -qAtX '$U' -c 'SELECT pg_is_in_recovery()')\" = f ]"
check "its recovery ends (pg_is_in_recovery() = f)" test "$(psql -qAtX "$U" -c 'SELECT pg_is_in_recovery()')" = f
check "the audit chain is replayed to its last entry (seq $SEQ)" \
	test "$(psql -qAtX "$U" -c "SELECT max(seq) FROM audit")" -ge "$SEQ"
out=$(ctl audit verify --checkpoints "$CP" 2>&1)
check "audit verify --checkpoints on the restored database ($out)" \
	sh -c "printf '%s' \"\$1\" | grep -q '^ok: the chain holds all'" - "$out"
daemon_up || die restore "waybilld did not start on the restored database"
ok "waybilld starts on the restored database with the same checkpoints"
while read -r _ tn code; do
	api GET "/v1/orders/$tn" "${TOK[c1]}"
	expect_status "c1's order $tn opens" 200 "$STATUS"
done <"$DIR/map1"
api GET "/v1/orders/$TN_AFTER" "${TOK[dep1]}"
expect_status "the order made after the base backup is there (the archived WAL)" 200 "$STATUS"
api GET /v1/orders "${TOK[c2]}"
expect_status "c2, disabled after the base backup, stays disabled: 401" 401 "$STATUS"
api GET "/v1/admin/orders/$TN_AFTER?reason=CS-2291%20restore%20check" "${TOK[adm1]}"
expect_status "the admin's reveal of it works (the key file, not the backup, holds the keys)" 200 "$STATUS"
stop_daemon
finish
