#!/bin/sh
# 15-metrics: what an operator scrapes and reads.  /metrics passes
# `promtool check metrics`; the latency histogram has a route label (route
# patterns, never paths); commit batch sizes are a real histogram; process,
# database, audit, retention, label and key gauges are there; metrics_listen
# moves /metrics off the API listener (which then answers 404 for it).  Log
# lines are logfmt, every one, with the client address on request lines, and
# a control byte a client sends (in the method) reaches the log escaped.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

start_daemon

# promtool_ok NAME FILE: `promtool check metrics` exits 0 and prints nothing.
promtool_ok() {
	local out rc
	out=$(promtool check metrics <"$2" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "$1"; else fail "$1" "rc $rc: $(head -c 400 <<<"$out")"; fi
}

# value FILE SERIES: the sample value of one exact series (name plus labels).
value() {
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

# raw BYTES: send BYTES as one HTTP request on its own connection; the status line.
raw() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%b' "$1" >&3
	IFS= read -r -t 5 line <&3
	exec 3<&- 3>&-
	printf '%s\n' "${line%$'\r'}"
}

for i in 0 1 2 3 4; do
	fixture "$i" >"$DIR/o$i.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o$i.json"
	[ "$STATUS" = 201 ] && jb .tracking_no >>"$DIR/tns"
done
check "setup: five orders created" test "$(wc -l <"$DIR/tns")" = 5
api GET "/v1/orders/$(head -n 1 "$DIR/tns")" "${TOK[dep1]}"
api GET "/v1/orders/$(tn_make 0000000000000001)" "${TOK[dep1]}"
curl -s -o /dev/null "$URL/no/such/path/$(head -n 1 "$DIR/tns")"

# ---- the scrape ------------------------------------------------------------------

curl -s -D "$DIR/metrics.h" "$URL/metrics" >"$DIR/metrics"
check "metrics: served on the API listener when metrics_listen is not set" \
	grep -q '^HTTP/1.1 200' "$DIR/metrics.h"
promtool_ok "metrics: promtool check metrics prints no problem" "$DIR/metrics"

check "latency histogram: TYPE histogram" \
	grep -qx '# TYPE waybill_http_request_duration_seconds histogram' "$DIR/metrics"
n=$(value "$DIR/metrics" 'waybill_http_request_duration_seconds_count{method="POST",route="/v1/orders"}')
check "latency histogram: POST /v1/orders counts its 5 requests (got ${n:-none})" test "${n:-0}" = 5
n=$(value "$DIR/metrics" 'waybill_http_request_duration_seconds_bucket{method="POST",route="/v1/orders",le="+Inf"}')
check "latency histogram: its +Inf bucket equals its count" test "${n:-0}" = 5
check "latency histogram: GET /v1/orders/{tn} has its own series, by pattern" \
	grep -q '^waybill_http_request_duration_seconds_count{method="GET",route="/v1/orders/{tn}"} 2$' "$DIR/metrics"
check "latency histogram: an unmatched path counts as route=\"unmatched\"" \
	grep -q '^waybill_http_request_duration_seconds_count{method="-",route="unmatched"} ' "$DIR/metrics"
check "latency histogram: no tracking number (nor any path) is a label value" \
	bash -c '! grep -E "WB[0-9]{18}|/no/such" "$1"' _ "$DIR/metrics"
# The sums over routes add up to the requests counted by status.
check "latency histogram: its counts add up to waybill_http_requests_total" awk '
	/^waybill_http_requests_total\{/ { req += $2 }
	/^waybill_http_request_duration_seconds_count\{/ { lat += $2 }
	END { exit !(req > 0 && req == lat) }' "$DIR/metrics"

check "batch histogram: TYPE histogram" \
	grep -qx '# TYPE waybill_store_batch_jobs histogram' "$DIR/metrics"
commits=$(value "$DIR/metrics" waybill_store_commits_total)
jobs=$(value "$DIR/metrics" waybill_store_jobs_total)
check "batch histogram: _count is the commits ($commits), _sum the jobs ($jobs)" test \
	"$(value "$DIR/metrics" waybill_store_batch_jobs_count)" = "$commits" -a \
	"$(value "$DIR/metrics" waybill_store_batch_jobs_sum)" = "$jobs" -a "${commits:-0}" -gt 0
check "batch histogram: buckets le=1,3,7,...,127,+Inf, never falling, +Inf = count" awk -v want="$commits" '
	/^waybill_store_batch_jobs_bucket/ { les = les " " $1; if ($2 < last) bad = 1; last = $2 }
	END { exit !(!bad && last == want &&
		les == " waybill_store_batch_jobs_bucket{le=\"1\"} waybill_store_batch_jobs_bucket{le=\"3\"} waybill_store_batch_jobs_bucket{le=\"7\"} waybill_store_batch_jobs_bucket{le=\"15\"} waybill_store_batch_jobs_bucket{le=\"31\"} waybill_store_batch_jobs_bucket{le=\"63\"} waybill_store_batch_jobs_bucket{le=\"127\"} waybill_store_batch_jobs_bucket{le=\"+Inf\"}") }' \
	"$DIR/metrics"

# Process metrics, from /proc/self, checked against /proc/$DPID.
rss=$(value "$DIR/metrics" process_resident_memory_bytes)
check "process: resident memory is within 4 MiB of /proc's VmRSS (got ${rss:-none})" awk -v got="${rss:-0}" \
	'/^VmRSS:/ { kb = $2 } END { d = got - kb * 1024; if (d < 0) d = -d; exit !(got > 0 && d < 4194304) }' "/proc/$DPID/status"
fds=$(value "$DIR/metrics" process_open_fds)
now_fds=$(ls "/proc/$DPID/fd" | wc -l)
check "process: open fds ($fds) near /proc's count ($now_fds)" test "${fds:-0}" -gt 3 -a "${fds:-0}" -le $((now_fds + 4)) -a "${fds:-0}" -ge $((now_fds - 4))
max=$(value "$DIR/metrics" process_max_fds)
check "process: max fds ($max) is the soft limit" test "${max:-x}" = "$(awk '/^Max open files/ { print $4 }' "/proc/$DPID/limits")"
start=$(value "$DIR/metrics" process_start_time_seconds)
check "process: started within the last 5 minutes (${start:-none})" \
	awk -v s="${start:-0}" -v now="$(date +%s)" 'BEGIN { exit !(s > now - 300 && s <= now + 1) }'
cpu=$(value "$DIR/metrics" process_cpu_seconds_total)
check "process: cpu seconds is a number >= 0 (${cpu:-none})" awk -v c="${cpu:-x}" 'BEGIN { exit !(c ~ /^[0-9.]+$/) }'

# The sizes: SQLite's two files, or PostgreSQL's database and its cluster's
# WAL directory as the server counts them (the test role may read pg_ls_waldir).
sizes() {
	if is_pg; then
		db_sql "SELECT pg_database_size(current_database()), (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())" |
			tr '|' ' '
	else
		echo "$(stat -c %s "$DIR/db") $(stat -c %s "$DIR/db-wal" 2>/dev/null || echo 0)"
	fi
}
# The checkpoint thread (or the server) may move either between a scrape and
# the look: a fresh scrape until a pair is taken with nothing moved in between.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	read -r sz wsz < <(sizes)
	curl -s "$URL/metrics" >"$DIR/metrics.s"
	[ "$sz $wsz" = "$(sizes)" ] && break
done
dbb=$(value "$DIR/metrics.s" waybill_store_db_bytes)
check "store: database bytes is the database's size ($dbb)" test "${dbb:-x}" = "$sz" -a "${sz:-0}" -gt 0
walb=$(value "$DIR/metrics.s" waybill_store_wal_bytes)
check "store: WAL bytes is the write-ahead log's size ($walb)" test "${walb:-x}" = "$wsz"
audit_all "$DIR/audit.json"
curl -s "$URL/metrics" >"$DIR/metrics.b"
n=$(value "$DIR/metrics.b" waybill_audit_entries)
check "audit: waybill_audit_entries ($n) is the chain's length ($(jq length "$DIR/audit.json") listed before)" \
	test "${n:-0}" -ge "$(jq length "$DIR/audit.json")" -a "${n:-0}" -le $(($(jq length "$DIR/audit.json") + 2))
check "retention: last purge time is a recent timestamp (the start-up purge)" \
	awk -v s="$(value "$DIR/metrics" waybill_retention_last_purge_timestamp_seconds)" -v now="$(date +%s)" \
	'BEGIN { exit !(s > now - 300 && s <= now + 1) }'
check "retention: nothing erased yet" test "$(value "$DIR/metrics" waybill_retention_orders_erased_total)" = 0
check "labels: no render failure yet" test "$(value "$DIR/metrics" waybill_label_render_failures_total)" = 0
check "keys: the current key version is 1" test "$(value "$DIR/metrics" waybill_key_version)" = 1
# Every name this file checks is documented.
for m in waybill_store_db_bytes waybill_store_wal_bytes waybill_audit_entries \
	waybill_retention_last_purge_timestamp_seconds waybill_retention_orders_erased_total \
	waybill_label_render_failures_total waybill_key_version process_resident_memory_bytes \
	process_open_fds process_max_fds process_start_time_seconds process_cpu_seconds_total; do
	grep -q "\`$m" docs/openapi.yaml || missing="$missing $m"
done
check "docs/openapi.yaml names the new metrics (missing:${missing:- none})" test -z "$missing"

# ---- logs ------------------------------------------------------------------------

got=$(raw 'G\x01T /v1/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check "a method with a control byte: answered ($got)" grep -q '^HTTP/1.1 4' <<<"$got"
got=$(raw 'GE"T /v1/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
sleep 0.3
check "log: no raw control byte in any line" bash -c '! LC_ALL=C grep -q "[[:cntrl:]]" "$1"' _ "$DIR/log"
check "log: the control byte is written \\x01" grep -qF 'method="G\x01T"' "$DIR/log"
check "log: a quote in a value is escaped" grep -qF 'method="GE\"T"' "$DIR/log"
check "log: every line is ts= level= req= first ($(wc -l <"$DIR/log") lines)" bash -c '
	test "$(wc -l <"$1")" -gt 5 &&
	! grep -Ev "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z level=(error|warn|info|debug) req=[-0-9a-f]+ [a-z_]+=" "$1"' _ "$DIR/log"
check "log: request lines carry method route status ms actor ip code" grep -Eq \
	'^ts=[^ ]+ level=info req=[0-9a-f]+ method=POST route=/v1/orders status=201 ms=[0-9.]+ actor=c1 ip=127\.0\.0\.1 code=-$' "$DIR/log"
check "log: an error line names its code" grep -Eq \
	' method=GET route=/v1/orders/\{tn\} tn=WB0+1[0-9]{2} status=404 ms=[0-9.]+ actor=dep1 ip=127\.0\.0\.1 code=not_found' "$DIR/log"
check "log: an unmatched path is not logged, only route=(unmatched)" \
	bash -c '! grep -q "/no/such" "$1" && grep -q "route=(unmatched) " "$1"' _ "$DIR/log"
check "log: other lines carry msg=" grep -Eq '^ts=[^ ]+ level=info req=- msg="http: listening on ' "$DIR/log"

# ---- metrics_listen ----------------------------------------------------------------

stop_daemon "sigterm exits 0 (before metrics_listen)"
MPORT=$(pick_port)
daemon_up --metrics-listen "127.0.0.1:$MPORT" || die "metrics_listen: start" "waybilld did not start"
MURL=http://127.0.0.1:$MPORT
api GET /metrics -
expect_status "metrics_listen: the API listener answers 404 for /metrics" 404 "$STATUS"
check "metrics_listen: with a JSON error and no metric in it" \
	bash -c 'jq -e ".error.code == \"not_found\"" "$1" && ! grep -q waybill_ "$1"' _ "$BODY"
st=$(curl -s -o "$DIR/metrics2" -w '%{http_code}' "$MURL/metrics")
expect_status "metrics_listen: its own address serves /metrics" 200 "$st"
promtool_ok "metrics_listen: promtool check metrics prints no problem there" "$DIR/metrics2"
check "metrics_listen: its scrape is not counted as an API request (only the API's 404)" \
	bash -c '! grep "^waybill_http_requests_total{.*route=\"/metrics\"" "$1" | grep -v "code=\"404\""' _ "$DIR/metrics2"
for p in /v1/orders /healthz /v1/audit /metrics/x; do
	st=$(curl -s -o "$DIR/other" -w '%{http_code}' -H "Authorization: Bearer ${TOK[aud1]}" "$MURL$p")
	expect_status "metrics_listen: $p is not served there" 404 "$st"
done
st=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MURL/metrics")
expect_status "metrics_listen: POST /metrics there: 405" 405 "$st"
# What libmicrohttpd refuses there is answered with the JSON error too.
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n' >"$DIR/req"
python3 "$E2E_DIR/raw_http.py" raw "$MPORT" "$DIR/req" >"$DIR/raw.json" 2>&1 || true
check "metrics_listen: a malformed Content-Length there: one 400 with the JSON error" \
	jq -e '.status == 400 and .status_lines == 1 and (.body | fromjson | .error.code == "bad_request")' \
	"$DIR/raw.json"
api GET /healthz -
expect_status "metrics_listen: the API still answers" 200 "$STATUS"
stop_daemon "sigterm exits 0 with metrics_listen"
check "metrics_listen: the start says where" grep -q "msg=\"http: metrics on 127.0.0.1:$MPORT" "$DIR/log"

# ---- the daemon's purge in the metrics ---------------------------------------------

daemon_up --retention-days 0 --purge-interval-s 1 || die "purge: start" "waybilld did not start"
ENDED=0
for t in $(head -n 2 "$DIR/tns"); do set_status "${TOK[dep1]}" "$t" cancelled && ENDED=$((ENDED + 1)); done
check "purge: two orders cancelled" test "$ENDED" = 2
t0=$(date +%s)
erased() { curl -s "$URL/metrics" | awk '$1 == "waybill_retention_orders_erased_total" { print $2 }'; }
if wait_until 15 bash -c 'test "$(curl -s "$1/metrics" | awk '"'"'$1 == "waybill_retention_orders_erased_total" { print $2 }'"'"')" = 2' _ "$URL"; then
	ok "purge: waybill_retention_orders_erased_total counts the 2 the daemon erased"
else
	fail "purge: waybill_retention_orders_erased_total counts the 2 the daemon erased" "got $(erased)"
fi
curl -s "$URL/metrics" >"$DIR/metrics3"
check "purge: the last purge's time moved on with it" awk -v s="$(value "$DIR/metrics3" waybill_retention_last_purge_timestamp_seconds)" \
	-v t0="$t0" 'BEGIN { exit !(s >= t0) }'
stop_daemon "sigterm exits 0 (after the purge)"

# The same port for both is refused before serving.
"$WBD" --db "$DB" --key-file "$DIR/key" --listen "127.0.0.1:$PORT" \
	--metrics-listen "127.0.0.1:$PORT" 2>"$DIR/same.log" &
pid=$!
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	kill -TERM "$pid"
	wait "$pid"
	fail "metrics_listen equal to listen: refused" "the daemon started"
else
	wait "$pid"
	rc=$?
	check "metrics_listen equal to listen: refused (exit $rc)" test "$rc" -ne 0
fi
finish
