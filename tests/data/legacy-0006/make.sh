#!/bin/bash
# tests/data/legacy-0006/make.sh OLD_BIN_DIR - how db, key and tokens here
# were made: with waybilld and waybillctl built from before migration 0009
# (schema 0001-0006, orders sealed bound to "TN|version" only, idempotency
# keys in the clear).  tests/e2e/58-seal-binding.sh upgrades a copy.
# Made-up people only (tests/data/orders.jsonl lines 1-4); the key and the
# tokens open nothing but this file.
set -e
OLD=${1:?usage: make.sh OLD_BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
T=$(mktemp -d)
trap 'kill $PID 2>/dev/null; rm -rf "$T"' EXIT
"$OLD/waybillctl" keygen --out "$T/key"
ctl() { "$OLD/waybillctl" --db "$T/db" --key-file "$T/key" "$@"; }
: >"$T/tokens"
for a in "c1 courier d1 +8613900000001" "c3 courier d2 +8613900000003" "dep1 depot d1" \
	"dep2 depot d2" "adm1 admin" "aud1 auditor"; do
	set -- $a
	args=(account add --name "$1" --role "$2")
	[ -n "${3:-}" ] && args+=(--depot "$3")
	[ -n "${4:-}" ] && args+=(--phone "$4")
	echo "$1 $(ctl "${args[@]}")" >>"$T/tokens"
done
tok() { awk -v n="$1" '$1 == n { print $2 }' "$T/tokens"; }
PORT=18$((RANDOM % 900 + 100))
"$OLD/waybilld" --db "$T/db" --key-file "$T/key" --listen "127.0.0.1:$PORT" \
	--templates "$ROOT/templates" --retention-days 0 --purge-interval-s 1 2>"$T/log" &
PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
: >"$T/tns"
for i in 0 1 2 3; do
	sed -n "$((i + 1))p" "$ROOT/tests/data/orders.jsonl" >"$T/o.json"
	tn=$(curl -fs -H "Authorization: Bearer $(tok c1)" -H 'Content-Type: application/json' \
		--data-binary "@$T/o.json" "http://127.0.0.1:$PORT/v1/orders" | jq -r .tracking_no)
	echo "$i $tn" >>"$T/tns"
done
# order 3 is cancelled, and erased by the purge (retention_days 0)
tn3=$(awk '$1 == 3 { print $2 }' "$T/tns")
curl -fs -o /dev/null -H "Authorization: Bearer $(tok dep1)" -H 'Content-Type: application/json' \
	-d '{"status":"cancelled"}' "http://127.0.0.1:$PORT/v1/orders/$tn3/status"
for _ in $(seq 100); do
	[ "$(sqlite3 "$T/db" "select count(*) from orders where erased_at is not null")" = 1 ] && break
	sleep 0.1
done
kill -TERM "$PID"
wait "$PID"
PID=
cp "$T/db" "$T/key" "$T/tokens" "$T/tns" "$HERE/"
echo "made $HERE/{db,key,tokens,tns}"
