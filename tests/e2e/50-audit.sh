#!/bin/sh
# 50-audit: the audit chain at rest.  The database refuses UPDATE and DELETE;
# an edited, deleted or reordered entry is found by `waybillctl audit verify`
# and stops waybilld from starting; an untouched chain verifies, over HTTP
# too.  waybilld refuses a missing, too-open or wrong-sized key file.  Audit
# entries hold no personal data.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
fixtures_pii "$DIR/pii"

# ---- some history ---------------------------------------------------------------------

TNS=()
for i in 0 1 2; do
	fixture "$i" >"$DIR/o$i.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o$i.json"
	[ "$STATUS" = 201 ] || die setup "create $i: HTTP $STATUS"
	TNS+=("$(jb .tracking_no)")
done
api POST "/v1/orders/${TNS[0]}/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
api POST "/v1/orders/${TNS[0]}/status" "${TOK[c2]}" -d '{"status":"picked_up"}'
api GET "/v1/orders/${TNS[1]}" "${TOK[adm1]}"
api GET "/v1/orders/${TNS[1]}" "${TOK[c3]}"  # denied
api GET "/v1/orders/${TNS[2]}" "${TOK[aud1]}" # denied
api GET "/v1/orders/$(tn_make 1234567890123456)" "${TOK[dep1]}" # no such order: an entry without a row id
api GET "/v1/orders?limit=10" "${TOK[dep1]}"
for _ in 1 2; do api GET "/v1/orders/${TNS[2]}/label.pdf" "${TOK[dep1]}"; done # a print and a reprint
expect_status "a label printed twice" 200 "$STATUS"
api GET "/v1/audit?limit=5" "${TOK[aud1]}"
api GET /v1/audit/verify "${TOK[aud1]}"
expect_status "verify over HTTP: 200" 200 "$STATUS"
check "verify over HTTP: ok:true, entries, 64-hex head" \
	jq -e '.ok == true and (.entries | type == "number" and . > 10) and (.head | test("^[0-9a-f]{64}$"))' "$BODY"
stop_daemon "SIGTERM: exit 0"

# The pristine database ($DB, either backend), and the count of its rows.  The
# insider's SQL is the same on both where the dialects agree (lib.sh db_sql_at);
# hx and zeros are where they do not.
q() { db_sql_at "$@"; }
hx() { if is_pg; then echo "upper(encode($1, 'hex'))"; else echo "hex($1)"; fi; }
zeros() { if is_pg; then echo "decode(repeat('00', $1), 'hex')"; else echo "zeroblob($1)"; fi; }
rows() { q "$1" 'SELECT count(*) FROM audit'; }
dump() { q "$1" "SELECT seq, ts, actor, role, action, tracking_no, reason, result, request_id, $(hx prev), $(hx hash) FROM audit ORDER BY seq"; }
N=$(rows "$DB")
check "audit table: $N rows" test "$N" -gt 15
dump "$DB" >"$DIR/audit.dump"
no_pii "audit table dump" "$DIR/audit.dump"
check "audit table: the denied reads are there" \
	test "$(q "$DB" "SELECT count(*) FROM audit WHERE result = 'denied'")" -ge 2
check "audit table: tracking numbers, not row ids" \
	test "$(q "$DB" "SELECT count(*) FROM audit WHERE tracking_no = '${TNS[0]}'")" -ge 3

# ---- (a) the triggers -------------------------------------------------------------------

MID=$((N / 2))
q "$DB" "UPDATE audit SET result = 'ok' WHERE seq = $MID" 2>"$DIR/sql.err"
rc=$?
check "UPDATE on audit: the statement fails" test "$rc" -ne 0
check "UPDATE on audit: refused as append-only" grep -q 'append-only' "$DIR/sql.err"
q "$DB" "DELETE FROM audit WHERE seq = $MID" 2>"$DIR/sql.err"
rc=$?
check "DELETE on audit: the statement fails" test "$rc" -ne 0
check "DELETE on audit: refused as append-only" grep -q 'append-only' "$DIR/sql.err"
q "$DB" "DELETE FROM audit" 2>/dev/null
check "DELETE of every row: refused" test $? -ne 0
q "$DB" "UPDATE audit SET actor = 'x'" 2>/dev/null
check "UPDATE of every row: refused" test $? -ne 0
check "rows unchanged after the refused statements" cmp -s "$DIR/audit.dump" <(dump "$DB")

# ---- helpers for tampering ----------------------------------------------------------------

# copy NAME: a copy of the pristine database (lib.sh db_copy, either backend).
copy() { db_copy "${1%.db}"; }
untrigger() { audit_unguard "$1" >/dev/null; }
# verify_db DB: waybillctl audit verify; output in $DIR/verify.out, status returned.
verify_db() {
	"$WBCTL" --db "$1" --key-file "$DIR/key" audit verify >"$DIR/verify.out" 2>&1
}
# refuses NAME DB [KEY]: waybilld must exit non-zero at once with one line on stderr.
refuses() {
	local name=$1 db=$2 key=${3:-$DIR/key} port rc lines
	port=$(pick_port)
	timeout 10 "$WBD" --db "$db" --key-file "$key" --listen "127.0.0.1:$port" \
		>"$DIR/start.out" 2>"$DIR/start.err"
	rc=$?
	lines=$(grep -c . "$DIR/start.err")
	if [ "$rc" = 124 ]; then
		fail "$name: waybilld refuses to start" "it started (killed after 10 s)"
	elif [ "$rc" -eq 0 ]; then
		fail "$name: waybilld refuses to start" "exit status 0"
	else
		ok "$name: waybilld refuses to start (exit $rc)"
	fi
	if [ "$lines" = 1 ]; then
		ok "$name: one line on stderr: $(cat "$DIR/start.err")"
	else
		fail "$name: one line on stderr" "$lines lines: $(snip "$DIR/start.err")"
	fi
}

# ---- (b) an edited entry ----------------------------------------------------------------------
# A start walks only what follows the last signed checkpoint (47-start-verify.sh shows an
# older edit turning /readyz to 503 instead); with none it walks the whole chain, as here.
NOCP=$DIR/none.checkpoints

T=$(copy edited.db)
untrigger "$T"
q "$T" "UPDATE audit SET result = CASE result WHEN 'ok' THEN 'denied' ELSE 'ok' END WHERE seq = $MID"
check "edited copy: the row really changed" test "$(q "$T" "SELECT result FROM audit WHERE seq = $MID")" != \
	"$(q "$DB" "SELECT result FROM audit WHERE seq = $MID")"
verify_db "$T"
rc=$?
check "edited entry: audit verify exits non-zero" test "$rc" -ne 0
check "edited entry: audit verify names seq $MID" grep -Eq "seq $MID([^0-9]|\$)" "$DIR/verify.out"
WAYBILL_AUDIT_CHECKPOINTS=$NOCP refuses "edited entry" "$T"
check "edited entry: the refusal names the audit chain" grep -qi audit "$DIR/start.err"

T=$(copy actor.db)
untrigger "$T"
q "$T" "UPDATE audit SET actor = 'someone' WHERE seq = $((MID + 1))"
verify_db "$T"
check "edited actor: audit verify exits non-zero" test $? -ne 0
check "edited actor: names seq $((MID + 1))" grep -Eq "seq $((MID + 1))([^0-9]|\$)" "$DIR/verify.out"

T=$(copy rehash.db)
untrigger "$T"
# Editing a row and its hash column without the key: still caught by the next link.
q "$T" "UPDATE audit SET result = 'ok', hash = $(zeros 32) WHERE seq = $MID"
verify_db "$T"
check "edited entry and hash: audit verify exits non-zero" test $? -ne 0

# ---- (c) a deleted entry ------------------------------------------------------------------------

T=$(copy deleted.db)
untrigger "$T"
q "$T" "DELETE FROM audit WHERE seq = $MID"
check "deleted copy: one row fewer" test "$(rows "$T")" -eq $((N - 1))
verify_db "$T"
rc=$?
check "deleted entry: audit verify exits non-zero" test "$rc" -ne 0
check "deleted entry: audit verify reports the break" grep -Eq "seq ($MID|$((MID + 1)))([^0-9]|\$)" "$DIR/verify.out"
WAYBILL_AUDIT_CHECKPOINTS=$NOCP refuses "deleted entry" "$T"

T=$(copy renumbered.db)
untrigger "$T"
# Delete a row and close the gap in seq, so the numbering looks whole.
q "$T" "DELETE FROM audit WHERE seq = $MID; UPDATE audit SET seq = seq - 1 WHERE seq > $MID;"
verify_db "$T"
check "deleted and renumbered: audit verify exits non-zero" test $? -ne 0

# ---- (d) two entries swapped -------------------------------------------------------------------

T=$(copy swapped.db)
untrigger "$T"
A=$MID
B=$((MID + 1))
q "$T" "
CREATE TEMP TABLE s AS SELECT * FROM audit WHERE seq IN ($A, $B);
UPDATE audit SET (ts, actor, role, action, tracking_no, reason, result, request_id, prev, hash) =
  (SELECT ts, actor, role, action, tracking_no, reason, result, request_id, prev, hash
     FROM s WHERE s.seq = CASE audit.seq WHEN $A THEN $B ELSE $A END)
 WHERE seq IN ($A, $B);"
check "swapped copy: the rows really moved" test "$(q "$T" "SELECT $(hx hash) FROM audit WHERE seq = $A")" = \
	"$(q "$DB" "SELECT $(hx hash) FROM audit WHERE seq = $B")"
verify_db "$T"
check "swapped entries: audit verify exits non-zero" test $? -ne 0
check "swapped entries: audit verify names seq $A" grep -Eq "seq $A([^0-9]|\$)" "$DIR/verify.out"
WAYBILL_AUDIT_CHECKPOINTS=$NOCP refuses "swapped entries" "$T"

# ---- (d2) the order look-up aid ------------------------------------------------------------
# audit.order_id is outside the MAC, and GET /v1/audit?tracking_no= finds an order's
# entries through it: pointing it elsewhere (or moving the order's row id) must not
# quietly hide them.  verify checks it against the tracking number the MAC covers.

FIRST1=$(q "$DB" "SELECT min(seq) FROM audit WHERE tracking_no = '${TNS[1]}'")
check "order ${TNS[1]}: its entries carry its row id" \
	test "$(q "$DB" "SELECT count(*) FROM audit WHERE tracking_no = '${TNS[1]}' AND order_id IS NOT NULL")" -ge 2
T=$(copy orderid.db)
untrigger "$T"
q "$T" "UPDATE audit SET order_id = -1 WHERE tracking_no = '${TNS[1]}'"
verify_db "$T"
check "order_id = -1: audit verify exits non-zero" test $? -ne 0
check "order_id = -1: audit verify names seq $FIRST1" grep -Eq "seq $FIRST1([^0-9]|\$)" "$DIR/verify.out"
check "order_id = -1: audit verify says it is the order_id" grep -q order_id "$DIR/verify.out"
WAYBILL_AUDIT_CHECKPOINTS=$NOCP refuses "order_id = -1" "$T"

T=$(copy orderrow.db)
# PostgreSQL: its number bindings' foreign key stands in the way; the insider turns it off.
fk=
is_pg && fk="SET session_replication_role = replica;"
q "$T" "$fk UPDATE orders SET id = id + 100000 WHERE tracking_no = '${TNS[1]}'"
verify_db "$T"
check "the order's row id moved: audit verify exits non-zero" test $? -ne 0
check "the order's row id moved: audit verify names seq $FIRST1" grep -Eq "seq $FIRST1([^0-9]|\$)" "$DIR/verify.out"

T=$(copy orphan.db)
untrigger "$T"
# A refused guess (no order) has no row id; giving it one would hide it from its tracking number.
ORPHAN=$(q "$DB" "SELECT min(seq) FROM audit WHERE order_id IS NULL AND tracking_no IS NOT NULL")
check "a refused guess is audited without a row id" test -n "$ORPHAN"
if [ -n "$ORPHAN" ]; then
	q "$T" "UPDATE audit SET order_id = 1 WHERE seq = $ORPHAN"
	verify_db "$T"
	check "an entry without an order given a row id: audit verify exits non-zero" test $? -ne 0
	check "... names seq $ORPHAN" grep -Eq "seq $ORPHAN([^0-9]|\$)" "$DIR/verify.out"
fi

# ---- (d3) the print counts ------------------------------------------------------------------
# print_count is a clear column outside the MAC: set back, the order prints again past the
# reprint limit; its row deleted, the order is hidden.  Each print is an ok label.print or
# label.reprint entry written with it, so verify counts them against the row.

T=$(copy prints.db)
q "$T" "UPDATE orders SET print_count = 0 WHERE tracking_no = '${TNS[2]}'"
verify_db "$T"
check "print count set back: audit verify exits non-zero" test $? -ne 0
check "print count set back: it names the order, the chain's 2 prints and the row's 0" \
	grep -q "BAD order ${TNS[2]}: the chain has 2 prints of it, its row says 0" "$DIR/verify.out"
T=$(copy noprints.db)
q "$T" "UPDATE orders SET print_count = 1 WHERE tracking_no = '${TNS[1]}'"
verify_db "$T"
check "a print count raised on an order never printed: caught too" \
	grep -q "BAD order ${TNS[1]}: the chain has 0 prints of it, its row says 1" "$DIR/verify.out"
T=$(copy gone.db)
fk=
is_pg && fk="SET session_replication_role = replica;"
q "$T" "$fk DELETE FROM orders WHERE tracking_no = '${TNS[2]}'"
verify_db "$T"
check "an order's row deleted: audit verify exits non-zero" test $? -ne 0
# (its entries' order_id look-up aid points at no row: the chain walk finds that first)
check "an order's row deleted: verify says its entries name a row that is gone" \
	grep -Eq "BAD order ${TNS[2]}: created in the chain, its row is gone|order_id is not the row of the order it names" "$DIR/verify.out"

# ---- (e) the untouched chain ------------------------------------------------------------------------

T=$(copy copy.db)
verify_db "$T"
check "untouched copy: audit verify exits 0" test $? -eq 0
check "untouched copy: reports ok and $N entries" grep -Eq "^ok: $N entries" "$DIR/verify.out"
check "untouched copy: the 3 orders' print counts agree with the chain" \
	grep -q "^ok: 3 orders created in the chain, each with the prints it records" "$DIR/verify.out"
verify_db "$DB"
check "original: audit verify exits 0" test $? -eq 0
check "original: rows unchanged by all of this" cmp -s "$DIR/audit.dump" <(dump "$DB")

daemon_up || die restart "waybilld did not start on the untouched database"
api GET /v1/audit/verify "${TOK[aud1]}"
expect_status "verify over HTTP after restart: 200" 200 "$STATUS"
check "verify over HTTP after restart: ok:true and $N entries" jq -e --argjson n "$N" '.ok == true and .entries == $n' "$BODY"
HEAD=$(jb .head)
check "verify over HTTP: head is the hash of entry $N" \
	test "$HEAD" = "$(q "$DB" "SELECT lower($(hx hash)) FROM audit WHERE seq = $N")"
api GET /v1/audit/verify "${TOK[aud1]}"
check "verify again: one more entry (the first verify's own)" jq -e --argjson n $((N + 1)) '.entries == $n' "$BODY"
api GET "/v1/audit?tracking_no=${TNS[0]}" "${TOK[aud1]}"
check "GET /v1/audit: entries carry seq, ts, actor, role, action, result and hashes" jq -e '
	.entries | length >= 3 and all(has("seq") and has("ts") and has("actor") and has("role")
	and has("action") and has("result") and (.hash | test("^[0-9a-f]{64}$"))
	and (.prev_hash | test("^[0-9a-f]{64}$")))' "$BODY"
check "GET /v1/audit?tracking_no: the order's first entry is its creation" \
	jq -e '.entries[0].action == "order.create" and .entries[0].result == "ok"' "$BODY"
check "every entry naming an order points at that order's row (its look-up aid)" \
	test "$(q "$DB" "SELECT count(*) FROM audit a JOIN orders o ON o.tracking_no = a.tracking_no
		WHERE a.order_id IS DISTINCT FROM o.id")" = 0
api GET "/v1/audit?limit=1000" "${TOK[aud1]}"
check "GET /v1/audit: seq runs 1, 2, 3... and each prev_hash is the hash before it" jq -e '
	.entries as $e | ($e | length) > 10 and ([range(0; $e | length) | $e[.].seq == . + 1] | all)
	and ([range(1; $e | length) | $e[.].prev_hash == $e[. - 1].hash] | all)' "$BODY"
stop_daemon "SIGTERM: exit 0 (untouched chain)"
dump "$DB" >"$DIR/audit.dump"

# ---- the key file -------------------------------------------------------------------------------------

refuses "missing key file" "$DB" "$DIR/no-such-key"
cp "$DIR/key" "$DIR/key644" && chmod 644 "$DIR/key644"
refuses "key file mode 0644" "$DB" "$DIR/key644"
cp "$DIR/key" "$DIR/key640" && chmod 640 "$DIR/key640"
refuses "key file mode 0640" "$DB" "$DIR/key640"
head -c 31 "$DIR/key" >"$DIR/key31" && chmod 600 "$DIR/key31"
refuses "key file of 31 bytes" "$DB" "$DIR/key31"
: >"$DIR/key0" && chmod 600 "$DIR/key0"
refuses "empty key file" "$DB" "$DIR/key0"
mkdir -p "$DIR/keydir" && chmod 700 "$DIR/keydir"
refuses "key file is a directory" "$DB" "$DIR/keydir"
"$WBCTL" keygen --out "$DIR/other.key" 2>/dev/null
refuses "another key (the chain's MACs do not verify)" "$DB" "$DIR/other.key"
check "no refusal changed the audit rows" cmp -s "$DIR/audit.dump" <(dump "$DB")

# ---- no personal data in the audit, even when a client puts it in the path --------------------------------

daemon_up || die restart "waybilld did not start"
PHONE=$(jq -r '.recipient.phone | gsub("[^0-9]"; "")' "$DIR/o0.json")
NAME_URL=$(jq -r '.recipient.name | @uri' "$DIR/o0.json")
api GET "/v1/orders/$PHONE" "${TOK[aud1]}"  # role not admitted: 403, audited
expect_status "phone as tracking number, auditor: 403" 403 "$STATUS"
api GET "/v1/orders/$NAME_URL" -             # no token: 401, audited
expect_status "name as tracking number, no token: 401" 401 "$STATUS"
api POST "/v1/orders/$PHONE/assign" "${TOK[c1]}" -d '{"courier":"c2"}' # courier: 403
expect_status "phone as tracking number, courier assigns: 403" 403 "$STATUS"
stop_daemon "SIGTERM: exit 0"
dump "$DB" >"$DIR/audit2.dump"
check "the probes were audited" test "$(wc -l <"$DIR/audit2.dump")" -gt "$(wc -l <"$DIR/audit.dump")"
no_pii "audit table after a phone and a name in the path" "$DIR/audit2.dump"
# ---- (f) signed checkpoints: the chain cannot be shortened quietly ----------------------------------
# Every audit_checkpoint_s (and at stop) the daemon appends "v1 seq=N head=HEX ts=... sig=HEX"
# to $WAYBILL_AUDIT_CHECKPOINTS (lib.sh points it into $DIR) and logs it.  Deleting the newest
# entries leaves a chain that verifies on its own; the checkpoints must catch it.

CPF=$WAYBILL_AUDIT_CHECKPOINTS
CP_RE='^v1 seq=[1-9][0-9]* head=[0-9a-f]{64} ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z sig=[0-9a-f]{128}$'
check "checkpoints: the daemon wrote its file" test -s "$CPF"
check "checkpoints: the file is mode 600" test "$(stat -c %a "$CPF" 2>/dev/null)" = 600
check "checkpoints: every line is a checkpoint line" test "$(grep -cvE "$CP_RE" "$CPF")" = 0
check "checkpoints: one at each stop so far (3 stops)" test "$(grep -cE "$CP_RE" "$CPF")" -ge 3
check "checkpoints: the stop checkpoint holds the chain's head" \
	test "$(tail -n 1 "$CPF" | sed -E 's/^v1 seq=([0-9]+) head=([0-9a-f]+) .*/\1 \2/')" = \
	"$(q "$DB" "SELECT seq, lower($(hx hash)) FROM audit ORDER BY seq DESC LIMIT 1" | tr '|' ' ')"
check "checkpoints: each is in the log too" grep -qF "audit checkpoint: $(tail -n 1 "$CPF")" "$DIR/log"
no_pii "checkpoint file" "$CPF"

# A running daemon writes one every audit_checkpoint_s when the head moved (here 1 s).
C0=$(grep -c . "$CPF")
daemon_up --audit-checkpoint-s 1 || die restart "waybilld did not start with audit_checkpoint_s 1"
# Enough audited reads that the newest hundred can be deleted below.
for k in $(seq 0 119); do echo "$k /v1/orders/${TNS[$((k % 3))]}"; done | bulk GET "${TOK[adm1]}" "$DIR/reads"
check "120 audited reads: all 200" test "$(grep -c ' 200$' "$DIR/reads.codes")" = 120
sleep 2.5
C1=$(grep -c . "$CPF")
check "checkpoints: a new one while running, with no stop ($C0 -> $C1 lines)" test "$C1" -gt "$C0"
sleep 1.5
C2=$(grep -c . "$CPF")
check "checkpoints: none while the head stands still ($C1 -> $C2 lines)" test "$C2" = "$C1"
stop_daemon "SIGTERM: exit 0 (checkpoints every second)"
check "checkpoints: the stop one too" test "$(grep -c . "$CPF")" -gt "$C2"
M=$(rows "$DB")
check "checkpoints: the last one is at the head, seq $M" grep -q "^v1 seq=$M " <(tail -n 1 "$CPF")

# verify_cp DB [FILE]: audit verify --checkpoints; output in $DIR/verify.out, status returned.
verify_cp() {
	"$WBCTL" --db "$1" --key-file "$DIR/key" audit verify --checkpoints "${2:-$CPF}" >"$DIR/verify.out" 2>&1
}
verify_cp "$DB"
check "audit verify --checkpoints: the untouched chain holds them all (exit 0)" test $? -eq 0
check "audit verify --checkpoints: says so" grep -q "holds all $(grep -c . "$CPF") checkpoints" "$DIR/verify.out"

for cut in 1 100 all; do
	T=$(copy "cut$cut.db")
	untrigger "$T"
	if [ "$cut" = all ]; then
		q "$T" "DELETE FROM audit"
		left=0
	else
		q "$T" "DELETE FROM audit WHERE seq > $((M - cut))"
		left=$((M - cut))
	fi
	check "newest $cut deleted: $left rows left" test "$(rows "$T")" = "$left"
	verify_db "$T"
	check "newest $cut deleted: the chain alone still verifies (why checkpoints are needed)" test $? -eq 0
	verify_cp "$T"
	check "newest $cut deleted: audit verify --checkpoints exits non-zero" test $? -ne 0
	gone=$(sed -nE 's/^BAD checkpoint line [0-9]+ \(seq ([0-9]+)\): the database lacks it.*/\1/p' "$DIR/verify.out")
	check "newest $cut deleted: audit verify names a checkpoint the database lacks (seq ${gone:-none})" \
		test "${gone:-0}" -gt "$left"
	refuses "newest $cut deleted" "$T"
	check "newest $cut deleted: the refusal says the chain is behind its last checkpoint, seq $M" \
		grep -q "behind its last checkpoint: .* holds seq $M," "$DIR/start.err"
done

# An older copy of the database brought back and written on (its own daemon, another
# checkpoint file) reaches seq $M again with other entries: it contradicts the checkpoints.
T=$(copy old.db)
untrigger "$T"
q "$T" "DELETE FROM audit WHERE seq > $N"
# PostgreSQL keeps the chain's head in a row of its own (audit_head): an older
# copy has the older head there too.
is_pg && q "$T" "UPDATE audit_head SET seq = $N, hash = (SELECT hash FROM audit WHERE seq = $N)"
OPORT=$(pick_port)
WAYBILL_AUDIT_CHECKPOINTS=$DIR/old.checkpoints "$WBD" --db "$T" --key-file "$DIR/key" \
	--listen "127.0.0.1:$OPORT" 2>>"$DIR/old.log" &
OPID=$!
for _ in $(seq 100); do curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$OPORT/healthz" && break; sleep 0.1; done
SAVED_URL=$URL
URL=http://127.0.0.1:$OPORT
for k in $(seq 0 $((M - N + 4))); do echo "$k /v1/orders/${TNS[0]}"; done | bulk GET "${TOK[adm1]}" "$DIR/reads2"
URL=$SAVED_URL
kill -TERM "$OPID"
wait "$OPID"
check "older copy written on: its daemon stopped cleanly" test $? -eq 0
check "older copy written on: it reaches past seq $M" test "$(rows "$T")" -gt "$M"
verify_db "$T"
check "older copy written on: its chain alone verifies" test $? -eq 0
verify_cp "$T"
check "older copy written on: audit verify --checkpoints exits non-zero" test $? -ne 0
check "older copy written on: it says the database contradicts a checkpoint" grep -q "contradicts" "$DIR/verify.out"
refuses "older copy written on" "$T"
check "older copy written on: the refusal says it contradicts the checkpoint" grep -q "contradicts" "$DIR/start.err"

# ---- (g) edited and forged checkpoint lines -----------------------------------------------------------

LAST=$(tail -n 1 "$CPF")
SEQ_LAST=$(printf '%s\n' "$LAST" | sed -E 's/^v1 seq=([0-9]+) .*/\1/')
# Claim a lower seq (as if the chain had been shorter): the signature no longer matches.
cp "$CPF" "$DIR/edited.cp"
printf '%s\n' "$LAST" | sed -E "s/^v1 seq=[0-9]+ /v1 seq=$((SEQ_LAST - 1)) /" >>"$DIR/edited.cp"
LINES_E=$(grep -c . "$DIR/edited.cp")
verify_cp "$DB" "$DIR/edited.cp"
check "an edited checkpoint line: audit verify exits non-zero" test $? -ne 0
check "an edited checkpoint line: names its line and seq, and the signature" \
	grep -Eq "line $LINES_E \(seq $((SEQ_LAST - 1))\): the signature does not verify" "$DIR/verify.out"
WAYBILL_AUDIT_CHECKPOINTS=$DIR/edited.cp refuses "an edited last checkpoint" "$DB"
check "an edited last checkpoint: the refusal says the signature is bad" grep -q "bad signature" "$DIR/start.err"
# A head swapped for another, signature kept.
cp "$CPF" "$DIR/forged.cp"
printf '%s\n' "$LAST" | sed -E "s/head=[0-9a-f]{64}/head=$(printf '%064d' 0)/" >>"$DIR/forged.cp"
verify_cp "$DB" "$DIR/forged.cp"
check "a forged head: audit verify exits non-zero" test $? -ne 0
check "a forged head: the signature does not verify" grep -q "signature does not verify" "$DIR/verify.out"
# Signed with another key (someone's own): not ours.
"$WBCTL" --db "$DIR/other-key.db" --key-file "$DIR/other.key" account add --name x1 --role auditor >/dev/null 2>&1
"$WBCTL" --db "$DIR/other-key.db" --key-file "$DIR/other.key" audit checkpoint-key >"$DIR/other.pk"
check "checkpoint-key: another key file has another key" test "$(cat "$DIR/other.pk")" != "$(ctl audit checkpoint-key)"
# Not a checkpoint line at all.
cp "$CPF" "$DIR/junk.cp"
echo "v1 seq=1 head=zz" >>"$DIR/junk.cp"
verify_cp "$DB" "$DIR/junk.cp"
check "a line that is no checkpoint: audit verify exits non-zero" test $? -ne 0
check "a line that is no checkpoint: says which line" grep -q "line $(grep -c . "$DIR/junk.cp"): not a checkpoint line" "$DIR/verify.out"
verify_cp "$DB" "$DIR/no-such.cp"
check "a missing checkpoint file: audit verify exits non-zero" test $? -ne 0
WAYBILL_AUDIT_CHECKPOINTS=$DIR/junk.cp refuses "a last line that is no checkpoint" "$DB"
check "a last line that is no checkpoint: the refusal says so" grep -q "last line is not a checkpoint" "$DIR/start.err"
# Another daemon's (another key's) checkpoints: not ours, whatever they claim.
"$WBCTL" --db "$DIR/other-key.db" --key-file "$DIR/other.key" audit verify >/dev/null 2>&1
WAYBILL_AUDIT_CHECKPOINTS=$DIR/other.cp "$WBD" --db "$DIR/other-key.db" --key-file "$DIR/other.key" \
	--listen "127.0.0.1:$(pick_port)" >/dev/null 2>&1 &
OPID=$!
sleep 1
kill -TERM "$OPID"
wait "$OPID"
check "another key's daemon wrote a checkpoint" test -s "$DIR/other.cp"
verify_cp "$DB" "$DIR/other.cp"
check "another key's checkpoints: audit verify exits non-zero" test $? -ne 0
check "another key's checkpoints: the signature does not verify" grep -q "signature does not verify" "$DIR/verify.out"

# A write cut short by a crash: verify says so without failing; the next start ignores it,
# ends the line and carries on; after that the line is reported.
cp "$CPF" "$DIR/torn.cp"
printf '%s' "$(tail -n 1 "$CPF" | head -c 100)" >>"$DIR/torn.cp"
verify_cp "$DB" "$DIR/torn.cp"
check "a torn last line: audit verify still exits 0" test $? -eq 0
check "a torn last line: audit verify says line $(($(wc -l <"$CPF") + 1)) is incomplete" \
	grep -q "checkpoint line $(($(wc -l <"$CPF") + 1)) is incomplete" "$DIR/verify.out"
WAYBILL_AUDIT_CHECKPOINTS=$DIR/torn.cp daemon_up || fail "a torn last line: waybilld starts" "it did not"
check "a torn last line: the start warns about it" grep -q "the last line is incomplete" "$DIR/log"
stop_daemon "SIGTERM: exit 0 (after a torn checkpoint line)"
check "a torn last line: the stop checkpoint is a line of its own" grep -qE "$CP_RE" <(tail -n 1 "$DIR/torn.cp")
verify_cp "$DB" "$DIR/torn.cp"
check "a torn line, now ended: audit verify names it as no checkpoint" grep -q "not a checkpoint line" "$DIR/verify.out"
check "a torn line, now ended: the chain still holds every checkpoint" \
	sh -c '! grep -q "lacks\|contradicts" "$1"' _ "$DIR/verify.out"

# ---- (h) an outside verifier: openssl and the printed public key ------------------------------------------

PK=$(ctl audit checkpoint-key)
check "audit checkpoint-key: 64 hex digits" grep -Eq '^[0-9a-f]{64}$' <(printf '%s\n' "$PK")
hex2bin() { python3 -c 'import sys, binascii; sys.stdout.buffer.write(binascii.unhexlify(sys.argv[1]))' "$1"; }
# Ed25519 SubjectPublicKeyInfo: a fixed 12-byte prefix, then the 32 raw bytes.
hex2bin "302a300506032b6570032100$PK" >"$DIR/cp-pk.der"
openssl pkey -pubin -inform DER -in "$DIR/cp-pk.der" -out "$DIR/cp-pk.pem" 2>"$DIR/openssl.err"
check "openssl takes the printed key as an Ed25519 public key" grep -q "BEGIN PUBLIC KEY" "$DIR/cp-pk.pem"
ossl_verify() { # LINE: openssl's verdict on one checkpoint line
	printf '%s' "${1% sig=*}" >"$DIR/cp-msg"
	hex2bin "${1##* sig=}" >"$DIR/cp-sig"
	openssl pkeyutl -verify -pubin -inkey "$DIR/cp-pk.pem" -rawin -in "$DIR/cp-msg" -sigfile "$DIR/cp-sig" >"$DIR/openssl.out" 2>&1
}
ossl_verify "$LAST"
check "openssl verifies the last checkpoint line with the printed key" test $? -eq 0
ossl_verify "$(head -n 1 "$CPF")"
check "openssl verifies the first checkpoint line too" test $? -eq 0
ossl_verify "$(tail -n 1 "$DIR/edited.cp")"
check "openssl rejects the edited line" test $? -ne 0

# ---- (i) entries deleted under the running daemon --------------------------------------------------------
# The writer carries on from whatever head the table has: a checkpoint of the shortened
# chain would bless it.  The daemon must write none, say so, and the next start must refuse.

cp "$CPF" "$DIR/live.cp"
WAYBILL_AUDIT_CHECKPOINTS=$DIR/live.cp daemon_up --audit-checkpoint-s 1 || die restart "waybilld did not start (live)"
for k in $(seq 0 19); do echo "$k /v1/orders/${TNS[$((k % 3))]}"; done | bulk GET "${TOK[adm1]}" "$DIR/live1"
sleep 2.5
HELD=$(tail -n 1 "$DIR/live.cp" | sed -E 's/^v1 seq=([0-9]+) .*/\1/')
check "live: a checkpoint at the head (seq $HELD)" test "$HELD" = "$(rows "$DB")"
if is_pg; then
	# ... and the head row set back with them, so the writers go on from there.
	q "$DB" "ALTER TABLE audit DISABLE TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > $((HELD - 10));
	ALTER TABLE audit ENABLE TRIGGER audit_no_delete;
	UPDATE audit_head SET seq = $((HELD - 10)), hash = (SELECT hash FROM audit WHERE seq = $((HELD - 10)))"
else
	q "$DB" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > $((HELD - 10));
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
fi
check "live: the newest 10 deleted under the daemon" test "$(rows "$DB")" = $((HELD - 10))
for k in $(seq 0 29); do echo "$k /v1/orders/${TNS[$((k % 3))]}"; done | bulk GET "${TOK[adm1]}" "$DIR/live2"
sleep 2.5
check "live: the writer went on past seq $HELD" test "$(rows "$DB")" -gt "$HELD"
check "live: no checkpoint blesses the rewritten chain" \
	test "$(tail -n 1 "$DIR/live.cp" | sed -E 's/^v1 seq=([0-9]+) .*/\1/')" = "$HELD"
check "live: the daemon says the chain no longer holds seq $HELD" \
	grep -q "no longer holds the checkpoint at seq $HELD" "$DIR/log"
stop_daemon "SIGTERM: exit 0 (after the live deletion)"
check "live: not at stop either" \
	test "$(tail -n 1 "$DIR/live.cp" | sed -E 's/^v1 seq=([0-9]+) .*/\1/')" = "$HELD"
WAYBILL_AUDIT_CHECKPOINTS=$DIR/live.cp refuses "after a live deletion" "$DB"
check "after a live deletion: the refusal says the chain contradicts its checkpoint" grep -q "contradicts" "$DIR/start.err"
verify_cp "$DB" "$DIR/live.cp"
check "after a live deletion: audit verify --checkpoints names seq $HELD" grep -q "(seq $HELD): the database contradicts it" "$DIR/verify.out"

finish
