#!/bin/sh
# 90-retention-keys: retention (docs/API.md "Retention": erase at delivery, return
# or cancellation + retention_days; 410 afterwards; nothing left in the
# database files), key rotation and rewrap under load, key retirement, a
# sealed blob moved to another row (integrity error, no personal data), and
# waybillctl audit export (chain links, --since).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

is_pg || command -v sqlite3 >/dev/null || { fail tools "sqlite3 is not installed"; finish; }
start_daemon --retention-days 0 --purge-interval-s 1 --admin-reveals-per-day 1000
sql() { db_sql "$@" 2>&1; } # either backend: the SQL below is the same in both

# ---- retention ------------------------------------------------------------------

post_fixtures "${TOK[c1]}" "$DIR/map" $(seq 0 49)
check "setup: 50 orders created" awk '$3 != 201 { exit 1 } END { exit NR != 50 }' "$DIR/map"
TNS=($(awk '{ print $2 }' "$DIR/map"))
for i in $(seq 0 19); do
	api POST "/v1/orders/${TNS[i]}/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
	[ "$STATUS" = 200 ] || fail "assign ${TNS[i]} to c2" "HTTP $STATUS"
done
# 0-6 cancelled by the depot, 7-9 returned and 10-19 delivered by the courier
ENDED_OK=1
for i in $(seq 0 6); do set_status "${TOK[dep1]}" "${TNS[i]}" cancelled || ENDED_OK=0; done
for i in $(seq 7 9); do set_status "${TOK[c2]}" "${TNS[i]}" picked_up returned || ENDED_OK=0; done
for i in $(seq 10 19); do
	set_status "${TOK[c2]}" "${TNS[i]}" picked_up in_transit out_for_delivery delivered || ENDED_OK=0
done
check "20 orders ended: 7 cancelled, 3 returned, 10 delivered" test "$ENDED_OK" = 1
V_DELIVERED=$(jb .virtual_number) E_DELIVERED=$(jb .extension) T_DELIVERED=${TNS[19]}
# the purge thread runs every purge_interval_s (on its housekeeping tick)
t0=$SECONDS
if wait_until 15 bash -c '"$1" --db "$2" --key-file "$3/key" purge --dry-run | grep -q "^0 orders"' _ "$WBCTL" "$DB" "$DIR"; then
	ok "purge: the daemon erased every due order within $((SECONDS - t0)) s"
else
	fail "purge: the daemon erased every due order within 15 s" "$(ctl purge --dry-run 2>&1)"
fi
audit_all "$DIR/purge.json" "actor=waybilld"
check "purge: retention.purge audit entries account for 20 orders" \
	jq -e '[.[] | select(.action == "retention.purge") | .reason | capture("(?<n>[0-9]+)").n | tonumber] | add == 20' "$DIR/purge.json"
check "purge: the entries name no order and hold no personal data" \
	jq -e 'all(.[] | select(.action == "retention.purge"); (.reason | test("^erased [0-9]+ orders$")))' "$DIR/purge.json"
check "purge: sealed blob and wrapped key gone, tracking number, status and dates kept (20 rows)" \
	test "$(sql "select count(*) from orders where sealed is null and wrapped_dek is null and erased_at is not null
		and tracking_no like 'WB%' and status in ('cancelled','returned','delivered') and ended_at is not null")" = 20
check "purge: the other 30 keep theirs" \
	test "$(sql "select count(*) from orders where sealed is not null and wrapped_dek is not null")" = 30

bad=
for i in $(seq 0 19); do
	t=${TNS[i]}
	api GET "/v1/orders/$t" "${TOK[dep1]}"
	[ "$STATUS" = 410 ] || bad="$bad $i:view=$STATUS"
	api GET "/v1/orders/$t/label.pdf" "${TOK[dep1]}"
	[ "$STATUS" = 410 ] || bad="$bad $i:label=$STATUS"
	api GET "/v1/orders/$t/delivery" "${TOK[c2]}"
	[ "$STATUS" = 410 ] || bad="$bad $i:delivery=$STATUS"
	api GET "/v1/admin/orders/$t?reason=ticket%20R-$i" "${TOK[adm1]}"
	[ "$STATUS" = 410 ] || bad="$bad $i:reveal=$STATUS"
done
check "the 20 erased orders: masked view, label, delivery view and admin reveal all 410${bad:+ (not:$bad)}" test -z "$bad"
bad=
for i in $(seq 20 49); do
	t=${TNS[i]}
	api GET "/v1/orders/$t" "${TOK[dep1]}"
	[ "$STATUS" = 200 ] || bad="$bad $i:view=$STATUS"
	api GET "/v1/orders/$t/label.pdf?size=76x130" "${TOK[dep1]}"
	[ "$STATUS" = 200 ] || bad="$bad $i:label=$STATUS"
	api GET "/v1/admin/orders/$t?reason=ticket%20R-$i" "${TOK[adm1]}"
	[ "$STATUS" = 200 ] || bad="$bad $i:reveal=$STATUS"
done
check "the 30 orders not due: masked view, label and admin reveal 200${bad:+ (not:$bad)}" test -z "$bad"
api GET "/v1/orders?limit=200" "${TOK[dep1]}"
check "list: the 20 erased orders are listed as summaries like the rest (a list opens nothing)" \
	jq -e --argjson t "$(printf '%s\n' "${TNS[@]:0:20}" | jq -R . | jq -sc .)" \
	'[.orders[] | select(.tracking_no as $x | $t | index($x))] | length == 20 and all(keys ==
		["courier", "created_at", "depot", "destination", "parcel", "prints", "sort_code", "status", "tracking_no", "updated_at"])' "$BODY"
route_body=$(jq -nc --arg v "$V_DELIVERED" --arg e "$E_DELIVERED" '{caller: "+8613900000002", called: $v, extension: $e}')
api POST /v1/calls/route "${TOK[tel1]}" -d "$route_body"
expect_status "a purged order's binding forwards nowhere (the phone is gone): 404" 404 "$STATUS"
check "the erased orders' bindings keep no phone hash" test "$(sql \
	"SELECT count(*) FROM vnum_bindings b JOIN orders o ON o.id = b.order_id
	 WHERE o.erased_at IS NOT NULL AND b.recipient_index IS NOT NULL")" = 0
check "purge dry-run: 0 due" bash -c '"$@" | grep -q "^0 orders are due"' _ "$WBCTL" --db "$DB" --key-file "$DIR/key" purge --dry-run

# the 50 orders' personal data in the database files: none in clear
head -n 50 "$FIXTURES" >"$DIR/fifty.jsonl"
pii_of "$DIR/fifty.jsonl" "$DIR/pii50"
# SQLite's files, or PostgreSQL's heap files and WAL (lib.sh); read, or it fails.
check "database files while running: read" db_files "$DIR/live"
check "database files while running: a tracking number in the clear (the grep reads them)" \
	grep -aqF "${TNS[20]}" "$DIR"/live/db*
grep_pii "database files while running" "$DIR/pii50" "$DIR"/live/db*
stop_daemon "sigterm exits 0 (after the purge)"
check "database files after stop: read" db_files "$DIR/rest"
for f in "$DIR/rest/db" "$DIR/rest/db-wal" "$DIR/rest/db-shm"; do
	if [ -e "$f" ]; then grep_pii "database files after stop" "$DIR/pii50" "$f"; else ok "after stop: $(basename "$f") absent"; fi
done

# ---- orders that never reach a final state ---------------------------------------
# They are erased retention_open_days (180) after creation: an order left at
# "created" or stuck "in_transit" must not keep its recipient forever.

daemon_up || die restart "waybilld did not come back"
post_fixtures "${TOK[c1]}" "$DIR/map_open" 60 61 62
check "setup: 3 open orders created" awk '$3 != 201 { exit 1 } END { exit NR != 3 }' "$DIR/map_open"
OPEN=($(awk '{ print $2 }' "$DIR/map_open"))
api POST "/v1/orders/${OPEN[1]}/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
set_status "${TOK[c2]}" "${OPEN[1]}" picked_up in_transit || fail "open order 1 in transit"
stop_daemon "sigterm exits 0 (before ageing open orders)"
now=$(date +%s)
# 0 and 1: created 181 days ago; 2: 179 days ago.
sql "update orders set created_at = $now - 181 * 86400 where tracking_no in ('${OPEN[0]}', '${OPEN[1]}');
	update orders set created_at = $now - 179 * 86400 where tracking_no = '${OPEN[2]}'" >"$DIR/sql.out"
check "purge --dry-run: the 2 open orders past 180 days are due" \
	bash -c '"$@" | grep -q "^2 orders are due"' _ "$WBCTL" --db "$DB" --key-file "$DIR/key" purge --dry-run
check "purge --dry-run with retention_open_days 365: none due" \
	bash -c 'WAYBILL_RETENTION_OPEN_DAYS=365 "$@" | grep -q "^0 orders are due"' _ "$WBCTL" --db "$DB" --key-file "$DIR/key" purge --dry-run
check "purge --dry-run with retention_open_days 170: all 3 due" \
	bash -c 'WAYBILL_RETENTION_OPEN_DAYS=170 "$@" | grep -q "^3 orders are due"' _ "$WBCTL" --db "$DB" --key-file "$DIR/key" purge --dry-run
check "waybillctl purge erases the 2 open orders" \
	bash -c '"$@" | grep -q "^erased the personal data of 2 orders"' _ "$WBCTL" --db "$DB" --key-file "$DIR/key" purge
check "database: their blob, key and digest are gone, status and dates kept" \
	test "$(sql "select count(*) from orders where tracking_no in ('${OPEN[0]}', '${OPEN[1]}') and sealed is null
		and wrapped_dek is null and body_digest is null and erased_at is not null and status in ('created', 'in_transit')")" = 2
check "database: the 179-day-old one keeps its data" \
	test "$(sql "select count(*) from orders where tracking_no = '${OPEN[2]}' and sealed is not null")" = 1
check "database: the erased open orders' bindings ended and keep no phone hash" \
	test "$(sql "select count(*) from vnum_bindings b join orders o on o.id = b.order_id
		where o.tracking_no in ('${OPEN[0]}', '${OPEN[1]}') and b.recipient_index is null
		and b.active_until <= $now + 60 and b.reusable_at > $now")" = 2
daemon_up || die restart "waybilld did not come back"
api GET "/v1/orders/${OPEN[0]}" "${TOK[dep1]}"
expect_status "an erased open order: its view answers 410" 410 "$STATUS"
api GET "/v1/admin/orders/${OPEN[1]}?reason=ticket%20R-99" "${TOK[adm1]}"
expect_status "an erased open order in transit: its reveal answers 410" 410 "$STATUS"
api GET "/v1/orders/${OPEN[1]}/delivery" "${TOK[c2]}"
expect_status "an erased open order in transit: its delivery view answers 410" 410 "$STATUS"
api GET "/v1/orders/${OPEN[2]}" "${TOK[dep1]}"
expect_status "the younger open order still reads" 200 "$STATUS"
audit_all "$DIR/purge_open.json"
check "the operator's purge is audited: erased 2 orders" \
	jq -e '[.[] | select(.action == "retention.purge" and (.actor | startswith("op.")) and .reason == "erased 2 orders")] | length == 1' "$DIR/purge_open.json"
stop_daemon "sigterm exits 0 (after erasing open orders)"

# ---- key rotation and rewrap under load --------------------------------------------

daemon_up --admin-reveals-per-day 1000 || die restart "waybilld did not come back"
mkdir -p "$DIR/load/in"
for r in 0 1 2 3 4 5; do jq -c --arg r "$r" '.client_order_id = "load-\($r)-" + .client_order_id' "$FIXTURES"; done |
	awk -v d="$DIR/load/in" '{ f = d "/" NR ".json"; print > f; close(f) }'
# load WORKER: post an order, read it back, read one of the kept orders; until $DIR/stop
load() {
	local w=$1 i=0 tn code
	while [ ! -e "$DIR/stop" ] && [ "$i" -lt 1400 ]; do
		i=$((i + 1))
		code=$(curl -s -o "$DIR/load/$w.out" -w '%{http_code}' --max-time 10 -X POST \
			-H "Authorization: Bearer ${TOK[c1]}" -H "Content-Type: application/json" \
			--data-binary "@$DIR/load/in/$((w * 1400 + i)).json" "$URL/v1/orders")
		echo "$code POST" >>"$DIR/load/$w.log"
		tn=$(jq -r '.tracking_no // empty' "$DIR/load/$w.out" 2>/dev/null)
		if [ -n "$tn" ]; then
			echo "$tn" >>"$DIR/load/$w.tns"
			echo "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer ${TOK[dep1]}" "$URL/v1/orders/$tn") GET" >>"$DIR/load/$w.log"
		fi
		echo "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer ${TOK[dep1]}" "$URL/v1/orders/${TNS[20 + i % 30]}") GET" >>"$DIR/load/$w.log"
	done
}
# wait_posts N: until the workers have posted N orders (at most a minute): the
# load is measured in orders, not seconds, so a busy machine only makes it slower.
wait_posts() {
	for _ in $(seq 600); do
		[ "$(cat "$DIR"/load/[01].log 2>/dev/null | grep -c POST)" -ge "$1" ] && return
		sleep 0.1
	done
}
rm -f "$DIR/stop"
load 0 &
L0=$!
load 1 &
L1=$!
wait_posts 30
CP_KEY=$(ctl audit checkpoint-key)
ctl key rotate >"$DIR/rotate.out" 2>&1
check "key rotate: version 2 is current" grep -q "key version 2 is current" "$DIR/rotate.out"
check "key rotate: the audit checkpoint key stays the same" test "$(ctl audit checkpoint-key)" = "$CP_KEY"
sleep 2
ctl key rewrap >"$DIR/rewrap.out" 2>&1
check "key rewrap under load: exits 0, nothing left on older versions ($(tr '\n' ' ' <"$DIR/rewrap.out"))" \
	grep -q "; 0 left on older versions" "$DIR/rewrap.out"
wait_posts 100
touch "$DIR/stop"
wait "$L0" "$L1"
cat "$DIR"/load/[01].log >"$DIR/load.log"
echo "# load during rotate + rewrap: $(grep -c POST "$DIR/load.log") orders posted, $(grep -c GET "$DIR/load.log") reads"
check "load: every answer 200/201, no 5xx ($(awk '{ print $1 }' "$DIR/load.log" | sort | uniq -c | tr '\n' ' '))" \
	awk '$1 != 200 && $1 != 201 { exit 1 }' "$DIR/load.log"
check "load: at least 100 orders posted meanwhile" test "$(grep -c POST "$DIR/load.log")" -ge 100
check "database: no data key left on a version below 2" \
	test "$(sql "select count(*) from orders where wrapped_dek is not null and kek_version < 2")" = 0
check "database: no courier phone key left on a version below 2" \
	test "$(sql "select count(*) from accounts where phone_wrapped_dek is not null and phone_kek_version < 2")" = 0
cat "$DIR"/load/*.tns >"$DIR/all.tns"
printf '%s\n' "${TNS[@]:20}" >>"$DIR/all.tns"
# every_order_opens NAME: GET each order as the depot, all 200
every_order_opens() {
	awk '{ print NR, "/v1/orders/" $1 }' "$DIR/all.tns" | bulk GET "${TOK[dep1]}" "$DIR/open.$1"
	check "$1: all $(wc -l <"$DIR/all.tns") orders open ($(awk '{ print $2 }' "$DIR/open.$1.codes" | sort | uniq -c | tr '\n' ' '))" \
		awk '$2 != 200 { exit 1 }' "$DIR/open.$1.codes"
}
every_order_opens "after rotate + rewrap"

# ---- waybillctl beside waybilld -------------------------------------------------
# SQLite's WAL-reset bug (docs/operations.md): a checkpoint must never
# overlap a commit that restarts the log.  The daemon runs the checkpoints,
# each under a lock on byte 0 of "<db>-lock"; waybillctl holds that byte
# for each of its write transactions; the daemon's own writer never waits
# for it.  An outside holder of byte 0 (a POSIX record lock: it conflicts
# with the programs' own) holds back a waybillctl write, not a POST.
# PostgreSQL has neither the file nor the bug, and several daemons on one
# database are its point (98-cluster): this part is SQLite's.
if is_pg; then
	echo "skip on PostgreSQL: db-lock and one daemon per database are SQLite's (98-cluster runs three)"
else
check "db-lock: exists, owner-only" test "$(stat -c %a "$DIR/db-lock" 2>/dev/null)" = 600
rm -f "$DIR/held"
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX, 1, 0, 0)
open(sys.argv[2], "w").close()
time.sleep(1.5)
' "$DIR/db-lock" "$DIR/held" &
HOLDER=$!
if wait_until 10 test -e "$DIR/held"; then
	t0=$(date +%s%N)
	(ctl account add --name beside --role admin >/dev/null 2>"$DIR/beside.err"; echo "$? $(date +%s%N)" >"$DIR/beside.rc") &
	ADDER=$!
	api POST /v1/orders "${TOK[c1]}" -d "$(fixture 60 | jq -c '.client_order_id = "beside-1"')"
	t1=$(date +%s%N)
	wait "$ADDER" "$HOLDER"
	read -r add_rc t2 <"$DIR/beside.rc"
	expect_status "a POST while another process holds byte 0" 201 "$STATUS"
	check "the daemon's writer did not wait for it ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 1000
	check "waybillctl account add meanwhile: exits 0 ($(cat "$DIR/beside.err"))" test "$add_rc" = 0
	check "waybillctl's write waited for it ($(((t2 - t0) / 1000000)) ms)" test $(((t2 - t0) / 1000000)) -ge 1000
else
	fail "db-lock: an outside process takes byte 0" "python3 did not get it in 10 s"
	kill "$HOLDER" 2>/dev/null
fi
# one daemon per database: a second one says why and exits
if "$WBD" --db "$DB" --key-file "$DIR/key" --listen "127.0.0.1:$(pick_port)" 2>"$DIR/second.log"; then
	fail "a second waybilld on the same database refuses to start" "it ran"
else
	check "a second waybilld on the same database refuses to start ($(tail -n 1 "$DIR/second.log"))" \
		grep -q "another waybilld has this database open" "$DIR/second.log"
fi
fi

if ctl key retire 1 >"$DIR/retire1.out" 2>&1; then
	fail "key retire 1 refuses" "it succeeded: $(cat "$DIR/retire1.out")"
else
	ok "key retire 1 refuses: $(head -c 160 "$DIR/retire1.out")"
fi
check "key retire 1: the refusal says why" grep -qi "anchor\|token\|audit" "$DIR/retire1.out"
if ctl key retire 2 >"$DIR/retire2a.out" 2>&1; then
	fail "key retire 2 while current refuses" "it succeeded"
else
	ok "key retire 2 while it is current refuses"
fi
# ---- key file writes: a fresh temporary file, never through a symlink ------------------------
# Someone who can write the key's directory plants "<key>.new" as a symlink: a rotate that
# followed it would write the new key where they can read it (and leave a symlink as the key).
cp "$DIR/key" "$DIR/key.before"
printf 'decoy\n' >"$DIR/decoy" && chmod 644 "$DIR/decoy"
ln -s "$DIR/decoy" "$DIR/key.new"
if ctl key rotate >"$DIR/rotate-link.out" 2>&1; then
	fail "key rotate refuses when key.new is a symlink" "it succeeded"
else
	ok "key rotate refuses when key.new is a symlink: $(head -c 200 "$DIR/rotate-link.out")"
fi
check "symlinked key.new: the refusal names it" grep -q 'key.new' "$DIR/rotate-link.out"
check "symlinked key.new: its target is untouched" test "$(cat "$DIR/decoy")" = decoy
check "symlinked key.new: its target is still mode 644" test "$(stat -c %a "$DIR/decoy")" = 644
check "symlinked key.new: the key file is still a regular file" test -f "$DIR/key" -a ! -L "$DIR/key"
check "symlinked key.new: the key file is unchanged" cmp -s "$DIR/key" "$DIR/key.before"
rm -f "$DIR/key.new"
# A regular file left there (by a run that died, or by someone else) is not reused either.
printf 'left\n' >"$DIR/key.new" && chmod 666 "$DIR/key.new"
if ctl key rotate >"$DIR/rotate-left.out" 2>&1; then
	fail "key rotate refuses a key.new left in place" "it succeeded"
else
	ok "key rotate refuses a key.new left in place"
fi
check "left key.new: untouched" test "$(cat "$DIR/key.new")" = left
check "left key.new: the key file is unchanged" cmp -s "$DIR/key" "$DIR/key.before"
rm -f "$DIR/key.new" "$DIR/key.before"
# keygen never writes through a symlink or over a key.
ln -s "$DIR/decoy" "$DIR/gen-link.key"
if "$WBCTL" keygen --out "$DIR/gen-link.key" >/dev/null 2>&1; then
	fail "keygen refuses a symlink as --out" "it succeeded"
else
	ok "keygen refuses a symlink as --out"
fi
check "keygen through a symlink: its target is untouched" test "$(cat "$DIR/decoy")" = decoy
ln -s "$DIR/no-such-file" "$DIR/gen-dangling.key"
if "$WBCTL" keygen --out "$DIR/gen-dangling.key" >/dev/null 2>&1; then
	fail "keygen refuses a dangling symlink as --out" "it succeeded"
else
	ok "keygen refuses a dangling symlink as --out"
fi
check "keygen through a dangling symlink: nothing created" test ! -e "$DIR/no-such-file"
if "$WBCTL" keygen --out "$DIR/key" >/dev/null 2>&1; then
	fail "keygen refuses to overwrite a key file" "it succeeded"
else
	ok "keygen refuses to overwrite a key file"
fi
"$WBCTL" keygen --out "$DIR/gen.key" 2>/dev/null
check "keygen: a 32-byte key file" test "$(stat -c %s "$DIR/gen.key")" = 32
check "keygen: mode 600" test "$(stat -c %a "$DIR/gen.key")" = 600
check "keygen: no temporary file left" test ! -e "$DIR/gen.key.new"
ctl key rotate >"$DIR/rotate3.out" 2>&1
check "second key rotate: version 3" grep -q "key version 3 is current" "$DIR/rotate3.out"
check "second key rotate: the key file is mode 600" test "$(stat -c %a "$DIR/key")" = 600
check "second key rotate: a regular file of 3 keys" test -f "$DIR/key" -a ! -L "$DIR/key" -a "$(stat -c %s "$DIR/key")" = 96
check "second key rotate: no key.new left" test ! -e "$DIR/key.new"
ctl key rewrap >"$DIR/rewrap3.out" 2>&1
check "second rewrap: nothing left on older versions" grep -q "; 0 left on older versions" "$DIR/rewrap3.out"
if ctl key retire 2 >"$DIR/retire2.out" 2>&1; then ok "key retire 2 succeeds"; else fail "key retire 2 succeeds" "$(cat "$DIR/retire2.out")"; fi
sleep 1.2 # the daemon looks at the key file at most once a second
every_order_opens "after retiring version 2"
api GET "/v1/admin/orders/${TNS[20]}?reason=ticket%20K-1" "${TOK[adm1]}"
expect_status "after retiring version 2: a reveal" 200 "$STATUS"
check "after retiring version 2: the audit chain verifies" ctl audit verify
stop_daemon "sigterm exits 0 (after retiring version 2)"
daemon_up || die restart "waybilld did not start with version 2 retired"
ok "waybilld starts with version 2 retired"
every_order_opens "after a restart with version 2 retired"
check "accounts' tokens still work after retirement" \
	bash -c 'curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $1" "$2/v1/orders?limit=1" | grep -qx 200' _ "${TOK[c1]}" "$URL"
api POST "/v1/orders/${TNS[20]}/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
route_body=$(jq -c '{caller: "+8613900000002", called: .virtual_number, extension: .extension}' "$BODY")
api POST /v1/calls/route "${TOK[tel1]}" -d "$route_body"
expect_status "a courier phone sealed under version 1, rewrapped, still routes: 200" 200 "$STATUS"

# ---- a sealed blob moved to another row -------------------------------------------------

SRC=${TNS[21]} DST=${TNS[22]}
HEXS="hex(sealed) || hex(wrapped_dek)"
is_pg && HEXS="encode(sealed, 'hex') || encode(wrapped_dek, 'hex')"
stop_daemon "sigterm exits 0 (before moving a blob)"
sql "update orders set sealed = (select sealed from orders where tracking_no = '$SRC'),
	wrapped_dek = (select wrapped_dek from orders where tracking_no = '$SRC'),
	kek_version = (select kek_version from orders where tracking_no = '$SRC'),
	seal_version = (select seal_version from orders where tracking_no = '$SRC')
	where tracking_no = '$DST'" >"$DIR/sql.out"
check "database: the blob and its key copied onto another row" \
	test "$(sql "select count(distinct $HEXS) from orders where tracking_no in ('$SRC', '$DST')")" = 1
daemon_up || die restart "waybilld did not come back"
fixtures_pii "$DIR/pii"
api GET "/v1/orders/$DST" "${TOK[dep1]}"
expect_error "the row with a moved blob: an integrity error" 500 ""
no_pii "the integrity error" "$BODY"
api GET "/v1/orders/$DST/label.pdf" "${TOK[dep1]}"
expect_status "its label: 500" 500 "$STATUS"
no_pii "its label's error" "$BODY"
api GET "/v1/admin/orders/$DST?reason=ticket%20I-1" "${TOK[adm1]}"
expect_status "its reveal: 500" 500 "$STATUS"
no_pii "its reveal's error" "$BODY"
api GET "/v1/orders/$SRC" "${TOK[dep1]}"
expect_status "the source order still reads" 200 "$STATUS"
api GET "/v1/orders?limit=200" "${TOK[dep1]}"
expect_status "the list still answers" 200 "$STATUS"
no_pii "the list" "$BODY"
grep -i "integrity\|crypto\|open" "$DIR/log" | tail -n 3 >"$DIR/log.integrity"
no_pii "the log" "$DIR/log"

# ---- audit export ---------------------------------------------------------------------

sleep 1.1
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
api GET "/v1/orders/$SRC" "${TOK[dep1]}"
api GET "/v1/orders/${TNS[23]}" "${TOK[dep1]}"
audit_export "$DIR/export.jsonl"
check "audit export: exits 0 and writes lines" test -s "$DIR/export.jsonl"
check "audit export: one JSON object per line with seq, ts, action, hash, prev_hash" \
	bash -c 'jq -e -c "select((type != \"object\") or (has(\"seq\") and has(\"ts\") and has(\"action\") and (.hash | test(\"^[0-9a-f]{64}$\")) and (.prev_hash | test(\"^[0-9a-f]{64}$\"))) | not)" "$1" | grep -q . && exit 1; [ "$(jq -c . "$1" | wc -l)" = "$(wc -l <"$1")" ]' _ "$DIR/export.jsonl"
check "audit export: seq runs 1, 2, 3, ... without gaps" \
	jq -se '[.[].seq] == [range(1; length + 1)]' "$DIR/export.jsonl"
check "audit export: each prev_hash is the previous line's hash" \
	jq -se '. as $a | [range(1; length) | select($a[.].prev_hash != $a[. - 1].hash)] | length == 0' "$DIR/export.jsonl"
no_pii "audit export" "$DIR/export.jsonl"
check "audit export: the last line's hash is the head audit verify prints" \
	grep -qF "$(tail -n 1 "$DIR/export.jsonl" | jq -r .hash)" <(ctl audit verify)
audit_export "$DIR/since.jsonl" --since "$SINCE"
want=$(jq -s --arg s "$SINCE" '[.[] | select(.ts[0:19] >= $s[0:19])] | length' "$DIR/export.jsonl")
got=$(wc -l <"$DIR/since.jsonl")
check "audit export --since $SINCE: the $want entries from then on (got $got)" test "$got" -eq "$want" -a "$want" -ge 2
check "audit export --since: every line at or after it" jq -se --arg s "$SINCE" 'all(.[]; .ts[0:19] >= $s[0:19])' "$DIR/since.jsonl"
check "audit export --since: they are the last entries of the full export" \
	bash -c 'diff <(tail -n "$3" "$1") "$2"' _ "$DIR/export.jsonl" "$DIR/since.jsonl" "$got"
# --since the very second of an entry (its ts has milliseconds): that entry is included
E=$(tail -n 1 "$DIR/export.jsonl")
ETS=$(jq -r .ts <<<"$E")
audit_export "$DIR/since2.jsonl" --since "${ETS:0:19}Z"
check "audit export --since ${ETS:0:19}Z includes the entry stamped $ETS" \
	grep -qF "$(jq -r .hash <<<"$E")" "$DIR/since2.jsonl"
audit_export "$DIR/since3.jsonl" --since 2000-01-01
check "audit export --since 2000-01-01: everything" test "$(wc -l <"$DIR/since3.jsonl")" -eq "$(wc -l <"$DIR/export.jsonl")"
audit_export "$DIR/since4.jsonl" --since 2999-01-01
check "audit export --since 2999-01-01: nothing" test ! -s "$DIR/since4.jsonl"
if audit_export "$DIR/since5.jsonl" --since yesterday; then
	fail "audit export --since yesterday is refused" "exit 0, $(wc -l <"$DIR/since5.jsonl") lines"
else
	ok "audit export --since yesterday is refused"
fi

# every order's personal data in the final database files: none in clear
stop_daemon "sigterm exits 0 (at the end)"
ctl audit verify --checkpoints "$WAYBILL_AUDIT_CHECKPOINTS" >"$DIR/verify-cp.out" 2>&1
check "after rotations, retirement and restarts: the chain holds every checkpoint ($(tail -n 1 "$DIR/verify-cp.out"))" \
	grep -q "holds all" "$DIR/verify-cp.out"
check "after three key versions: the checkpoint key is still the first one's" test "$(ctl audit checkpoint-key)" = "$CP_KEY"
check "final database files: read" db_files "$DIR/final"
for f in "$DIR/final/db" "$DIR/final/db-wal" "$DIR/final/db-shm"; do
	if [ -e "$f" ]; then no_pii "final database files" "$f"; else ok "final: $(basename "$f") absent"; fi
done
echo "# run time $(elapsed) s"
finish
