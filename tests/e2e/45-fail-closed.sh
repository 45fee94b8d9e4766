#!/bin/sh
# 45-fail-closed: when the audit entry cannot be written, nothing happens
# and nothing personal leaves: every audited request answers 503, no order
# is stored, and the daemon keeps serving.  Simulated with a trigger that
# refuses every insert into the audit table (a full disk or a broken file
# looks the same to the writer).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
fixtures_pii "$DIR/pii"
fixture 3 >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
expect_status "an order before the fault" 201 "$STATUS"
tn=$(jb .tracking_no)
stop_daemon

if is_pg; then
	db_sql "CREATE FUNCTION audit_fault() RETURNS trigger LANGUAGE plpgsql AS \$\$
		BEGIN RAISE EXCEPTION 'disk full'; END \$\$;
		CREATE TRIGGER audit_fault BEFORE INSERT ON audit FOR EACH ROW
		EXECUTE FUNCTION audit_fault()" >/dev/null
else
	sqlite3 "$DIR/db" "CREATE TRIGGER audit_fault BEFORE INSERT ON audit
		BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
fi
daemon_up

count() { db_sql "SELECT count(*) FROM orders"; }
before=$(count)
fixture 4 >"$DIR/o2.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o2.json"
expect_error "a new order cannot be audited" 503 unavailable
check "and it was not stored" test "$(count)" = "$before"

api GET "/v1/orders/$tn" "${TOK[dep1]}"
expect_error "a read cannot be audited" 503 unavailable
api GET "/v1/orders?limit=5" "${TOK[dep1]}"
expect_error "a list cannot be audited" 503 unavailable
api GET "/v1/orders/$tn/label.pdf" "${TOK[dep1]}"
expect_error "a label cannot be audited" 503 unavailable
api GET "/v1/admin/orders/$tn?reason=ticket%20CS-1" "${TOK[adm1]}"
expect_error "a reveal cannot be audited" 503 unavailable
api POST "/v1/orders/$tn/status" "${TOK[dep1]}" -d '{"status":"cancelled"}'
expect_error "a change cannot be audited" 503 unavailable
check "and the change did not happen" \
	test "$(db_sql "SELECT status FROM orders WHERE tracking_no = '$tn'")" = created
api GET "/v1/orders/$tn" "${TOK[aud1]}"
expect_error "a denied attempt that cannot be audited is refused too" 503 unavailable

api GET /healthz -
expect_status "the daemon still serves" 200 "$STATUS"
api GET /readyz -
expect_status "/readyz: not ready while entries cannot be written" 503 "$STATUS"
check "/readyz names the audit" test "$(jb '.reasons | join(",")')" = audit
check "one 'writing failed' line for all the refusals" test "$(grep -c 'writing failed' "$DIR/log")" = 1
no_pii "no personal data in the refusals" "$DIR/error_bodies" "$DIR/log"

# The fault cleared, the service carries on where it was.
stop_daemon
if is_pg; then
	db_sql "DROP TRIGGER audit_fault ON audit" >/dev/null
else
	sqlite3 "$DIR/db" "DROP TRIGGER audit_fault"
fi
daemon_up
api GET "/v1/orders/$tn" "${TOK[dep1]}"
expect_status "after the fault clears, reads work" 200 "$STATUS"
check "the chain verifies" "$WBCTL" --db "$DB" --key-file "$DIR/key" audit verify
finish
