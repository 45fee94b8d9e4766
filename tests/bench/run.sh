#!/bin/sh
# tests/bench/run.sh - `make bench`: waybilld's throughput and latency, each
# printed next to a ceiling measured in the same run on the same disk.
# Benchmarks, not tests: nothing here fails on speed.
set -eu
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
SECS=${BENCH_SECS:-10}
CONNS=${BENCH_CONNS:-64}
ROUNDS=${BENCH_ROUNDS:-3}
dir=$BUILD/bench-run
port=$((20000 + $$ % 20000))
. tests/bench/lib.sh

echo "== ceilings (same run, same disk)"
# The disk of a shared VM varies by tens of percent from minute to minute:
# the ceiling is measured before and after the order runs, and the ratio is
# taken against the higher of the two (never flattering waybilld).
line=$("$BUILD/bench/sqlite_ceiling" "$dir/ceiling.db" 5)
ceiling=${line%% *}
echo "raw SQLite, one durable transaction per order-sized row: $ceiling rows/s (each: p50 $(echo "$line" | cut -d' ' -f2) ms, p99 $(echo "$line" | cut -d' ' -f3) ms)"

"$BIN/waybillctl" keygen --out "$dir/key" 2>/dev/null
ctl() { "$BIN/waybillctl" --db "$dir/db" --key-file "$dir/key" "$@"; }
tok=$(ctl account add --name bench --role courier --depot d1)
"$BIN/waybilld" --db "$dir/db" --key-file "$dir/key" --listen "127.0.0.1:$port" \
	--audit-checkpoints "$dir/audit.checkpoints" \
	--log-level warn 2>"$dir/log" &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

http=$(wrk -t2 -c"$CONNS" -d5s -s tests/bench/get.lua "http://127.0.0.1:$port/healthz" | grep RESULT)
http_rps=$(echo "$http" | field rps)
echo "raw HTTP (GET /healthz, $CONNS connections): $http_rps req/s"

echo "== POST /v1/orders, $CONNS keep-alive connections, ${SECS}s"
out=$(WB_TOKEN=$tok wrk -t2 -c"$CONNS" -d"${SECS}s" -s tests/bench/post_orders.lua \
	"http://127.0.0.1:$port" | grep RESULT)
rps=$(echo "$out" | field rps)
echo "orders: $rps/s  p50 $(echo "$out" | field p50_ms) ms  p99 $(echo "$out" | field p99_ms) ms  errors $(echo "$out" | field errors)"

echo "  = $(ratio "$rps" "$http_rps")x the raw HTTP ceiling"
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
commits=$(metric waybill_store_commits_total)
jobs=$(metric waybill_store_jobs_total)
echo "  group commit: $(ratio "$jobs" "$commits") writes per commit (one fsync each) on average"

half=$(awk -v r="$rps" 'BEGIN { printf "%d", r / 2 }')
# Let the peak run's writes leave the page cache first: its writeback would
# otherwise land on this run's commits.
sync
sleep 2
echo "== latency at half that load (~$half orders/s as a Poisson stream, $CONNS connections)"
# "le count" per bucket of one of the daemon's histograms (LABELS: the series'
# other labels, each followed by a comma).
hist() {
	curl -s "http://127.0.0.1:$port/metrics" |
		sed -n "s|^$1_bucket{${2:-}le=\"\([^\"]*\)\"} \([0-9]*\)\$|\1 \2|p"
}
# The bucket holding the 99th percentile of what a histogram counted between
# two readings ("more than" the last bound when it is the +Inf one).
hist_p99() {
	printf '%s\n--\n%s\n' "$1" "$2" | awk '
	$1 == "--" { after = 1; next }
	!after { before[$1] = $2; next }
	{ le[++n] = $1; d[n] = $2 - before[$1] }
	END { for (i = 1; i <= n; i++) if (d[i] >= 0.99 * d[n]) {
		print (le[i] == "+Inf" ? "more than " le[i - 1] * 1000 : le[i] * 1000); exit } }'
}
# This VM's tail moves from one minute to the next, so the half-load run is
# repeated ROUNDS times, each next to its own transport floor (GET /healthz
# at the same rate and connections: wrk, the loopback and libmicrohttpd, no
# disk, no crypto, no SQL), and the medians are the result.
half_commits=0
p99s=
floors=
sqls=
for round in $(seq "$ROUNDS"); do
	h0=$(hist waybill_store_commit_duration_seconds)
	r0=$(hist waybill_http_request_duration_seconds 'method="POST",route="/v1/orders",')
	c0=$(metric waybill_store_commits_total)
	out=$(WB_TOKEN=$tok WB_RATE=$half wrk -t2 -c"$CONNS" -d"${SECS}s" \
		-s tests/bench/post_orders.lua "http://127.0.0.1:$port" | grep RESULT)
	c1=$(metric waybill_store_commits_total)
	h1=$(hist waybill_store_commit_duration_seconds)
	r1=$(hist waybill_http_request_duration_seconds 'method="POST",route="/v1/orders",')
	get=$(WB_RATE=$half wrk -t2 -c"$CONNS" -d"${SECS}s" -s tests/bench/get.lua \
		"http://127.0.0.1:$port/healthz" | grep RESULT)
	# The disk's floor: raw SQLite group-committing order-sized rows that
	# arrive as the same Poisson stream (daemon idle, its log copied by now).
	sql=$("$BUILD/bench/sqlite_ceiling" "$dir/floor.db" "$SECS" --group "$half")
	half_commits=$((half_commits + c1 - c0))
	p99s="$p99s $(echo "$out" | field p99_ms)"
	floors="$floors $(echo "$get" | field p99_ms)"
	sqls="$sqls $(echo "$sql" | cut -d' ' -f3)"
	echo "round $round: orders $(echo "$out" | field rps)/s  p50 $(echo "$out" | field p50_ms) ms  p99 $(echo "$out" | field p99_ms) ms;" \
		"daemon's view (first byte to answer) p99 <= $(hist_p99 "$r0" "$r1") ms;" \
		"its COMMITs (log write, fsync) p99 <= $(hist_p99 "$h0" "$h1") ms, $(((c1 - c0) / SECS))/s;" \
		"floors: GET /healthz p99 $(echo "$get" | field p99_ms) ms," \
		"raw SQLite group commit p50 $(echo "$sql" | cut -d' ' -f2) ms p99 $(echo "$sql" | cut -d' ' -f3) ms ($(echo "$sql" | cut -d' ' -f4) commits/s)"
done
median() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
p99_half=$(median "$p99s")
floor_group=$(median "$sqls")
echo "orders at half load: median p99 $p99_half ms over $ROUNDS rounds (goal: <= 1.5x the group-commit floor below)"
echo "  floor: raw HTTP at the same rate and connections: median p99 $(median "$floors") ms"
echo "  floor: raw SQLite, order-sized rows arriving at the same rate, group-committed by one writer"
echo "         as they come (no HTTP, no crypto, one table, no checkpoint): median p99 $floor_group ms"
# And one durable commit alone: raw SQLite paced at the commit rate waybilld
# just had (a disk that idles between commits is slower than one kept busy).
per_s=$(awk -v c="$half_commits" -v t="$SECS" -v n="$ROUNDS" 'BEGIN { printf "%d", c / t / n }')

kill -TERM "$pid"
wait "$pid" || true
pid=
floor=$("$BUILD/bench/sqlite_ceiling" "$dir/floor.db" 5 "$per_s")
echo "  floor: one durable commit of raw SQLite at that commit rate ($per_s/s): p50 $(echo "$floor" | cut -d' ' -f2) ms, p99 $(echo "$floor" | cut -d' ' -f3) ms"

after=$("$BUILD/bench/sqlite_ceiling" "$dir/ceiling.db" 5)
after=${after%% *}
ceiling=$(awk -v a="$ceiling" -v b="$after" 'BEGIN { print (b > a ? b : a) }')
echo "== the order rate against the ceiling"
echo "raw SQLite again, after the runs (daemon stopped): $after rows/s"
echo "orders: $rps/s = $(ratio "$rps" "$ceiling")x the higher durable-commit ceiling, $ceiling/s (goal >= 3x)"

# As before the half-load run: the order runs' writeback would land on the labels'.
sync
sleep 2
BIN=$BIN BUILD=$BUILD HTTP_RPS=$http_rps sh tests/bench/labels.sh

# Last, one line each: the two goals against this run's own floor and ceiling.
echo "== goals"
goals "$p99_half" "$floor_group" "$rps" "$ceiling"
