#!/bin/sh
# 47-start-verify: a start walks only the audit entries after the last
# signed checkpoint, so that it costs the same at any length of chain
# (tests/bench/startup.sh measures it); the database's quick check and the
# walk of the whole chain run beside the serving daemon.  What an insider
# with write access to the database might try:
#  - edit an entry after the last checkpoint: the start refuses, naming it;
#  - edit one before it: the daemon starts, but the whole walk finds it and
#    /readyz answers 503 "audit" (and `audit verify` names it);
#  - hide the checkpoints (an empty file): the start walks everything.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
CPF=$WAYBILL_AUDIT_CHECKPOINTS
fixture 0 >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
expect_status "an order" 201 "$STATUS"
tn=$(jb .tracking_no)
for _ in 1 2 3; do api GET "/v1/orders/$tn" "${TOK[dep1]}"; done
expect_status "audited reads" 200 "$STATUS"
api GET /readyz -
expect_status "/readyz 200 on an untouched chain" 200 "$STATUS"
stop_daemon "sigterm exits 0 (first checkpoint)"
A=$(tail -n 1 "$CPF" | sed -E 's/^v1 seq=([0-9]+) .*/\1/')
cp "$CPF" "$DIR/old.cp"
daemon_up || die restart "waybilld did not come back"
for _ in 1 2 3; do api GET "/v1/orders/$tn" "${TOK[dep1]}"; done
stop_daemon "sigterm exits 0 (second checkpoint)"
B=$(tail -n 1 "$CPF" | sed -E 's/^v1 seq=([0-9]+) .*/\1/')
check "the second checkpoint is past the first ($A < $B)" test "$A" -lt "$B"
check "the start logged its walk from the checkpoint" \
	grep -q "audit chain verified from the checkpoint at seq $A" "$DIR/log"

# A copy of the database (either backend, lib.sh db_copy) whose audit table
# the insider has unguarded.
copy() {
	local t
	t=$(db_copy "${1%.db}") || return 1
	audit_unguard "$t" >/dev/null
	echo "$t"
}
edit() { db_sql_at "$1" "UPDATE audit SET result = 'x' || result WHERE seq = $2"; }
# refuses NAME DB CPFILE WHAT: waybilld exits non-zero at once, one stderr line matching WHAT.
refuses() {
	local port rc
	port=$(pick_port)
	WAYBILL_AUDIT_CHECKPOINTS=$3 timeout 10 "$WBD" --db "$2" --key-file "$DIR/key" \
		--listen "127.0.0.1:$port" >/dev/null 2>"$DIR/start.err"
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then ok "$1: refuses to start"; else fail "$1: refuses to start" "exit $rc"; fi
	check "$1: one line on stderr" test "$(grep -c . "$DIR/start.err")" = 1
	check "$1: it says $4" grep -q "$4" "$DIR/start.err"
}

# An entry after the last checkpoint (the old file ends at A; B is newer).
T=$(copy after.db)
edit "$T" "$B"
cp "$DIR/old.cp" "$DIR/after.cp"
refuses "an entry after the checkpoint edited" "$T" "$DIR/after.cp" "audit chain broken at seq $B"

# No checkpoint at all: the whole chain is walked at the start.
T=$(copy early.db)
edit "$T" 2
: >"$DIR/none.cp"
refuses "no checkpoints, an early entry edited" "$T" "$DIR/none.cp" "audit chain broken at seq 2"

# An entry before the last checkpoint: the start does not walk it, the whole walk does.
cp "$CPF" "$DIR/early.cp"
export WAYBILL_AUDIT_CHECKPOINTS=$DIR/early.cp
daemon_up --db "$T" || die start "waybilld did not start on a chain edited before its checkpoint"
ok "an entry before the checkpoint edited: the start goes on"
for _ in $(seq 100); do
	api GET /readyz -
	[ "$STATUS" = 503 ] && break
	sleep 0.1
done
expect_status "the whole walk finds it: /readyz 503" 503 "$STATUS"
check "/readyz names the audit" test "$(jb '.reasons | join(",")')" = audit
check "the log names the entry" grep -q "audit chain broken at seq 2 " "$DIR/log"
api GET /healthz -
expect_status "/healthz stays 200" 200 "$STATUS"
stop_daemon "sigterm exits 0 (edited chain)"
"$WBCTL" --db "$T" --key-file "$DIR/key" audit verify >"$DIR/verify.out" 2>&1
check "audit verify fails on it" test $? -ne 0
check "audit verify names seq 2" grep -Eq 'seq 2([^0-9]|$)' "$DIR/verify.out"
export WAYBILL_AUDIT_CHECKPOINTS=$CPF
walks=$(grep -c 'the whole walk verified' "$DIR/log")
daemon_up --db "$DB" || die restart "waybilld did not start on the untouched database"
for _ in $(seq 50); do
	[ "$(grep -c 'the whole walk verified' "$DIR/log")" -gt "$walks" ] && break
	sleep 0.1
done
check "the untouched chain's whole walk is logged" \
	test "$(grep -c 'the whole walk verified' "$DIR/log")" -gt "$walks"
api GET /readyz -
expect_status "/readyz 200 on the untouched chain" 200 "$STATUS"
stop_daemon
finish
