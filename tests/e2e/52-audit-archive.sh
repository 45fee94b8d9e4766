#!/bin/sh
# 52-audit-archive: `waybillctl audit archive --before TS --out FILE` moves
# the entries older than TS into a signed, compressed archive and deletes
# them, leaving a signed archive checkpoint the live chain continues from;
# `audit verify --archive FILE` checks the archive, its signature, and that
# the live chain continues from it.  What an insider with write access to
# the database (or the archive) might try, each on a copy:
#  - delete old entries without an archive, claiming one was made;
#  - write an archive checkpoint of their own to cover deleted entries;
#  - edit an entry inside the archive; delete live entries after it;
#  - bring back an older archive checkpoint row.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
CPF=$WAYBILL_AUDIT_CHECKPOINTS
fixture 0 >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
expect_status "an order" 201 "$STATUS"
tn=$(jb .tracking_no)
for _ in 1 2 3 4 5; do api GET "/v1/orders/$tn" "${TOK[dep1]}"; done
expect_status "audited reads (old)" 200 "$STATUS"
sleep 1.1
CUT=$(date -u +%Y-%m-%dT%H:%M:%S)
sleep 1.1
for _ in 1 2 3; do api GET "/v1/orders/$tn" "${TOK[dep1]}"; done
expect_status "audited reads (new)" 200 "$STATUS"
OLD=$(db_sql "SELECT max(seq) FROM audit WHERE ts < '$CUT'")
TOTAL=$(db_sql "SELECT max(seq) FROM audit")
check "entries before and after the cut ($OLD of $TOTAL)" test "$OLD" -gt 5 -a "$OLD" -lt "$TOTAL"

# Archiving beside the running daemon.
ctl audit archive --before "$CUT" --out "$DIR/a1.wba" >"$DIR/arch.out" 2>&1
check "audit archive exits 0" test $? = 0
check "it names the entries moved" grep -q "archived entries 1\.\.$OLD " "$DIR/arch.out"
check "the archive is mode 600" test "$(stat -c %a "$DIR/a1.wba")" = 600
check "the archive is gzip" sh -c "gzip -t '$DIR/a1.wba'"
check "the live table starts after the archive" \
	test "$(db_sql 'SELECT min(seq) FROM audit')" = $((OLD + 1))
check "the archive checkpoint is recorded" \
	test "$(db_sql "SELECT first || '-' || last FROM audit_base")" = "1-$OLD"
check "the archiving is audited" test "$(db_sql \
	"SELECT count(*) FROM audit WHERE action = 'audit.archive' AND reason = 'entries 1-$OLD'")" = 1
if db_sql 'DELETE FROM audit' 2>/dev/null; then
	fail "DELETE is refused again after it" "the statement succeeded"
else
	ok "DELETE is refused again after it"
fi
zcat "$DIR/a1.wba" >"$DIR/a1.txt"
no_pii "no personal data in the archive" "$DIR/a1.txt"
ctl audit archive --before 2100-01-01 --out "$DIR/a1.wba" >/dev/null 2>&1
check "an archive file is never overwritten" test $? -ne 0

api GET "/v1/orders/$tn" "${TOK[dep1]}"
expect_status "the daemon goes on writing after the archive" 200 "$STATUS"
ctl audit verify >"$DIR/v.out" 2>&1
check "audit verify: the live chain verifies from the archive checkpoint" test $? = 0
check "audit verify: says it continues from an archive" grep -q "continues from archived entry $OLD" "$DIR/v.out"
ctl audit verify --archive "$DIR/a1.wba" >"$DIR/v.out" 2>&1
rc=$?; [ "$rc" = 0 ] || cat "$DIR/v.out"
check "audit verify --archive: exits 0" test "$rc" = 0
check "audit verify --archive: the archive verifies" grep -q "ok: archive .*entries 1\.\.$OLD" "$DIR/v.out"
check "audit verify --archive: the live chain continues from it" grep -q 'continues from the last archive' "$DIR/v.out"

restart_daemon
api GET /readyz -
for _ in $(seq 30); do
	grep -q 'the whole walk verified' "$DIR/log" && break
	sleep 0.1
done
api GET /readyz -
expect_status "after a restart the archived chain is ready" 200 "$STATUS"
api GET "/v1/audit?limit=1000" "${TOK[aud1]}"
check "GET /v1/audit starts after the archive" jq -e --argjson s $((OLD + 1)) '.entries[0].seq == $s' "$BODY"
stop_daemon

# A second archive continues the first.
CUT2=$(date -u +%Y-%m-%dT%H:%M:%S.%3N)
sleep 0.1
daemon_up
api GET "/v1/orders/$tn" "${TOK[dep1]}"
stop_daemon
ctl audit archive --before "$CUT2" --out "$DIR/a2.wba" >"$DIR/arch2.out" 2>&1
check "a second archive exits 0" test $? = 0
OLD2=$(db_sql 'SELECT last FROM audit_base')
check "it continues the first" grep -q "archived entries $((OLD + 1))\.\.$OLD2 " "$DIR/arch2.out"
ctl audit verify --archive "$DIR/a1.wba" --archive "$DIR/a2.wba" --checkpoints "$CPF" \
	>"$DIR/v.out" 2>&1
check "verify with both archives and the checkpoints: exits 0" test $? = 0
check "the checkpoints of archived entries are named as such" grep -q 'fall in the archived part' "$DIR/v.out"
ctl audit verify --archive "$DIR/a2.wba" >"$DIR/v.out" 2>&1
check "verify with the second alone: refused (it does not start at seq 1)" test $? -ne 0
daemon_up
for _ in 1 2 3 4 5; do api GET "/v1/orders/$tn" "${TOK[dep1]}"; done
stop_daemon

# ---- what an insider might try (each on a copy) ----
# A copy of the database, either backend (lib.sh db_copy), its audit unguarded.
copy() {
	local t
	t=$(db_copy "${1%.db}") || return 1
	audit_unguard "$t" >/dev/null
	echo "$t"
}
verify_copy() { "$WBCTL" --db "$1" --key-file "$DIR/key" audit verify "${@:2}" >"$DIR/v.out" 2>&1; }
FIRST=$(db_sql 'SELECT min(seq) FROM audit')

T=$(copy cut.db)
db_sql_at "$T" "DELETE FROM audit WHERE seq < $((FIRST + 2))"
verify_copy "$T"
check "entries deleted after the archive checkpoint: verify fails" test $? -ne 0
check "and names where the chain breaks" grep -q "BROKEN at seq $FIRST" "$DIR/v.out"

T=$(copy nobase.db)
db_sql_at "$T" "DELETE FROM audit_base"
verify_copy "$T"
check "the archive checkpoint removed: verify fails (the chain starts mid-way)" test $? -ne 0
check "and says no signed archive checkpoint covers it" grep -q 'no signed archive checkpoint' "$DIR/v.out"

T=$(copy forged.db)
db_sql_at "$T" "UPDATE audit_base SET last = $((FIRST + 2)),
	head = (SELECT hash FROM audit WHERE seq = $((FIRST + 2)));
	DELETE FROM audit WHERE seq <= $((FIRST + 2))"
verify_copy "$T"
check "an archive checkpoint rewritten to cover deleted entries: verify fails" test $? -ne 0
check "and says its signature does not verify" grep -q 'does not verify' "$DIR/v.out"

T=$(copy empty.db)
db_sql_at "$T" "DELETE FROM audit"
verify_copy "$T"
check "every live entry deleted after an archive: verify fails" test $? -ne 0

T=$(copy older.db)
db_sql_at "$T" "UPDATE audit_base SET last = $OLD"
verify_copy "$T"
check "an older archive checkpoint brought back: verify fails" test $? -ne 0

zcat "$DIR/a1.wba" | sed '3s/ 6f6b / 6f6c /' | gzip >"$DIR/edited.wba"
verify_copy "$DB" --archive "$DIR/edited.wba" --archive "$DIR/a2.wba"
check "an entry edited inside the archive: verify fails" test $? -ne 0
check "and names it" grep -q 'BAD archive .*edited.wba at seq 2' "$DIR/v.out"
zcat "$DIR/a1.wba" | sed '$ { s/0$/1/; t; s/.$/0/ }' | gzip >"$DIR/resigned.wba"
verify_copy "$DB" --archive "$DIR/resigned.wba" --archive "$DIR/a2.wba"
check "an archive whose signature was changed: verify fails" test $? -ne 0
zcat "$DIR/a1.wba" | sed '$d' | sed '$d' >"$DIR/short.txt"
zcat "$DIR/a1.wba" | tail -n 1 >>"$DIR/short.txt"
gzip -c "$DIR/short.txt" >"$DIR/short.wba"
verify_copy "$DB" --archive "$DIR/short.wba" --archive "$DIR/a2.wba"
check "an archive with its last entry cut: verify fails" test $? -ne 0

# The daemon on a copy whose old entries were deleted without an archive.
T=$(copy nobase2.db)
db_sql_at "$T" "DELETE FROM audit_base"
cp "$CPF" "$DIR/nobase2.cp"
export WAYBILL_AUDIT_CHECKPOINTS=$DIR/nobase2.cp
daemon_up --db "$T" || die start "waybilld on the copy"
for _ in $(seq 50); do
	api GET /readyz -
	[ "$STATUS" = 503 ] && break
	sleep 0.1
done
expect_status "the daemon on a chain deleted without an archive: /readyz 503" 503 "$STATUS"
check "/readyz names the audit" test "$(jb '.reasons | join(",")')" = audit
stop_daemon
finish
