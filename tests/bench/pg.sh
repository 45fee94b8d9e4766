#!/bin/sh
# tests/bench/pg.sh - `make bench-pg`: one, two and three waybilld over one
# PostgreSQL database, next to the ceiling measured in the same run on the
# same cluster: bare PostgreSQL inserting the rows the daemon writes for an
# order (an orders row and its audit row, one transaction each) with 8 and
# 64 clients.  Then the audit chain's two designs (issue 15 part 3) replayed
# with pgbench: batches as the daemons' writers send them, all taking the one
# head row FOR UPDATE (today) or each its own chain's head (the alternative).
# Benchmarks, not tests: nothing here fails on speed.  The cluster is its own
# (tests/pg.sh, PG_DURABLE=1: fsync, synchronous_commit and full_page_writes
# on, as in production); every connection is its Unix socket or 127.0.0.1.
set -eu
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
SECS=${BENCH_SECS:-10}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
dir=$BUILD/bench-pg
base=$((20000 + $$ % 20000))
. tests/bench/lib.sh
pids=
pgdir=$dir/pg
cleanup_pg() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	sh tests/pg.sh stop "$pgdir"
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup_pg EXIT INT TERM

url=$(PG_DURABLE=1 sh tests/pg.sh start "$pgdir")
psql_() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$url" "$@"; }
# ---- CPU: where a run's cycles went ------------------------------------------
# All three goals are shared by the same two cores here: wrk (or pgbench),
# PostgreSQL and the daemons.  Each run says how busy the machine was and the
# CPU each part spent per order, so a ratio missed for want of CPU reads as
# that, in the same run.  Jiffies from /proc (USER_HZ).
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# cpu_of PID...: their user+system jiffies, threads included.
cpu_of() {
	t=0
	for p in "$@"; do
		v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
		t=$((t + v))
	done
	echo "$t"
}
# PostgreSQL: every postgres process, and the postmaster's reaped children.
pg_cpu() {
	# shellcheck disable=SC2046
	live=$(cpu_of $(pgrep -x postgres))
	pm=$(head -1 "$pgdir/data/postmaster.pid")
	reaped=$(awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/$pm/stat")
	echo $((live + reaped))
}
# cpu_mark PID...: "NS BUSY PG DAEMONS" now (DAEMONS: those PIDs' jiffies).
# shellcheck disable=SC2086
cpu_mark() { echo "$(date +%s%N) $(busy) $(pg_cpu) $(cpu_of "$@")"; }
# cpu_use MARK ORDERS PID...: "BUSY_PCT TOTAL_MS D_MS PG_MS REST_MS", the
# machine's busy share since MARK and the CPU ms per order, in all and by part.
cpu_use() {
	m0=$1 o=$2
	shift 2
	echo "$m0 $(cpu_mark "$@")" | awk -v o="$o" -v hz="$hz" -v n="$ncpu" '{
		s = ($5 - $1) / 1e9; b = $6 - $2; pg = $7 - $3; d = $8 - $4
		o = (o > 0 ? o : 1); ms = 1000 / hz
		printf "%.0f %.3f %.3f %.3f %.3f\n", 100 * b / hz / s / n, b * ms / o, d * ms / o,
			pg * ms / o, (b - d - pg) * ms / o }'
}
# cpu_say USE: the line a row prints under it.
cpu_say() {
	echo "$1" | awk -v n="$ncpu" '{ printf "         CPU: the machine %s%% busy (%d cores); ms per order: %s in all = daemons %s + PostgreSQL %s + client and the rest %s\n", $1, n, $2, $3, $4, $5 }'
}
echo "== PostgreSQL $(psql_ -c 'SHOW server_version'): fsync $(psql_ -c 'SHOW fsync')," \
	"synchronous_commit $(psql_ -c 'SHOW synchronous_commit')," \
	"full_page_writes $(psql_ -c 'SHOW full_page_writes'), on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

"$BIN/waybillctl" keygen --out "$dir/key" 2>/dev/null
tok=$("$BIN/waybillctl" --db "$url" --key-file "$dir/key" account add --name bench --role courier --depot d1)
ports=
for n in 0 1 2; do
	port=$((base + n))
	"$BIN/waybilld" --db "$url" --key-file "$dir/key" --listen "127.0.0.1:$port" \
		--audit-checkpoints "$dir/audit.checkpoints.$n" --cluster-size 3 \
		--log-level warn 2>"$dir/log.$n" &
	pids="$pids $!"
	ports="$ports $port"
done
for port in $ports; do
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null ||
		{ echo "bench-pg: the daemon on port $port did not start:" >&2; cat "$dir"/log.* >&2; exit 1; }
done
first=${ports# }
first=${first%% *}

# Warm up (caches, the first pages of every index), and give the ceiling a
# real order and audit entry to copy.
WB_TOKEN=$tok wrk -t2 -c16 -d3s -s tests/bench/post_orders.lua "http://127.0.0.1:$first" >/dev/null

# ---- the ceiling: the same rows, bare ------------------------------------
# Tables like the daemon's (same columns, indexes and constraints), rows
# copied from the last order and its audit entry as SQL literals, a fresh
# tracking number and audit seq each.
ocols="status, created_at, updated_at, depot, creator, idem_key, body_digest, origin_province,
 origin_city, origin_district, dest_province, dest_city, dest_district, weight_g, count, vnum, ext,
 kek_version, seal_version, wrapped_dek, sealed, seal_bind, sort_code, hub_code, hub_name"
acols="ts, actor, role, action, reason, result, request_id, prev, hash"
# (A colon would read as a pgbench variable: the time's become dots, the same length.)
fmt() { echo "$1" | tr -d '\n' | sed 's/[a-z_][a-z_]*/%L/g'; }
olits=$(psql_ -c "SELECT replace(format('$(fmt "$ocols")', $ocols), ':', '.') FROM orders ORDER BY id DESC LIMIT 1")
alits=$(psql_ -c "SELECT replace(format('$(fmt "$acols")', $acols), ':', '.') FROM audit WHERE order_id IS NOT NULL ORDER BY seq DESC LIMIT 1")
psql_ -c "CREATE TABLE bench_orders (LIKE orders INCLUDING ALL);
	CREATE TABLE bench_audit (LIKE audit INCLUDING ALL);
	CREATE SEQUENCE bench_tn CACHE 1000;
	CREATE SEQUENCE bench_seq CACHE 1000;
	CREATE TABLE bench_head (id integer PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL);
	INSERT INTO bench_head SELECT g, 0, sha256('') FROM generate_series(1, 4) g;"
# One order: its row, then its audit entry naming it (the daemon's
# P_ORDER_INSERT ... RETURNING id and P_AUDIT_INSERT_ID).
order_sql() {
	cat <<EOF
INSERT INTO bench_orders (tracking_no, $ocols) VALUES ('WBB' || nextval('bench_tn'), $olits) RETURNING id, tracking_no \\gset
INSERT INTO bench_audit (seq, tracking_no, order_id, $acols) VALUES (nextval('bench_seq'), :tracking_no, :id, $alits);
EOF
}
{
	echo "BEGIN;"
	order_sql
	echo "COMMIT;"
} >"$dir/ceiling.sql"

# pgbench CLIENTS SCRIPT NAME [-D h=1 ...]: "TPS P50_MS P99_MS" (each
# transaction's latency from pgbench's per-transaction log).
bench() {
	c=$1 f=$2 name=$3
	shift 3
	j=$c
	[ "$j" -gt 2 ] && j=2
	[ "$c" = 3 ] && j=3
	m=$(cpu_mark)
	out=$(pgbench -n -M prepared -c "$c" -j "$j" -T "$SECS" -f "$f" -l --log-prefix="$dir/$name" "$@" "$url" 2>&1) ||
		{ echo "$out" >&2; return 1; }
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
	cpu_use "$m" "$(awk -v t="$tps" -v s="$SECS" 'BEGIN { printf "%.0f", t * s }')" >"$dir/$name.use"
	cat "$dir/$name".[0-9]* | awk '{ print $3 / 1000 }' | sort -n | awk -v tps="$tps" '
		{ v[NR] = $1 } END { printf "%.0f %.2f %.2f\n", tps, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] }'
	rm -f "$dir/$name".[0-9]*
}

echo "== ceiling: bare PostgreSQL, an orders row + its audit row, one transaction each, ${SECS}s"
c8=$(bench 8 "$dir/ceiling.sql" c8)
echo "8 clients:  $(echo "$c8" | cut -d' ' -f1) orders/s  p50 $(echo "$c8" | cut -d' ' -f2) ms  p99 $(echo "$c8" | cut -d' ' -f3) ms"
cpu_say "$(cat "$dir/c8.use")"
c64=$(bench 64 "$dir/ceiling.sql" c64)
echo "64 clients: $(echo "$c64" | cut -d' ' -f1) orders/s  p50 $(echo "$c64" | cut -d' ' -f2) ms  p99 $(echo "$c64" | cut -d' ' -f3) ms"
cpu_say "$(cat "$dir/c64.use")"

# ---- one, two and three daemons ------------------------------------------
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
# sum_metric NAME PORT...: the metric summed over those daemons.
sum_metric() {
	m=$1 t=0
	shift
	for p in "$@"; do t=$((t + $(metric "$p" "$m"))); done
	echo "$t"
}
# waits: what the database's sessions were waiting on, sampled every 0.2 s
# while a run lasts ("Lock:transactionid" is a writer queued behind another's
# head row; "IO:WALSync" a COMMIT's flush), most frequent first.
waits() {
	end=$(($(date +%s) + SECS - 1))
	while [ "$(date +%s)" -lt "$end" ]; do
		psql_ -F: -c "SELECT wait_event_type, wait_event FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()
			AND wait_event IS NOT NULL" 2>/dev/null || true
		sleep 0.2
	done | sort | uniq -c | sort -rn | head -3 | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }'
}
# runs PREFIX TOKEN "PORTS" "COUNTS": for each count n, POST /v1/orders from
# one wrk spread over the first n of PORTS, ~64 connections in all; a row
# each, and PREFIXrps<n> / PREFIXwpc<n> (orders/s, writes per commit) set by
# each count's first run.
runs() {
	pre=$1 rtok=$2 rports=$3
	printf '%-8s %10s %8s %8s %7s %14s  %s\n' daemons orders/s p50_ms p99_ms errors writes/commit "sessions waiting (samples)"
	eval "${pre}rps1=0 ${pre}rps2=0 ${pre}rps3=0 ${pre}wpc3=1"
	for n in $4; do
		# shellcheck disable=SC2086
		use=$(echo $rports | cut -d' ' -f1-"$n")
		case $n in 1 | 2) t=2 c=64 ;; 3) t=3 c=63 ;; esac
		# shellcheck disable=SC2086
		j0=$(sum_metric waybill_store_jobs_total $use)
		# shellcheck disable=SC2086
		k0=$(sum_metric waybill_store_commits_total $use)
		waits >"$dir/waits" &
		wpid=$!
		# shellcheck disable=SC2086
		m=$(cpu_mark $pids)
		out=$(WB_TOKEN=$rtok WB_PORTS="$use" wrk -t"$t" -c"$c" -d"${SECS}s" -s tests/bench/spread.lua \
			"http://127.0.0.1:${use%% *}" | grep RESULT)
		wait "$wpid" || true
		# shellcheck disable=SC2086
		j1=$(sum_metric waybill_store_jobs_total $use)
		# shellcheck disable=SC2086
		k1=$(sum_metric waybill_store_commits_total $use)
		rps=$(echo "$out" | field rps)
		# shellcheck disable=SC2086
		cu=$(cpu_use "$m" "$(awk -v t="$rps" -v s="$SECS" 'BEGIN { printf "%.0f", t * s }')" $pids)
		wpc=$(ratio $((j1 - j0)) $((k1 - k0)))
		label=$n
		# A second run of as many daemons (by default one, last): the tables
		# have grown meanwhile, and this row says what that alone costs.
		if eval "[ \"\$${pre}rps$n\" != 0 ]"; then
			label="$n again"
		else
			eval "${pre}rps$n=$rps ${pre}wpc$n=$wpc ${pre}cu$n=\"\$cu\""
		fi
		printf '%-8s %10s %8s %8s %7s %14s  %s\n' "$label" "$rps" "$(echo "$out" | field p50_ms)" \
			"$(echo "$out" | field p99_ms)" "$(echo "$out" | field errors)" "$wpc" "$(cat "$dir/waits")"
		cpu_say "$cu"
		sync
		sleep 1
	done
}
echo "== POST /v1/orders spread over the daemons (one wrk, its threads round-robin), ~64 connections, ${SECS}s"
rps1=0 rps2=0 rps3=0 wpc3=1
runs "" "$tok" "$ports" "${BENCH_RUNS:-1 2 3 1}"

# ---- the other design in the daemon: a chain per daemon (part 3) ---------
# waybilld-chains (WB_BENCH_CHAINS in store_pg.c): each daemon locks and
# writes its own head row, on a database of its own whose audit_head has
# rows 1-4 and whose audit has no primary key on seq (the chains' seqs
# overlap; an index on seq keeps the insert's work the same).  The head row
# is not the only row every order writes: vnum_numbers.held is one of 100,
# and without the head to queue them, two daemons' batches that took two
# numbers in opposite order deadlock; the savepoint takes the victim's job
# alone, its batch goes on, and the next such job waits its second again
# (measured: ~20 orders/s).  So the prototype also counts held in rows of
# its own daemon (bench_held, by application_name): the alternative design
# has to split that counter too, or lock the numbers in one order.
chains=$BUILD/bench/waybilld-chains
crps1=0 crps3=0
if [ -x "$chains" ] && [ "${BENCH_CHAINS:-1}" = 1 ]; then
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=
	psql_ -c "CREATE DATABASE chains"
	curl_=$(echo "$url" | sed 's|///waybill?|///chains?|')
	ctok=$("$BIN/waybillctl" --db "$curl_" --key-file "$dir/key" account add --name bench --role courier --depot d1)
	psql -X -q -v ON_ERROR_STOP=1 "$curl_" -c "ALTER TABLE audit_head DROP CONSTRAINT audit_head_id_check;
		INSERT INTO audit_head SELECT g, 0, hash FROM audit_head, generate_series(2, 4) g WHERE id = 1;
		ALTER TABLE audit DROP CONSTRAINT audit_pkey;
		CREATE INDEX audit_seq ON audit (seq);
		CREATE TABLE bench_held (chain text, vnum text, held integer NOT NULL,
			PRIMARY KEY (chain, vnum)) WITH (fillfactor = 50);"
	cports=
	for n in 1 2 3; do
		port=$((base + 2 + n))
		WB_BENCH_CHAIN=$n "$chains" --db "$curl_&application_name=chain$n" --key-file "$dir/key" --listen "127.0.0.1:$port" \
			--audit-checkpoints "$dir/chains.checkpoints.$n" --cluster-size 3 \
			--log-level warn 2>"$dir/chains.log.$n" &
		pids="$pids $!"
		cports="$cports $port"
	done
	for port in $cports; do
		for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
	done
	# The pool is in vnum_numbers once a daemon started: now the counters.
	psql -X -q -v ON_ERROR_STOP=1 "$curl_" -c "INSERT INTO bench_held
		SELECT 'chain' || g, vnum, held FROM vnum_numbers, generate_series(1, 3) g;"
	WB_TOKEN=$ctok wrk -t2 -c16 -d3s -s tests/bench/post_orders.lua "http://127.0.0.1:$((base + 3))" >/dev/null
	echo "== the same, a chain per daemon (prototype: waybilld-chains, its own database), ${SECS}s"
	runs c "$ctok" "$cports" "${BENCH_CHAIN_RUNS:-1 3}"
fi

# ---- the audit chain's two designs, replayed (issue 15 part 3) -----------
# Three clients, as three daemons' writers: each transaction one batch of B
# orders, each in its savepoint (the daemon's run_jobs), between the head
# row's SELECT ... FOR UPDATE and its UPDATE.  Today every batch takes head
# 1, so the three follow each other, COMMIT and its WAL flush included; the
# alternative (a chain per daemon, a signed checkpoint over all heads) takes
# its own, so they overlap.  B: the writes per commit the three daemons had.
b=$(awk -v w="$wpc3" 'BEGIN { b = int(w + 0.5); print (b < 1 ? 1 : b) }')
batch_sql() {
	echo "BEGIN;"
	echo "SELECT seq, hash FROM bench_head WHERE id = :h FOR UPDATE;"
	for _ in $(seq "$1"); do
		echo "SAVEPOINT job;"
		order_sql
		echo "RELEASE SAVEPOINT job;"
	done
	echo "UPDATE bench_head SET seq = seq + $1, hash = sha256(hash) WHERE id = :h;"
	echo "COMMIT;"
}
echo "== audit designs replayed: 3 writers, batches of B orders (pgbench, ${SECS}s each)"
printf '%-34s %4s %10s %13s %13s\n' design B orders/s batch_p50_ms batch_p99_ms
for bb in 1 "$b"; do
	batch_sql "$bb" >"$dir/batch$bb.sql"
	{
		echo "\\set h 1"
		cat "$dir/batch$bb.sql"
	} >"$dir/one$bb.sql"
	{
		echo "\\set h :client_id + 1"
		cat "$dir/batch$bb.sql"
	} >"$dir/own$bb.sql"
	r1=$(bench 3 "$dir/one$bb.sql" one)
	r2=$(bench 3 "$dir/own$bb.sql" own)
	o1=$(awk -v t="${r1%% *}" -v b="$bb" 'BEGIN { printf "%.0f", t * b }')
	o2=$(awk -v t="${r2%% *}" -v b="$bb" 'BEGIN { printf "%.0f", t * b }')
	printf '%-34s %4s %10s %13s %13s\n' "one chain, head row FOR UPDATE" "$bb" "$o1" \
		"$(echo "$r1" | cut -d' ' -f2)" "$(echo "$r1" | cut -d' ' -f3)"
	printf '%-34s %4s %10s %13s %13s\n' "a chain per daemon, own head" "$bb" "$o2" \
		"$(echo "$r2" | cut -d' ' -f2)" "$(echo "$r2" | cut -d' ' -f3)"
	echo "  B=$bb: a chain per daemon = $(ratio "$o2" "$o1")x one chain"
	[ "$bb" = "$b" ] && break
done

# ---- the ceiling again, and the ratios -----------------------------------
after=$(bench 64 "$dir/ceiling.sql" c64b)
echo "== ceiling again after the runs, 64 clients: $(echo "$after" | cut -d' ' -f1) orders/s"
ceil=$(awk -v a="${c64%% *}" -v b="${after%% *}" 'BEGIN { print (b > a ? b : a) }')
echo "== goals (benchmark, not a test)"
echo "three daemons: $rps3 orders/s = $(ratio_x "$rps3" "$ceil") the bare 64-client ceiling $ceil/s (the higher of before and after; goal >= 0.8x)"
echo "three daemons = $(ratio_x "$rps3" "$rps1") one daemon's $rps1 orders/s (goal >= 2x); two: $(ratio_x "$rps2" "$rps1")"
# What these cores allow.  Everything shares them (daemons, PostgreSQL,
# wrk), so ncpu * 1000 / (CPU ms per order) bounds orders/s whatever the
# design: at the three-daemon run's cost, and at the least any daemon could
# cost (its own CPU plus only the bare rows' PostgreSQL work, the ceiling's).
# A goal above the second sits below this machine's floor.
if [ -n "${cu3:-}" ]; then
	# shellcheck disable=SC2086
	set -- $cu3
	ms3=$2 d3=$3
	pgb=$(cut -d' ' -f4 "$dir/c64.use")
	cap() { awk -v n="$ncpu" -v ms="$1" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }'; }
	cap3=$(cap "$ms3")
	least=$(awk -v a="$d3" -v b="$pgb" 'BEGIN { printf "%.3f", a + b }')
	capl=$(cap "$least")
	echo "CPU bound: three daemons spent $ms3 ms of CPU per order in all ($ncpu cores: at most $cap3 orders/s =" \
		"$(ratio_x "$cap3" "$ceil") the ceiling, $(ratio_x "$cap3" "$rps1") one daemon; the machine was $1% busy)"
	echo "CPU floor: the daemons' own $d3 ms + PostgreSQL's $pgb ms for the bare rows = $least ms per order:" \
		"at most $capl orders/s = $(ratio_x "$capl" "$ceil") the ceiling on these $ncpu cores (goal 0.8x)"
fi
[ "$crps3" != 0 ] &&
	echo "a chain per daemon (prototype): three $crps3 orders/s = $(ratio_x "$crps3" "$ceil") the ceiling," \
		"$(ratio_x "$crps3" "$crps1") its one daemon's $crps1/s, $(ratio_x "$crps3" "$rps3") one chain's three"
true
