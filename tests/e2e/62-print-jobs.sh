#!/bin/sh
# 62-print-jobs: depot printers and print jobs (docs/API.md "Printers", "Print
# jobs") against fake printers (fake_printer.py: one stores what it
# receives, one accepts and never reads) and a port nobody listens on.
# Bytes received equal the rendered labels; a printer that is down fails
# the job and spends no print (label.unprint audited); one that stalls
# fails on the write timeout; a depot sees and uses only its own printers,
# jobs and orders (404 like none); the reprint limit holds per label; the
# queue is bounded per depot; a crash mid-send leaves the job interrupted,
# never resent, while a queued one is sent after the restart; a failed job
# is retried.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

start_daemon
FP_PIDS=()
trap 'kill "${FP_PIDS[@]}" 2>/dev/null; cleanup' EXIT
fake_printer() { # MODE NAME: port in $DIR/NAME.port, files under $DIR/NAME/
	mkdir -p "$DIR/$2"
	python3 "$E2E_DIR/fake_printer.py" "$1" "$DIR/$2.port" "$DIR/$2" >/dev/null 2>&1 &
	FP_PIDS+=($!)
	wait_until 10 test -s "$DIR/$2.port" || die setup "fake printer $2 did not start"
}
fake_printer store ok
fake_printer stall stall
OKP=$(cat "$DIR/ok.port")
STALLP=$(cat "$DIR/stall.port")
DOWNP=$(pick_port) || die setup "no free port"
printers() { # the printers file, p-down at port $1; with a second argument, no p-zpl
	cat >"$DIR/printers" <<EOF
# name depot host:port language dpi size
p-ok	d1	127.0.0.1:$OKP	pdf	203	100x150
p-down	d1	127.0.0.1:$1	pdf	203	100x150
p-stall	d1	127.0.0.1:$STALLP	pdf	203	100x150
p-d2	d2	127.0.0.1:$OKP	pdf	203	100x150
p-zpl	d1	127.0.0.1:$OKP	zpl	203	100x150
p-tspl	d1	127.0.0.1:$OKP	tspl	300	76x130
EOF
	[ -z "${2:-}" ] || sed -i '/^p-zpl/d' "$DIR/printers"
}
printers "$DOWNP"
FLAGS=(--printers "$DIR/printers" --printer-connect-timeout-ms 3000
	--printer-write-timeout-ms 3000 --label-reprints-max 2)

# ---- the printers file is checked at start ----------------------------------------

stop_daemon "sigterm exits 0 (before the printers start)"
printf 'p-x d1 127.0.0.1:9100 zpl 203 100x150\np-y d1 127.0.0.1:9100 zpl 203 999x999\n' >"$DIR/bad"
out=$("$WBD" --db "$DB" --key-file "$DIR/key" --listen 127.0.0.1:1 --printers "$DIR/bad" 2>&1)
check "a bad printers file: the daemon refuses to start, naming file:line and why" \
	grep -qF "$DIR/bad:2: size: no label template 999x999" <<<"$out"
daemon_up "${FLAGS[@]}" || die setup "waybilld did not start with printers"

TNS=()
for i in $(seq 0 29); do
	fixture "$i" | jq -c 'del(.client_order_id)' >"$DIR/o.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
	[ "$STATUS" = 201 ] || die setup "create $i: HTTP $STATUS"
	TNS+=("$(jb .tracking_no)")
done
fixture 1 >"$DIR/o2.json"
api POST /v1/orders "${TOK[c3]}" "$DIR/o2.json"
TN_D2=$(jb .tracking_no)
TNX=$(tn_make 1234567890123456)

prints_of() { # TN: its print count, from dep1's list
	api GET "/v1/orders?limit=200" "${TOK[dep1]}"
	jq -r --arg t "$1" '.orders[] | select(.tracking_no == $t) | .prints' "$BODY"
}
job_post() { # TOKEN PRINTER TN...: job id in $JOB
	local tok=$1 p=$2
	shift 2
	api POST /v1/print-jobs "$tok" -d "$(jq -nc --arg p "$p" '{printer: $p, tracking_nos: $ARGS.positional}' --args "$@")"
	JOB=$(jb '.id // empty')
}
job_status() { # ID: its status as dep1 reads it
	api GET "/v1/print-jobs/$1" "${TOK[dep1]}" >/dev/null
	jb .status
}
job_is() { [ "$(job_status "$1")" = "$2" ]; }
ok_jobs() { ls "$DIR/ok" | grep -c '^job\.[0-9]*$'; }   # files the store printer wrote
ok_jobs_at_least() { [ "$(ok_jobs)" -ge "$1" ]; }

# ---- GET /v1/printers ------------------------------------------------------------

api GET /v1/printers "${TOK[dep1]}"
expect_status "printers as dep1" 200 "$STATUS"
check "printers: dep1 sees its five, in file order, and nothing of where they are" \
	jq -e '.printers == [{"name":"p-ok","language":"pdf","dpi":203,"size":"100x150"},
		{"name":"p-down","language":"pdf","dpi":203,"size":"100x150"},
		{"name":"p-stall","language":"pdf","dpi":203,"size":"100x150"},
		{"name":"p-zpl","language":"zpl","dpi":203,"size":"100x150"},
		{"name":"p-tspl","language":"tspl","dpi":300,"size":"76x130"}]' "$BODY"
api GET /v1/printers "${TOK[dep2]}"
check "printers: dep2 sees only its own" jq -e '[.printers[].name] == ["p-d2"]' "$BODY"
for who in c1 adm1 aud1 tel1; do
	api GET /v1/printers "${TOK[$who]}"
	expect_status "printers as $who: 403" 403 "$STATUS"
done

# ---- a job to a printer that takes it ------------------------------------------------

job_post "${TOK[dep1]}" p-ok "${TNS[0]}" "${TNS[1]}"
expect_status "job on p-ok: 202" 202 "$STATUS"
check "job on p-ok: an id, queued, two labels, no failure" \
	jq -e '(.id | type == "number") and .status == "queued" and .printer == "p-ok" and
		.labels == 2 and .reason == null' "$BODY"
J1=$JOB
wait_until 20 job_is "$J1" sent
check "job on p-ok: sent" job_is "$J1" sent
check "job on p-ok: every byte counted" jq -e '.bytes_sent > 1000 and .attempts == 1' "$BODY"
wait_until 10 test -s "$DIR/ok/job.1"
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"${TNS[0]}\",\"${TNS[1]}\"]}" "$DIR/want1.pdf"
check "job on p-ok: the printer received exactly the rendered labels (POST /v1/labels)" \
	cmp -s "$DIR/ok/job.1" "$DIR/want1.pdf"
check "job on p-ok: bytes_sent is what it received" \
	test "$(job_status "$J1" >/dev/null; jb .bytes_sent)" = "$(stat -c %s "$DIR/ok/job.1")"
check "job on p-ok: a print each, and POST /v1/labels another" test "$(prints_of "${TNS[0]}")" = 2

# ---- the printer's language, dpi and size ---------------------------------------------

n0=$(ok_jobs)
job_post "${TOK[dep1]}" p-zpl "${TNS[26]}" "${TNS[27]}" "${TNS[28]}"
JZ=$JOB
wait_until 20 job_is "$JZ" sent
check "zpl job: sent" job_is "$JZ" sent
wait_until 10 ok_jobs_at_least $((n0 + 1))
f=$DIR/ok/job.$((n0 + 1))
check "zpl job: one ^XA..^XZ label per tracking number, each one ^GFA graphic" \
	test "$(grep -o '\^XA' "$f" | wc -l) $(grep -o '\^XZ' "$f" | wc -l) $(grep -o '\^GFA' "$f" | wc -l)" = "3 3 3"
check "zpl job: 100 mm wide at 203 dpi (^PW of 799 or 800 dots)" grep -qE '\^PW(799|800)' "$f"
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"${TNS[26]}\",\"${TNS[27]}\",\"${TNS[28]}\"],\"format\":\"zpl\",\"dpi\":203}" "$DIR/want.zpl"
check "zpl job: the printer received exactly POST /v1/labels' ZPL for the same numbers" cmp -s "$f" "$DIR/want.zpl"
job_post "${TOK[dep1]}" p-tspl "${TNS[29]}"
JT=$JOB
wait_until 20 job_is "$JT" sent
wait_until 10 ok_jobs_at_least $((n0 + 2))
f=$DIR/ok/job.$((n0 + 2))
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"${TNS[29]}\"],\"format\":\"tspl\",\"dpi\":300,\"size\":\"76x130\"}" "$DIR/want.tspl"
check "tspl job: the printer received exactly POST /v1/labels' TSPL at 300 dpi" cmp -s "$f" "$DIR/want.tspl"
check "tspl job: SIZE of the printer's label, a BITMAP, PRINT 1" \
	bash -c "grep -aq '^SIZE 76 mm, *130 mm' '$f' && grep -aq '^BITMAP' '$f' && test \$(grep -ac '^PRINT 1' '$f') = 1"

# ---- a printer that is off ------------------------------------------------------------

p_before=$(prints_of "${TNS[2]}")
job_post "${TOK[dep1]}" p-down "${TNS[2]}" "${TNS[3]}"
expect_status "job on p-down: 202" 202 "$STATUS"
JD=$JOB
wait_until 20 job_is "$JD" failed
check "job on p-down: failed, printer_unreachable, no byte sent, the port named" \
	jq -e --arg p "127.0.0.1:$DOWNP" '.status == "failed" and .reason == "printer_unreachable" and
		.bytes_sent == 0 and (.detail | contains($p))' "$BODY"
check "job on p-down: no print spent" test "$(prints_of "${TNS[2]}")" = "$p_before"

# ---- a printer that accepts and stalls --------------------------------------------------

job_post "${TOK[dep1]}" p-stall "${TNS[@]:4:20}"
expect_status "job on p-stall (20 labels): 202" 202 "$STATUS"
JS=$JOB
wait_until 30 job_is "$JS" failed
check "job on p-stall: failed on the write timeout, some bytes out, the prints kept" \
	jq -e '.status == "failed" and .reason == "printer_stalled" and .bytes_sent > 0 and
		(.detail | test("took no byte for 3000 ms"))' "$BODY"
check "job on p-stall: prints stay spent once a byte left" test "$(prints_of "${TNS[4]}")" = 1

# ---- another depot's printer, job and order: 404 like none ------------------------------

job_post "${TOK[dep1]}" p-d2 "${TNS[24]}"
cp "$BODY" "$DIR/foreign_printer"
expect_error "dep1 on d2's printer" 404 printer_not_found printer
job_post "${TOK[dep1]}" p-nope "${TNS[24]}"
check "another depot's printer answers as one that does not exist" jq -e --slurpfile a "$DIR/foreign_printer" \
	'del(.error.request_id) == ($a[0] | del(.error.request_id))' "$BODY"
job_post "${TOK[dep2]}" p-ok "$TN_D2"
expect_error "dep2 on d1's printer, its own order" 404 printer_not_found printer
job_post "${TOK[dep2]}" p-d2 "${TNS[24]}"
cp "$BODY" "$DIR/foreign_order"
expect_error "dep2 on its printer, d1's order" 404 not_found "tracking_nos[0]"
job_post "${TOK[dep2]}" p-d2 "$TNX"
check "another depot's order answers as one that does not exist" jq -e --slurpfile a "$DIR/foreign_order" \
	'del(.error.request_id) == ($a[0] | del(.error.request_id))' "$BODY"
check "no print of d1's order spent by dep2's attempts" test "$(prints_of "${TNS[24]}")" = 0
api GET "/v1/print-jobs/$J1" "${TOK[dep2]}"
cp "$BODY" "$DIR/foreign_job"
expect_error "dep2 reads dep1's job" 404 not_found
api GET /v1/print-jobs/999999 "${TOK[dep2]}"
check "another depot's job answers as one that does not exist" jq -e --slurpfile a "$DIR/foreign_job" \
	'del(.error.request_id) == ($a[0] | del(.error.request_id))' "$BODY"
api POST "/v1/print-jobs/$JD/retry" "${TOK[dep2]}"
expect_error "dep2 retries dep1's failed job" 404 not_found
for who in c1 adm1; do
	api GET "/v1/print-jobs/$J1" "${TOK[$who]}"
	expect_status "job read as $who: 403" 403 "$STATUS"
	job_post "${TOK[$who]}" p-ok "${TNS[24]}"
	expect_status "job as $who: 403" 403 "$STATUS"
done

# ---- bad requests -------------------------------------------------------------------

api POST /v1/print-jobs "${TOK[dep1]}" -d '{"printer":"p-ok"}'
expect_error "no tracking_nos" 422 missing_field tracking_nos
api POST /v1/print-jobs "${TOK[dep1]}" -d '{"printer":"p-ok","tracking_nos":[]}'
expect_error "empty tracking_nos" 422 empty tracking_nos
api POST /v1/print-jobs "${TOK[dep1]}" -d "{\"printer\":\"p-ok\",\"tracking_nos\":[\"${TNS[24]}\",\"${TNS[24]}\"]}"
expect_error "a number twice" 422 duplicate "tracking_nos[1]"
api POST /v1/print-jobs "${TOK[dep1]}" -d '{"printer":7,"tracking_nos":["x"]}'
expect_error "printer not a string" 422 wrong_type printer
api POST /v1/print-jobs "${TOK[dep1]}" -d '{"printer":"p-ok","tracking_nos":["x"],"copies":2}'
expect_error "an unknown field" 422 unknown_field
api GET /v1/print-jobs/abc "${TOK[dep1]}"
expect_error "a job id that is no number" 404 not_found
api POST "/v1/print-jobs/$J1/retry" "${TOK[dep1]}"
expect_error "retry of a sent job" 409 not_retryable

# ---- the reprint limit, per label, all or nothing ----------------------------------------

job_post "${TOK[dep1]}" p-ok "${TNS[0]}"
expect_status "third print of a label (limit 1 + 2): 202" 202 "$STATUS"
wait_until 20 job_is "$JOB" sent
p25=$(prints_of "${TNS[25]}")
job_post "${TOK[dep1]}" p-ok "${TNS[25]}" "${TNS[0]}"
expect_error "a fourth print of label 1 of 2" 429 reprint_limit "tracking_nos[1]"
check "reprint limit: the job's other label spent nothing" test "$(prints_of "${TNS[25]}")" = "$p25"

# ---- retry of a failed job, once the printer is back ------------------------------------------

printers "$OKP"
kill -HUP "$DPID"
wait_until 10 grep -q 'SIGHUP: printers re-read (4)' "$DIR/log"
api POST "/v1/print-jobs/$JD/retry" "${TOK[dep1]}"
expect_status "retry of the failed job: 202" 202 "$STATUS"
check "retry: queued again, the failure cleared" jq -e '.status == "queued" and .reason == null' "$BODY"
wait_until 20 job_is "$JD" sent
check "retry: sent to the printer now listening" job_is "$JD" sent
check "retry: a second attempt" jq -e '.attempts == 2' "$BODY"
check "retry: one print spent now for each label" test "$(prints_of "${TNS[2]}")" = $((p_before + 1))

# ---- the audit: per label, like any print ----------------------------------------------------

audit_all "$DIR/audit.json"
check "audit: the job's labels are label.print entries by dep1 naming the job" \
	jq -e --arg t "${TNS[0]}" --arg r "print job $J1" \
	'[.[] | select(.tracking_no == $t and .action == "label.print" and .actor == "dep1" and .reason == $r)] | length == 1' "$DIR/audit.json"
check "audit: a later print of a label is label.reprint" \
	jq -e --arg t "${TNS[0]}" '[.[] | select(.tracking_no == $t and .action == "label.reprint")] | length == 2' "$DIR/audit.json"
check "audit: the down printer's labels were given back (label.unprint, per label)" \
	jq -e --arg a "${TNS[2]}" --arg b "${TNS[3]}" --arg r "print job $JD: printer_unreachable" \
	'[.[] | select(.action == "label.unprint" and .reason == $r) | .tracking_no] | sort == ([$a, $b] | sort)' "$DIR/audit.json"
check "audit: the stalled job gave nothing back" \
	jq -e --arg r "print job $JS" '[.[] | select(.action == "label.unprint" and (.reason | startswith($r)))] | length == 0' "$DIR/audit.json"
check "audit: each send is recorded, ok or failed, with its printer" \
	jq -e --arg r "job $JD on p-down: printer_unreachable" '[.[] | select(.action == "print_job.send" and .result == "failed" and (.reason | startswith($r)))] | length == 1' "$DIR/audit.json"
check "audit: the foreign printer and order attempts are denials" \
	jq -e '[.[] | select(.action == "print_job.create" and .result == "denied")] | length >= 3' "$DIR/audit.json"

# ---- a bounded queue, a crash mid-send, a queued job after a restart ---------------------------

stop_daemon "sigterm exits 0 (before the queue test)"
# Twenty labels a job: more than the socket buffers between the sender and the stalled
# printer hold (the 20-label job above left after ~30 of ~55 KB).
QFLAGS=("${FLAGS[@]}" --printer-write-timeout-ms 600000 --print-jobs-per-depot 4 --label-reprints-max 10)
daemon_up "${QFLAGS[@]}" || die restart "waybilld did not come back"
job_post "${TOK[dep1]}" p-stall "${TNS[@]:4:20}"
JA=$JOB
job_post "${TOK[dep1]}" p-stall "${TNS[@]:4:20}"
JB=$JOB
wait_until 20 bash -c "[ \$(wc -l <'$DIR/stall/accepted') -ge 3 ]"
check "queue: both senders hold a stalled job" bash -c "job_is() { curl -s -H 'Authorization: Bearer ${TOK[dep1]}' '$URL/v1/print-jobs/'\$1 | jq -e '.status == \"sending\"' >/dev/null; }; job_is $JA && job_is $JB"
job_post "${TOK[dep1]}" p-ok "${TNS[26]}"
expect_status "a third job: 202 (queued behind them)" 202 "$STATUS"
JQ=$JOB
check "the third job waits, queued" job_is "$JQ" queued
p28=$(prints_of "${TNS[28]}")
job_post "${TOK[dep1]}" p-zpl "${TNS[28]}"
JU=$JOB
check "a fourth job waits too" job_is "$JU" queued
job_post "${TOK[dep1]}" p-ok "${TNS[27]}"
expect_error "a fifth open job of the depot" 429 print_queue_full
n_ok=$(ok_jobs)
job_post "${TOK[dep2]}" p-d2 "$TN_D2"
expect_status "another depot's queue is its own: 202" 202 "$STATUS"
wait_until 20 bash -c "curl -s -H 'Authorization: Bearer ${TOK[dep2]}' '$URL/v1/print-jobs/$JOB' | jq -e '.status == \"sent\"'"
# The printer writes its file once the connection closed, a moment after the job is sent.
n_ok=$((n_ok + 1))
wait_until 10 ok_jobs_at_least "$n_ok"
n_stall=$(wc -l <"$DIR/stall/accepted")
printers "$OKP" without-zpl # the fourth job's printer leaves the file while it waits
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
daemon_up "${QFLAGS[@]}" || die restart "waybilld did not come back after kill -9"
check "crash: the jobs caught sending are interrupted" bash -c "
	for j in $JA $JB; do curl -s -H 'Authorization: Bearer ${TOK[dep1]}' '$URL/v1/print-jobs/'\$j |
		jq -e '.status == \"interrupted\" and .reason == \"interrupted\"' >/dev/null || exit 1; done"
wait_until 20 job_is "$JQ" sent
check "restart: the queued job is sent" job_is "$JQ" sent
wait_until 10 ok_jobs_at_least $((n_ok + 1))
check "restart: the printer got one more job, not the interrupted ones again" \
	test "$(ok_jobs)" = $((n_ok + 1))
wait_until 20 job_is "$JU" failed
check "restart: a job whose printer left the file fails printer_unknown, nothing sent" \
	jq -e '.reason == "printer_unknown" and .bytes_sent == 0' "$BODY"
check "restart: ... and its print is given back" test "$(prints_of "${TNS[28]}")" = "$p28"
check "restart: the interrupted jobs were not sent again (the stalled printer saw no new connection)" \
	test "$(wc -l <"$DIR/stall/accepted")" = "$n_stall"
check "crash: an interrupted job keeps its prints" test "$(prints_of "${TNS[4]}")" = 3
check "log: the interrupted jobs are named at start" grep -q 'caught sending by the last stop are interrupted' "$DIR/log"
api POST "/v1/print-jobs/$JA/retry" "${TOK[dep1]}"
expect_status "an interrupted job can be retried on purpose" 202 "$STATUS"

# ---- PostgreSQL: a job is its sender's, a peer's start leaves it alone ----------------------
# Several daemons send from one table: a start interrupts only the jobs whose
# owner (the daemon holding its advisory lock, schema/pg/0013) is gone.  The
# retried JA is sending from this daemon to the stalled printer; a second
# daemon starting on the same database must not call it interrupted (it
# used to: every job left sending was a crash's), and once this daemon is
# killed, the next start must.
if is_pg; then
	wait_until 20 job_is "$JA" sending
	check "cluster: the retried job is sending from the first daemon" job_is "$JA" sending
	n_stall=$(wc -l <"$DIR/stall/accepted")
	port=$(pick_port) || die setup "no free port"
	WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints.b "$WBD" --db "$DB" --key-file "$DIR/key" \
		--listen "127.0.0.1:$port" "${QFLAGS[@]}" 2>>"$DIR/log.b" &
	BPID=$!
	FP_PIDS+=("$BPID")
	wait_until 20 curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz"
	check "cluster: a second daemon starts on the same database" \
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz"
	check "cluster: the peer's start left the first daemon's job sending" job_is "$JA" sending
	check "cluster: ... and said nothing was caught sending" \
		bash -c '! grep -q "caught sending" "$1"' _ "$DIR/log.b"
	audit_all "$DIR/aud-int.json"
	check "cluster: no print_job.interrupt entry for it (the one there is the crash's above)" \
		jq -e '[.[] | select(.action == "print_job.interrupt")] | length == 1' "$DIR/aud-int.json"
	check "cluster: two owner locks, one per daemon" \
		test "$(db_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1464991746 AND granted")" = 2
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	wait_until 20 test "$(db_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1464991746 AND granted")" = 1
	check "cluster: the killed daemon's lock went with its session" \
		test "$(db_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1464991746 AND granted")" = 1
	check "cluster: its job still reads sending through the peer" \
		bash -c 'curl -s -H "Authorization: Bearer $1" "$2/v1/print-jobs/$3" | jq -e ".status == \"sending\"" >/dev/null' \
		_ "${TOK[dep1]}" "http://127.0.0.1:$port" "$JA"
	daemon_up "${QFLAGS[@]}" || die restart "waybilld did not come back after kill -9 (cluster)"
	check "cluster: the next start calls the dead daemon's job interrupted" \
		bash -c 'curl -s -H "Authorization: Bearer $1" "$2/v1/print-jobs/$3" | jq -e ".status == \"interrupted\"" >/dev/null' \
		_ "${TOK[dep1]}" "$URL" "$JA"
	check "cluster: ... and did not send it again" test "$(wc -l <"$DIR/stall/accepted")" = "$n_stall"
	kill -TERM "$BPID"
	wait "$BPID"
	check "cluster: the peer exits 0 on SIGTERM" test $? = 0
fi

# ---- nothing personal in what the printers, the log and the bodies hold ----------------------

fixtures_pii "$DIR/pii"
no_pii "log" "$DIR/log"
no_pii "answers" "$DIR/bodies"
no_pii "printed" "$DIR/ok/job.1"
stop_daemon
# Every print reserved, kept or given back above is in the chain beside its count.
ctl audit verify >"$DIR/verify.out" 2>&1
check "audit verify: each order's print count is what its entries say ($(grep -c '^BAD' "$DIR/verify.out") BAD)" \
	grep -q "each with the prints it records" "$DIR/verify.out"
finish
